"""Issue 12, item 7: no input answers 500. Every route of `app.url_map`, as every role, with
NUL and control characters in the path, the query and the form, numbers beyond the
database's integer range in the path and the query, and dates at the ends of the calendar:
the answer is a page or a clear 400/404, never a 500."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask

from tests.security.routes import MATRIX
from tests.security.world import ROLES, World, build_path, client_as, csrf_pair, url_values

HUGE = "99999999999999999999"
# Out-of-range numbers and dates in every query parameter the pages read.
OUT_OF_RANGE = {
    "page": HUGE,
    "year": HUGE,
    "due": HUGE,
    "assignment": HUGE,
    "registration": HUGE,
    "course": HUGE,
    "as_of": "9999-12-31",
    "month": "9999-12",
    "registered_from": "0001-01-01",
    "registered_to": "9999-12-31",
}
EARLY = {"page": "-" + HUGE, "as_of": "0001-01-01", "month": "0001-01", "year": "-1", "due": "-1"}
NUL_QUERY = {
    name: "a\x00b"
    for name in ("q", "program", "status", "municipality", "next", "kind", "action", "month")
}
CONTROL_QUERY = {"q": "a\x1bb", "as_of": "2024-01-01\x00"}


def _routes(app: Flask, method: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for (row_method, endpoint), rows in MATRIX.items():
        if row_method != method or endpoint == "static":
            continue
        for variant in rows:
            found.append((endpoint, variant))
    return found


def _query(values: dict[str, str]) -> str:
    return "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in values.items())


def _call(problems: list[str], where: str, send: Any, allowed: set[int] | None = None) -> int:
    try:
        response = send()
    except Exception as error:  # the test client raises what would be a 500
        problems.append(f"{where}: raised {error!r}")
        return 500
    status = int(response.status_code)
    if status >= 500 or (allowed is not None and status not in allowed):
        problems.append(f"{where}: answered {status}")
    return status


@pytest.mark.parametrize("role", ROLES)
def test_no_query_or_path_input_answers_500(
    app: Flask, db_session: Any, world: World, role: str
) -> None:
    problems: list[str] = []
    client = client_as(app, world, role)
    for endpoint, variant in _routes(app, "GET"):
        params = world.params[variant]
        path = build_path(app, endpoint, params)
        for label, query in (("out of range", OUT_OF_RANGE), ("early", EARLY)):
            where = f"GET {path} ({label}) as {role}"
            _call(problems, where, lambda p=path, q=query: client.get(f"{p}?{_query(q)}"))
        for label, query in (("NUL", NUL_QUERY), ("control", CONTROL_QUERY)):
            where = f"GET {path} ({label} in the query) as {role}"
            _call(problems, where, lambda p=path, q=query: client.get(f"{p}?{_query(q)}"), {400})
        # Each argument of the path in turn: beyond the integer range, or with a NUL.
        values = url_values(app, endpoint, params)
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
        for name in values:
            bad = dict(values)
            is_int = type(rule._converters[name]).__name__.lower().startswith(("int", "bounded"))
            bad[name] = HUGE if is_int else "x\x00y"
            with app.test_request_context():
                from flask import url_for

                target = url_for(endpoint, **bad)
            # Anonymous visitors are sent to log in before any page is looked up.
            expected = ({404} if is_int else {400}) if role != "anon" else {302, 400, 404}
            _call(problems, f"GET {target} as {role}", lambda t=target: client.get(t), expected)
    assert not problems, "\n" + "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_no_form_input_answers_500(app: Flask, db_session: Any, world: World, role: str) -> None:
    """Every POST route with NUL or control characters in the fields (a 400), and with
    numbers beyond the integer range in them (never a 500)."""
    from tests.security.world import rolled_back

    raw, signed = csrf_pair(app)
    serial = itertools.count()
    problems: list[str] = []
    fields = (
        "reason",
        "name",
        "name_reading",
        "email",
        "password",
        "title",
        "venue",
        "municipality",
        "hours",
        "note",
        "q",
        "registration_id",
        "present",
        "attended",
        "session_id",
        "needed",
        "capacity",
        "date",
        "activity_on",
        "registered_on",
        "language",
        "answer",
        "next",
    )
    for endpoint, variant in _routes(app, "POST"):
        path = build_path(app, endpoint, world.params[variant])
        for label, value, expected in (
            ("NUL", "a\x00b", {400}),
            ("control", "a\x07b", {400}),
            ("huge", HUGE, None),
            ("far date", "9999-12-31", None),
        ):
            client = client_as(app, world, role, csrf_raw=raw)
            data = {name: value for name in fields}
            data["email"] = (
                f"fuzz{next(serial)}@security.example"
                if label in ("huge", "far date")
                else data["email"]
            )
            data["csrf_token"] = signed
            where = f"POST {path} ({label} in the form) as {role}"
            with rolled_back(db_session):
                _call(
                    problems,
                    where,
                    lambda p=path, d=data, c=client: c.post(p, data=d),  # type: ignore[misc]
                    expected,
                )
    assert not problems, "\n" + "\n".join(problems)
