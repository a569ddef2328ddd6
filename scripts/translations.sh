#!/usr/bin/env bash
# After changing texts: extract the messages, update both catalogues (ja unwrapped, as it is
# kept, so merges stay small), then translate the new entries and run it again to compile.
# Fails while a Japanese message is missing or fuzzy.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=.venv/bin
"$bin/pybabel" extract -F babel.cfg -k _l -o supporters/translations/messages.pot \
  --no-location --sort-output . >/dev/null 2>&1
"$bin/pybabel" update -i supporters/translations/messages.pot -d supporters/translations -l ja \
  --ignore-obsolete --no-wrap >/dev/null 2>&1
"$bin/pybabel" update -i supporters/translations/messages.pot -d supporters/translations -l en \
  --ignore-obsolete >/dev/null 2>&1
"$bin/pybabel" compile -d supporters/translations >/dev/null 2>&1
"$bin/python" - <<'PY'
import sys
from babel.messages.pofile import read_po

with open("supporters/translations/ja/LC_MESSAGES/messages.po", "rb") as handle:
    catalog = read_po(handle)
missing = [
    m.id for m in catalog
    if m.id and (m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))
]
if missing:
    print("Translate these in supporters/translations/ja/LC_MESSAGES/messages.po:")
    print("\n".join(f"  {m!r}" for m in missing))
    sys.exit(1)
PY
