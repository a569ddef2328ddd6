"""Build common-passwords.txt: the 10,000 most common passwords, most common first.

Run once by hand (see NOTICE.md); the output is kept in the repository and zxcvbn is not a
dependency:

    pip download --no-deps zxcvbn==4.5.0 && unzip zxcvbn-4.5.0-py2.py3-none-any.whl -d zx
    PYTHONPATH=zx python scripts/build_common_passwords.py
"""

from __future__ import annotations

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

COUNT = 10_000
DATA = Path(__file__).resolve().parent.parent / "supporters" / "accounts" / "data"


def main() -> None:
    ranked = FREQUENCY_LISTS["passwords"][:COUNT]
    assert len(ranked) == COUNT and len(set(ranked)) == COUNT
    target = DATA / "common-passwords.txt"
    target.write_text("\n".join(ranked) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
