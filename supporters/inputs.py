"""Input that no page should ever answer with a 500, stopped in one place.

* NUL and other control characters in the path, the query or a form (PostgreSQL cannot
  store NUL, and no field of this application has a use for control characters other than
  line breaks and tabs in text areas): 400.
* Whole numbers beyond the database's integer range, in the path (the `int` converter):
  404, as for any id that does not exist; in the query or a form (`args.get(..., type=int)`
  and `getlist(..., type=int)`): treated as not a number, as "abc" already is.
* Dates written as YYYY-MM-DD or YYYY-MM outside the years the application handles
  (`supporters.core.dates.EARLIEST_DAY` to `LATEST_DAY`: 9999-12-31, 0001-01-01) in the query or
  a form: 400, before any date arithmetic can overflow. Views read dates with
  `supporters.core.dates.parse_day` / `parse_month`, which keep to the same range.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.routing import IntegerConverter

from supporters.core.dates import is_out_of_range_date_text

# PostgreSQL `integer` (and so every id column): a larger id cannot exist.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

# Control characters: C0 (but tab, line feed, carriage return in forms), DEL and C1.
_CONTROL_IN_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_CONTROL_ANYWHERE = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def bounded_int(value: Any) -> int:
    """int(value), refusing (ValueError) a number no id or count here can have."""
    number = int(value)
    if not INT_MIN <= number <= INT_MAX:
        raise ValueError(f"{number} is outside the integer range")
    return number


class BoundedMultiDict(ImmutableMultiDict[str, Any]):
    """Query and form values: `type=int` means a number within the integer range."""

    def get(self, key: Any, default: Any = None, type: Any = None) -> Any:  # type: ignore[override]
        return super().get(key, default, bounded_int if type is int else type)

    def getlist(self, key: Any, type: Any = None) -> Any:
        return super().getlist(key, bounded_int if type is int else type)


class SupportersRequest(Request):
    parameter_storage_class = BoundedMultiDict


class BoundedIntegerConverter(IntegerConverter):
    """`<int:...>` in a URL: ids beyond the integer range do not match (404)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def has_control_characters(text: str, *, multiline: bool = False) -> bool:
    pattern = _CONTROL_IN_TEXT if multiline else _CONTROL_ANYWHERE
    return bool(pattern.search(text))


def request_has_unusable_input() -> bool:
    """Control characters anywhere, or a date outside the range, in the query or a form."""
    if has_control_characters(request.path):
        return True
    for key, value in request.args.items(multi=True):
        if has_control_characters(key) or has_control_characters(value):
            return True
        if is_out_of_range_date_text(value):
            return True
    if request.method in ("POST", "PUT", "PATCH") and request.mimetype in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        for key, value in request.form.items(multi=True):
            if has_control_characters(key) or has_control_characters(value, multiline=True):
                return True
            if is_out_of_range_date_text(value):
                return True
        for key, upload in request.files.items(multi=True):
            if has_control_characters(key) or has_control_characters(upload.filename or ""):
                return True
    return False


def init_inputs(app: Flask) -> None:
    """Call before any blueprint is registered (the URL converter applies to rules added
    later) and before any other request hook of the application."""
    app.request_class = SupportersRequest
    app.url_map.converters["int"] = BoundedIntegerConverter

    @app.before_request
    def refuse_unusable_input() -> None:
        if request_has_unusable_input():
            abort(400)
