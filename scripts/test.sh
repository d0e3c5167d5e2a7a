#!/usr/bin/env bash
# README command (b): installs everything, then runs the whole test suite against the real
# PostgreSQL, Redis (with real Celery worker and beat processes), anvil and Chromium.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/core -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/pytest "$@"
