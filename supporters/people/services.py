"""Normalising what people type, finding duplicates, and keeping person records."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import jaconv
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, or_, select

from supporters.audit.services import record_audit
from supporters.core.text import fold, normalise_email
from supporters.db import DbSession, ServiceError
from supporters.people.models import Attribute, Person
from supporters.people.privacy import known_to_program
from supporters.programs.models import Municipality, ProgramAttribute

if TYPE_CHECKING:
    from supporters.accounts.models import User

# Japanese labels as they appear in spreadsheets, and English codes, to the stored value.
ATTRIBUTE_LABELS_JA = {
    Attribute.WELFARE_PROFESSIONAL: "福祉専門職",
    Attribute.FAMILY: "家族",
    Attribute.LIVED_EXPERIENCE: "当事者",
    Attribute.MUNICIPAL_STAFF: "市町村職員",
    Attribute.PRIVATE_SUPPORT: "民間支援団体",
    Attribute.RESIDENT: "住民",
    Attribute.OTHER: "その他",
}
_ATTRIBUTE_ALIASES = {
    **{label: attribute for attribute, label in ATTRIBUTE_LABELS_JA.items()},
    **{attribute.value: attribute for attribute in Attribute},
    "welfare professional": Attribute.WELFARE_PROFESSIONAL,
    "family member": Attribute.FAMILY,
    "lived experience": Attribute.LIVED_EXPERIENCE,
    "municipal staff": Attribute.MUNICIPAL_STAFF,
    "private support organisation": Attribute.PRIVATE_SUPPORT,
    "private support organization": Attribute.PRIVATE_SUPPORT,
    "resident": Attribute.RESIDENT,
    "other": Attribute.OTHER,
    "家族・親族": Attribute.FAMILY,
    "経験者": Attribute.LIVED_EXPERIENCE,
    "当事者・経験者": Attribute.LIVED_EXPERIENCE,
    "一般": Attribute.RESIDENT,
    "地域住民": Attribute.RESIDENT,
}

_SPACES = re.compile(r"\s+")
_KATAKANA_READING = re.compile(r"^[\u30A0-\u30FF\u31F0-\u31FF ]+$")  # katakana, ー, ・, space
_PHONE_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−ーｰ－﹣", "-"))
_PHONE_ALLOWED = re.compile(r"^\+?[0-9-]+$")


def normalise_name(raw: str | None) -> str:
    """Trim and collapse spaces (full-width too); half-width katakana becomes full-width.
    NFC only: NFKC would change some kanji variants in people's names."""
    text = unicodedata.normalize("NFC", raw or "")
    text = jaconv.h2z(text, kana=True, ascii=False, digit=False)
    return _SPACES.sub(" ", text.replace("\u3000", " ")).strip()


def name_key(name: str) -> str:
    return normalise_name(name).replace(" ", "")


def normalise_reading(raw: str | None) -> str:
    """フリガナ as full-width katakana: hiragana and half-width katakana are converted."""
    text = unicodedata.normalize("NFKC", raw or "").replace("\u3000", " ")
    text = jaconv.hira2kata(text)
    text = _SPACES.sub(" ", text).strip()
    if not text:
        raise ServiceError(
            "name_reading", str(_l("Enter the reading in katakana.")), code="reading_missing"
        )
    if not _KATAKANA_READING.match(text):
        raise ServiceError(
            "name_reading",
            str(_l("The reading must be in katakana (or hiragana).")),
            code="reading_not_katakana",
        )
    return text


def normalise_phone(raw: str | None) -> str | None:
    """Full-width digits and any kind of dash accepted; stored as ASCII digits and hyphens."""
    text = unicodedata.normalize("NFKC", raw or "").translate(_PHONE_DASHES)
    text = re.sub(r"[\s()（）]", "", text).strip("-")
    if not text:
        return None
    text = re.sub(r"-+", "-", text)
    digits = re.sub(r"\D", "", text)
    international = text.startswith("+")  # +81-3-1234-5678
    # Japanese numbers: 0, then an area or service code that does not start with 0 (00... is
    # the international call prefix), 10 or 11 digits in all.
    domestic_ok = 10 <= len(digits) <= 11 and digits.startswith("0") and digits[1] != "0"
    if not _PHONE_ALLOWED.match(text) or not (
        domestic_ok or (international and 10 <= len(digits) <= 13 and digits[0] != "0")
    ):
        raise ServiceError(
            "phone",
            str(_l("Enter a phone number of 10 or 11 digits, e.g. 03-1234-5678.")),
            code="invalid_phone",
        )
    return text


def normalise_optional_email(raw: str | None) -> str | None:
    return normalise_email(raw) if fold(raw) else None


def parse_attribute(raw: str | None) -> Attribute | None:
    text = fold(raw).lower()
    if not text:
        return None
    attribute = _ATTRIBUTE_ALIASES.get(text)
    if attribute is None:
        choices = "、".join(ATTRIBUTE_LABELS_JA.values())
        raise ServiceError(
            "attribute",
            str(_l("Unknown attribute %(v)s. Use one of: %(c)s", v=raw, c=choices)),
            code="unknown_attribute",
        )
    return attribute


@dataclass
class AttributeWording:
    """A program's attributes as it words them: folded label or code to (code, reporting
    group), and the labels in the program's order for the refusal's list."""

    words: dict[str, tuple[str, Attribute]]
    labels: list[str]
    retired: set[str] = field(default_factory=set)  # codes no longer offered


def program_attributes(session: DbSession, program_id: int) -> list[ProgramAttribute]:
    """The program's attributes in use, in its order."""
    return list(
        session.scalars(
            select(ProgramAttribute)
            .where(ProgramAttribute.program_id == program_id, ProgramAttribute.active.is_(True))
            .order_by(ProgramAttribute.sort_order, ProgramAttribute.id)
        )
    )


def reporting_group_of(session: DbSession, program_id: int, code: str) -> str | None:
    """The reporting group the program counts attribute `code` in now (retired ones too);
    a code of the product's list is its own group; None for an unknown code."""
    group = session.scalar(
        select(ProgramAttribute.reporting_group).where(
            ProgramAttribute.program_id == program_id, ProgramAttribute.code == code
        )
    )
    if group is None and code in {attribute.value for attribute in Attribute}:
        group = code
    return group


def attribute_wording(session: DbSession, program_id: int) -> AttributeWording:
    wording = AttributeWording({}, [])
    for row in session.scalars(
        select(ProgramAttribute)
        .where(ProgramAttribute.program_id == program_id)
        .order_by(ProgramAttribute.sort_order, ProgramAttribute.id)
    ):
        if not row.active:  # retired: not offered for new enrolments and imports
            wording.retired.add(row.code)
            continue
        wording.labels.append(row.label_ja)
        for text in (row.label_ja, row.label_en, row.code):
            key = fold(text).lower()
            if key:
                wording.words.setdefault(key, (row.code, Attribute(row.reporting_group)))
    return wording


def parse_program_attribute(
    raw: str | None, wording: AttributeWording
) -> tuple[str, Attribute] | None:
    """The attribute in the program's words (Kagawa's 行政の相談担当者) or the product's
    (`parse_attribute`): (the code as given, the reporting group), or None when empty."""
    text = fold(raw).lower()
    if not text:
        return None
    found = wording.words.get(text)
    if found is not None:
        return found
    generic = _ATTRIBUTE_ALIASES.get(text)
    if generic is None or generic.value in wording.retired:  # the program retired it
        choices = "、".join(wording.labels or ATTRIBUTE_LABELS_JA.values())
        raise ServiceError(
            "attribute",
            str(_l("Unknown attribute %(v)s. Use one of: %(c)s", v=raw, c=choices)),
            code="unknown_attribute",
        )
    return generic.value, generic


@dataclass
class PersonInput:
    name: str
    name_reading: str
    email: str | None = None
    phone: str | None = None
    residence_municipality_id: int | None = None
    work_municipality_id: int | None = None
    attribute: str | None = None
    postal_code: str | None = None
    address: str | None = None
    print_name: str | None = None


def clean_person_input(
    *,
    name: str | None,
    name_reading: str | None,
    email: str | None = None,
    phone: str | None = None,
    residence: Municipality | None = None,
    work: Municipality | None = None,
    attribute: str | None = None,
    postal_code: str | None = None,
    address: str | None = None,
    print_name: str | None = None,
) -> PersonInput:
    """Normalise every field; raises ServiceError naming the first field that is wrong."""
    clean_name = normalise_name(name)
    if not clean_name:
        raise ServiceError("name", str(_l("Enter the name.")), code="name_missing")
    if len(clean_name) > 100:
        raise ServiceError(
            "name", str(_l("Use at most %(n)d characters.", n=100)), code="name_too_long"
        )
    reading = normalise_reading(name_reading)
    if len(reading) > 100:
        raise ServiceError(
            "name_reading", str(_l("Use at most %(n)d characters.", n=100)), code="reading_too_long"
        )
    try:
        clean_email = normalise_optional_email(email)
    except ServiceError as error:
        raise ServiceError("email", error.message, code=error.code) from error
    parsed_attribute = parse_attribute(attribute)
    postal = fold(postal_code).replace("ー", "-") or None
    if postal and not re.fullmatch(r"\d{3}-?\d{4}", postal):
        raise ServiceError(
            "postal_code", str(_l("Enter a postal code like 123-4567.")), code="invalid_postal_code"
        )
    return PersonInput(
        name=clean_name,
        name_reading=reading,
        email=clean_email,
        phone=normalise_phone(phone),
        residence_municipality_id=residence.id if residence else None,
        work_municipality_id=work.id if work else None,
        attribute=parsed_attribute.value if parsed_attribute else None,
        postal_code=postal,
        address=normalise_name(address) or None,
        print_name=normalise_name(print_name) or None,
    )


def same_name(data: PersonInput) -> list[ColumnElement[bool]]:
    """Conditions on Person: the same name (as compared) and reading as `data`."""
    return [Person.name_key == name_key(data.name), Person.name_reading == data.name_reading]


def find_duplicates(session: DbSession, data: PersonInput, *, program_id: int) -> list[Person]:
    """Same name and reading, and the same e-mail or phone: most likely the same person.
    Only among the people `program_id` holds records of: a person another program recorded
    is never matched, so a duplicate check reveals nothing across programs (a person record
    per program; see docs/architecture.md, "Privacy model")."""
    contacts = []
    if data.email:
        contacts.append(Person.email == data.email)
    if data.phone:
        digits = re.sub(r"\D", "", data.phone)
        contacts.append(Person.phone == data.phone)
        if digits != data.phone:
            contacts.append(Person.phone == digits)
    if not contacts:
        return []
    return list(
        session.scalars(
            select(Person)
            .where(
                *same_name(data),
                or_(*contacts),
                known_to_program(program_id),
            )
            .order_by(Person.id)
        )
    )


def create_person(session: DbSession, *, actor: User | None, data: PersonInput) -> Person:
    person = Person(name_key=name_key(data.name), **data.__dict__)
    session.add(person)
    session.flush()
    record_audit(session, actor, "person.create", person)
    return person


def record_attribute_view(
    session: DbSession, *, actor: User, person: Person, program_id: int | None
) -> None:
    """Seeing a person's attribute is audited (要配慮個人情報)."""
    record_audit(session, actor, "person.view_attribute", person, program_id=program_id)
