#!/usr/bin/env bash
# README command (a): installs everything, migrates, starts anvil, deploys the test token, seeds
# demo data and runs the web server + Celery worker + beat at http://127.0.0.1:8000 until Ctrl-C.
# Logs go to var/log/. The chain persists in var/chain/ between runs; `rm -r var/chain` resets it.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
export DJANGO_SETTINGS_MODULE=${DJANGO_SETTINGS_MODULE:-marketplace.settings.local}
PORT=${PORT:-8000}
CHAIN_PORT=${CHAIN_PORT:-8545}
export CHAIN_RPC_URL=${CHAIN_RPC_URL:-http://127.0.0.1:$CHAIN_PORT}
export CHAIN_ID=${CHAIN_ID:-31337}
PY=.venv/bin/python
mkdir -p var/log var/chain

pids=()
cleanup() {
  trap - EXIT INT TERM
  echo
  echo "[run] stopping…"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "[run] stopped"
}
trap cleanup EXIT
trap 'cleanup; exit 0' INT TERM

port_in_use() { $PY -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $1)) != 0)"; }

for p in "$PORT" "$CHAIN_PORT"; do
  if port_in_use "$p"; then
    echo "[run] port $p on 127.0.0.1 is taken: stop what runs there, or set PORT / CHAIN_PORT" >&2
    exit 1
  fi
done

$PY manage.py migrate --noinput | grep -v "^  No migrations" || true

echo "[run] starting anvil on $CHAIN_RPC_URL (log: var/log/anvil.log)"
ANVIL=$($PY -c "from payments.integrations.anvil import anvil_binary; print(anvil_binary())")
"$ANVIL" --host 127.0.0.1 --port "$CHAIN_PORT" --chain-id "$CHAIN_ID" \
  --state var/chain/anvil-state.json >var/log/anvil.log 2>&1 &
pids+=($!)
$PY - <<PY
import time
from payments.integrations.anvil import rpc_call
for _ in range(150):
    try:
        rpc_call("$CHAIN_RPC_URL", "eth_chainId", timeout=1)
        break
    except Exception:
        time.sleep(0.2)
else:
    raise SystemExit("anvil did not start: see var/log/anvil.log")
PY

TOKEN_ADDRESS=$($PY manage.py chain_deploy_token --state-file var/chain/token.json | tail -n 1 | sed 's/^TOKEN_ADDRESS=//')
export TOKEN_ADDRESS
echo "[run] token at $TOKEN_ADDRESS"
$PY manage.py seed_demo

echo "[run] starting Celery worker and beat (logs: var/log/worker.log, var/log/beat.log)"
.venv/bin/celery -A marketplace worker --loglevel INFO --concurrency 2 >var/log/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A marketplace beat --loglevel INFO --schedule var/celerybeat-schedule >var/log/beat.log 2>&1 &
pids+=($!)

$PY manage.py health_check --timeout 60 | sed 's/^/[run] /'
echo "[run] DataBounty at http://127.0.0.1:$PORT/  (admin: http://127.0.0.1:$PORT/admin/) — Ctrl-C stops everything"
# gunicorn (gunicorn.conf.py: WEB_CONCURRENCY processes x GUNICORN_THREADS threads, one database
# pool each), not runserver: the same bounded server as production. WhiteNoise serves /static/.
# With DEBUG on (the local default) it restarts when code changes; GUNICORN_RELOAD=0 turns that off.
reload=()
if [ "${GUNICORN_RELOAD:-$($PY -c 'from django.conf import settings; print(int(settings.DEBUG))')}" = 1 ]; then
  reload=(--reload)
fi
.venv/bin/gunicorn --bind "127.0.0.1:$PORT" "${reload[@]}" &
pids+=($!)
wait -n "${pids[@]}" || true
echo "[run] a process exited; see var/log/" >&2
