"""CSV cell safety for every export a spreadsheet may open."""

from __future__ import annotations


def safe_cell(value: str) -> str:
    """Spreadsheets run a cell starting with = + - @ (or tab, CR) as a formula.

    A CR inside the value becomes a line feed: a csv writer whose lines end in "\\n" leaves a
    CR unquoted, a reader starts a new row there, and what follows would begin a cell."""
    if value and value[0] in "=+-@\t\r":
        value = "'" + value
    return value.replace("\r\n", "\n").replace("\r", "\n")
