#!/usr/bin/env bash
# Sets everything up and starts the demo on SQLite with demo data: the web server and,
# beside it, the scheduler that sends reminders. Open http://127.0.0.1:5000 and log in
# with one of the accounts printed below. Ctrl+C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export SUPPORTERS_BASE_URL="${SUPPORTERS_BASE_URL:-http://127.0.0.1:5000}"
.venv/bin/flask --app wsgi demo
.venv/bin/flask --app wsgi scheduler run &
scheduler=$!
trap 'kill "$scheduler" 2>/dev/null || true' EXIT INT TERM
echo
echo "Open ${SUPPORTERS_BASE_URL} (Ctrl+C stops the server and the scheduler)."
.venv/bin/flask --app wsgi run --host 127.0.0.1 --port 5000
