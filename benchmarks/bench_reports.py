"""Time the fiscal-year report and the coordinator's start page on a national-scale data set.

    python benchmarks/bench_reports.py [--scale 1.0] [--postgres URL] [--year 2024]
                                       [--repeat 3] [--keep FILE]

``--scale 1.0`` (the default) is the national scale: 20,000 registered supporters (and 10 %
more trainees who did not register), 40,000 dispatch events and 120,000 assignments over five
fiscal years, 60,000 activity reports, about 700 courses; 60 % of it in one program
(Tochigi), whose report and start page are timed, the rest in the two others. ``--scale 0.1``
is a tenth of it, and so on.

The data go in with bulk inserts (executemany over the tables, with the ids assigned here)
into a temporary SQLite file built by the real migrations, and also into a temporary schema
of PostgreSQL when ``--postgres URL`` is given (for example
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); the schema is dropped afterwards.
Printed per backend: the seconds to load, then for each case the best of ``--repeat`` runs
in seconds and the number of SQL statements it sent. The number of statements does not
depend on the scale; that is the point.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from flask import Flask

from config import TestConfig
from supporters import create_app
from supporters.core.dates import add_months, fiscal_year
from supporters.core.time import TOKYO, today_in_japan
from supporters.extensions import db
from supporters.registry.status_refresh import refresh_statuses

NATIONAL = {
    "supporters": 20_000,
    "events": 40_000,
    "assignments": 120_000,
    "reports": 60_000,
}
SHARES = {"tochigi": 0.6, "chiba": 0.25, "kagawa": 0.15}
ATTRIBUTES = [
    "welfare_professional",
    "family",
    "lived_experience",
    "municipal_staff",
    "private_support",
    "resident",
    "other",
]
ACTIVITIES = ["sitting_in", "phone", "home_visit", "drop_in", "family_meeting"]
BATCH = 5_000


@dataclass
class Ids:
    """The next id per table, so that rows can refer to each other before they are sent."""

    next: dict[str, int] = field(default_factory=dict)

    def take(self, table: str) -> int:
        value = self.next[table]
        self.next[table] = value + 1
        return value


def _config(url: str) -> type[TestConfig]:
    return type(
        "BenchConfig",
        (TestConfig,),
        {"SQLALCHEMY_DATABASE_URI": url, "SQLALCHEMY_ENGINE_OPTIONS": {}},
    )


def _insert(table: str, rows: list[dict[str, Any]]) -> None:
    """executemany in batches; every row gets the same keys (None where it has none)."""
    target = db.metadata.tables[table]
    keys = sorted({key for row in rows for key in row})
    rows = [{key: row.get(key) for key in keys} for row in rows]
    for start in range(0, len(rows), BATCH):
        db.session.execute(sa.insert(target), rows[start : start + BATCH])


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, datetime.min.time(), TOKYO).replace(hour=hour).astimezone(UTC)


def load(scale: float, last_year: int, seed: int = 8) -> dict[str, int]:
    """Bulk-insert the data set; returns the row counts."""
    rng = random.Random(seed)
    session = db.session
    programs = {
        code: (pid, prefecture)
        for pid, code, prefecture in session.execute(
            sa.text("SELECT id, code, prefecture FROM program")
        )
    }
    ids = Ids()
    for table in (
        "person",
        "course",
        "course_session",
        "enrolment",
        "attendance",
        "registration",
        "registration_event",
        "dispatch_event",
        "assignment",
        "activity_report",
        "organisation",
    ):
        ids.next[table] = (
            int(session.scalar(sa.text(f"SELECT coalesce(max(id), 0) FROM {table}")))  # noqa: S608
            + 1
        )
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    first_year = last_year - 4
    years = list(range(first_year - 5, last_year + 1))  # registrations over ten years
    for code, share in SHARES.items():
        program_id, prefecture = programs[code]
        places = [
            row[0]
            for row in session.execute(
                sa.text("SELECT id FROM municipality WHERE prefecture = :p ORDER BY id"),
                {"p": prefecture},
            )
        ]
        organiser = ids.take("organisation")
        _insert(
            "organisation",
            [
                {
                    "id": organiser,
                    "program_id": program_id,
                    "kind": "operator",
                    "name": f"ベンチマーク運営団体 {uuid.uuid4().hex[:6]}",
                    "municipality_id": places[0],
                    "created_at": now,
                }
            ],
        )
        mandatory = code == "tochigi"
        supporters = round(NATIONAL["supporters"] * scale * share)
        trainees = supporters + supporters // 10
        rows: dict[str, list[dict[str, Any]]] = {
            name: []
            for name in (
                "person",
                "course",
                "course_session",
                "enrolment",
                "attendance",
                "registration",
                "registration_event",
                "dispatch_event",
                "assignment",
                "activity_report",
            )
        }
        registrations: list[tuple[int, int, date, date | None, date | None]] = []
        per_course = 40
        for offset in range(0, trainees, per_course):
            year = years[(offset // per_course) % len(years)]
            day = date(year, 4, 1) + timedelta(days=rng.randrange(330))
            course_id = ids.take("course")
            session_id = ids.take("course_session")
            rows["course"].append(
                {
                    "id": course_id,
                    "program_id": program_id,
                    "kind": "initial",
                    "organiser_id": organiser,
                    "title": f"養成研修 {year} #{course_id}",
                    "venue": "会場",
                    "capacity": 50,
                    "notes": "",
                    "version": 0,
                    "created_at": now,
                }
            )
            rows["course_session"].append(
                {
                    "id": session_id,
                    "course_id": course_id,
                    "date": day,
                    "topic": "基礎",
                    "required": True,
                }
            )
            for k in range(min(per_course, trainees - offset)):
                person_id = ids.take("person")
                enrolment_id = ids.take("enrolment")
                attribute = rng.choice(ATTRIBUTES)
                rows["person"].append(
                    {
                        "id": person_id,
                        "name": f"受講者 {person_id}",
                        "name_reading": "ジュコウシャ",
                        "name_key": f"受講者{person_id}",
                        "residence_municipality_id": rng.choice(places),
                        "attribute": attribute,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                completed = k < per_course - 3
                rows["enrolment"].append(
                    {
                        "id": enrolment_id,
                        "course_id": course_id,
                        "person_id": person_id,
                        "state": "completed" if completed else "not_completed",
                        "source": "csv",
                        "applied_at": _at(day, 9) - timedelta(days=30),
                        "state_changed_at": _at(day, 17),
                        "completion_number": f"B-{enrolment_id}" if completed else None,
                        "completed_on": day if completed else None,
                        "attribute": attribute,
                    }
                )
                if completed:
                    rows["attendance"].append(
                        {
                            "id": ids.take("attendance"),
                            "enrolment_id": enrolment_id,
                            "session_id": session_id,
                            "recorded_at": _at(day, 17),
                        }
                    )
                if completed and len(registrations) < supporters:
                    registration_id = ids.take("registration")
                    end = add_months(day, 36) if mandatory else None
                    withdrawn = day + timedelta(days=400) if rng.random() < 0.03 else None
                    registrations.append((registration_id, person_id, day, end, withdrawn))
                    rows["registration_event"].append(
                        {
                            "id": ids.take("registration_event"),
                            "registration_id": registration_id,
                            "kind": "registered",
                            "occurred_on": day,
                            "valid_until": end,
                            "enrolment_id": enrolment_id,
                            "created_at": now,
                        }
                    )
                    latest = end
                    while mandatory and latest is not None and latest < now.date():
                        if rng.random() < 0.35:  # lapses: no follow-up training
                            break
                        renewed_on = latest - timedelta(days=rng.randrange(1, 150))
                        latest = add_months(latest, 36)
                        rows["registration_event"].append(
                            {
                                "id": ids.take("registration_event"),
                                "registration_id": registration_id,
                                "kind": "renewed",
                                "occurred_on": renewed_on,
                                "valid_until": latest,
                                "created_at": now,
                            }
                        )
                    rows["registration"].append(
                        {
                            "id": registration_id,
                            "program_id": program_id,
                            "person_id": person_id,
                            "enrolment_id": enrolment_id,
                            "number": f"BENCH-{code}-{registration_id}",
                            "registered_on": day,
                            "issuing_organisation_id": organiser,
                            "main_municipality_id": rng.choice(places),
                            "consent_share_contact": False,
                            "initial_valid_until": end,
                            "valid_until": latest,
                            "withdrawn_on": withdrawn,
                            "created_at": now,
                        }
                    )
        # Dispatch over the last five fiscal years; three supporters per event...
        events = round(NATIONAL["events"] * scale * share)
        per_event = max(1, round(NATIONAL["assignments"] / NATIONAL["events"]))
        # ... and up to two months ahead, for the start page.
        span = (now.date() + timedelta(days=60) - date(first_year, 4, 1)).days
        for _ in range(events):
            day = date(first_year, 4, 1) + timedelta(days=rng.randrange(span))
            event_id = ids.take("dispatch_event")
            starts, ends = _at(day, 13), _at(day, 16)
            past = starts < now
            rows["dispatch_event"].append(
                {
                    "id": event_id,
                    "program_id": program_id,
                    "kind": "outreach_day",
                    "activity": "sitting_in",
                    "title": "出張相談会",
                    "municipality_id": rng.choice(places),
                    "venue": "保健センター",
                    "starts_at": starts,
                    "ends_at": ends,
                    "needed": per_event,
                    "lead_consultant": "",
                    "notes": "",
                    "bring": "",
                    "state": "held" if past else rng.choice(["open", "staffed"]),
                    "created_at": now,
                    "version": 0,
                }
            )
            for registration_id, person_id, *_rest in rng.sample(
                registrations, min(per_event, len(registrations))
            ):
                rows["assignment"].append(
                    {
                        "id": ids.take("assignment"),
                        "event_id": event_id,
                        "registration_id": registration_id,
                        "person_id": person_id,
                        "starts_at": starts,
                        "ends_at": ends,
                        "state": ("attended" if rng.random() < 0.9 else "no_show")
                        if past
                        else rng.choice(["assigned", "confirmed"]),
                        "source": "coordinator",
                        "created_at": starts - timedelta(days=14),
                    }
                )
        reports = round(NATIONAL["reports"] * scale * share)
        for _ in range(reports):
            registration_id, _person, registered_on, _end, _withdrawn = rng.choice(registrations)
            day = registered_on + timedelta(
                days=rng.randrange(max((now.date() - registered_on).days, 1))
            )
            rows["activity_report"].append(
                {
                    "id": ids.take("activity_report"),
                    "registration_id": registration_id,
                    "activity_on": day,
                    "hours": Decimal(rng.choice(["1.0", "1.5", "2.0", "3.0"])),
                    "kind": rng.choice(ACTIVITIES),
                    "topics": ["going_out"],
                    "note": "",
                    "filed_on_behalf": False,
                    "created_at": now,
                }
            )
        for table, table_rows in rows.items():
            _insert(table, table_rows)
            counts[table] = counts.get(table, 0) + len(table_rows)
        session.commit()
    refresh_statuses(session, today=today_in_japan())  # the rows' stored status, as the job would
    session.commit()
    if db.engine.dialect.name == "postgresql":
        for table in [*ids.next]:
            session.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        session.commit()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(sa.text("ANALYZE"))
    else:
        session.execute(sa.text("ANALYZE"))
        session.commit()
    return counts


@contextmanager
def counting(engine: sa.Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def listener(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", listener)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", listener)


def _best(engine: sa.Engine, run: Callable[[], object], repeat: int) -> tuple[float, int]:
    best, queries = float("inf"), 0
    for _ in range(repeat):
        with counting(engine) as statements:
            started = time.perf_counter()
            run()
            elapsed = time.perf_counter() - started
        if elapsed < best:
            best, queries = elapsed, len(statements)
    return best, queries


def _coordinator_client(app: Flask) -> Any:
    from supporters.accounts import services as accounts
    from supporters.accounts.models import Role
    from supporters.programs.services import get_program_by_code

    with app.app_context():
        program = get_program_by_code(db.session, "tochigi")
        user = accounts.create_user(
            db.session,
            actor=None,
            email=f"bench-{uuid.uuid4().hex[:8]}@example.jp",
            display_name="ベンチ コーディネーター",
        )
        accounts.grant_role(
            db.session,
            actor=None,
            user=user,
            role=Role.COORDINATOR,
            program=program,
            now=datetime.now(UTC),
        )
        token = accounts.start_session(
            db.session, user, now=datetime.now(UTC), lifetime=timedelta(hours=2)
        )
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = token
        flask_session["_fresh"] = True
    return client


def bench(url: str, label: str, scale: float, year: int, repeat: int) -> None:
    from flask_migrate import upgrade

    from supporters.programs.services import get_program_by_code
    from supporters.reports.figures import build_fiscal_year_report

    app = create_app(_config(url))
    with app.app_context():
        started = time.perf_counter()
        upgrade()
        migrated = time.perf_counter() - started
        started = time.perf_counter()
        counts = load(scale, year)
        loaded = time.perf_counter() - started
        engine = db.engine
    print(f"\n{label}: migrations {migrated:.1f} s, bulk load {loaded:.1f} s")
    print("  rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    client = _coordinator_client(app)
    today = datetime.now(TOKYO).date()

    def service() -> None:
        with app.app_context():
            program = get_program_by_code(db.session, "tochigi")
            assert program is not None
            build_fiscal_year_report(
                db.session,
                program,
                year,
                today=today,
                as_of=date(year, 11, 30),
                include_attributes=True,
            )
            db.session.remove()

    def page(path: str) -> Callable[[], None]:
        def run() -> None:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return run

    cases = [
        ("fiscal-year report (service)", service),
        (
            f"report page /reports/tochigi/{year}",
            page(f"/reports/tochigi/{year}?as_of={year}-11-30"),
        ),
        ("report PDF", page(f"/reports/tochigi/{year}/report.pdf")),
        ("coordinator start page /", page("/")),
    ]
    print(f"  {'case':<44} {'seconds':>9} {'queries':>8}")
    for name, run in cases:
        seconds, queries = _best(engine, run, repeat)
        print(f"  {name:<44} {seconds:>9.3f} {queries:>8}")
    with app.app_context():
        db.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1.0 = national (default)")
    parser.add_argument("--postgres", default=None, help="also on this PostgreSQL URL")
    parser.add_argument(
        "--year",
        type=int,
        default=fiscal_year(datetime.now(TOKYO).date()) - 1,
        help="fiscal year of the report (default: the last complete one)",
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--keep", type=Path, default=None, help="keep the SQLite file here")
    args = parser.parse_args()
    print(
        f"scale {args.scale:g}: "
        + ", ".join(f"{k} {round(v * args.scale):,}" for k, v in NATIONAL.items())
        + f"; report for FY{args.year}"
    )
    with tempfile.TemporaryDirectory() as directory:
        path = args.keep or Path(directory) / "bench.sqlite3"
        if path.exists():
            path.unlink()
        bench(f"sqlite:///{path}", "SQLite", args.scale, args.year, args.repeat)
    if args.postgres:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        engine = sa.create_engine(args.postgres)
        with engine.begin() as connection:
            connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        separator = "&" if "?" in args.postgres else "?"
        try:
            bench(
                f"{args.postgres}{separator}options=-csearch_path%3D{schema}",
                "PostgreSQL",
                args.scale,
                args.year,
                args.repeat,
            )
        finally:
            with engine.begin() as connection:
                connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    main()
