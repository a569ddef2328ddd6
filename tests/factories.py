"""Keyword-only factories that go through the real services."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from supporters.accounts import services
from supporters.accounts.models import Role, User
from supporters.programs.models import Municipality, Program

PASSWORD = "correct horse battery"
# The day valid_registration() registers on: before every fixed clock the tests use.
REGISTERED_ON = date(2024, 2, 1)
# When factory accounts set their password and get their role: a fixed instant before every
# date the tests use, so no factory reads the machine's clock.
ACCOUNTS_SET_UP_AT = datetime(2020, 4, 1, tzinfo=UTC)
_counter = itertools.count(1)


def program(session: Session, *, code: str = "tochigi") -> Program:
    found = session.scalar(select(Program).where(Program.code == code))
    assert found is not None
    return found


def municipality(session: Session, *, name: str, prefecture: str | None = None) -> Municipality:
    query = select(Municipality).where(Municipality.name == name)
    if prefecture:
        query = query.where(Municipality.prefecture == prefecture)
    found = session.scalar(query)
    assert found is not None
    return found


def user(
    session: Session,
    *,
    email: str | None = None,
    name: str = "テスト 利用者",
    password: str | None = PASSWORD,
    role: Role | str | None = None,
    program_code: str | None = None,
    municipality_name: str | None = None,
    active: bool = True,
    now: datetime = ACCOUNTS_SET_UP_AT,
    **grant_kwargs: Any,
) -> User:
    email = email or f"user{next(_counter)}@example.jp"
    account = services.create_user(session, actor=None, email=email, display_name=name)
    if password is not None:
        services.set_password(
            account, password, hash_params=current_app.config["PASSWORD_HASH"], now=now
        )
    if role is not None:
        prog = program(session, code=program_code) if program_code else None
        place = (
            municipality(
                session, name=municipality_name, prefecture=prog.prefecture if prog else None
            )
            if municipality_name
            else None
        )
        services.grant_role(
            session,
            actor=None,
            user=account,
            role=role,
            program=prog,
            municipality=place,
            now=now,
            **grant_kwargs,
        )
    account.active = active
    session.flush()
    return account


def admin(session: Session, **kwargs: Any) -> User:
    return user(session, role=Role.ADMIN, **kwargs)


def coordinator(session: Session, *, program_code: str = "tochigi", **kwargs: Any) -> User:
    return user(session, role=Role.COORDINATOR, program_code=program_code, **kwargs)


def supporter(session: Session, *, program_code: str = "tochigi", **kwargs: Any) -> User:
    return user(session, role=Role.SUPPORTER, program_code=program_code, **kwargs)


def municipal_staff(
    session: Session,
    *,
    program_code: str = "tochigi",
    municipality_name: str = "佐野市",
    **kwargs: Any,
) -> User:
    return user(
        session,
        role=Role.MUNICIPAL_STAFF,
        program_code=program_code,
        municipality_name=municipality_name,
        **kwargs,
    )


def person(
    session: Session,
    *,
    name: str = "山田 花子",
    reading: str = "ヤマダ ハナコ",
    email: str | None = None,
    phone: str | None = None,
    residence: str | None = None,
    prefecture: str | None = None,
    attribute: str | None = None,
) -> Any:
    from supporters.people.services import clean_person_input, create_person

    place = municipality(session, name=residence, prefecture=prefecture) if residence else None
    data = clean_person_input(
        name=name,
        name_reading=reading,
        email=email,
        phone=phone,
        residence=place,
        attribute=attribute,
    )
    return create_person(session, actor=None, data=data)


def course(
    session: Session,
    *,
    program_code: str = "kagawa",
    kind: str = "initial",
    title: str | None = None,
    capacity: int | None = None,
    topics: tuple[str, ...] = ("基礎", "家族支援"),
    on: Any = None,
) -> Any:
    from datetime import date, time

    from supporters.programs.models import Organisation
    from supporters.training.models import CourseSession
    from supporters.training.services.courses import CourseInput, create_course

    prog = program(session, code=program_code)
    organiser = session.scalar(select(Organisation).where(Organisation.program_id == prog.id))
    if organiser is None:
        organiser = Organisation(program_id=prog.id, kind="operator", name=f"{prog.code} 事務局")
        session.add(organiser)
        session.flush()
    new = create_course(
        session,
        actor=None,
        program=prog,
        data=CourseInput(
            kind=kind,
            organiser_id=organiser.id,
            title=title or f"研修 {next(_counter)}",
            capacity=capacity,
        ),
    )
    for topic in topics:
        session.add(
            CourseSession(
                course=new,
                date=on or date(2024, 5, 1),
                start_time=time(10),
                end_time=time(12),
                topic=topic,
            )
        )
    session.flush()
    session.refresh(new)
    return new


def completed_enrolment(
    session: Session,
    *,
    program_code: str = "tochigi",
    on: Any = None,
    person_obj: Any = None,
    **person_kwargs: Any,
) -> Any:
    """A trainee who completed initial training of the program on `on`."""
    from datetime import UTC, date, datetime

    from supporters.training.services.completion import complete_by_hand
    from supporters.training.services.enrolments import enrol_person

    day = on or date(2020, 7, 20)
    new_course = course(session, program_code=program_code, topics=("基礎",), on=day)
    prog = program(session, code=program_code)
    somebody = person_obj or person(
        session,
        residence=person_kwargs.pop("residence", None) or _home(prog),
        prefecture=prog.prefecture,
        **person_kwargs,
    )
    enrolment = enrol_person(
        session,
        actor=None,
        course=new_course,
        person=somebody,
        now=datetime.combine(day, datetime.min.time(), UTC),
    )
    complete_by_hand(
        session, actor=admin_user(session), enrolment=enrolment, reason="テスト", on=day
    )
    return enrolment


def _home(prog: Any) -> str:
    return {"chiba": "習志野市", "tochigi": "佐野市", "kagawa": "高松市"}[prog.code]


def admin_user(session: Session) -> User:
    found = session.scalar(select(User).where(User.email == "factory-admin@example.jp"))
    return found or admin(session, email="factory-admin@example.jp")


def registration(
    session: Session, *, program_code: str = "tochigi", on: Any = None, **kwargs: Any
) -> Any:
    from supporters.registry import services as registry

    enrolment = completed_enrolment(session, program_code=program_code, on=on, **kwargs)
    return registry.register_enrolment(
        session,
        actor=None,
        enrolment=enrolment,
        on=enrolment.completed_on,
        form_received=True,
    )


def dispatch_event(
    session: Session,
    *,
    program_code: str = "tochigi",
    place: str | None = None,
    starts_at: Any = None,
    hours: int = 3,
    needed: int = 3,
) -> Any:
    from datetime import UTC, datetime, timedelta

    from supporters.dispatch import services as dispatch

    prog = program(session, code=program_code)
    where = municipality(session, name=place or _home(prog), prefecture=prog.prefecture)
    start = starts_at or datetime(2030, 5, 10, 4, 0, tzinfo=UTC)
    return dispatch.create_event(
        session,
        actor=admin_user(session),
        program=prog,
        data=dispatch.EventInput(
            title="出張相談会",
            municipality_id=where.id,
            venue="保健センター",
            starts_at=start,
            ends_at=start + timedelta(hours=hours),
            needed=needed,
        ),
    )


def valid_registration(
    session: Session, *, program_code: str = "tochigi", n: int = 0, place: str | None = None
) -> Any:
    """A registration valid from REGISTERED_ON until 2035, with a distinct person. A fixed
    date, not today's: tests fix the clock, and the machine's date must not change them."""
    from datetime import date

    reg = registration(
        session,
        program_code=program_code,
        on=REGISTERED_ON,
        name=f"派遣 {n}",
        reading="ハケン "
        + "アイウエオカキクケコサシスセソタチツテト"[n % 20]
        + "ナニヌネノハヒフヘホ"[n // 20 % 10],
        email=f"d{n}@example.jp",
    )
    if reg.initial_valid_until is not None:  # as if renewed far ahead
        reg.initial_valid_until = reg.valid_until = date(2035, 3, 31)
    if place:
        reg.main_municipality_id = municipality(
            session, name=place, prefecture=reg.program.prefecture
        ).id
    session.flush()
    return reg
