"""Checking a program file before anything is written: every problem with its key and a
Japanese message, and what the file names resolved against the database (municipalities,
seals) for the writing that follows (administration.services)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.administration.spec import (
    CURRICULUM_KINDS,
    AttributeSpec,
    FileProblems,
    OrganisationSpec,
    Problem,
    ProgramSpec,
    SchemeMunicipalitySpec,
)
from supporters.certificates.pdf import CARD_DESIGNS
from supporters.core.text import fold
from supporters.db import DbSession, ServiceError
from supporters.dispatch.kinds import program_kinds
from supporters.dispatch.models import (
    EventKind,
    ProgramMunicipality,
    TravelRule,
)
from supporters.programs.models import (
    REPORTING_GROUPS,
    DispatchMode,
    EligibilityRule,
    Municipality,
    Organisation,
    OrganisationKind,
    Program,
    ProgramAttribute,
    RegistrationMode,
    RenewalRule,
)
from supporters.programs.services import check_seal_image, find_municipality
from supporters.registry.models import ActivityKind

_CODE = re.compile(r"^[a-z][a-z0-9_-]{1,19}$")
_PHONE = re.compile(r"^[0-9()+\- ]{10,20}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass
class Resolved:
    """What validation found in the database for a spec."""

    organisation_places: dict[str, int | None] = field(default_factory=dict)
    scheme_places: dict[str, int] = field(default_factory=dict)  # canonical name -> id
    seals: dict[str, bytes | None] = field(default_factory=dict)  # org name -> PNG or removal


# --- checking -----------------------------------------------------------------------------


def _choice(problems: list[Problem], key: str, value: str | None, allowed: list[str]) -> None:
    if value not in allowed:
        problems.append(
            Problem(
                key,
                str(
                    _l(
                        "Unknown value %(v)s; expected one of: %(c)s.",
                        v=str(value),
                        c=", ".join(allowed),
                    )
                ),
            )
        )


def _at_least(problems: list[Problem], key: str, value: int | None, least: int) -> None:
    if value is not None and value < least:
        problems.append(Problem(key, str(_l("Must be at least %(n)d.", n=least))))


def _at_most(problems: list[Problem], key: str, value: int | None, most: int) -> None:
    if value is not None and value > most:
        problems.append(Problem(key, str(_l("Must be at most %(n)d.", n=most))))


def _within(problems: list[Problem], key: str, value: int | None, least: int, most: int) -> None:
    _at_least(problems, key, value, least)
    _at_most(problems, key, value, most)


def _number_format(problems: list[Problem], key: str, pattern: str, prefix: str) -> None:
    try:
        sample = pattern.format(prefix=prefix, year=2023, seq=1)
    except (KeyError, IndexError, ValueError):
        sample = ""
    if "{seq" not in pattern or not sample or len(sample) > 30:
        problems.append(
            Problem(
                key,
                str(
                    _l(
                        "Not a number format: use {prefix}, {year} and {seq}, e.g. %(e)s.",
                        e="{prefix}-{year}-{seq:04d}",
                    )
                ),
            )
        )


def _place(
    session: DbSession, problems: list[Problem], key: str, name: str, prefecture: str
) -> Municipality | None:
    try:
        return find_municipality(session, name, prefecture=prefecture)
    except ServiceError as error:
        problems.append(Problem(key, error.message))
        return None


def _check_program(session: DbSession, spec: ProgramSpec, problems: list[Problem]) -> None:
    if not _CODE.match(spec.code):
        problems.append(Problem("code", str(_l("Use 2 to 20 lower-case letters, digits, - or _."))))
    known = session.scalar(
        select(Municipality.id).where(Municipality.prefecture == spec.prefecture).limit(1)
    )
    if known is None:
        problems.append(Problem("prefecture", str(_l("No prefecture %(p)s.", p=spec.prefecture))))
    for name in ("ja", "en", "public_ja", "public_en"):
        value = getattr(spec.names, name)
        if not value:
            problems.append(Problem(f"names.{name}", str(_l("This field is required."))))
        elif len(value) > 100:
            problems.append(Problem(f"names.{name}", str(_l("At most %(n)d characters.", n=100))))
    _choice(problems, "rules.eligibility", spec.rules.eligibility, list(EligibilityRule))
    _choice(problems, "rules.registration", spec.rules.registration, list(RegistrationMode))
    _choice(problems, "rules.dispatch_mode", spec.rules.dispatch_mode, list(DispatchMode))
    _within(
        problems, "rules.cancellation_cutoff_hours", spec.rules.cancellation_cutoff_hours, 0, 8760
    )
    follow = spec.follow_up
    _within(problems, "follow_up.interval_months", follow.interval_months, 1, 120)
    _within(problems, "follow_up.window_days", follow.window_days, 0, 3650)
    _within(problems, "follow_up.sessions_per_year", follow.sessions_per_year, 1, 365)
    _choice(problems, "follow_up.renewal_rule", follow.renewal_rule, list(RenewalRule))
    if follow.mandatory and follow.interval_months is None:
        problems.append(
            Problem("follow_up.mandatory", str(_l("A mandatory follow-up needs interval_months.")))
        )
    prefix = spec.numbers.registration_prefix
    if not prefix or len(prefix) > 10:
        problems.append(Problem("numbers.registration_prefix", str(_l("Use 1 to 10 characters."))))
    else:
        other = session.scalar(
            select(Program.code).where(
                Program.registration_number_prefix == prefix, Program.code != spec.code
            )
        )
        if other:
            problems.append(
                Problem(
                    "numbers.registration_prefix",
                    str(_l("Program %(c)s already uses this prefix.", c=other)),
                )
            )
    _number_format(
        problems, "numbers.registration_format", spec.numbers.registration_format, prefix
    )
    _number_format(problems, "numbers.completion_format", spec.numbers.completion_format, prefix)
    _choice(problems, "card.design", spec.card.design, list(CARD_DESIGNS))
    phone = spec.contact.phone
    if phone and not (_PHONE.match(phone) and len(re.sub(r"\D", "", phone)) in (10, 11)):
        problems.append(
            Problem(
                "contact.phone",
                str(_l("Enter a phone number of 10 or 11 digits, e.g. 03-1234-5678.")),
            )
        )
    if spec.contact.email and not _EMAIL.match(spec.contact.email):
        problems.append(Problem("contact.email", str(_l("Enter a valid e-mail address."))))


def _check_organisations(
    session: DbSession,
    spec: ProgramSpec,
    program: Program | None,
    problems: list[Problem],
    resolved: Resolved,
    base_dir: Path | None,
) -> list[OrganisationSpec]:
    canonical = []
    seen: set[str] = set()
    for index, org in enumerate(spec.organisations):
        key = f"organisations[{index}]"
        if not org.name:
            problems.append(Problem(f"{key}.name", str(_l("This field is required."))))
        elif org.name in seen:
            problems.append(Problem(f"{key}.name", str(_l("Appears twice: %(n)s.", n=org.name))))
        seen.add(org.name)
        _choice(problems, f"{key}.kind", org.kind, list(OrganisationKind))
        place = None
        if org.municipality:
            found = _place(
                session, problems, f"{key}.municipality", org.municipality, spec.prefecture
            )
            place = found.id if found else None
            org = replace(org, municipality=found.name if found else org.municipality)
        resolved.organisation_places[org.name] = place
        if org.seal is not None:
            resolved.seals[org.name] = _read_seal(problems, f"{key}.seal", org.seal, base_dir)
            org = replace(org, seal=digest(resolved.seals[org.name]) or "")
        canonical.append(org)
    if program is not None:
        for name in session.scalars(
            select(Organisation.name).where(Organisation.program_id == program.id)
        ):
            if name not in seen:
                problems.append(
                    Problem(
                        "organisations",
                        str(_l("%(n)s is missing: an organisation cannot be removed.", n=name)),
                    )
                )
    return canonical


def digest(data: bytes | None) -> str | None:
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()[:16]


def _read_seal(
    problems: list[Problem], key: str, reference: str, base_dir: Path | None
) -> bytes | None:
    if reference == "":
        return None
    if base_dir is None:
        problems.append(
            Problem(key, str(_l("A seal file can only be given with the file command.")))
        )
        return None
    path = base_dir / reference
    try:
        data = path.read_bytes()
    except OSError:
        problems.append(Problem(key, str(_l("Cannot read the file %(f)s.", f=reference))))
        return None
    try:
        check_seal_image(data)
    except ServiceError as error:
        problems.append(Problem(key, error.message))
        return None
    return data


def _check_scheme(
    session: DbSession,
    spec: ProgramSpec,
    program: Program | None,
    problems: list[Problem],
    resolved: Resolved,
) -> list[SchemeMunicipalitySpec]:
    canonical = []
    unknown = False
    for index, member in enumerate(spec.scheme):
        key = f"scheme[{index}]"
        found = _place(
            session, problems, f"{key}.municipality", member.municipality, spec.prefecture
        )
        unknown = unknown or found is None
        if found is not None:
            if found.name in resolved.scheme_places:
                problems.append(
                    Problem(f"{key}.municipality", str(_l("Appears twice: %(n)s.", n=found.name)))
                )
            resolved.scheme_places[found.name] = found.id
            member = replace(member, municipality=found.name)
        if member.left_on is not None and member.left_on < member.joined_on:
            problems.append(Problem(f"{key}.until", str(_l("Must be on or after from."))))
        if member.paid:
            if member.honorarium_yen is None:
                problems.append(
                    Problem(f"{key}.honorarium_yen", str(_l("A paid municipality needs this.")))
                )
            _within(problems, f"{key}.honorarium_yen", member.honorarium_yen, 0, 1_000_000)
            if member.travel_rule is None:
                problems.append(
                    Problem(f"{key}.travel_rule", str(_l("A paid municipality needs this.")))
                )
            else:
                _choice(problems, f"{key}.travel_rule", member.travel_rule, list(TravelRule))
        elif member.honorarium_yen is not None or member.travel_rule is not None:
            problems.append(
                Problem(
                    f"{key}.paid",
                    str(_l("Only a paid municipality has an honorarium or a travel rule.")),
                )
            )
        canonical.append(member)
    if program is not None and not unknown:  # an unknown name may be a missing one misspelt
        names = session.scalars(
            select(Municipality.name)
            .join(ProgramMunicipality, ProgramMunicipality.municipality_id == Municipality.id)
            .where(ProgramMunicipality.program_id == program.id)
        )
        for name in names:
            if name not in resolved.scheme_places:
                problems.append(
                    Problem(
                        "scheme",
                        str(_l("%(n)s is missing: a municipality leaves with until.", n=name)),
                    )
                )
    return canonical


def _check_curricula(spec: ProgramSpec, problems: list[Problem]) -> None:
    for kind in CURRICULUM_KINDS:
        for index, item in enumerate(getattr(spec.curricula, kind)):
            key = f"curricula.{kind}[{index}]"
            if not item.topic:
                problems.append(Problem(f"{key}.topic", str(_l("This field is required."))))
            _within(problems, f"{key}.minutes", item.minutes, 1, 1440)


def _check_activity_kinds(
    session: DbSession, spec: ProgramSpec, program: Program | None, problems: list[Problem]
) -> None:
    if program is not None:
        listed = {kind.code for kind in spec.activity_kinds}
        for held in program_kinds(session, program, active_only=False):
            if held.code not in listed:
                problems.append(
                    Problem(
                        "activity_kinds",
                        str(
                            _l(
                                "%(n)s is missing: a kind of activity cannot be removed "
                                "(events refer to it); retire it with active = false.",
                                n=held.code,
                            )
                        ),
                    )
                )
    for kind in spec.activity_kinds:
        key = f"activity_kinds.{kind.code}"
        if not _CODE.match(kind.code):
            problems.append(
                Problem(key, str(_l("Use 2 to 20 lower-case letters, digits, - or _.")))
            )
        _choice(problems, f"{key}.event_kind", kind.event_kind, [k.value for k in EventKind])
        _choice(problems, f"{key}.activity", kind.activity, [k.value for k in ActivityKind])
        for name in ("name_ja", "name_en", "taking_part_ja", "taking_part_en"):
            value = getattr(kind, name)
            if not value:
                problems.append(Problem(f"{key}.{name}", str(_l("This field is required."))))
            elif len(value) > 100:
                problems.append(
                    Problem(f"{key}.{name}", str(_l("At most %(n)d characters.", n=100)))
                )


# The longest labels: the Japanese one is an option of the enrol form (on a phone too), a
# cell of the trainee import and its template, and listed in the import's refusal.
ATTRIBUTE_LABEL_MAX = {"label_ja": 30, "label_en": 60}


def attribute_text(raw: str | None) -> str:
    """A label as typed, normalised: full-width letters and digits folded, half-width kana
    made full-width, spaces (full-width too) collapsed and trimmed."""
    return " ".join(fold(raw).split())


def _check_attributes(
    session: DbSession, spec: ProgramSpec, program: Program | None, problems: list[Problem]
) -> list[AttributeSpec]:
    canonical = [
        replace(a, label_ja=attribute_text(a.label_ja), label_en=attribute_text(a.label_en))
        for a in spec.attributes
    ]
    if program is not None:
        listed = {attribute.code for attribute in canonical}
        for held in session.scalars(
            select(ProgramAttribute.code).where(ProgramAttribute.program_id == program.id)
        ):
            if held not in listed:
                problems.append(
                    Problem(
                        "attributes",
                        str(
                            _l(
                                "%(n)s is missing: an attribute cannot be removed "
                                "(enrolments record it); retire it with active = false.",
                                n=held,
                            )
                        ),
                    )
                )
    codes: set[str] = set()
    # What the import matches (either label, folded, or the code) -> the attributes in use
    # it names, and by which field: two may not share one, or an import could not tell them
    # apart.
    words: dict[str, dict[str, tuple[str, str]]] = {}
    for attribute in canonical:
        key = f"attributes.{attribute.code}"
        if not _CODE.match(attribute.code):
            problems.append(
                Problem(key, str(_l("Use 2 to 20 lower-case letters, digits, - or _.")))
            )
        elif attribute.code in codes:
            problems.append(
                Problem(
                    key,
                    str(
                        _l(
                            "The code %(n)s is already used: choose that attribute in the "
                            "list to change it.",
                            n=attribute.code,
                        )
                    ),
                )
            )
        codes.add(attribute.code)
        groups = list(REPORTING_GROUPS)
        _choice(problems, f"{key}.reporting_group", attribute.reporting_group, groups)
        for name in ("label_ja", "label_en"):
            value = getattr(attribute, name)
            if not value:
                problems.append(Problem(f"{key}.{name}", str(_l("This field is required."))))
            elif len(value) > ATTRIBUTE_LABEL_MAX[name]:
                problems.append(
                    Problem(
                        f"{key}.{name}",
                        str(
                            _l(
                                "At most %(n)d characters: the label is an option of the "
                                "enrol form and a cell of the trainee import.",
                                n=ATTRIBUTE_LABEL_MAX[name],
                            )
                        ),
                    )
                )
        if attribute.active:
            for name in ("label_ja", "label_en", "code"):
                value = getattr(attribute, name)
                word = fold(value).lower()
                if word:
                    words.setdefault(word, {}).setdefault(attribute.code, (name, value))
    for holders in words.values():
        for code, (name, value) in holders.items() if len(holders) > 1 else ():
            others = ", ".join(other for other in holders if other != code)
            problems.append(
                Problem(
                    f"attributes.{code}" + ("" if name == "code" else f".{name}"),
                    str(
                        _l(
                            "%(l)s is already the label of %(c)s: an import could not "
                            "tell them apart.",
                            l=value,
                            c=others,
                        )
                    ),
                )
            )
    return canonical


def validate(
    session: DbSession, spec: ProgramSpec, *, base_dir: Path | None = None
) -> tuple[ProgramSpec, Resolved]:
    """The spec with municipality names as the database spells them, and what they resolve
    to; FileProblems naming every key that is wrong."""
    program = session.scalar(select(Program).where(Program.code == spec.code))
    problems: list[Problem] = []
    resolved = Resolved()
    _check_program(session, spec, problems)
    organisations = _check_organisations(session, spec, program, problems, resolved, base_dir)
    scheme = _check_scheme(session, spec, program, problems, resolved)
    _check_curricula(spec, problems)
    _check_activity_kinds(session, spec, program, problems)
    attributes = _check_attributes(session, spec, program, problems)
    if problems:
        raise FileProblems(problems)
    return (
        replace(spec, organisations=organisations, scheme=scheme, attributes=attributes),
        resolved,
    )
