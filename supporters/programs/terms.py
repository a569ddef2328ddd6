"""A program's own words (Program.terms) where a person reads them. The words are Japanese,
as the programs use them; in another language the product's wording (`default`) is shown."""

from __future__ import annotations

from flask import has_app_context
from flask_babel import get_locale

from supporters.programs.models import Program


def program_term(program: Program, key: str, default: str) -> str:
    """The program's word for `key` ("eligibility": 千葉県内在住・在勤の方) in Japanese, else
    `default` (already translated)."""
    locale = get_locale() if has_app_context() else None
    if locale is not None and locale.language != "ja":
        return str(default)
    return program.term(key, str(default))
