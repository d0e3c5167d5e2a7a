#!/usr/bin/env node
// Compiles every Solidity file in payments/contracts/src/ with solc-js (the npm "solc" package,
// no download) and writes one JSON artefact per contract to payments/contracts/build/.
//
// The artefacts are committed, so the output is byte-for-byte deterministic: fixed compiler
// settings, a fixed top-level key order, sorted nested keys, 2-space indent and a trailing newline.
//
// Usage:
//   node scripts/compile_contracts.js                  write the artefacts
//   node scripts/compile_contracts.js --check          write nothing; exit 1 if any artefact is
//                                                      missing, differs or is stale
//   --build-dir DIR / --src-dir DIR                    other directories (tests check a copy)
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const solc = require('solc');

const ROOT = path.resolve(__dirname, '..');
const NODE_MODULES = path.join(ROOT, 'node_modules');
const DEFAULT_SRC_DIR = path.join(ROOT, 'payments', 'contracts', 'src');
const DEFAULT_BUILD_DIR = path.join(ROOT, 'payments', 'contracts', 'build');

// Part of every artefact: changing any of these changes the bytecode, and --check notices.
const SETTINGS = {
  evmVersion: 'cancun', // explicit, so a newer solc default cannot change the bytecode silently
  optimizer: { enabled: true, runs: 200 },
};

function usage(message) {
  if (message) console.error(`compile_contracts: ${message}`);
  console.error('usage: node scripts/compile_contracts.js [--check] [--build-dir DIR] [--src-dir DIR]');
  process.exit(2);
}

function parseArgs(argv) {
  const options = { check: false, buildDir: DEFAULT_BUILD_DIR, srcDir: DEFAULT_SRC_DIR };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i];
    if (arg === '--check') {
      options.check = true;
    } else if (arg === '--build-dir' || arg === '--src-dir') {
      const value = argv[i + 1];
      if (!value) usage(`${arg} needs a directory`);
      options[arg === '--build-dir' ? 'buildDir' : 'srcDir'] = path.resolve(value);
      i += 1;
    } else if (arg === '--help' || arg === '-h') {
      usage();
    } else {
      usage(`unknown argument ${arg}`);
    }
  }
  return options;
}

// Source unit names are POSIX paths relative to the repository, so the metadata hash embedded in
// the bytecode does not depend on where the checkout lives.
function sourceUnitName(file) {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

function findImports(importPath) {
  if (!importPath.startsWith('@openzeppelin/')) {
    return { error: `import not allowed: ${importPath} (only @openzeppelin/... from node_modules)` };
  }
  const file = path.resolve(NODE_MODULES, importPath);
  if (!file.startsWith(NODE_MODULES + path.sep)) {
    return { error: `import escapes node_modules: ${importPath}` };
  }
  try {
    return { contents: fs.readFileSync(file, 'utf8') };
  } catch (err) {
    return { error: `cannot read ${importPath}: ${err.message} (run npm install)` };
  }
}

// Sorts object keys at every level; arrays keep their order (ABI entries are ordered by solc).
function sortKeysDeep(value) {
  if (Array.isArray(value)) return value.map(sortKeysDeep);
  if (value !== null && typeof value === 'object') {
    const sorted = {};
    for (const key of Object.keys(value).sort()) sorted[key] = sortKeysDeep(value[key]);
    return sorted;
  }
  return value;
}

function compile(srcDir) {
  const files = fs.existsSync(srcDir)
    ? fs.readdirSync(srcDir).filter((name) => name.endsWith('.sol')).sort()
    : [];
  if (files.length === 0) {
    console.error(`compile_contracts: no .sol files in ${srcDir}`);
    process.exit(2);
  }
  const sources = {};
  const sourceSha256 = {};
  for (const name of files) {
    const file = path.join(srcDir, name);
    const content = fs.readFileSync(file, 'utf8');
    const unit = sourceUnitName(file);
    sources[unit] = { content };
    sourceSha256[unit] = crypto.createHash('sha256').update(content, 'utf8').digest('hex');
  }
  const input = {
    language: 'Solidity',
    sources,
    settings: {
      ...SETTINGS,
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const diagnostic of output.errors || []) {
    console.error(diagnostic.formattedMessage || diagnostic.message);
  }
  if (errors.length > 0) {
    console.error(`compile_contracts: ${errors.length} compiler error(s)`);
    process.exit(2);
  }

  const artefacts = new Map(); // file name -> serialized JSON
  for (const unit of Object.keys(sources)) {
    for (const [contractName, contract] of Object.entries(output.contracts[unit] || {})) {
      const fileName = `${contractName}.json`;
      if (artefacts.has(fileName)) {
        console.error(`compile_contracts: two contracts named ${contractName}`);
        process.exit(2);
      }
      // Top-level order is fixed here; nested keys are sorted.
      const artefact = {
        contractName,
        sourceName: unit,
        abi: sortKeysDeep(contract.abi),
        bytecode: `0x${contract.evm.bytecode.object}`,
        compiler: { name: 'solc-js', version: solc.version(), settings: sortKeysDeep(SETTINGS) },
        sourceSha256: sourceSha256[unit],
      };
      artefacts.set(fileName, `${JSON.stringify(artefact, null, 2)}\n`);
    }
  }
  return artefacts;
}

function existingArtefacts(buildDir) {
  if (!fs.existsSync(buildDir)) return [];
  return fs.readdirSync(buildDir).filter((name) => name.endsWith('.json')).sort();
}

function check(artefacts, buildDir) {
  const problems = [];
  for (const [fileName, expected] of [...artefacts.entries()].sort()) {
    const file = path.join(buildDir, fileName);
    if (!fs.existsSync(file)) {
      problems.push(`missing: ${file}`);
    } else if (fs.readFileSync(file, 'utf8') !== expected) {
      problems.push(`differs from a fresh compile: ${file}`);
    }
  }
  for (const fileName of existingArtefacts(buildDir)) {
    if (!artefacts.has(fileName)) {
      problems.push(`stale (no contract of that name in the sources): ${path.join(buildDir, fileName)}`);
    }
  }
  if (problems.length > 0) {
    for (const problem of problems) console.error(`compile_contracts --check: ${problem}`);
    console.error('Run `npm run compile-contracts` and commit the build directory.');
    process.exit(1);
  }
  console.log(`compile_contracts --check: ${artefacts.size} artefact(s) up to date in ${buildDir}`);
}

function write(artefacts, buildDir) {
  fs.mkdirSync(buildDir, { recursive: true });
  for (const [fileName, content] of [...artefacts.entries()].sort()) {
    fs.writeFileSync(path.join(buildDir, fileName), content);
    console.log(`wrote ${path.join(buildDir, fileName)}`);
  }
  for (const fileName of existingArtefacts(buildDir)) {
    if (!artefacts.has(fileName)) {
      console.error(`compile_contracts: warning: stale artefact ${fileName}; delete it`);
    }
  }
}

function main() {
  const options = parseArgs(process.argv.slice(2));
  const artefacts = compile(options.srcDir);
  if (options.check) {
    check(artefacts, options.buildDir);
  } else {
    write(artefacts, options.buildDir);
  }
}

main();
