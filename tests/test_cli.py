from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from supporters.extensions import db
from tests.conftest import BACKENDS, build_migrated_app


@pytest.fixture(params=BACKENDS)
def fresh_app(request: pytest.FixtureRequest, schema_factory: Any) -> Any:
    app = build_migrated_app(schema_factory.url(request.param, "cli"))
    yield app
    with app.app_context():
        db.engine.dispose()


def _count(app: Flask, table: str) -> int:
    with app.app_context(), db.engine.connect() as connection:
        return int(connection.scalar(sa.text(f"SELECT count(*) FROM {table}")))  # noqa: S608


def test_demo_is_idempotent_and_prints_logins(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["demo", "--password", "a demo passphrase"])
    assert result.exit_code == 0, result.output
    for email in (
        "admin@demo.example",
        "coordinator.tochigi@demo.example",
        "coordinator.nasu@demo.example",
        "staff.sano@demo.example",
        "staff.sakura@demo.example",
        "supporter.kagawa@demo.example",
    ):
        assert email in result.output
    counts = {
        t: _count(fresh_app, t)
        for t in (
            "user_account",
            "role_grant",
            "organisation",
            "person",
            "municipality",
            "program",
            "course",
            "enrolment",
            "registration",
            "activity_report",
            "dispatch_event",
            "assignment",
        )
    }
    assert counts["user_account"] == 12 and counts["organisation"] >= 10
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert counts == {t: _count(fresh_app, t) for t in counts}
    client = fresh_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={
            "email": "coordinator.tochigi@demo.example",
            "password": "a demo passphrase",
            "csrf_token": token,
        },
    )
    assert response.status_code == 302


def test_demo_refuses_a_weak_password_with_the_rule_and_writes_no_user(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["demo", "--password", "short"])
    assert result.exit_code == 2
    assert "10文字以上" in result.output and "Traceback" not in result.output
    assert _count(fresh_app, "user_account") == 0


def test_demo_reset_starts_over(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with fresh_app.app_context(), db.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM role_grant WHERE role = 'supporter'"))
    result = runner.invoke(args=["demo", "--reset"])
    assert result.exit_code == 0, result.output
    with fresh_app.app_context(), db.engine.connect() as connection:
        assert (
            connection.scalar(sa.text("SELECT count(*) FROM role_grant WHERE role = 'supporter'"))
            == 3
        )


def test_users_create_prints_an_invitation_link(fresh_app: Flask) -> None:
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Staff@Example.jp",
            "--role",
            "municipal_staff",
            "--program",
            "tochigi",
            "--municipality",
            "那須町",
        ]
    )
    assert result.exit_code == 0, result.output
    link = next(line for line in result.output.splitlines() if "/invitation/" in line)
    path = link[link.index("/invitation/") :]
    assert (
        fresh_app.test_client().get(path.split()[0].replace("http://localhost", "")).status_code
        == 200
    )
    result = runner.invoke(
        args=["users", "create", "--email", "staff@example.jp", "--role", "admin"]
    )
    assert result.exit_code != 0 and "すでに" in result.output
    result = runner.invoke(
        args=["users", "create", "--email", "x@example.jp", "--role", "coordinator"]
    )
    assert result.exit_code != 0 and "事業" in result.output
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "y@example.jp",
            "--role",
            "municipal_staff",
            "--program",
            "tochigi",
            "--municipality",
            "高松市",
        ]
    )
    assert result.exit_code != 0
    assert _count(fresh_app, "user_account") == 1  # nothing half-written


def test_backup_sqlite_is_a_consistent_copy(schema_factory: Any, tmp_path: Path) -> None:
    app = build_migrated_app(schema_factory.url("sqlite", "backup"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    target = tmp_path / "copy.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    restored = build_migrated_app(f"sqlite:///{target}")  # the restore: point the app at it
    assert restored.test_client().get("/healthz").status_code == 200
    with restored.app_context():
        db.engine.dispose()
    with sqlite3.connect(target) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert copy.execute("SELECT count(*) FROM user_account").fetchone()[0] == 12
        assert copy.execute("SELECT count(*) FROM municipality").fetchone()[0] == 1741


def test_backup_postgresql_with_pg_dump_and_restore(schema_factory: Any, tmp_path: Path) -> None:
    """The deployment guide's restore: pg_restore into an empty database, and it works."""
    import os
    import shutil
    import subprocess
    import uuid

    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        if os.environ.get("CI") == "true":
            pytest.fail("pg_dump/pg_restore (postgresql-client) are missing")
        pytest.skip("pg_dump is not installed")
    url = schema_factory.url("postgresql", "backup")
    schema = url.split("search_path%3D")[1]
    app = build_migrated_app(url)
    runner = app.test_cli_runner()
    assert (
        runner.invoke(
            args=["users", "create", "--email", "kept@example.jp", "--role", "admin"]
        ).exit_code
        == 0
    )
    target = tmp_path / "dump.pgc"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes()[:5] == b"PGDMP"
    with app.app_context():
        db.engine.dispose()
    from tests.conftest import POSTGRES_URL

    name = f"restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    restored_url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    try:
        libpq = restored_url.replace("postgresql+psycopg://", "postgresql://")
        subprocess.run(
            ["psql", libpq, "-c", f'CREATE SCHEMA "{schema}"'], check=True, capture_output=True
        )
        subprocess.run(
            ["pg_restore", "--no-owner", f"--schema={schema}", "--dbname", libpq, str(target)],
            check=True,
            capture_output=True,
        )
        restored = build_migrated_app(f"{restored_url}?options=-csearch_path%3D{schema}")
        with restored.app_context():
            assert (
                db.session.scalar(
                    sa.text("SELECT count(*) FROM user_account WHERE email = 'kept@example.jp'")
                )
                == 1
            )
            assert db.session.scalar(sa.text("SELECT count(*) FROM municipality")) == 1741
            db.session.remove()
            db.engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_healthz_reports_an_unreachable_database(schema_factory: Any) -> None:
    from supporters import create_app
    from tests.conftest import make_test_config

    app = create_app(make_test_config("postgresql+psycopg://nobody@127.0.0.1:1/none"))
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"


def test_demo_reproduces_the_seed_figures(fresh_app: Flask) -> None:
    """DOMAIN.md: Kagawa FY2023 capacity 50, 30 attended, 12/12/6; Tochigi 154 registered
    on 2023-11-30; Nasu about 13 through its council's course. All from individual records."""
    import json

    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    result = runner.invoke(
        args=[
            "registry",
            "status",
            "--program",
            "tochigi",
            "--as-of",
            "2023-11-30",
            "--format",
            "json",
        ]
    )
    counts = json.loads(result.output)
    assert counts["active"] + counts["follow_up_due"] == 154
    courses = json.loads(
        runner.invoke(args=["courses", "list", "--program", "kagawa", "--format", "json"]).output
    )
    fy2023 = next(c for c in courses if c["title"].startswith("令和5年度"))
    assert fy2023["capacity"] == 50 and fy2023["enrolments"]["completed"] == 30
    with fresh_app.app_context():
        from supporters.training.models import Course
        from supporters.training.services.courses import course_figures

        figures = course_figures(db.session, db.session.get(Course, fy2023["id"]))
        assert figures.attended == 30
        assert {k: v for k, v in figures.attributes.items()} == {
            "welfare_professional": 12,
            "family": 12,
            "lived_experience": 6,
        }
        db.session.remove()
    tochigi = json.loads(
        runner.invoke(args=["courses", "list", "--program", "tochigi", "--format", "json"]).output
    )
    nasu = next(c for c in tochigi if "那須町" in c["title"])
    assert nasu["enrolments"]["completed"] == 13
    listing = runner.invoke(
        args=[
            "registry",
            "list",
            "--program",
            "tochigi",
            "--as-of",
            "2023-11-30",
            "--status",
            "active",
            "--format",
            "csv",
        ]
    )
    assert listing.exit_code == 0 and len(listing.output.strip().splitlines()) == 155
    bad = runner.invoke(args=["registry", "status", "--program", "tochigi", "--as-of", "30/11"])
    assert bad.exit_code != 0 and "2023-11-30" in bad.output


def test_demo_is_true_to_the_seed(fresh_app: Flask) -> None:
    """Issue 16 item 9: Sakura files its own requests; Kagawa holds four to five follow-ups
    a fiscal year; Tochigi's FY2023 report shows dispatches; a 例会 with reports presented;
    Sano's monthly supporter-run place is a series."""
    from datetime import date

    from sqlalchemy import func, select

    from supporters.accounts.models import User
    from supporters.core.dates import fiscal_year_bounds
    from supporters.dispatch.models import DispatchEvent, EventState, ProgramActivityKind
    from supporters.programs.models import Municipality, Program
    from supporters.registry.models import ActivityReport
    from supporters.reports.figures import build_fiscal_year_report
    from supporters.training.models import Course, CourseKind, CourseSession

    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["demo"]).exit_code == 0
    with fresh_app.app_context():
        session = db.session
        programs = {p.code: p for p in session.scalars(select(Program))}
        # Sakura's requests are filed by Sakura's own staff, Narashino's by Narashino's.
        requesters = {
            (place, email)
            for place, email in session.execute(
                select(Municipality.name, User.email)
                .join(DispatchEvent, DispatchEvent.municipality_id == Municipality.id)
                .join(User, User.id == DispatchEvent.requested_by_id)
                .where(DispatchEvent.program_id == programs["chiba"].id)
            )
        }
        assert requesters == {
            ("佐倉市", "staff.sakura@demo.example"),
            ("習志野市", "staff.narashino@demo.example"),
        }
        # Kagawa: four to five follow-up courses in each of FY2023, FY2024 and FY2025.
        for year in (2023, 2024, 2025):
            start, end = fiscal_year_bounds(year)
            held = session.scalar(
                select(func.count(func.distinct(Course.id)))
                .join(CourseSession, CourseSession.course_id == Course.id)
                .where(
                    Course.program_id == programs["kagawa"].id,
                    Course.kind == CourseKind.FOLLOW_UP,
                    CourseSession.date >= start,
                    CourseSession.date <= end,
                )
            )
            assert held is not None and 4 <= held <= 5, (year, held)
        # Tochigi's FY2023 report shows the outreach days, staffed and held.
        report = build_fiscal_year_report(
            session, programs["tochigi"], 2023, today=date(2026, 11, 30)
        )
        assert sum(row.events for row in report.dispatch_by_month) >= 6
        assert sum(row.supporters for row in report.dispatch_by_month) >= 6
        assert {row.label for row in report.dispatch_by_municipality} >= {"佐野市", "那須町"}
        # A supporter meeting (例会) with reports presented at it.
        meetings = list(
            session.scalars(
                select(Course).where(
                    Course.program_id == programs["tochigi"].id, Course.kind == CourseKind.MEETING
                )
            )
        )
        assert meetings and all("例会" in m.title for m in meetings)
        presented = session.scalar(
            select(func.count(ActivityReport.id)).where(
                ActivityReport.meeting_course_id.in_([m.id for m in meetings])
            )
        )
        assert presented is not None and presented >= len(meetings) * 3
        # Sano's supporter-run place: one monthly series, on the second Saturday.
        place = list(
            session.scalars(
                select(DispatchEvent)
                .join(ProgramActivityKind, ProgramActivityKind.id == DispatchEvent.activity_kind_id)
                .join(Municipality, Municipality.id == DispatchEvent.municipality_id)
                .where(
                    ProgramActivityKind.organised_by_supporters.is_(True),
                    Municipality.name == "佐野市",
                )
                .order_by(DispatchEvent.starts_at)
            )
        )
        assert len(place) >= 4 and len({e.series_id for e in place}) == 1
        assert place[0].series_id is not None
        assert all(e.state == EventState.OPEN or e.state == EventState.STAFFED for e in place)
        months = [(e.starts_at.year, e.starts_at.month) for e in place]
        assert len(set(months)) == len(months)
        db.session.remove()
