#!/usr/bin/env bash
# Sets everything up and starts the demo server on SQLite with demo data:
# open http://127.0.0.1:5000 and log in with one of the accounts printed below.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SUPPORTERS_BASE_URL="${SUPPORTERS_BASE_URL:-http://127.0.0.1:5000}"
.venv/bin/flask --app wsgi demo
echo
echo "Open ${SUPPORTERS_BASE_URL} (Ctrl+C stops the server)."
exec .venv/bin/flask --app wsgi run --host 127.0.0.1 --port 5000
