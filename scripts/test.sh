#!/usr/bin/env bash
# Sets everything up and runs the whole test suite: lint, types, the import layers, and the
# tests on SQLite and PostgreSQL (SUPPORTERS_TEST_POSTGRES_URL, default postgres@127.0.0.1:5432/test).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh test

pg_url="${SUPPORTERS_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
if ! .venv/bin/python - "$pg_url" <<'PY' 2>/dev/null
import sys, sqlalchemy as sa
sa.create_engine(sys.argv[1]).connect().close()
PY
then
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    echo "== starting PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    sleep 2
  fi
fi

echo "== ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "== mypy"
.venv/bin/mypy
echo "== import layers (docs/architecture.md)"
.venv/bin/lint-imports --no-cache
echo "== pytest"
workers="${PYTEST_WORKERS:-2}"
.venv/bin/pytest -n "$workers" "$@"
