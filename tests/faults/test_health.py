"""`/healthz` tells the truth: 503 when the database cannot write (read-only) or the schema
is behind the code; the scheduler's heartbeat and the outbox's oldest waiting mail in the
JSON. A logged-in user gets the product's error page when the database cannot be used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from supporters import create_app
from supporters.accounts import services as account_services
from supporters.db import now_utc
from supporters.extensions import db
from supporters.mail.models import ServiceState
from supporters.mail.services import enqueue_mail
from tests import factories
from tests.conftest import BACKENDS, CSRF_RE, build_migrated_app, make_test_config


def test_a_healthy_installation_answers_200_with_what_a_monitor_needs(
    client: Any, db_session: Any
) -> None:
    message = enqueue_mail(
        db_session, kind="t", recipient="a@example.jp", subject="s", body_text="b"
    )
    message.created_at = now_utc() - timedelta(hours=1)
    db_session.merge(ServiceState(name="scheduler", updated_at=now_utc() - timedelta(seconds=20)))
    db_session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["status"] == "ok" and report["database"] == "ok"
    assert report["migrations"]["state"] == "ok"
    assert report["migrations"]["database"] == report["migrations"]["code"]
    assert 3590 <= report["outbox"]["oldest_pending_age_seconds"] <= 3700
    assert report["outbox"]["pending"] >= 1 and report["outbox"]["transport"] == "ok"
    assert 15 <= report["scheduler"]["age_seconds"] <= 120
    assert "mail has been waiting for more than 30 minutes" in report["warnings"]
    assert not [w for w in report["warnings"] if "scheduler" in w]
    # The write check left nothing behind.
    names = db_session.scalars(sa.select(ServiceState.name)).all()
    assert not [name for name in names if name.startswith("healthz")]


def _read_only_url(url: str) -> str:
    if url.startswith("sqlite:///"):
        return f"sqlite:///file:{url.removeprefix('sqlite:///')}?mode=ro&uri=true"
    return url + "%20-cdefault_transaction_read_only%3Don"


@pytest.fixture(params=BACKENDS)
def writable_and_read_only(
    request: pytest.FixtureRequest, schema_factory: Any
) -> Iterator[tuple[Flask, Flask, str]]:
    """The same database twice: migrated and writable, and read-only; and a login token."""
    url = schema_factory.url(request.param, "ro")
    writable = build_migrated_app(url)
    with writable.app_context():
        user = factories.admin(db.session, email="ro@example.jp")
        token = account_services.start_session(
            db.session, user, now=now_utc(), lifetime=timedelta(hours=1)
        )
        db.session.commit()
    read_only = create_app(make_test_config(_read_only_url(url)))
    yield writable, read_only, token
    for app in (read_only, writable):
        with app.app_context():
            db.engine.dispose()


def test_a_read_only_database_is_reported_and_users_get_the_error_page(
    writable_and_read_only: tuple[Flask, Flask, str],
) -> None:
    writable, read_only, token = writable_and_read_only
    assert writable.test_client().get("/healthz").status_code == 200

    response = read_only.test_client().get("/healthz")
    assert response.status_code == 503
    report = response.get_json()
    assert report["status"] == "error" and report["database"] == "read-only"
    assert report["migrations"]["state"] == "ok"

    client = read_only.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = token
        flask_session["_fresh"] = True
    page = client.get("/")
    assert page.status_code == 200  # reading still works
    csrf = CSRF_RE.search(page.get_data(as_text=True))
    assert csrf
    # Changing the language writes: the product's error page, not a bare server error.
    response = client.post("/language", data={"language": "en", "csrf_token": csrf.group(1)})
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "<html" in html and "Internal Server Error" not in html
    assert "The service is not available just now" in html  # the language asked for


@pytest.mark.parametrize(
    "url",
    [
        "sqlite:////nonexistent-dir/none.sqlite3",
        "not-a-database",
        "postgresql+psycopg://nobody@127.0.0.1:1/none",
    ],
    ids=["sqlite-missing", "sqlite-not-a-database", "postgresql-unreachable"],
)
def test_a_logged_in_user_gets_the_error_page_when_the_database_cannot_be_opened(
    url: str, tmp_path: Path
) -> None:
    if url == "not-a-database":  # e.g. a backup of something else copied over the file
        garbage = tmp_path / "garbage.sqlite3"
        garbage.write_bytes(b"this is not an SQLite database file " * 200)
        url = f"sqlite:///{garbage}"
    app = create_app(make_test_config(url))
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = "a-session-token"
        flask_session["_fresh"] = True
    for path in ("/", "/mail/", "/registry/"):
        response = client.get(path)
        assert response.status_code == 503, path
        html = response.get_data(as_text=True)
        assert "<html" in html and "Internal Server Error" not in html
        assert "ただいまご利用いただけません" in html
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_behind_the_code_answer_503(backend: str, schema_factory: Any) -> None:
    app = build_migrated_app(schema_factory.url(backend, "behind"))
    try:
        with app.app_context():
            downgrade(revision="-1")
        report = app.test_client().get("/healthz")
        assert report.status_code == 503
        assert report.get_json()["migrations"]["state"] == "behind"
        with app.app_context():
            upgrade()
        assert app.test_client().get("/healthz").status_code == 200
    finally:
        with app.app_context():
            db.engine.dispose()


def test_a_silent_scheduler_is_a_warning_not_an_outage(client: Any, db_session: Any) -> None:
    db_session.merge(ServiceState(name="scheduler", updated_at=now_utc() - timedelta(minutes=10)))
    db_session.commit()
    response = client.get("/healthz")
    assert response.status_code == 200  # the web still works: keep it in the pool
    assert (
        "no scheduler heartbeat: reminders and mail are not processed"
        in (response.get_json()["warnings"])
    )
