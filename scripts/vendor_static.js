#!/usr/bin/env node
// Copies the browser builds of our npm front-end packages into static/vendor/, where Django's
// staticfiles (and whitenoise) serve them. static/vendor/ is generated and gitignored: run
// `npm run vendor` after `npm ci`. Fails loudly (exit 1) if any expected file is missing, so a
// package upgrade that moves a file breaks set-up instead of silently breaking pages.
"use strict";

const fs = require("node:fs");
const path = require("node:path");

const ROOT = path.resolve(__dirname, "..");
const NODE_MODULES = path.join(ROOT, "node_modules");
const VENDOR_DIR = path.join(ROOT, "static", "vendor");

// [package, file inside the package, name under static/vendor/]
const FILES = [
  ["ethers", "dist/ethers.umd.min.js", "ethers.umd.min.js"],
  ["htmx.org", "dist/htmx.min.js", "htmx.min.js"],
  ["chart.js", "dist/chart.umd.min.js", "chart.umd.min.js"],
  // chart.umd.min.js ends with a sourceMappingURL comment: ship the map so the reference
  // resolves (browser devtools, and manifest storages that rewrite references at collectstatic).
  ["chart.js", "dist/chart.umd.min.js.map", "chart.umd.min.js.map"],
];

function packageVersion(name) {
  const manifest = path.join(NODE_MODULES, name, "package.json");
  if (!fs.existsSync(manifest)) return null;
  return JSON.parse(fs.readFileSync(manifest, "utf8")).version;
}

function main() {
  const missing = [];
  for (const [pkg, file] of FILES) {
    const source = path.join(NODE_MODULES, pkg, file);
    if (!fs.existsSync(source)) missing.push(path.relative(ROOT, source));
  }
  if (missing.length) {
    console.error("vendor_static: missing files (run `npm ci` first):");
    for (const file of missing) console.error(`  - ${file}`);
    process.exit(1);
  }

  fs.mkdirSync(VENDOR_DIR, { recursive: true });
  const versions = {};
  for (const [pkg, file, target] of FILES) {
    const source = path.join(NODE_MODULES, pkg, file);
    const destination = path.join(VENDOR_DIR, target);
    fs.copyFileSync(source, destination);
    versions[pkg] = packageVersion(pkg);
    const size = fs.statSync(destination).size;
    console.log(`vendor_static: ${pkg}@${versions[pkg]} ${file} -> static/vendor/${target} (${size} bytes)`);
  }
  // Which versions are being served, for people debugging a page.
  fs.writeFileSync(path.join(VENDOR_DIR, "VERSIONS.json"), JSON.stringify(versions, null, 2) + "\n");
}

try {
  main();
} catch (error) {
  console.error(`vendor_static: ${error.message}`);
  process.exit(1);
}
