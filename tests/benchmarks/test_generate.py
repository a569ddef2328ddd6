"""The national-scale generator and the benchmark runner work, at a tiny scale (the figures
themselves come from benchmarks/run.py at --scale 1.0, not from tests)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from supporters import create_app
from supporters.core.time import local_date, today_in_japan
from supporters.dispatch.models import Assignment
from supporters.extensions import db
from supporters.registry.models import VALID_STATUSES, Registration, RegistrationEvent
from supporters.registry.services import status_on
from tests.conftest import BACKENDS, make_test_config

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
LIVE = ("assigned", "confirmed", "attended", "no_show")
OVERLAPS = """SELECT count(*) FROM assignment a JOIN assignment b ON a.person_id = b.person_id
AND a.id < b.id AND a.starts_at < b.ends_at AND a.ends_at > b.starts_at
WHERE a.state IN ('assigned', 'confirmed', 'attended', 'no_show')
AND b.state IN ('assigned', 'confirmed', 'attended', 'no_show')"""
OVERBOOKED = """SELECT count(*) FROM dispatch_event e
WHERE e.needed < (SELECT count(*) FROM assignment a WHERE a.event_id = e.id
AND a.state IN ('assigned', 'confirmed', 'attended', 'no_show'))"""
PAGES = (
    "start page",
    "courses list",
    "course detail",
    "register list, page 1",
    "register search",
    "register status counts (service)",
    "dispatch month view",
    "event detail with suggestions",
    "fiscal-year report",
    "my page",
    "schedule",
    "calendar feed (five years)",
    "supporters list",
)


def _script(name: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def _check_rules(url: str) -> None:
    """The rules the application enforces hold in the generated data."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:

        def scalar(sql: str) -> Any:
            return connection.execute(sa.text(sql)).scalar()

        assert 900 <= scalar("SELECT count(*) FROM registration") <= 1200
        assert scalar("SELECT count(*) FROM dispatch_event") == 2000
        assert 5000 <= scalar("SELECT count(*) FROM assignment") <= 7000
        assert scalar("SELECT count(DISTINCT residence_municipality_id) FROM person") > 100
        assert scalar(OVERLAPS) == 0  # no one in two events at once
        assert scalar(OVERBOOKED) == 0  # no event with more supporters than it needs
        # Every registration number was counted by its sequence (new ones will not clash).
        numbers = scalar("SELECT count(*) FROM registration")
        counted = scalar("SELECT sum(last_value) FROM number_sequence WHERE kind = 'registration'")
        assert numbers == counted
        # The supporter timed by run.py has about a dispatch a week for five years.
        heavy = scalar(
            "SELECT count(*) FROM assignment a JOIN user_account u ON u.person_id = a.person_id "
            "WHERE u.email = 'bench.supporter@bench.example'"
        )
        assert heavy > 200
    engine.dispose()
    # Each live assignment's registration is valid on the day, by the register's own rules.
    app = create_app(make_test_config(url))  # migrated by generate.py
    with app.app_context():
        session = db.session
        registrations = {r.id: r for r in session.scalars(sa.select(Registration))}
        events: dict[int, list[RegistrationEvent]] = defaultdict(list)
        for event in session.scalars(
            sa.select(RegistrationEvent).order_by(
                RegistrationEvent.occurred_on, RegistrationEvent.id
            )
        ):
            events[event.registration_id].append(event)
        rows = session.execute(
            sa.select(Assignment.registration_id, Assignment.starts_at).where(
                Assignment.state.in_(LIVE)
            )
        ).all()
        assert rows
        for registration_id, starts_at in rows:
            registration = registrations[registration_id]
            day = local_date(starts_at)
            status = status_on(registration, registration.program, events[registration_id], day)
            assert status in VALID_STATUSES, (registration.number, day, status)
        # Today's stored status is the register's own rules on today (the refresh wrote it).
        today = today_in_japan()
        for registration in registrations.values():
            expected = status_on(registration, registration.program, events[registration.id], today)
            if expected is not None:
                assert registration.status == expected, (registration.number, expected)
        session.remove()
        db.engine.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_generator_and_runner_at_a_tiny_scale(
    backend: str, schema_factory: Any, tmp_path: Path
) -> None:
    url = schema_factory.url(backend, "bench")
    output = _script("generate.py", "--database", url, "--scale", "0.01")
    assert re.search(r"generation took [\d.]+ s", output)
    _check_rules(url)

    json_file = tmp_path / "bench.json"
    args = ["--database", url, "--requests", "3", "--seconds-per-case", "5", "--cards", "20"]
    args += ["--json", str(json_file)]
    if backend == "sqlite":
        args += ["--throughput-seconds", "1", "--pages-under-load", "1"]
    else:
        args += ["--no-throughput"]
    table = _script("run.py", *args)
    rows = {
        cells[1]: cells
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| area")
        for cells in [[cell.strip() for cell in line.strip("|").split("|")]]
    }
    for page in PAGES:
        found = [cells for case, cells in rows.items() if case.startswith(page)]
        assert found, f"{page} missing from\n{table}"
        for cells in found:
            # No query per row: at most 15 statements a page whatever the data.
            assert int(cells[6]) <= 15, (page, cells)
    assert any(case.startswith("reminder pass, first pass") for case in rows)
    assert any(case.startswith("card sheet, 20 cards") for case in rows)
    baseline = rows["bare Flask page, 50-row template"]
    if backend == "sqlite":
        assert float(baseline[7].replace(",", "")) > 0  # gunicorn and the load generator ran
        assert rows["register list, page 1"][7]

    # The same table for machines: one object a row, with the documented keys.
    objects = json.loads(json_file.read_text(encoding="utf-8"))
    keys = {"area", "case", "median_ms", "p95_ms", "x_bare", "queries", "req_s"}
    keys |= {"x_bare_req_s", "notes"}
    assert all(set(item) == keys for item in objects)
    table_rows = [line for line in table.splitlines() if line.startswith("| ")][1:]
    assert [item["case"] for item in objects] == [line.split("|")[2].strip() for line in table_rows]
    by_case = {item["case"]: item for item in objects}
    assert by_case["bare Flask page, 50-row template"]["x_bare"] == 1.0
    assert by_case["register list, page 1"]["queries"] == int(rows["register list, page 1"][6])
    assert by_case["register list, page 1"]["median_ms"] > 0

    # The runner undid what it wrote (reminders, card issues), so runs are repeatable.
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        for table_name in ("reminder_ledger", "outbox_message", "card_issue"):
            count = connection.execute(
                sa.text(f"SELECT count(*) FROM {table_name}")  # noqa: S608
            ).scalar()
            assert count == 0, table_name
    engine.dispose()
