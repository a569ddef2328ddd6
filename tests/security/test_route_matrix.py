"""Every route × every role × own / other / other-program object answers as the table in
`tests/security/routes.py` says: nothing answers 200 (or, for a POST, does the work) where it
must refuse. Every response met on the way carries the security headers."""

from __future__ import annotations

import itertools
from functools import partial
from typing import Any

from flask import Flask
from sqlalchemy import select

from supporters.dispatch.models import Assignment
from tests.security.routes import (
    MATRIX,
    MIXED,
    OBJECT_ARGS,
    PROGRAM_ARGS,
    REFUSALS,
    cells,
    matches,
    outcome,
)
from tests.security.world import (
    ROLES,
    VARIANTS,
    World,
    assert_security_headers,
    build_path,
    client_as,
    csrf_pair,
    rolled_back,
)

CELL_VALUES = {"ok", "L", ">", "400", "403", "404"}


def _rules(app: Flask) -> dict[tuple[str, str], set[str]]:
    found: dict[tuple[str, str], set[str]] = {}
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found[(method, rule.endpoint)] = set(rule.arguments)
    return found


def test_every_route_and_method_is_in_the_table(app: Flask) -> None:
    rules = _rules(app)
    unclassified = sorted(set(rules) - set(MATRIX))
    assert not unclassified, f"classify these routes in tests/security/routes.py: {unclassified}"
    gone = sorted(set(MATRIX) - set(rules))
    assert not gone, f"no longer routes, remove them from tests/security/routes.py: {gone}"
    for key, arguments in rules.items():
        objects = arguments & OBJECT_ARGS
        if not objects:
            wanted = {"-"}
        else:
            wanted = {"own", "foreign"} if objects <= PROGRAM_ARGS else set(VARIANTS)
        assert set(MATRIX[key]) == wanted, (key, sorted(MATRIX[key]), sorted(wanted))
        view = app.view_functions[key[1]]
        public = key[1] == "static" or getattr(view, "_public", False)
        for row in MATRIX[key].values():
            row_cells = cells(row)
            assert set(row_cells.values()) <= CELL_VALUES, (key, row)
            # The anonymous column must agree with the login-by-default rule.
            assert (row_cells["anon"] == "L") is not public, (key, row)
    for key, (child, row) in MIXED.items():
        assert child in rules[key], key
        assert set(cells(row).values()) <= REFUSALS, (key, row)


def _check(
    problems: list[str], where: str, expected: str, method: str, send: Any
) -> Any:  # returns the response, or None when the request raised
    try:
        response = send()
    except Exception as error:
        problems.append(f"{where}: raised {error!r}")
        return None
    with response:
        actual = outcome(response)
        if not matches(method, expected, actual):
            problems.append(f"{where}: expected {expected}, got {actual}")
        try:
            assert_security_headers(response, where)
        except AssertionError as error:
            problems.append(f"{where}: headers {error}")
    return response


def _sweep(
    app: Flask,
    db_session: Any,
    world: World,
    method: str,
    cases: list[tuple[str, str, dict[str, Any], str]],
) -> list[str]:
    """cases: (endpoint, label, URL values, row). POSTs carry a valid CSRF token (so that
    only the permission check can refuse them) and are rolled back afterwards."""
    raw, signed = csrf_pair(app)
    serial = itertools.count()
    problems: list[str] = []
    clients = {role: client_as(app, world, role, csrf_raw=raw) for role in ROLES}
    for endpoint, label, params, row in cases:
        path = build_path(app, endpoint, params)
        for role, expected in cells(row).items():
            where = f"{method} {path} [{endpoint}, {label}] as {role}"
            if method == "GET":
                _check(problems, where, expected, method, partial(clients[role].get, path))
                continue
            # A fresh browser each time (a POST may log out or change the session).
            client = client_as(app, world, role, csrf_raw=raw)
            data = {
                "csrf_token": signed,
                "email": f"nobody{next(serial)}@security.example",  # no throttling
                "password": "not the password",
                "reason": "security suite",
                "answer": "confirm",
                "language": "ja",
                "registration_id": params.get("registration_id", ""),
            }
            with rolled_back(db_session):
                _check(problems, where, expected, method, partial(client.post, path, data=data))
    return problems


def _matrix_cases(world: World, method: str) -> list[tuple[str, str, dict[str, Any], str]]:
    return [
        (endpoint, variant, world.params[variant], row)
        for (row_method, endpoint), rows in MATRIX.items()
        if row_method == method
        for variant, row in rows.items()
    ]


def test_get_routes_answer_each_role_as_the_table_says(
    app: Flask, db_session: Any, world: World
) -> None:
    cases = _matrix_cases(world, "GET")
    assert len(cases) > 60
    problems = _sweep(app, db_session, world, "GET", cases)
    assert not problems, "\n" + "\n".join(problems)


def test_post_routes_answer_each_role_as_the_table_says(
    app: Flask, db_session: Any, world: World
) -> None:
    cases = _matrix_cases(world, "POST")
    assert len(cases) > 60
    problems = _sweep(app, db_session, world, "POST", cases)
    assert not problems, "\n" + "\n".join(problems)


def test_an_object_joined_to_a_child_of_another_program_is_refused(
    app: Flask, db_session: Any, world: World
) -> None:
    problems: list[str] = []
    for method in ("GET", "POST"):
        cases = []
        for (row_method, endpoint), (child, row) in MIXED.items():
            if row_method != method:
                continue
            if child == "grant_id":  # a user joined to another user's role grant
                mixed = {**world.params["-"], "grant_id": world.params["-"]["other_grant_id"]}
            else:
                mixed = {**world.params["own"], child: world.params["foreign"][child]}
            cases.append((endpoint, f"own + foreign {child}", mixed, row))
        problems += _sweep(app, db_session, world, method, cases)
    assert not problems, "\n" + "\n".join(problems)


def test_a_coordinator_cannot_assign_a_supporter_of_another_program(
    app: Flask, db_session: Any, world: World
) -> None:
    raw, signed = csrf_pair(app)
    client = client_as(app, world, "coord", csrf_raw=raw)
    own, foreign = world.params["own"], world.params["foreign"]
    response = client.post(
        f"/dispatch/{own['event_id']}/assign",
        data={"csrf_token": signed, "registration_id": foreign["registration_id"]},
    )
    assert response.status_code == 302  # refused by the rule, with a message
    assert (
        db_session.scalar(
            select(Assignment).where(
                Assignment.event_id == own["event_id"],
                Assignment.registration_id == foreign["registration_id"],
            )
        )
        is None
    )
