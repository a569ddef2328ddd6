"""Issue 12, item 6, for every form: each role opens every page it may see; every form that
posts is sent twice exactly as a browser would (same fields, same single-use token). The
second submit never answers 500 and never changes anything when the first one did: it gets
the normal "already sent" answer. Every POST route of the application is met on the way,
so a new form is covered without being listed here."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.datastructures import MultiDict

from supporters.extensions import db
from supporters.submissions import FIELD_NAME, new_token
from tests.security.live import Form, post_forms
from tests.security.routes import MATRIX, cells
from tests.security.world import ROLES, World, build_path, client_as, csrf_pair, rolled_back

# What a person would type into the empty fields that forms need (everything else is sent
# as the page rendered it: hidden fields, selected options, ticked boxes).
TYPED = {
    "reason": "二重送信の確認",
    "hours": "1.5",
    "name": "二重 送信",
    "name_reading": "ニジュウ ソウシン",
    "display_name": "二重 送信",
    "title": "二重送信の確認",
    "venue": "佐野市保健センター",
    "needed": "2",
    "email": "twice@security.example",
    "password": "not the password",
    "reissue-reason": "紛失",
    "revoke-reason": "誤記",
    "municipality": "佐野市",
    "residence": "佐野市",
    "date": (date.today() + timedelta(days=40)).isoformat(),
    "first_session_on": (date.today() + timedelta(days=40)).isoformat(),
    "activity_on": (date.today() - timedelta(days=1)).isoformat(),
    "start": "10:00",
    "end": "12:00",
    "start_time": "10:00",
    "end_time": "12:00",
    "topic": "基礎",
}
# Posted by pages the walk does not open as a form (a link token, an upload).
NOT_ON_A_PAGE = {
    "accounts.reset_password",  # needs a valid link token
    "accounts.accept_invitation",  # needs a valid link token
    "answers.answer",  # needs a valid link token (sent twice in tests/answers)
}


def _counts() -> dict[str, int]:
    session = db.session
    counts = {
        table.name: int(session.scalar(sa.select(sa.func.count()).select_from(table)) or 0)
        for table in db.metadata.sorted_tables
        if table.name != "form_submission"
    }
    session.rollback()  # end the test session's own savepoint: the requests come next
    return counts


def _fields(form: Form) -> list[tuple[str, str]]:
    sent = dict.fromkeys(name for name, _ in form.fields)
    values = {name: TYPED[name] for name in TYPED if name in sent}
    return form.filled(**values)


def _endpoint(app: Flask, path: str) -> str:
    adapter = app.url_map.bind("localhost")
    endpoint, _ = adapter.match(path.split("?", 1)[0], method="POST")
    return str(endpoint)


def _send_twice(
    app: Flask,
    db_session: Any,
    world: World,
    role: str,
    page: str,
    action: str,
    fields: list[tuple[str, str]],
    problems: list[str],
    csrf_raw: str | None = None,
) -> None:
    where = f"{action} ({_endpoint(app, action)}) from {page} as {role}"
    if FIELD_NAME not in dict(fields):
        problems.append(f"{where}: the form has no single-use token")
        return
    sender = client_as(app, world, role, csrf_raw=csrf_raw)
    if csrf_raw is None:
        # A browser of its own loads the page (a POST may log it out or change its
        # session) and sends the form as that page rendered it.
        shown = sender.get(page).get_data(as_text=True)
        fresh = [f for f in post_forms(shown, page) if f.action == action]
        if not fresh:
            problems.append(f"{where}: the form is not on the page the second time")
            return
        fields = _fields(fresh[0])
    data = MultiDict(fields)
    with rolled_back(db_session):
        before = _counts()
        first = sender.post(action, data=data, headers={"Referer": page})
        middle = _counts()
        second = sender.post(action, data=data, headers={"Referer": page})
        after = _counts()
    if 500 in (first.status_code, second.status_code):
        problems.append(f"{where}: 500")
    if middle != before and after != middle:
        changed = {k: (middle[k], after[k]) for k in after if after[k] != middle[k]}
        problems.append(f"{where}: the second submit changed {changed}")
    # Logging out twice: the first ended the session, so the second has no CSRF token.
    expected = (303, 400) if _endpoint(app, action) == "accounts.logout" else (303,)
    if middle != before and second.status_code not in expected:
        problems.append(f"{where}: the second submit answered {second.status_code}")


def test_every_form_sent_twice_changes_things_once(
    app: Flask, db_session: Any, world: World
) -> None:
    seen: set[tuple[str, str]] = set()
    problems: list[str] = []
    for role in ROLES:
        browser = client_as(app, world, role)
        for (method, endpoint), rows in MATRIX.items():
            if method != "GET" or endpoint == "static":
                continue
            variant = "own" if "own" in rows else "-"
            if cells(rows[variant])[role] != "ok":
                continue
            page = build_path(app, endpoint, world.params[variant])
            shown = browser.get(page)
            if shown.status_code != 200 or shown.mimetype != "text/html":
                continue
            for form in post_forms(shown.get_data(as_text=True), page):
                target = _endpoint(app, form.action)
                if (role, target) in seen:
                    continue
                seen.add((role, target))
                _send_twice(
                    app, db_session, world, role, page, form.action, _fields(form), problems
                )
    assert not problems, "\n" + "\n".join(problems)

    # Forms shown only in a state the world does not have (a pending request, a suspended
    # registration...): sent as such a form would be, with a token of its own.
    reached = {target for _role, target in seen}
    raw, signed = csrf_pair(app)
    for (method, endpoint), rows in MATRIX.items():
        if method != "POST" or endpoint in reached or endpoint in NOT_ON_A_PAGE:
            continue
        variant = "own" if "own" in rows else "-"
        role = next(r for r in ROLES if cells(rows[variant])[r] == "ok")
        action = build_path(app, endpoint, world.params[variant])
        fields = [
            ("csrf_token", signed),
            (FIELD_NAME, new_token()),
            ("reason", TYPED["reason"]),
            ("attended", str(world.params[variant].get("assignment_id", ""))),
        ]
        _send_twice(app, db_session, world, role, "/", action, fields, problems, csrf_raw=raw)
        reached.add(endpoint)
    assert not problems, "\n" + "\n".join(problems)
    posts = {endpoint for (method, endpoint) in MATRIX if method == "POST"}
    assert posts - reached == NOT_ON_A_PAGE
