"""A coordinator granted for one organisation of a program (Nasu's council runs its own course
and issues cards): its courses, trainees and supporters only; the program's coordinator sees
all, and may split the register by issuing organisation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from sqlalchemy import select

from supporters.accounts import services as accounts
from supporters.accounts.models import RoleGrant, User
from supporters.audit.models import AuditEvent
from supporters.db import ServiceError
from supporters.programs import permissions
from supporters.programs.models import Organisation
from supporters.registry import services as registry
from supporters.training.models import Course, CourseSession, Enrolment
from supporters.training.services.completion import complete_by_hand
from supporters.training.services.courses import CourseInput, create_course
from supporters.training.services.enrolments import enrol_person
from tests import factories
from tests.conftest import post_form

DAY = date(2024, 6, 1)


@dataclass
class Nasu:
    polaris: Organisation
    council: Organisation
    polaris_course: Course
    council_course: Course
    polaris_trainee: Enrolment
    council_trainee: Enrolment
    polaris_supporter: Any
    council_supporter: Any
    program_coordinator: User
    council_coordinator: User


def _organisation(session: Any, program: Any, kind: str, name: str) -> Organisation:
    found = session.scalar(
        select(Organisation).where(Organisation.program_id == program.id, Organisation.name == name)
    )
    if found is None:
        found = Organisation(program_id=program.id, kind=kind, name=name)
        session.add(found)
        session.flush()
    return found


def _course(session: Any, program: Any, organiser: Organisation, title: str) -> Course:
    course = create_course(
        session,
        actor=None,
        program=program,
        data=CourseInput(kind="initial", organiser_id=organiser.id, title=title),
    )
    session.add(
        CourseSession(course=course, date=DAY, start_time=time(10), end_time=time(12), topic="基礎")
    )
    session.flush()
    session.refresh(course)
    return course


def _completer(session: Any, course: Course, name: str, reading: str, email: str) -> Enrolment:
    person = factories.person(
        session, name=name, reading=reading, email=email, residence="那須町", prefecture="栃木県"
    )
    enrolment = enrol_person(
        session,
        actor=None,
        course=course,
        person=person,
        now=datetime.combine(DAY, time(1), UTC),
    )
    complete_by_hand(
        session, actor=factories.admin_user(session), enrolment=enrolment, reason="テスト", on=DAY
    )
    return enrolment


@pytest.fixture
def nasu(db_session: Any) -> Nasu:
    tochigi = factories.program(db_session, code="tochigi")
    polaris = _organisation(db_session, tochigi, "operator", "ポラリスとちぎ")
    council = _organisation(db_session, tochigi, "social_welfare_council", "那須町社会福祉協議会")
    polaris_course = _course(db_session, tochigi, polaris, "ポラリス 養成研修")
    council_course = _course(db_session, tochigi, council, "那須町 養成研修")
    polaris_trainee = _completer(
        db_session, polaris_course, "宇都宮 一郎", "ウツノミヤ イチロウ", "p@example.jp"
    )
    council_trainee = _completer(
        db_session, council_course, "那須 花子", "ナス ハナコ", "n@example.jp"
    )
    supporters = [
        registry.register_enrolment(db_session, actor=None, enrolment=e, on=DAY, form_received=True)
        for e in (polaris_trainee, council_trainee)
    ]
    council_coordinator = factories.coordinator(
        db_session, email="coordinator.nasu@example.jp", organisation=council
    )
    program_coordinator = factories.coordinator(db_session, email="c.tochigi@example.jp")
    db_session.commit()
    return Nasu(
        polaris,
        council,
        polaris_course,
        council_course,
        polaris_trainee,
        council_trainee,
        supporters[0],
        supporters[1],
        program_coordinator,
        council_coordinator,
    )


def test_the_scope_of_a_grant(nasu: Nasu) -> None:
    tochigi = nasu.polaris.program_id
    assert permissions.coordinator_scope(nasu.council_coordinator) == {
        tochigi: frozenset({nasu.council.id})
    }
    assert permissions.coordinator_scope(nasu.program_coordinator) == {tochigi: None}
    assert permissions.coordinates(nasu.council_coordinator, tochigi, nasu.council.id)
    assert not permissions.coordinates(nasu.council_coordinator, tochigi, nasu.polaris.id)
    assert not permissions.coordinates(nasu.council_coordinator, tochigi, None)
    assert not permissions.is_coordinator_of(nasu.council_coordinator, tochigi)
    assert permissions.coordinates(nasu.program_coordinator, tochigi, nasu.polaris.id)
    assert permissions.is_coordinator_of(nasu.program_coordinator, tochigi)


def test_only_a_coordinator_of_an_organisation_of_the_program(db_session: Any, nasu: Nasu) -> None:
    with pytest.raises(ServiceError) as error:
        factories.supporter(db_session, organisation=nasu.council)
    assert error.value.code == "organisation_not_coordinator"
    kagawa_office = _organisation(
        db_session, factories.program(db_session, code="kagawa"), "operator", "hito.toco"
    )
    with pytest.raises(ServiceError) as error:
        factories.coordinator(db_session, organisation=kagawa_office)
    assert error.value.code == "organisation_outside_program"
    # Granting the same twice is a no-op.
    again = accounts.grant_role(
        db_session,
        actor=None,
        user=nasu.council_coordinator,
        role="coordinator",
        program=nasu.council.program,
        organisation=nasu.council,
        now=factories.ACCOUNTS_SET_UP_AT,
    )
    assert again.id == nasu.council_coordinator.active_grants[0].id


def test_an_organisation_coordinator_sees_its_own_courses_and_trainees(
    client: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(nasu.council_coordinator)
    page = client.get("/courses/").get_data(as_text=True)
    assert "那須町 養成研修" in page and "ポラリス 養成研修" not in page
    own, other = nasu.council_course.id, nasu.polaris_course.id
    assert "那須 花子" in client.get(f"/courses/{own}").get_data(as_text=True)
    assert client.get(f"/courses/{other}").status_code == 403
    trainee = client.get(f"/courses/{own}/enrolments/{nasu.council_trainee.id}")
    assert trainee.status_code == 200 and "n@example.jp" in trainee.get_data(as_text=True)
    assert client.get(f"/courses/{other}/enrolments/{nasu.polaris_trainee.id}").status_code == 403
    # The trainee of another course is not found through one's own.
    assert client.get(f"/courses/{own}/enrolments/{nasu.polaris_trainee.id}").status_code == 404
    csv = client.get(f"/courses/{own}/enrolments.csv")
    assert csv.status_code == 200 and "那須 花子" in csv.get_data(as_text=True)
    assert client.get(f"/courses/{other}/enrolments.csv").status_code == 403
    assert client.get(f"/courses/{other}/edit").status_code == 403
    assert client.get(f"/enrolments/{nasu.polaris_trainee.id}/certificate.pdf").status_code == 403


def test_an_organisation_coordinator_runs_courses_of_its_own_only(
    client: Any, db_session: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(nasu.council_coordinator)
    form = client.get("/courses/new").get_data(as_text=True)
    assert "那須町社会福祉協議会" in form and "ポラリスとちぎ" not in form
    data = {
        "program_id": str(nasu.council.program_id),
        "kind": "follow_up",
        "title": "那須町 フォローアップ",
        "first_session_on": "2024-09-01",
    }
    refused = post_form(client, "/courses/new", {**data, "organiser_id": str(nasu.polaris.id)})
    assert refused.status_code == 200
    assert db_session.scalar(select(Course).where(Course.title == data["title"])) is None
    created = post_form(client, "/courses/new", {**data, "organiser_id": str(nasu.council.id)})
    assert created.status_code == 302
    course = db_session.scalar(select(Course).where(Course.title == data["title"]))
    assert course.organiser_id == nasu.council.id


def test_an_organisation_coordinator_sees_its_own_supporters(
    client: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(nasu.council_coordinator)
    page = client.get("/register/?program=tochigi&as_of=2024-07-01").get_data(as_text=True)
    assert "那須 花子" in page and "宇都宮 一郎" not in page
    # Even when asking for the other organisation's supporters.
    other = f"/register/?program=tochigi&as_of=2024-07-01&organisation={nasu.polaris.id}"
    page = client.get(other).get_data(as_text=True)
    assert "那須 花子" in page and "宇都宮 一郎" not in page
    csv = client.get("/register/export.csv?program=tochigi&as_of=2024-07-01")
    text = csv.get_data(as_text=True)
    assert "那須 花子" in text and "宇都宮 一郎" not in text
    own, theirs = nasu.council_supporter.id, nasu.polaris_supporter.id
    assert client.get(f"/register/{own}").status_code == 200
    assert client.get(f"/register/{theirs}").status_code == 403
    assert client.get("/register/999999").status_code == 404
    assert client.get(f"/register/{own}/cards").status_code == 200
    assert client.get(f"/register/{theirs}/cards").status_code == 403
    assert client.get(f"/register/{theirs}/card.pdf").status_code == 403
    # The program's figures are its coordinators': an organisation's get their own only.
    report = client.get("/reports/tochigi/2024").get_data(as_text=True)
    assert f'data-organisation="{nasu.council.id}"' in report
    assert client.get(f"/reports/tochigi/2024?organisation={nasu.polaris.id}").status_code == 403


def test_an_organisation_coordinator_prints_sheets_of_its_own_cards(
    client: Any, db_session: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(nasu.council_coordinator)
    response = post_form(
        client,
        "/certificates/sheet",
        {"program": "tochigi", "status": "all", "build": "y"},
    )
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    audit = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "certificate.download")
    ).all()[-1]
    assert audit.detail["cards"] == 1


def test_the_program_coordinator_sees_all_and_splits_by_organisation(
    client: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(nasu.program_coordinator)
    page = client.get("/courses/").get_data(as_text=True)
    assert "那須町 養成研修" in page and "ポラリス 養成研修" in page
    assert client.get(f"/courses/{nasu.polaris_course.id}").status_code == 200
    assert client.get(f"/courses/{nasu.council_course.id}").status_code == 200
    page = client.get("/register/?program=tochigi&as_of=2024-07-01").get_data(as_text=True)
    assert "那須 花子" in page and "宇都宮 一郎" in page and "那須町社会福祉協議会" in page
    split = f"/register/?program=tochigi&as_of=2024-07-01&organisation={nasu.council.id}"
    page = client.get(split).get_data(as_text=True)
    assert "那須 花子" in page and "宇都宮 一郎" not in page
    text = client.get(
        f"/register/export.csv?program=tochigi&as_of=2024-07-01&organisation={nasu.polaris.id}"
    ).get_data(as_text=True)
    assert "宇都宮 一郎" in text and "那須 花子" not in text
    assert client.get(f"/register/{nasu.polaris_supporter.id}").status_code == 200
    assert client.get(f"/register/{nasu.council_supporter.id}/cards").status_code == 200


def test_users_create_with_an_organisation(app: Any, db_session: Any, nasu: Nasu) -> None:
    runner = app.test_cli_runner()
    args = ["users", "create", "--role", "coordinator", "--program", "tochigi"]
    result = runner.invoke(
        args=[*args, "--email", "council@example.jp", "--organisation", "那須町社会福祉協議会"]
    )
    assert result.exit_code == 0, result.output
    assert "/invitation/" in result.output
    grant = db_session.scalar(
        select(RoleGrant)
        .join(User, User.id == RoleGrant.user_id)
        .where(User.email == "council@example.jp")
    )
    assert grant.organisation_id == nasu.council.id and grant.role == "coordinator"
    unknown = runner.invoke(args=[*args, "--email", "x@example.jp", "--organisation", "どこか"])
    assert unknown.exit_code != 0 and "どこか" in unknown.output
    not_a_coordinator = runner.invoke(
        args=[
            "users",
            "create",
            "--role",
            "supporter",
            "--program",
            "tochigi",
            "--email",
            "y@example.jp",
            "--organisation",
            "那須町社会福祉協議会",
        ]
    )
    assert not_a_coordinator.exit_code != 0
    created = select(User).where(User.email.in_(["x@example.jp", "y@example.jp"]))
    assert db_session.scalar(created) is None


def test_the_demo_nasu_council_coordinator(db_session: Any) -> None:
    """The demo's Nasu council coordinator runs the council's course and its supporters only."""
    from supporters.demo import load_demo
    from supporters.registry.models import Registration

    logins = load_demo(
        db_session, password="a demo passphrase", now=datetime(2023, 11, 30, 3, tzinfo=UTC)
    )
    assert any(email == "coordinator.nasu@demo.example" for email, _ in logins)
    user = accounts.find_user_by_email(db_session, "coordinator.nasu@demo.example")
    assert user is not None
    (grant,) = user.active_grants
    council = grant.organisation
    assert council is not None and council.name == "那須町社会福祉協議会"
    own_courses = permissions.coordinated_filter(user, Course.program_id, Course.organiser_id)
    courses = db_session.scalars(select(Course).where(own_courses)).all()
    assert courses and {c.organiser_id for c in courses} == {council.id}
    supporters = db_session.scalars(
        select(Registration).where(
            permissions.coordinated_filter(
                user, Registration.program_id, Registration.issuing_organisation_id
            )
        )
    ).all()
    assert supporters and {r.issuing_organisation_id for r in supporters} == {council.id}


def test_the_register_commands_split_by_issuing_organisation(
    app: Any, db_session: Any, nasu: Nasu
) -> None:
    import json

    runner = app.test_cli_runner()
    base = ["registry", "list", "--program", "tochigi", "--as-of", "2024-07-01"]
    result = runner.invoke(args=[*base, "--format", "json"])
    assert {row["name"] for row in json.loads(result.output)} == {"宇都宮 一郎", "那須 花子"}
    council = ["--organisation", "那須町社会福祉協議会"]
    result = runner.invoke(args=[*base, "--format", "json", *council])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.output)] == ["那須 花子"]
    status = ["registry", "status", "--program", "tochigi", "--as-of", "2024-07-01"]
    result = runner.invoke(args=[*status, "--format", "json", "--organisation", "ポラリスとちぎ"])
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["organisation"] == "ポラリスとちぎ" and counts["active"] == 1
    unknown = runner.invoke(args=[*status, "--organisation", "どこか"])
    assert unknown.exit_code != 0 and "どこか" in unknown.output


def test_the_admin_grants_a_coordinator_for_an_organisation(
    client: Any, db_session: Any, login_as: Any, nasu: Nasu
) -> None:
    login_as(factories.admin(db_session))
    tochigi = str(nasu.council.program_id)
    data = {"display_name": "那須 社協", "role": "coordinator", "program": tochigi}
    refused = post_form(
        client,
        "/admin/users/new",
        {**data, "email": "bad@example.jp", "organisation": "どこにもない会"},
    )
    assert refused.status_code == 200 and "どこにもない会" in refused.get_data(as_text=True)
    assert db_session.scalar(select(User).where(User.email == "bad@example.jp")) is None
    created = post_form(
        client,
        "/admin/users/new",
        {**data, "email": "shakyo@example.jp", "organisation": "那須町社会福祉協議会"},
    )
    assert created.status_code == 302
    user = db_session.scalar(select(User).where(User.email == "shakyo@example.jp"))
    assert [g.organisation_id for g in user.active_grants] == [nasu.council.id]
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert "那須町社会福祉協議会" in page
