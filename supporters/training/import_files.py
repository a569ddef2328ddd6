"""Reading an uploaded trainee file: an Excel workbook (.xlsx) or a CSV in UTF-8 (with or
without BOM) or Shift_JIS (cp932), as Japanese offices save them, into rows of text;
refused with a clear message when it is none of these or too large."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
import warnings
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l

from supporters.db import ServiceError

MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024


def cell_text(value: Any) -> str:
    """A spreadsheet cell as the text a person typed: 9011112222.0 is 9011112222, a date is
    2024-04-01 and a time 13:30."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.time() == time(0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value))
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    return str(value)


_NUMBER_CELL = re.compile(r"^(\d+)(?:\.0+)?$")


def phone_cell(raw: str) -> str:
    """A phone number that went through Excel as a number: 9011112222 (or 9011112222.0) was
    090-1111-2222 and 878123456 was 087-812-3456. Japanese numbers start with 0 and have 10 or
    11 digits, so 9 or 10 digits without the 0 get it back; anything else is left as it is
    for the phone check to judge."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    match = _NUMBER_CELL.match(text)
    if match is None:
        return raw
    digits = match.group(1)
    if len(digits) in (9, 10) and not digits.startswith("0"):
        return "0" + digits
    return digits


def read_xlsx(data: bytes) -> list[list[str]]:
    """The first sheet of a workbook as rows of text cells (values, not formulas)."""
    from openpyxl import load_workbook

    unreadable = ServiceError(
        "file",
        str(
            _l(
                "This Excel workbook cannot be read. Save it again in Excel as "
                "“Excel Workbook (.xlsx)” or as “CSV (comma delimited)”."
            )
        ),
        code="workbook_unreadable",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # openpyxl's notes on styles it does not know
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                sheet = book.worksheets[0]
                rows: list[list[str]] = []
                for values in sheet.iter_rows(values_only=True):
                    rows.append([cell_text(v) for v in values])
                    if len(rows) > MAX_ROWS + 1:
                        break
            finally:
                book.close()
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError, IndexError) as error:
        raise unreadable from error
    except Exception as error:  # openpyxl raises its own InvalidFileException and others
        if type(error).__module__.startswith(("openpyxl", "xml", "zipfile")):
            raise unreadable from error
        raise
    while rows and not any(cell.strip() for cell in rows[-1]):
        rows.pop()
    return rows


def read_table(data: bytes) -> list[list[str]]:
    """The file's rows as text cells: an .xlsx workbook or a CSV text file."""
    if len(data) > MAX_BYTES:
        raise ServiceError("file", str(_l("The file is larger than 5 MB.")), code="file_too_large")
    if data.startswith(b"PK\x03\x04"):
        return read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ServiceError(
            "file",
            str(
                _l(
                    "This is an old Excel workbook (.xls). In Excel, choose “Save as” and "
                    "the type “Excel Workbook (.xlsx)” or “CSV (comma delimited)”."
                )
            ),
            code="old_excel_format",
        )
    text = decode_csv(data)
    reader = csv.reader(io.StringIO(text))
    rows: list[list[str]] = []
    try:
        rows.extend(reader)
    except csv.Error as error:
        raise ServiceError(
            "file", str(_l("Not a CSV file: %(e)s", e=str(error))), code="not_a_csv"
        ) from error
    return rows


def decode_csv(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ServiceError("file", str(_l("The file is larger than 5 MB.")), code="file_too_large")
    if b"\x00" in data:
        raise ServiceError(
            "file",
            str(
                _l(
                    "This file is not a CSV text file (it may be UTF-16). "
                    "Save it as CSV (UTF-8 or Shift_JIS)."
                )
            ),
            code="not_a_text_file",
        )
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ServiceError(
        "file",
        str(
            _l(
                "The file's character encoding is not UTF-8 or Shift_JIS "
                "(cp932). Save it as CSV from Excel and try again."
            )
        ),
        code="unknown_encoding",
    )
