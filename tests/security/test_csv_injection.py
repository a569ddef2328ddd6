"""No CSV export starts a cell with = + - @, tab or CR (a spreadsheet would run it as a
formula), whatever names, readings, e-mail addresses and phone numbers are stored.

The people are written straight into the database, past the input normalisation: the
exports must be safe on their own, for records from any source. Every export is read back
with the csv module: the web's course enrolments CSV, register export and fiscal-year report
CSV (and the trainee template), and the commands `trainees list`, `registry list --format csv` and
`report fiscal-year --format csv`."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from supporters.core.dates import fiscal_year
from supporters.db import now_utc
from supporters.people.models import Person
from supporters.registry import services as registry
from supporters.training.services.completion import complete_by_hand
from supporters.training.services.enrolments import enrol_person
from tests import factories
from tests.security.world import TOKYO, rolled_back

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

_characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")
_leads = st.sampled_from([*FORMULA_STARTS, "", " ", "\n", "'", '"', "\ufeff", "＝", "=="])


def _adversarial(max_size: int) -> st.SearchStrategy[str]:
    """A dangerous (or harmless) first character, then anything, at most max_size long."""
    return st.builds(
        lambda lead, rest: (lead + rest)[:max_size], _leads, st.text(_characters, max_size=25)
    )


_person = st.fixed_dictionaries(
    {
        "name": _adversarial(100).filter(str.strip),
        "name_reading": _adversarial(100),
        "email": st.one_of(st.none(), _adversarial(254)),
        "phone": st.one_of(st.none(), _adversarial(20)),
    }
)

EXPLICIT = [
    {
        "name": '=HYPERLINK("http://evil.example","x")',
        "name_reading": "+ヤマダ",
        "email": "-2+3@example.jp",
        "phone": "@SUM(1,1)",
    },
    {"name": "\t=1+1", "name_reading": "\r=1+1", "email": "=cmd|'/c calc'!A0", "phone": "+81-3"},
    {"name": "-1", "name_reading": "@A1", "email": "+x@example.jp", "phone": "\t0312345678"},
    # A CR inside a value: a reader that starts a new row there must not meet a formula.
    {"name": "安全\r=1+1", "name_reading": "ア\r\n@SUM(1)", "email": None, "phone": "0\r-1"},
]


def _cells(text: str) -> list[str]:
    body = text.removeprefix("\ufeff")
    return [cell for row in csv.reader(io.StringIO(body, newline="")) for cell in row]


def _assert_safe(text: str, what: str) -> None:
    cells = _cells(text)
    assert cells, what
    bad = [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert not bad, (what, bad)


def _add_people(db_session: Any, course: Any, people: list[dict[str, Any]]) -> None:
    today = now_utc().astimezone(TOKYO).date()
    admin = factories.admin_user(db_session)
    for fields in people:
        person = Person(**fields, name_key=fields["name"].replace(" ", ""))
        db_session.add(person)
        db_session.flush()
        enrolment = enrol_person(
            db_session, actor=None, course=course, person=person, now=now_utc()
        )
        complete_by_hand(db_session, actor=admin, enrolment=enrolment, reason="テスト", on=today)
        registry.register_enrolment(
            db_session, actor=None, enrolment=enrolment, on=today, form_received=True
        )
    db_session.commit()


def _exports(app: Flask, client: Any, course_id: int) -> dict[str, str]:
    year = fiscal_year(now_utc().astimezone(TOKYO).date())
    runner = app.test_cli_runner()
    found: dict[str, str] = {}
    for name, url in {
        "web: course enrolments": f"/courses/{course_id}/enrolments.csv",
        "web: trainee CSV template": f"/courses/{course_id}/template.csv",
        "web: register export": "/register/export.csv?program=tochigi",
        "web: fiscal-year report": f"/reports/tochigi/{year}/report.csv",
    }.items():
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "text/csv", name
        found[name] = response.get_data(as_text=True)
    for name, args in {
        "trainees list": ["trainees", "list", "--course", str(course_id)],
        "registry list": ["registry", "list", "--program", "tochigi", "--format", "csv"],
        "report fiscal-year": [
            *("report", "fiscal-year", str(year)),
            *("--program", "tochigi", "--format", "csv"),
        ],
    }.items():
        result = runner.invoke(args=args)
        assert result.exit_code == 0, (name, result.output)
        found[name] = result.output
    return found


def test_every_csv_export_is_safe_for_spreadsheets(
    app: Flask, client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    course = factories.course(
        db_session,
        program_code="tochigi",
        topics=("基礎",),
        on=now_utc().astimezone(TOKYO).date() - timedelta(days=1),
    )
    db_session.commit()

    @settings(
        max_examples=15,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(people=st.lists(_person, min_size=1, max_size=3))
    @example(people=EXPLICIT)
    def check(people: list[dict[str, Any]]) -> None:
        with rolled_back(db_session):
            _add_people(db_session, course, people)
            exports = _exports(app, client, course.id)
            for what, text in exports.items():
                _assert_safe(text, what)
            # The people are really in the person exports (not an empty file that passes).
            for what in ("web: course enrolments", "trainees list", "web: register export"):
                assert len(csv_rows(exports[what])) == len(people) + 1, what

    check()


def csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
