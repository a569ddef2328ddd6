"""Every POST without a valid CSRF token gets 400, for every role, on every object: with no
token at all, and with a token of another browser's session (what a forged cross-site form
would carry). Nothing is done either way."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from supporters.audit.models import AuditEvent
from tests.security.routes import MATRIX, REFUSALS, cells
from tests.security.world import (
    ROLES,
    World,
    assert_security_headers,
    build_path,
    client_as,
    csrf_pair,
)


def _posts(app: Flask, world: World) -> list[tuple[str, str, str, dict[str, str]]]:
    """(endpoint, variant, path, cells) of every POST route."""
    return [
        (endpoint, variant, build_path(app, endpoint, world.params[variant]), cells(row))
        for (method, endpoint), rows in MATRIX.items()
        if method == "POST"
        for variant, row in rows.items()
    ]


def test_every_reachable_post_of_every_role_without_a_token_gets_400(
    app: Flask, db_session: Any, world: World
) -> None:
    audit_before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    own_raw, _own_signed = csrf_pair(app)
    _other_raw, other_signed = csrf_pair(app)  # a token of someone else's session
    problems = []
    checked = 0
    for endpoint, variant, path, row in _posts(app, world):
        for role in ROLES:
            if row[role] in REFUSALS:  # only the POSTs this role can reach
                continue
            client = client_as(app, world, role, csrf_raw=own_raw)
            attempts = {"no token": {}, "another session's token": {"csrf_token": other_signed}}
            for label, token in attempts.items():
                data = {
                    **token,
                    "email": f"{role}@security.example",
                    "password": "not the password",
                    "reason": "forged",
                    "registration_id": str(world.params[variant].get("registration_id", "")),
                }
                with client.post(path, data=data) as response:
                    checked += 1
                    where = f"POST {path} [{endpoint}, {variant}] as {role} with {label}"
                    if response.status_code != 400:
                        problems.append(f"{where}: {response.status_code}")
                    assert_security_headers(response, where)
    assert not problems, "\n" + "\n".join(problems)
    assert checked > 200
    db_session.expire_all()
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audit_before


def test_the_token_in_a_header_is_checked_too(app: Flask, db_session: Any, world: World) -> None:
    """Flask-WTF also reads X-CSRFToken: a token of another session is refused there too."""
    own_raw, own_signed = csrf_pair(app)
    _other_raw, other_signed = csrf_pair(app)
    client = client_as(app, world, "admin", csrf_raw=own_raw)
    assert (
        client.post("/notifications/read", headers={"X-CSRFToken": other_signed}).status_code == 400
    )
    assert (
        client.post("/notifications/read", headers={"X-CSRFToken": own_signed}).status_code == 302
    )
