"""Two program files written from docs/programs.md alone, as a prefecture would (issue 16,
"checked again with a program file you have not seen"): a fourth prefecture (群馬県:
docs/programs/gunma.toml) and a second program in 栃木県 (docs/programs/nasushiobara.toml).
Each is imported with a dry run first, then for real, then again (no change), exported back
and compared, and then used: a trainee registered through a course built from its
curriculum, one dispatch, and the fiscal-year report. Tochigi's 154 supporters on
2023-11-30 do not move."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from supporters.administration.checks import validate
from supporters.administration.spec import parse_program_file
from supporters.audit.models import AuditEvent
from supporters.dispatch import services as dispatch
from supporters.dispatch.models import ProgramMunicipality
from supporters.programs.models import Organisation, Program
from supporters.registry import services as registry
from supporters.registry.models import Registration
from supporters.training.services.courses import CourseInput, create_course
from supporters.training.services.enrolments import enrol_person
from supporters.training.services.sessions import record_roll_call
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "programs"


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _at(day: date, hour: int = 1) -> datetime:
    return datetime.combine(day, time(), UTC) + timedelta(hours=hour)


# What each file means, as its writer meant it (the expectations of the journey).
PROGRAMS = {
    "gunma": {
        "prefecture": "群馬県",
        "changes": 87,
        "home": "前橋市",  # a paid scheme municipality
        "registered_on": date(2025, 6, 14),
        "valid_until": date(2027, 6, 14),  # every 24 months, mandatory
        "number": "GM-2025-0001",
        "kinds": ["visit", "phone", "ibasho"],
    },
    "nasushiobara": {
        "prefecture": "栃木県",
        "changes": 68,
        "home": "那須塩原市",  # an unpaid one
        "registered_on": date(2025, 6, 14),
        "valid_until": None,  # follow-up every 12 months, not mandatory: does not lapse
        "number": "NSS2025-001",
        "kinds": ["outreach", "family-cafe"],
    },
}


def _import(app: Flask, db_session: Any, code: str, tmp_path: Path) -> None:
    source = EXAMPLES / f"{code}.toml"
    expected = PROGRAMS[code]
    dry = _run(app, "programs", "import", str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert f"{code}: {expected['changes']} change(s) (dry run: nothing written)" in dry.output
    assert db_session.scalar(select(Program).where(Program.code == code)) is None
    done = _run(app, "programs", "import", str(source))
    assert done.exit_code == 0, done.output + done.stderr
    assert f"{code}: {expected['changes']} change(s)" in done.output
    audits = db_session.scalar(select(func.count()).select_from(AuditEvent))
    again = _run(app, "programs", "import", str(source))
    assert again.exit_code == 0 and f"{code}: 0 change(s)" in again.output
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == audits
    # Exported back, it says what the file said (with the defaults written out and the
    # municipalities as the database spells them: "たかさきし" is 高崎市) ...
    target = tmp_path / f"{code}-export.toml"
    exported = _run(app, "programs", "export", code, "-o", str(target))
    assert exported.exit_code == 0, exported.output
    written = target.read_text(encoding="utf-8")
    mine, theirs = (
        validate(db_session, parse_program_file(text))[0]
        for text in (source.read_text(encoding="utf-8"), written)
    )
    assert theirs == mine
    # ... and imports with no change.
    back = _run(app, "programs", "import", str(target))
    assert back.exit_code == 0 and f"{code}: 0 change(s)" in back.output


def _register_through_a_course(db_session: Any, program: Program) -> Registration:
    expected = PROGRAMS[program.code]
    admin = factories.admin_user(db_session)
    organiser = db_session.scalars(
        select(Organisation).where(Organisation.program_id == program.id).order_by(Organisation.id)
    ).first()
    first_day = date(2025, 6, 7)
    course = create_course(
        db_session,
        actor=admin,
        program=program,
        data=CourseInput(kind="initial", organiser_id=organiser.id, title="養成研修 令和7年度"),
        first_session_on=first_day,
        use_curriculum=True,
    )
    initial = [item for item in program.curriculum_template or [] if "course_kind" not in item]
    assert [s.topic for s in course.sessions] == [item["topic"] for item in initial]
    trainee = factories.person(
        db_session,
        name="受講 太郎",
        reading="ジュコウ タロウ",
        email=f"trainee@{program.code}.example.jp",
        residence=expected["home"],
        prefecture=expected["prefecture"],
        attribute="family",
    )
    enrolment = enrol_person(
        db_session, actor=admin, course=course, person=trainee, now=_at(date(2025, 5, 20))
    )
    for course_session in course.sessions:  # present at every session, the optional ones too
        record_roll_call(
            db_session,
            actor=admin,
            course_session=course_session,
            present_ids={enrolment.id},
            now=_at(expected["registered_on"]),
        )
    db_session.refresh(enrolment)
    assert enrolment.completed_on is not None
    registration = registry.register_enrolment(
        db_session,
        actor=admin,
        enrolment=enrolment,
        on=expected["registered_on"],
        form_received=True,
        main_municipality=factories.municipality(
            db_session, name=expected["home"], prefecture=expected["prefecture"]
        ),
    )
    assert registration.number == expected["number"]
    assert registration.valid_until == expected["valid_until"]
    return registration


def _dispatch_once(db_session: Any, program: Program, registration: Registration) -> None:
    expected = PROGRAMS[program.code]
    admin = factories.admin_user(db_session)
    place = factories.municipality(db_session, name=expected["home"], prefecture=program.prefecture)
    in_scheme = db_session.scalar(
        select(ProgramMunicipality).where(
            ProgramMunicipality.program_id == program.id,
            ProgramMunicipality.municipality_id == place.id,
        )
    )
    assert in_scheme is not None
    start = _at(date(2025, 9, 10))
    event = dispatch.create_event(
        db_session,
        actor=admin,
        program=program,
        data=dispatch.EventInput(
            title="相談会",
            municipality_id=place.id,
            venue="保健センター",
            starts_at=start,
            ends_at=start + timedelta(hours=2),
            needed=1,
        ),
    )
    assert event.activity_kind.code == expected["kinds"][0]  # the program's first kind
    before = start - timedelta(days=7)
    assignment = dispatch.assign(
        db_session, actor=admin, event=event, registration=registration, now=before
    )
    dispatch.answer_assignment(
        db_session, actor=admin, assignment=assignment, accept=True, now=before
    )
    dispatch.record_attendance(
        db_session,
        actor=admin,
        event=event,
        attended_ids={assignment.id},
        now=start + timedelta(days=1),
    )


@pytest.mark.parametrize("code", list(PROGRAMS))
def test_a_program_written_from_the_docs_imports_and_runs_a_fiscal_year(
    app: Flask, db_session: Any, tmp_path: Path, code: str
) -> None:
    tochigi = factories.program(db_session)
    on_the_day = registry.status_counts(db_session, tochigi, date(2023, 11, 30))
    assert on_the_day["active"] + on_the_day["follow_up_due"] == 154

    _import(app, db_session, code, tmp_path)
    db_session.expire_all()
    program = factories.program(db_session, code=code)
    assert program.prefecture == PROGRAMS[code]["prefecture"]
    registration = _register_through_a_course(db_session, program)
    _dispatch_once(db_session, program, registration)
    db_session.commit()

    report = _run(app, "report", "fiscal-year", "2025", "--program", code, "--format", "json")
    assert report.exit_code == 0, report.output
    figures = json.loads(report.output)
    assert figures["label"] == "令和7年度"
    assert figures["courses_total"]["courses"] == 1
    assert figures["courses_total"]["completions"] == 1
    assert figures["registrations"]["new"] == 1
    assert figures["register_at_year_end"]["valid"] == 1
    assert (figures["dispatch"]["events"], figures["dispatch"]["supporters"]) == (1, 1)
    assert figures["dispatch"]["hours"] == 2.0
    family = next(r for r in figures["attributes"]["rows"] if r["attribute"] == "family")
    assert family["count"] == 1

    db_session.expire_all()
    assert registry.status_counts(db_session, tochigi, date(2023, 11, 30)) == on_the_day
