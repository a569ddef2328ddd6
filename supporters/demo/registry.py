"""The demo register, built from individual registrations and follow-up attendance:
Tochigi has 154 registered supporters valid on 2023-11-30 (some lapsed and renewed on the
way), Nasu's 13 among them, and a supporter meeting (例会) a year where reports are
presented; Kagawa registers only those who handed in the form and runs four to five
follow-up courses a year; Chiba's supporters act in Narashino and Sakura."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from supporters.accounts.models import User
from supporters.core.eras import fiscal_year_label
from supporters.db import DbSession
from supporters.demo.training import _run_course
from supporters.dispatch.services import registration_valid_on
from supporters.people.models import Person
from supporters.programs.models import Municipality, Organisation, Program
from supporters.registry import activity_reports, services
from supporters.registry.models import Registration
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState

KINDS = ["sitting_in", "phone", "home_visit", "drop_in", "family_meeting"]
TOPICS = [["going_out"], ["relating", "family"], ["family"], ["work", "going_out"], ["health"]]


def _completers(session: DbSession, course: Course) -> list[Enrolment]:
    return list(
        session.scalars(
            select(Enrolment)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, Enrolment.state == EnrolmentState.COMPLETED)
            .order_by(Person.id)
        )
    )


def _register_all(
    session: DbSession,
    course: Course,
    *,
    keep: int | None = None,
    places: list[Municipality] | None = None,
    form: bool = False,
) -> list[Registration]:
    registrations = []
    for index, enrolment in enumerate(_completers(session, course)[:keep]):
        residence = enrolment.person.residence_municipality
        place = places[index % len(places)] if places else residence
        registrations.append(
            services.register_enrolment(
                session,
                actor=None,
                enrolment=enrolment,
                on=enrolment.completed_on or date.today(),
                main_municipality=place,
                consent_share_contact=index % 3 != 0,
                form_received=form,
            )
        )
    return registrations


def _course(session: DbSession, program: Program, title_part: str) -> Course:
    course = session.scalar(
        select(Course).where(Course.program_id == program.id, Course.title.contains(title_part))
    )
    assert course is not None, title_part
    return course


def _organiser(session: DbSession, program: Program, name: str) -> Organisation:
    found = session.scalar(
        select(Organisation).where(Organisation.program_id == program.id, Organisation.name == name)
    )
    assert found is not None, name
    return found


def _follow_up(
    session: DbSession,
    program: Program,
    organiser: Organisation,
    day: date,
    people: list[Person],
    venue: str,
) -> None:
    _run_course(
        session,
        program=program,
        organiser=organiser,
        kind=CourseKind.FOLLOW_UP,
        title=f"フォローアップ研修（{day.year}年{day.month}月）",
        on=day,
        capacity=None,
        people=people,
        attending=len(people),
        venue=venue,
        topics=["近況報告と事例検討"],
    )


def _reports(
    session: DbSession,
    actor: User,
    registrations: list[Registration],
    years: range,
    today: date,
    share: int = 8,
) -> None:
    """Activity reports for most supporters in most fiscal years (a few stay due)."""
    for index, registration in enumerate(registrations):
        for year in years:
            if (index + year) % 10 >= share:
                continue
            day = date(year, 4, 1) + timedelta(days=(index * 37) % 360)
            if day < registration.registered_on or day > today:
                continue
            place = registration.main_municipality_id
            activity_reports.file_report(
                session,
                actor=actor,
                registration=registration,
                today=today,
                on_behalf=True,
                data=activity_reports.ReportInput(
                    activity_on=day,
                    hours=Decimal("1.5") + index % 3,
                    kind=KINDS[(index + year) % len(KINDS)],
                    municipality_id=place,
                    topics=TOPICS[(index * 3 + year) % len(TOPICS)],
                    note="",
                ),
            )


def load_registry_demo(session: DbSession, programs: dict[str, Program], today: date) -> None:
    admin = session.scalar(select(User).where(User.email == "admin@demo.example"))
    assert admin is not None
    for code, loader in (("tochigi", _tochigi), ("kagawa", _kagawa), ("chiba", _chiba)):
        program = programs[code]
        if session.scalar(select(Registration.id).where(Registration.program_id == program.id)):
            continue  # already loaded
        loader(session, program, admin, today)
    # Each course and meeting below is skipped if it exists, so an older demo gets them too.
    _kagawa_follow_ups(session, programs["kagawa"])
    _tochigi_meetings(session, programs["tochigi"], admin, today)


# Tochigi's supporter meetings (サポーター例会), where supporters present their activity
# reports (the seed: サポーター例会で活動報告を行う).
MEETINGS = [date(2023, 10, 21), date(2024, 10, 19), date(2025, 10, 18)]


def _tochigi_meetings(session: DbSession, program: Program, admin: User, today: date) -> None:
    polaris = _organiser(session, program, "ポラリスとちぎ(一般社団法人栃木県若年者支援機構)")
    registrations = list(
        session.scalars(
            select(Registration)
            .where(Registration.program_id == program.id)
            .order_by(Registration.id)
        )
    )
    for number, day in enumerate(MEETINGS):
        if day > today:
            continue
        present = [
            r
            for r in registrations[number * 7 :]
            if registration_valid_on(session, r, day - timedelta(days=30))
            and registration_valid_on(session, r, day)
        ][:16]
        meeting = _run_course(
            session,
            program=program,
            organiser=polaris,
            kind=CourseKind.MEETING,
            title=f"サポーター例会（{day.year}年{day.month}月）",
            on=day,
            capacity=None,
            people=[r.person for r in present],
            attending=len(present),
            venue="宇都宮市 とちぎ福祉プラザ",
            topics=["活動報告と情報交換"],
        )
        if meeting is None:
            continue  # held before (idempotent)
        for index, registration in enumerate(present[:6]):
            activity_reports.file_report(
                session,
                actor=admin,
                registration=registration,
                today=today,
                on_behalf=True,
                data=activity_reports.ReportInput(
                    activity_on=day - timedelta(days=10 + 3 * index),
                    hours=Decimal("3"),
                    kind=KINDS[index % 2],
                    municipality_id=registration.main_municipality_id,
                    topics=TOPICS[index % len(TOPICS)],
                    note="",
                    meeting_course_id=meeting.id,
                ),
            )


# Kagawa's optional follow-up training: four to five sessions a fiscal year (DOMAIN.md),
# 15-30 people each.
KAGAWA_FOLLOW_UPS = [
    (date(2023, 6, 17), 15),
    (date(2023, 11, 18), 18),
    (date(2024, 1, 20), 24),
    (date(2024, 3, 9), 16),
    (date(2024, 6, 15), 27),
    (date(2024, 9, 21), 21),
    (date(2024, 11, 16), 19),
    (date(2025, 1, 18), 22),
    (date(2025, 3, 15), 17),
    (date(2025, 6, 21), 20),
    (date(2025, 9, 20), 23),
    (date(2025, 12, 13), 18),
    (date(2026, 2, 21), 16),
]


def _kagawa_follow_ups(session: DbSession, program: Program) -> None:
    """The follow-up courses, for the supporters registered on each day (registrations in the
    order they were made). Each is skipped if it exists (idempotent)."""
    hito = _organiser(session, program, "hito.toco")
    registrations = list(
        session.scalars(
            select(Registration)
            .where(Registration.program_id == program.id)
            .order_by(Registration.id)
        )
    )
    for index, (day, size) in enumerate(KAGAWA_FOLLOW_UPS):
        pool = [r.person for r in registrations if r.registered_on <= day]
        if not pool:
            continue
        chosen = [pool[(index * 11 + k) % len(pool)] for k in range(min(size, len(pool)))]
        _follow_up(session, program, hito, day, chosen, "高松市 hito.toco 研修室")


def _tochigi(session: DbSession, program: Program, admin: User, today: date) -> None:
    polaris = _organiser(session, program, "ポラリスとちぎ(一般社団法人栃木県若年者支援機構)")
    nasu_council = _organiser(session, program, "那須町社会福祉協議会")
    cohorts = {}
    for year in (2019, 2020, 2021, 2022, 2023):
        label = f"{fiscal_year_label(year)} ひきこもりサポーター養成研修"
        cohorts[year] = _register_all(session, _course(session, program, label))
    nasu = _register_all(session, _course(session, program, "那須町ひきこもりサポーター養成講座"))

    def people(registrations: list[Registration]) -> list[Person]:
        return [r.person for r in registrations]

    venue = "宇都宮市 とちぎ福祉プラザ"
    # The 2019 cohort's validity ends 2022-07-20: most renew inside the window...
    _follow_up(session, program, polaris, date(2022, 6, 18), people(cohorts[2019][:24]), venue)
    # ... four lapse, then renew after the lapse (validity counts from the attendance).
    _follow_up(session, program, polaris, date(2023, 2, 18), people(cohorts[2019][24:]), venue)
    _follow_up(session, program, polaris, date(2023, 6, 17), people(cohorts[2020]), venue)
    # Later years, so that today's register has renewals and lapses too.
    _follow_up(session, program, polaris, date(2024, 6, 15), people(cohorts[2021][:20]), venue)
    _follow_up(
        session,
        program,
        polaris,
        date(2025, 6, 21),
        people(cohorts[2019][:18] + cohorts[2022][:22]),
        venue,
    )
    _follow_up(
        session,
        program,
        polaris,
        date(2026, 6, 20),
        people(cohorts[2020][:22] + cohorts[2023][:20]),
        venue,
    )
    _follow_up(
        session,
        program,
        nasu_council,
        date(2025, 10, 18),
        people(nasu[:10]),
        "那須町 ゆめプラザ・那須",
    )
    everyone = [r for cohort in cohorts.values() for r in cohort] + nasu
    _reports(session, admin, everyone, range(2019, 2027), today)


def _kagawa(session: DbSession, program: Program, admin: User, today: date) -> None:
    # Registration is optional: most hand in the form, some do not.
    earlier = _register_all(session, _course(session, program, "令和4年度"), keep=18, form=True)
    demo = session.scalar(select(User).where(User.email == "supporter.kagawa@demo.example"))
    if demo and demo.person_id and not any(r.person_id == demo.person_id for r in earlier):
        enrolment = session.scalar(
            select(Enrolment).where(
                Enrolment.person_id == demo.person_id, Enrolment.state == EnrolmentState.COMPLETED
            )
        )
        if enrolment is not None:
            earlier.append(
                services.register_enrolment(
                    session,
                    actor=None,
                    enrolment=enrolment,
                    on=enrolment.completed_on or today,
                    form_received=True,
                    main_municipality=enrolment.person.residence_municipality,
                )
            )
    recent = _register_all(session, _course(session, program, "令和5年度"), keep=24, form=True)
    # Follow-up training: _kagawa_follow_ups.
    _reports(session, admin, earlier + recent, range(2022, 2027), today, share=5)


def _chiba(session: DbSession, program: Program, admin: User, today: date) -> None:
    places = list(
        session.scalars(
            select(Municipality)
            .where(
                Municipality.prefecture == "千葉県", Municipality.name.in_(["習志野市", "佐倉市"])
            )
            .order_by(Municipality.name.desc())
        )
    )
    registrations = _register_all(session, _course(session, program, "令和6年度"), places=places)
    _reports(session, admin, registrations, range(2024, 2027), today, share=4)


__all__ = ["load_registry_demo"]
