"""The demo data set: the organisations of DOMAIN.md and a user for every role.

Idempotent: running it again finds what is there and adds only what is missing.
The features' parts live beside this module (training, registry, dispatch), so the feature
packages carry no demo code and the demo may use every feature.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from sqlalchemy import select

from supporters.accounts import services as accounts
from supporters.accounts.models import Role, User
from supporters.db import DbSession
from supporters.people.models import Person
from supporters.programs.models import Organisation, OrganisationKind, Program
from supporters.programs.services import find_municipality, find_organisation

ORGANISATIONS = {
    "chiba": [
        (OrganisationKind.PREFECTURE, "千葉県 健康福祉部", "Chiba Prefecture", "千葉市"),
        (
            OrganisationKind.OPERATOR,
            "千葉県ひきこもり地域支援センター",
            "Chiba Hikikomori Regional Support Centre",
            "千葉市",
        ),
        (OrganisationKind.MUNICIPAL_OFFICE, "習志野市役所", "Narashino City Office", "習志野市"),
        (OrganisationKind.MUNICIPAL_OFFICE, "佐倉市役所", "Sakura City Office", "佐倉市"),
    ],
    "tochigi": [
        (
            OrganisationKind.OPERATOR,
            "ポラリスとちぎ(一般社団法人栃木県若年者支援機構)",
            "Polaris Tochigi",
            "宇都宮市",
        ),
        (
            OrganisationKind.SOCIAL_WELFARE_COUNCIL,
            "那須町社会福祉協議会",
            "Nasu Town Social Welfare Council",
            "那須町",
        ),
        (OrganisationKind.MUNICIPAL_OFFICE, "佐野市役所", "Sano City Office", "佐野市"),
        (
            OrganisationKind.MUNICIPAL_OFFICE,
            "那須塩原市役所",
            "Nasushiobara City Office",
            "那須塩原市",
        ),
    ],
    "kagawa": [
        (OrganisationKind.OPERATOR, "hito.toco", "hito.toco", "高松市"),
        (OrganisationKind.MUNICIPAL_OFFICE, "高松市役所", "Takamatsu City Office", "高松市"),
    ],
}

# The coordinators' phones as supporters see them (the schedule's cut-off message links them
# with tel:). Fictional: the 000-0000 subscriber numbers are not in use. The reference data
# gives no program a phone; a real program's number is entered by its office.
CONTACT_PHONES = {
    "chiba": "043-000-0000",
    "tochigi": "028-000-0000",
    "kagawa": "087-000-0000",
}


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    role: Role
    program: str | None = None
    municipality: str | None = None
    reading: str | None = None  # supporters get a person record
    organisation: str | None = None  # a coordinator for one organisation of the program


DEMO_USERS = [
    DemoUser("admin@demo.example", "管理者", Role.ADMIN),
    DemoUser("coordinator.chiba@demo.example", "千葉 コーディネーター", Role.COORDINATOR, "chiba"),
    DemoUser(
        "coordinator.tochigi@demo.example", "栃木 コーディネーター", Role.COORDINATOR, "tochigi"
    ),
    DemoUser(
        "coordinator.kagawa@demo.example", "香川 コーディネーター", Role.COORDINATOR, "kagawa"
    ),
    DemoUser(
        "coordinator.nasu@demo.example",
        "那須町社協 コーディネーター",
        Role.COORDINATOR,
        "tochigi",
        organisation="那須町社会福祉協議会",
    ),
    DemoUser(
        "staff.narashino@demo.example", "習志野市 担当者", Role.MUNICIPAL_STAFF, "chiba", "習志野市"
    ),
    DemoUser("staff.sakura@demo.example", "佐倉市 担当者", Role.MUNICIPAL_STAFF, "chiba", "佐倉市"),
    DemoUser("staff.sano@demo.example", "佐野市 担当者", Role.MUNICIPAL_STAFF, "tochigi", "佐野市"),
    DemoUser(
        "staff.takamatsu@demo.example", "高松市 担当者", Role.MUNICIPAL_STAFF, "kagawa", "高松市"
    ),
    DemoUser(
        "supporter.chiba@demo.example",
        "佐藤 花子",
        Role.SUPPORTER,
        "chiba",
        "佐倉市",
        "サトウ ハナコ",
    ),
    DemoUser(
        "supporter.tochigi@demo.example",
        "鈴木 一郎",
        Role.SUPPORTER,
        "tochigi",
        "佐野市",
        "スズキ イチロウ",
    ),
    DemoUser(
        "supporter.kagawa@demo.example",
        "高橋 美咲",
        Role.SUPPORTER,
        "kagawa",
        "高松市",
        "タカハシ ミサキ",
    ),
]

ROLE_DESCRIPTIONS = {
    Role.ADMIN: "admin",
    Role.COORDINATOR: "program coordinator",
    Role.MUNICIPAL_STAFF: "municipal staff",
    Role.SUPPORTER: "supporter",
}


def _programs(session: DbSession) -> dict[str, Program]:
    return {p.code: p for p in session.scalars(select(Program))}


def load_contact_phones(programs: dict[str, Program]) -> None:
    """A phone for each demo program that has none (a number set by hand is kept)."""
    for code, phone in CONTACT_PHONES.items():
        program = programs.get(code)
        if program is not None and not program.contact_phone:
            program.contact_phone = phone


def load_organisations(session: DbSession, programs: dict[str, Program]) -> None:
    for code, rows in ORGANISATIONS.items():
        program = programs[code]
        existing = {
            o.name
            for o in session.scalars(
                select(Organisation).where(Organisation.program_id == program.id)
            )
        }
        for kind, name, name_en, place in rows:
            if name in existing:
                continue
            municipality = find_municipality(session, place, prefecture=program.prefecture)
            session.add(
                Organisation(
                    program=program,
                    kind=kind,
                    name=name,
                    name_en=name_en,
                    municipality_id=municipality.id,
                )
            )
    session.flush()


def load_users(
    session: DbSession,
    programs: dict[str, Program],
    *,
    password: str,
    now: datetime,
    set_password_always: bool,
) -> list[tuple[str, str]]:
    hash_params = current_app.config["PASSWORD_HASH"]
    logins = []
    for spec in DEMO_USERS:
        user = accounts.find_user_by_email(session, spec.email)
        if user is None:
            user = accounts.create_user(
                session, actor=None, email=spec.email, display_name=spec.name
            )
        if user.password_hash is None or set_password_always:
            accounts.set_password(user, password, hash_params=hash_params, now=now)
        program = programs[spec.program] if spec.program else None
        municipality = (
            find_municipality(session, spec.municipality, prefecture=program.prefecture)
            if spec.municipality and program
            else None
        )
        if spec.reading and user.person_id is None:
            person = Person(
                name=spec.name,
                name_reading=spec.reading,
                email=spec.email,
                residence_municipality_id=municipality.id if municipality else None,
            )
            session.add(person)
            session.flush()
            user.person_id = person.id
        accounts.grant_role(
            session,
            actor=None,
            user=user,
            role=spec.role,
            program=program,
            municipality=municipality if spec.role == Role.MUNICIPAL_STAFF else None,
            organisation=find_organisation(session, program, spec.organisation)
            if spec.organisation and program
            else None,
            now=now,
        )
        where = " / ".join(filter(None, [spec.program, spec.municipality, spec.organisation]))
        logins.append((spec.email, f"{ROLE_DESCRIPTIONS[spec.role]} {where}".strip()))
    return logins


def load_demo(
    session: DbSession, *, password: str, now: datetime, set_password_always: bool = False
) -> list[tuple[str, str]]:
    programs = _programs(session)
    load_contact_phones(programs)
    load_organisations(session, programs)
    logins = load_users(
        session, programs, password=password, now=now, set_password_always=set_password_always
    )
    session.flush()
    from supporters.demo.training import load_training_demo

    load_training_demo(session, programs, today=now.date())
    session.flush()
    from supporters.demo.registry import load_registry_demo

    load_registry_demo(session, programs, today=now.date())
    session.flush()
    from supporters.demo.dispatch import load_dispatch_demo

    load_dispatch_demo(session, programs, now=now)
    session.flush()
    return logins


__all__ = ["User", "load_demo"]
