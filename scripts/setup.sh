#!/usr/bin/env bash
# Sets up a fresh machine: system packages (when root), a virtualenv in .venv, the project.
# Usage: scripts/setup.sh [extra]   (extra: "test" installs the test tools too)
set -euo pipefail
cd "$(dirname "$0")/.."

extra="${1:-}"
# Only the tests need these (browser, PDF readers, pg_dump); the demo runs without them.
if [ "$extra" = "test" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  wanted=(chromium fonts-noto-cjk poppler-utils qpdf zbar-tools postgresql-client)
  missing=()
  for pkg in "${wanted[@]}"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  echo "== creating .venv"
  "$python" -m venv .venv
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --upgrade pip
if [ -n "$extra" ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check -e ".[$extra]"
else
  .venv/bin/python -m pip install -q --disable-pip-version-check -e .
fi
