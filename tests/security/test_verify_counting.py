"""Anonymous /verify checks are counted per day, not written to the audit log one row each,
and limited per real client (behind a trusted proxy too)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from supporters.audit.models import AuditCounter, AuditEvent
from supporters.audit.services import count_audit
from supporters.extensions import db, limiter
from tests.conftest import BACKENDS, build_migrated_app


def test_many_anonymous_checks_add_no_audit_rows(app: Flask, client: Any, db_session: Any) -> None:
    before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    for n in range(25):
        client.get(f"/verify/no-such-code-{n:04d}")
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == before
    rows = db_session.execute(
        select(AuditCounter.outcome, AuditCounter.count, AuditCounter.target_id).where(
            AuditCounter.action == "certificate.verify"
        )
    ).all()
    assert [tuple(row) for row in rows] == [("unknown", 25, 0)]


def test_the_counter_is_one_row_per_day_target_and_outcome(db_session: Any) -> None:
    for day, outcome in [
        (date(2026, 11, 29), "valid"),
        (date(2026, 11, 30), "valid"),
        (date(2026, 11, 30), "valid"),
        (date(2026, 12, 1), "valid"),
        (date(2026, 11, 30), "unknown"),
    ]:
        count_audit(db_session, "test.count", day=day, outcome=outcome)
    rows = db_session.execute(
        select(AuditCounter.day, AuditCounter.outcome, AuditCounter.count)
        .where(AuditCounter.action == "test.count")
        .order_by(AuditCounter.day, AuditCounter.outcome)
    ).all()
    assert [tuple(row) for row in rows] == [
        (date(2026, 11, 29), "valid", 1),
        (date(2026, 11, 30), "unknown", 1),
        (date(2026, 11, 30), "valid", 2),
        (date(2026, 12, 1), "valid", 1),
    ]


@pytest.fixture(scope="module", params=BACKENDS)
def proxied(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Flask]:
    app = build_migrated_app(schema_factory.url(request.param, "vproxy"), TRUSTED_PROXIES=1)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_behind_the_proxy_the_check_limit_is_per_real_client(proxied: Flask) -> None:
    with proxied.app_context():
        limiter.reset()
    browser = proxied.test_client()
    proxy = {"REMOTE_ADDR": "127.0.0.1"}

    def check(client_address: str) -> int:
        response = browser.get(
            "/verify/no-such-code-0000",
            environ_base=proxy,
            headers={"X-Forwarded-For": client_address},
        )
        return response.status_code

    assert [check("203.0.113.5") for _ in range(30)] == [404] * 30
    assert check("203.0.113.5") == 429
    assert check("198.51.100.5") == 404  # another visitor behind the same proxy


def test_the_calendar_feed_limit_is_per_real_client(proxied: Flask) -> None:
    with proxied.app_context():
        limiter.reset()
    browser = proxied.test_client()

    def feed(client_address: str) -> int:
        response = browser.get(
            "/calendar/not-a-token.ics",
            environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Forwarded-For": client_address},
        )
        return response.status_code

    assert {feed("203.0.113.6") for _ in range(60)} == {404}
    assert feed("203.0.113.6") == 429
    assert feed("198.51.100.6") == 404


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_migration_folds_old_check_rows_into_counters(
    backend: str, schema_factory: Any
) -> None:
    from datetime import UTC, datetime

    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    app = build_migrated_app(schema_factory.url(backend, "fold"))
    with app.app_context():
        downgrade(revision="0008")
        events = sa.table(
            "audit_event",
            sa.column("occurred_at", sa.DateTime(timezone=True)),
            sa.column("action", sa.String),
            sa.column("target_type", sa.String),
            sa.column("target_id", sa.Integer),
            sa.column("detail", sa.JSON),
        )
        late_evening_utc = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 30 Nov in Japan
        with db.engine.begin() as connection:
            connection.execute(
                events.insert(),
                [
                    {
                        "occurred_at": late_evening_utc,
                        "action": "certificate.verify",
                        "target_type": None,
                        "target_id": None,
                        "detail": {"result": "unknown"},
                    }
                ]
                * 3
                + [
                    {
                        "occurred_at": late_evening_utc,
                        "action": "user.create",
                        "target_type": None,
                        "target_id": None,
                        "detail": None,
                    }
                ],
            )
        upgrade()
        with db.engine.connect() as connection:
            counters = connection.execute(
                sa.text("SELECT day, outcome, count FROM audit_counter")
            ).all()
            left = connection.scalar(sa.text("SELECT count(*) FROM audit_event"))
        db.engine.dispose()
    assert [(str(day), outcome, count) for day, outcome, count in counters] == [
        ("2026-11-30", "unknown", 3)
    ]
    assert left == 1  # only the other audit row stays
