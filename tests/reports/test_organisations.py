"""Issue 16 items 6 and 7 in the fiscal-year report: the figures split by issuing
organisation (an organisation's coordinator sees only their own), and people taking part
without registering counted as participants, never as supporters."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from supporters.audit.models import AuditEvent
from supporters.dispatch import participation
from supporters.dispatch import services as dispatch
from supporters.programs.models import Organisation
from supporters.registry import services as registry
from supporters.registry.models import Registration
from supporters.reports.exports import figures_csv, figures_text
from supporters.reports.figures import build_fiscal_year_report
from supporters.reports.presentation import report_figures
from supporters.reports.suppression import Suppression
from supporters.training.models import Course, CourseSession, Enrolment
from supporters.training.services.courses import CourseInput, create_course
from supporters.training.services.enrolments import enrol_person
from supporters.training.services.sessions import record_roll_call
from tests import factories
from tests.reports.conftest import at, counting_queries, figure, report_filed

TODAY = date(2025, 6, 1)  # FY2024 has ended
_worlds = iter(range(1, 1000))


@dataclass
class Kagawa:
    """Kagawa's FY2024 with two organisations (see `kagawa`)."""

    hitotoco: Organisation
    council: Organisation
    supporters_a: list[Registration]
    supporter_b: Registration


def _organisation(session: Any, program: Any, kind: str, name: str) -> Organisation:
    found = session.scalar(
        select(Organisation).where(Organisation.program_id == program.id, Organisation.name == name)
    )
    if found is None:
        found = Organisation(program_id=program.id, kind=kind, name=name)
        session.add(found)
        session.flush()
    return found


def _course(
    session: Any, program: Any, organiser: Organisation, day: date, capacity: int
) -> Course:
    from datetime import time

    course = create_course(
        session,
        actor=None,
        program=program,
        data=CourseInput(
            kind="initial",
            organiser_id=organiser.id,
            title=f"{organiser.name} 養成研修",
            capacity=capacity,
        ),
    )
    session.add(
        CourseSession(course=course, date=day, start_time=time(10), end_time=time(12), topic="基礎")
    )
    session.flush()
    session.refresh(course)
    return course


def _completers(session: Any, course: Course, attributes: list[str], tag: str) -> list[Enrolment]:
    day = course.sessions[0].date
    enrolments = []
    for index, attribute in enumerate(attributes):
        person = factories.person(
            session,
            name=f"香川 {tag}{index}",
            reading="カガワ " + "アイウエオ"[index],
            email=f"kagawa.{tag}{index}@example.jp",
            residence="高松市",
            prefecture="香川県",
            attribute=attribute,
        )
        enrolments.append(
            enrol_person(
                session, actor=None, course=course, person=person, now=at(day) - timedelta(days=20)
            )
        )
    record_roll_call(
        session,
        actor=factories.admin_user(session),
        course_session=course.sessions[0],
        present_ids={e.id for e in enrolments},
        now=at(day),
    )
    return enrolments


def _register(session: Any, enrolment: Enrolment) -> Registration:
    return registry.register_enrolment(
        session,
        actor=None,
        enrolment=enrolment,
        on=enrolment.course.sessions[0].date,
        form_received=True,
    )


def _activity(
    session: Any, day: date, supporters: list[Registration], participants: list[Any]
) -> None:
    """A group activity on `day`: the supporters assigned and present, the participants
    joined beforehand (not supporters: no assignment)."""
    admin = factories.admin_user(session)
    event = factories.dispatch_event(
        session, program_code="kagawa", place="高松市", starts_at=at(day), needed=len(supporters)
    )
    before = at(day) - timedelta(days=7)
    assignments = []
    for registration in supporters:
        assignment = dispatch.assign(
            session, actor=admin, event=event, registration=registration, now=before
        )
        dispatch.answer_assignment(
            session, actor=admin, assignment=assignment, accept=True, now=before
        )
        assignments.append(assignment)
    for person in participants:
        participation.join(session, actor=admin, event=event, person=person, now=before)
    dispatch.record_attendance(
        session,
        actor=admin,
        event=event,
        attended_ids={a.id for a in assignments},
        now=at(day) + timedelta(days=1),
    )


def build_kagawa(session: Any) -> Kagawa:
    """Kagawa, FY2024 (2024-04-01 to 2025-03-31):
    - ひとトコ organises an initial course on 2024-06-01 (capacity 20): three attend and
      complete (family, family, lived experience); two register, one takes part without;
    - 高松市社会福祉協議会 organises one on 2024-07-01 (capacity 10): two attend and complete
      (welfare professional, family); one registers, one takes part without;
    - group activities: 2024-08-10 with a supporter of each organisation and both
      participants; 2024-09-10 with ひとトコ's first supporter and its participant;
    - activity reports: two by ひとトコ's first supporter, one by the council's."""
    n = next(_worlds)
    kagawa = factories.program(session, code="kagawa")
    hitotoco = _organisation(session, kagawa, "operator", "ひとトコ")
    council = _organisation(session, kagawa, "social_welfare_council", "高松市社会福祉協議会")
    a = _completers(
        session,
        _course(session, kagawa, hitotoco, date(2024, 6, 1), 20),
        ["family", "family", "lived_experience"],
        f"a{n}-",
    )
    b = _completers(
        session,
        _course(session, kagawa, council, date(2024, 7, 1), 10),
        ["welfare_professional", "family"],
        f"b{n}-",
    )
    supporters_a = [_register(session, a[0]), _register(session, a[1])]
    supporter_b = _register(session, b[0])
    participant_a, participant_b = a[2].person, b[1].person
    _activity(
        session, date(2024, 8, 10), [supporters_a[0], supporter_b], [participant_a, participant_b]
    )
    _activity(session, date(2024, 9, 10), [supporters_a[0]], [participant_a])
    report_filed(session, supporters_a[0], date(2024, 8, 10), "2.0", "drop_in")
    report_filed(session, supporters_a[0], date(2024, 9, 10), "2.0", "drop_in")
    report_filed(session, supporter_b, date(2024, 8, 10), "1.5", "drop_in")
    session.flush()
    return Kagawa(hitotoco, council, supporters_a, supporter_b)


@pytest.fixture
def kagawa(db_session: Any) -> Kagawa:
    world = build_kagawa(db_session)
    db_session.commit()
    return world


def _report(session: Any, organisation: Organisation | None = None) -> Any:
    return build_fiscal_year_report(
        session,
        factories.program(session, code="kagawa"),
        2024,
        today=TODAY,
        include_attributes=True,
        organisation=organisation,
    )


def _summary(report: Any) -> dict[str, Any]:
    initial = next(row for row in report.courses if row.kind == "initial")
    return {
        "courses": (initial.courses, initial.capacity, initial.attendees, initial.completions),
        "attributes": {k: v for k, v in (report.attributes or {}).items() if v},
        "new": report.registrations.new,
        "valid": sum(v for k, v in report.at_year_end.items() if k in ("active", "follow_up_due")),
        "dispatch": (
            sum(r.events for r in report.dispatch_by_month),
            sum(r.supporters for r in report.dispatch_by_month),
            round(sum(r.hours for r in report.dispatch_by_month), 1),
        ),
        "activity": (sum(r.reports for r in report.activity), report.activity_supporters),
        "participation": (report.participation.participations, report.participation.participants),
    }


def test_the_figures_split_by_organisation(db_session: Any, kagawa: Kagawa) -> None:
    whole = _report(db_session)
    assert _summary(whole) == {
        "courses": (2, 30, 5, 5),
        "attributes": {"family": 3, "lived_experience": 1, "welfare_professional": 1},
        "new": 3,
        "valid": 3,
        "dispatch": (2, 3, 9.0),
        "activity": (3, 2),
        "participation": (3, 2),
    }
    assert whole.organisation_id is None and whole.organisation_name is None
    hitotoco = _report(db_session, kagawa.hitotoco)
    assert _summary(hitotoco) == {
        "courses": (1, 20, 3, 3),
        "attributes": {"family": 2, "lived_experience": 1},
        "new": 2,
        "valid": 2,
        "dispatch": (2, 2, 6.0),
        "activity": (2, 1),
        "participation": (2, 1),
    }
    assert (hitotoco.organisation_id, hitotoco.organisation_name) == (
        kagawa.hitotoco.id,
        "ひとトコ",
    )
    council = _report(db_session, kagawa.council)
    assert _summary(council) == {
        "courses": (1, 10, 2, 2),
        "attributes": {"family": 1, "welfare_professional": 1},
        "new": 1,
        "valid": 1,
        "dispatch": (1, 1, 3.0),
        "activity": (1, 1),
        "participation": (1, 1),
    }
    # By kind: the participants' activities, in the words of the dispatch section.
    assert [(r.key, r.participations, r.participants) for r in whole.participation.by_kind] == [
        ("group_activity/sitting_in", 3, 2)
    ]


def test_an_organisation_of_another_program_is_refused(db_session: Any, kagawa: Kagawa) -> None:
    from supporters.db import ServiceError

    tochigi = factories.program(db_session, code="tochigi")
    polaris = _organisation(db_session, tochigi, "operator", "ポラリスとちぎ")
    with pytest.raises(ServiceError) as error:
        _report(db_session, polaris)
    assert error.value.code == "organisation_not_in_program"


def test_participants_are_not_supporters(db_session: Any, kagawa: Kagawa) -> None:
    """Joining a group activity adds a participation, never a supporter or a registration."""
    before = _summary(_report(db_session))
    late = _completers(
        db_session,
        _course(
            db_session,
            factories.program(db_session, code="kagawa"),
            kagawa.council,
            date(2024, 10, 1),
            5,
        ),
        ["resident"],
        "c",
    )[0]
    _activity(db_session, date(2024, 11, 5), [kagawa.supporter_b], [late.person])
    after = _summary(_report(db_session))
    assert after["participation"] == (
        before["participation"][0] + 1,
        before["participation"][1] + 1,
    )
    assert after["new"] == before["new"] and after["valid"] == before["valid"]
    assert after["dispatch"][1] == before["dispatch"][1] + 1  # the supporter only


def test_a_program_without_participation_shows_no_participants(
    client: Any, db_session: Any, login_as: Any
) -> None:
    from tests.reports.conftest import build_fy2024

    build_fy2024(db_session)
    report = build_fiscal_year_report(
        db_session, factories.program(db_session, code="tochigi"), 2024, today=TODAY
    )
    assert report.participation is None
    figures = report_figures(report, Suppression())
    assert figures["participation"] is None
    assert "参加者" not in figures_csv(figures) and "Participants" not in figures_text(figures)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/reports/tochigi/2024").get_data(as_text=True)
    assert 'id="participation"' not in page and 'data-figure="participation.' not in page


def _value(page: str, key: str) -> str:
    import html

    return html.unescape(figure(page, key)).strip()


def test_the_program_coordinator_chooses_an_organisation(
    client: Any, db_session: Any, login_as: Any, kagawa: Kagawa
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get("/reports/kagawa/2024").get_data(as_text=True)
    assert 'id="report-organisation" data-organisation=""' in page
    assert "集計対象: 事業全体（全団体）" in page
    for org in (kagawa.hitotoco, kagawa.council):
        assert f'<option value="{org.id}">{org.name}</option>' in page
    assert _value(page, "registrations.new") == "3"
    assert _value(page, "dispatch.supporters") == "3"
    assert _value(page, "participation.participations") == "3"
    assert _value(page, "participation.participants") == "2"
    assert _value(page, "participation.by_kind.group_activity/sitting_in.participants") == "2"
    chosen = client.get(f"/reports/kagawa/2024?organisation={kagawa.council.id}")
    assert chosen.status_code == 200
    page = chosen.get_data(as_text=True)
    assert f'data-organisation="{kagawa.council.id}"' in page
    assert "集計対象: 高松市社会福祉協議会" in page
    assert f'<option value="{kagawa.council.id}" selected>' in page
    assert _value(page, "registrations.new") == "1"
    assert _value(page, "courses.initial.capacity") == "10"
    assert _value(page, "participation.participants") == "1"
    # The export links and the other years keep the organisation.
    assert f"report.csv?organisation={kagawa.council.id}" in page
    assert f"/reports/kagawa/2023?organisation={kagawa.council.id}" in page
    # Unknown or foreign organisations get a clear message, not the whole program.
    tochigi = factories.program(db_session, code="tochigi")
    polaris = _organisation(db_session, tochigi, "operator", "ポラリスとちぎ")
    db_session.commit()
    for bad in ("abc", str(polaris.id), "999999999", "-1"):
        response = client.get(f"/reports/kagawa/2024?organisation={bad}")
        assert response.status_code == 400, bad
        text = response.get_data(as_text=True)
        assert 'data-field="organisation"' in text and "団体" in text


def test_an_organisation_coordinator_sees_only_their_own(
    client: Any, db_session: Any, login_as: Any, kagawa: Kagawa
) -> None:
    login_as(
        factories.coordinator(
            db_session,
            program_code="kagawa",
            email="c.council@example.jp",
            organisation=kagawa.council,
        )
    )
    index = client.get("/reports/").get_data(as_text=True)
    assert 'value="kagawa"' in index and 'value="tochigi"' not in index
    assert 'href="/reports/"' in client.get("/").get_data(as_text=True)  # in the navigation
    page = client.get("/reports/kagawa/2024").get_data(as_text=True)  # no choice: their own
    assert f'data-organisation="{kagawa.council.id}"' in page
    assert _value(page, "registrations.new") == "1"
    assert _value(page, "dispatch.supporters") == "1"
    assert 'id="organisation"' not in page and "事業全体" not in page  # nothing to choose
    assert 'id="attributes"' not in page  # the attribute breakdown stays with the program's
    own = client.get(f"/reports/kagawa/2024?organisation={kagawa.council.id}")
    assert own.status_code == 200
    for url in (
        f"/reports/kagawa/2024?organisation={kagawa.hitotoco.id}",
        f"/reports/kagawa/2024/report.csv?organisation={kagawa.hitotoco.id}",
        f"/reports/kagawa/2024/report.pdf?organisation={kagawa.hitotoco.id}",
        f"/reports/kagawa/2024/report.json?organisation={kagawa.hitotoco.id}",
        "/reports/kagawa/2024?organisation=abc",
        "/reports/tochigi/2024",
    ):
        assert client.get(url).status_code == 403, url
    data = client.get("/reports/kagawa/2024/report.json").get_json()
    assert data["organisation"] == {"id": kagawa.council.id, "name": "高松市社会福祉協議会"}
    assert data["registrations"]["new"] == 1 and data["attributes"] is None
    event = db_session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action == "export.report")
        .order_by(AuditEvent.id.desc())
    ).first()
    assert event.detail["organisation_id"] == kagawa.council.id


def test_csv_and_pdf_name_the_organisation_and_count_participants(
    client: Any, db_session: Any, login_as: Any, kagawa: Kagawa, tmp_path: Path
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    response = client.get(f"/reports/kagawa/2024/report.csv?organisation={kagawa.hitotoco.id}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].endswith(
        f"report-kagawa-2024-org{kagawa.hitotoco.id}.csv"
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    cells = {(row[0], row[1]): row[2] for row in rows[1:]}
    assert cells[("実績報告", "集計対象")] == "ひとトコ"
    assert cells[("参加者（登録せずに参加）", "参加（延べ）")] == "2"
    assert cells[("参加者（登録せずに参加）", "参加者（実人数）")] == "1"
    assert cells[("派遣", "参加サポーター（延べ）")] == "2"  # supporters only
    whole = client.get("/reports/kagawa/2024/report.csv").get_data(as_text=True)
    assert "集計対象,事業全体（全団体）" in whole
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils are not installed")
    pdf = client.get(f"/reports/kagawa/2024/report.pdf?organisation={kagawa.hitotoco.id}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.data)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    flat = "".join(text.split())
    assert "ひとトコ" in flat and "集計対象:ひとトコ" in flat
    assert "参加者（登録せずに参加）" in flat
    assert "参加（延べ）2" in flat and "参加者（実人数）1" in flat


def test_the_report_page_stays_within_fifteen_statements(
    client: Any, db_session: Any, login_as: Any, kagawa: Kagawa
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    url = f"/reports/kagawa/2024?as_of=2024-12-01&organisation={kagawa.council.id}"
    client.get(url)  # warm up: first-use caches
    with counting_queries() as few:
        assert client.get(url).status_code == 200
    build_kagawa(db_session)
    db_session.commit()
    with counting_queries() as many:
        assert client.get(url).status_code == 200
    assert len(few) == len(many) <= 15, many
    with counting_queries() as whole:
        assert client.get("/reports/kagawa/2024?as_of=2024-12-01").status_code == 200
    assert len(whole) <= 15, whole


def test_the_command_takes_an_organisation(app: Any, db_session: Any, kagawa: Kagawa) -> None:
    runner = app.test_cli_runner()
    args = ["report", "fiscal-year", "2024", "--program", "kagawa", "--format", "json"]
    result = runner.invoke(args=[*args, "--organisation", "高松市社会福祉協議会"])
    assert result.exit_code == 0, result.output
    data = __import__("json").loads(result.output)
    assert data["organisation"]["id"] == kagawa.council.id
    assert data["registrations"]["new"] == 1
    assert data["participation"]["participants"] == 1
    unknown = runner.invoke(args=[*args, "--organisation", "どこか"])
    assert unknown.exit_code != 0 and "ひとトコ" in unknown.output


@pytest.mark.parametrize(
    ("day", "year"),
    [
        (date(2024, 3, 31), 2023),
        (date(2024, 4, 1), 2024),
        (date(2025, 3, 31), 2024),
        (date(2025, 4, 1), 2025),
    ],
)
def test_participants_count_in_the_fiscal_year_of_the_event(
    db_session: Any, day: date, year: int
) -> None:
    """The day before, on and after each end of fiscal year 2024."""
    kagawa = factories.program(db_session, code="kagawa")
    organiser = _organisation(db_session, kagawa, "operator", "ひとトコ")
    completer = _completers(
        db_session, _course(db_session, kagawa, organiser, date(2023, 6, 1), 10), ["family"], "d"
    )[0]
    supporter = factories.valid_registration(db_session, program_code="kagawa", n=7)
    _activity(db_session, day, [supporter], [completer.person])
    counts = {}
    for fy in (2023, 2024, 2025):
        report = build_fiscal_year_report(db_session, kagawa, fy, today=TODAY)
        counts[fy] = report.participation.participations
    assert counts == {fy: int(fy == year) for fy in (2023, 2024, 2025)}


def test_participants_are_hidden_when_few_for_publication(
    client: Any, db_session: Any, login_as: Any, kagawa: Kagawa
) -> None:
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    page = client.get("/reports/kagawa/2024?publish=1").get_data(as_text=True)
    assert _value(page, "participation.participants") == "<5"
    assert _value(page, "participation.participations") == "<5"
