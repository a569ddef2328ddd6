"""A program's rules, organisations, dispatch scheme and curricula as one spec: read from
the database (`spec_from_program`), checked (`validate`), compared (`plan`) and written
(`apply_program_spec`). The file commands and the pages both go through `apply_program_spec`,
so a page and a file cannot disagree."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from supporters.administration.checks import Resolved, digest, validate
from supporters.administration.spec import (
    CURRICULUM_KINDS,
    ActivityKindSpec,
    AttributeSpec,
    CardSpec,
    ContactSpec,
    CurriculaSpec,
    CurriculumItemSpec,
    FileProblems,
    FollowUpSpec,
    NamesSpec,
    NumbersSpec,
    OrganisationSpec,
    ProgramSpec,
    RulesSpec,
    SchemeMunicipalitySpec,
)
from supporters.audit.services import record_audit
from supporters.core.time import today_in_japan
from supporters.db import DbSession, ServiceError
from supporters.dispatch.kinds import program_kinds
from supporters.dispatch.models import (
    ProgramActivityKind,
    ProgramMunicipality,
)
from supporters.programs.models import (
    BEGINNING,
    Organisation,
    Program,
    ProgramAttribute,
    ProgramRule,
    rules_on,
)
from supporters.registry.rule_changes import change_program_rules


@dataclass(frozen=True)
class Change:
    """One field that differs: its key path in the file, the value before and after."""

    key: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.key}: {_show(self.before)} -> {_show(self.after)}"


def _show(value: Any) -> str:
    return "(none)" if value is None else str(value)


# --- from the database ---------------------------------------------------------------------


def _curricula(program: Program) -> CurriculaSpec:
    lists: dict[str, list[CurriculumItemSpec]] = {kind: [] for kind in CURRICULUM_KINDS}
    for item in program.curriculum_template or []:
        kind = str(item.get("course_kind", "initial"))
        lists.setdefault(kind, []).append(
            CurriculumItemSpec(
                topic=str(item["topic"]),
                minutes=int(item.get("minutes", 60)),
                required=bool(item.get("required", True)),
            )
        )
    return CurriculaSpec(**{kind: lists[kind] for kind in CURRICULUM_KINDS})


def spec_from_program(
    session: DbSession, program: Program, *, rules_on_day: date | None = None
) -> ProgramSpec:
    """The program as it is in the database (seals as None: left as they are). Its
    follow-up rules: the latest version and the day it is in force from (none for the
    program's start), or with `rules_on_day` the version in force on that day."""
    versions = program.rule_versions
    rules: ProgramRule | Program = program
    if rules_on_day is not None:
        rules = rules_on(program, rules_on_day)
    elif versions:
        rules = versions[-1]
    effective_from = getattr(rules, "effective_from", None)
    organisations = session.scalars(
        select(Organisation).where(Organisation.program_id == program.id).order_by(Organisation.id)
    ).all()
    members = session.scalars(
        select(ProgramMunicipality)
        .where(ProgramMunicipality.program_id == program.id)
        .order_by(ProgramMunicipality.joined_on, ProgramMunicipality.municipality_id)
    ).all()
    return ProgramSpec(
        code=program.code,
        prefecture=program.prefecture,
        names=NamesSpec(
            ja=program.name_ja,
            en=program.name_en,
            public_ja=program.public_name_ja,
            public_en=program.public_name_en,
        ),
        rules=RulesSpec(
            eligibility=program.eligibility_rule,
            registration=program.registration_mode,
            activity_reports_required=program.activity_reports_required,
            dispatch_mode=program.dispatch_mode,
            cancellation_cutoff_hours=program.self_cancel_cutoff_hours,
            participation_without_registration=program.participation_without_registration,
            staff_own_requests=program.staff_own_requests,
        ),
        follow_up=FollowUpSpec(
            interval_months=rules.follow_up_interval_months,
            mandatory=rules.follow_up_mandatory,
            window_days=rules.follow_up_window_days,
            sessions_per_year=program.follow_up_sessions_per_year,
            renewal_rule=rules.renewal_rule,
            effective_from=None if effective_from == BEGINNING else effective_from,
        ),
        numbers=NumbersSpec(
            registration_format=program.registration_number_format,
            registration_prefix=program.registration_number_prefix,
            completion_format=program.completion_number_format,
        ),
        card=CardSpec(
            design=program.card_design,
            show_holder_name_on_verify=program.show_holder_name_on_verify,
        ),
        contact=ContactSpec(phone=program.contact_phone, email=program.contact_email),
        terms=dict(program.terms or {}),
        organisations=[
            OrganisationSpec(
                name=o.name,
                kind=o.kind,
                name_en=o.name_en,
                municipality=o.municipality.name if o.municipality else None,
            )
            for o in organisations
        ],
        scheme=[
            SchemeMunicipalitySpec(
                municipality=m.municipality.name,
                joined_on=m.joined_on,
                left_on=m.left_on,
                paid=m.paid,
                honorarium_yen=m.honorarium_yen,
                travel_rule=m.travel_rule,
            )
            for m in members
        ],
        curricula=_curricula(program),
        activity_kinds=[
            ActivityKindSpec(
                code=k.code,
                name_ja=k.name_ja,
                name_en=k.name_en,
                event_kind=k.event_kind,
                activity=k.activity,
                taking_part_ja=k.taking_part_ja,
                taking_part_en=k.taking_part_en,
                organised_by_supporters=k.organised_by_supporters,
                active=k.active,
            )
            for k in program_kinds(session, program, active_only=False)
        ],
        attributes=[
            AttributeSpec(
                code=a.code,
                label_ja=a.label_ja,
                label_en=a.label_en,
                reporting_group=a.reporting_group,
                active=a.active,
            )
            for a in session.scalars(
                select(ProgramAttribute)
                .where(ProgramAttribute.program_id == program.id)
                .order_by(ProgramAttribute.sort_order, ProgramAttribute.id)
            )
        ],
    )


def seals_of(session: DbSession, program: Program) -> dict[str, bytes]:
    """The organisations' seal images by organisation name (for export)."""
    rows = session.execute(
        select(Organisation.name, Organisation.seal_png).where(
            Organisation.program_id == program.id, Organisation.seal_png.is_not(None)
        )
    ).all()
    return {name: data for name, data in rows if data is not None}


# --- comparing and writing ---------------------------------------------------------------


def _flat(spec: ProgramSpec, seals: dict[str, str | None]) -> dict[str, Any]:
    flat: dict[str, Any] = {"prefecture": spec.prefecture}
    for section in ("names", "rules", "follow_up", "numbers", "card", "contact"):
        for name, value in vars(getattr(spec, section)).items():
            if (section, name) != ("follow_up", "effective_from"):  # compared at that date
                flat[f"{section}.{name}"] = value
    flat["terms"] = dict(sorted(spec.terms.items()))
    for org in spec.organisations:
        prefix = f"organisations[{org.name}]"
        flat[f"{prefix}.kind"] = org.kind
        flat[f"{prefix}.name_en"] = org.name_en
        flat[f"{prefix}.municipality"] = org.municipality
        # A seal as its digest; None in the spec leaves it as it is, "" removes it.
        flat[f"{prefix}.seal"] = seals.get(org.name) if org.seal is None else (org.seal or None)
    for member in spec.scheme:
        prefix = f"scheme[{member.municipality}]"
        flat[f"{prefix}.from"] = member.joined_on.isoformat()
        flat[f"{prefix}.until"] = member.left_on.isoformat() if member.left_on else None
        flat[f"{prefix}.paid"] = member.paid
        flat[f"{prefix}.honorarium_yen"] = member.honorarium_yen
        flat[f"{prefix}.travel_rule"] = member.travel_rule
    for kind in CURRICULUM_KINDS:
        flat[f"curricula.{kind}"] = [vars(item) for item in getattr(spec.curricula, kind)]
    for order, activity_kind in enumerate(spec.activity_kinds, start=1):
        prefix = f"activity_kinds[{activity_kind.code}]"
        for name, value in vars(activity_kind).items():
            if name != "code":
                flat[f"{prefix}.{name}"] = value
        flat[f"{prefix}.order"] = order
    for order, attribute in enumerate(spec.attributes, start=1):
        prefix = f"attributes[{attribute.code}]"
        for name, value in vars(attribute).items():
            if name != "code":
                flat[f"{prefix}.{name}"] = value
        flat[f"{prefix}.order"] = order
    return flat


def plan(session: DbSession, spec: ProgramSpec) -> list[Change]:
    """What applying a validated spec would change (every field for a new program)."""
    program = session.scalar(select(Program).where(Program.code == spec.code))
    digests: dict[str, str | None] = {}
    before: dict[str, Any] = {}
    if program is not None:
        digests = {name: digest(data) for name, data in seals_of(session, program).items()}
        day = spec.follow_up.effective_from or today_in_japan()
        before = _flat(spec_from_program(session, program, rules_on_day=day), digests)
    after = _flat(spec, digests)
    return [
        Change(key, before.get(key), after.get(key))
        for key in after
        if before.get(key) != after.get(key)
    ]


def _template(curricula: CurriculaSpec) -> list[dict[str, Any]]:
    items = []
    for kind in CURRICULUM_KINDS:
        for item in getattr(curricula, kind):
            row: dict[str, Any] = {
                "topic": item.topic,
                "minutes": item.minutes,
                "required": item.required,
            }
            if kind != "initial":
                row["course_kind"] = kind
            items.append(row)
    return items


def _write(session: DbSession, spec: ProgramSpec, resolved: Resolved, actor: Any) -> Program:
    program = session.scalar(select(Program).where(Program.code == spec.code))
    follow = spec.follow_up
    rules: dict[str, Any] = {
        "follow_up_interval_months": follow.interval_months,
        "follow_up_mandatory": follow.mandatory,
        "follow_up_window_days": follow.window_days,
        "renewal_rule": follow.renewal_rule,
    }
    created = program is None
    if program is None:  # a new program: its rules from its start
        program = Program(code=spec.code, **rules)
        session.add(program)
    else:  # a rule change from its date, re-deriving the registrations it affects
        change_program_rules(
            session, actor, program, follow.effective_from or today_in_japan(), **rules
        )
    program.prefecture = spec.prefecture
    program.name_ja = spec.names.ja
    program.name_en = spec.names.en
    program.public_name_ja = spec.names.public_ja
    program.public_name_en = spec.names.public_en
    program.eligibility_rule = spec.rules.eligibility
    program.registration_mode = spec.rules.registration
    program.activity_reports_required = spec.rules.activity_reports_required
    program.dispatch_mode = spec.rules.dispatch_mode
    program.self_cancel_cutoff_hours = spec.rules.cancellation_cutoff_hours
    program.participation_without_registration = spec.rules.participation_without_registration
    program.staff_own_requests = spec.rules.staff_own_requests
    program.follow_up_sessions_per_year = spec.follow_up.sessions_per_year
    program.registration_number_format = spec.numbers.registration_format
    program.registration_number_prefix = spec.numbers.registration_prefix
    program.completion_number_format = spec.numbers.completion_format
    program.card_design = spec.card.design
    program.show_holder_name_on_verify = spec.card.show_holder_name_on_verify
    program.contact_phone = spec.contact.phone
    program.contact_email = spec.contact.email
    if dict(program.terms or {}) != spec.terms:
        program.terms = dict(spec.terms)
    template = _template(spec.curricula) or None
    if program.curriculum_template != template:
        program.curriculum_template = template
    session.flush()
    if created:
        session.add(ProgramRule(program_id=program.id, effective_from=BEGINNING, **rules))
        session.flush()
        session.refresh(program, ["rule_versions"])
    existing = {
        o.name: o
        for o in session.scalars(select(Organisation).where(Organisation.program_id == program.id))
    }
    for org in spec.organisations:
        row = existing.get(org.name)
        if row is None:
            row = Organisation(program_id=program.id, name=org.name, kind=org.kind)
            session.add(row)
        row.kind = org.kind
        row.name_en = org.name_en
        row.municipality_id = resolved.organisation_places.get(org.name)
        if org.name in resolved.seals and (org.seal or None) != digest(row.seal_png):
            row.seal_png = resolved.seals[org.name]
    members = {
        m.municipality_id: m
        for m in session.scalars(
            select(ProgramMunicipality).where(ProgramMunicipality.program_id == program.id)
        )
    }
    for member in spec.scheme:
        place = resolved.scheme_places[member.municipality]
        pm = members.get(place)
        if pm is None:
            pm = ProgramMunicipality(
                program_id=program.id, municipality_id=place, joined_on=member.joined_on
            )
            session.add(pm)
        pm.joined_on = member.joined_on
        pm.left_on = member.left_on
        pm.paid = member.paid
        pm.honorarium_yen = member.honorarium_yen
        pm.travel_rule = member.travel_rule
    kinds = {
        k.code: k
        for k in session.scalars(
            select(ProgramActivityKind).where(ProgramActivityKind.program_id == program.id)
        )
    }
    # A kind is never removed (events name it): `active = false` retires it.
    for order, kind in enumerate(spec.activity_kinds, start=1):
        kind_row = kinds.get(kind.code)
        if kind_row is None:
            kind_row = ProgramActivityKind(program_id=program.id, code=kind.code)
            session.add(kind_row)
        kind_row.name_ja = kind.name_ja
        kind_row.name_en = kind.name_en
        kind_row.event_kind = kind.event_kind
        kind_row.activity = kind.activity
        kind_row.taking_part_ja = kind.taking_part_ja
        kind_row.taking_part_en = kind.taking_part_en
        kind_row.organised_by_supporters = kind.organised_by_supporters
        kind_row.active = kind.active
        kind_row.sort_order = order
    attributes = {
        a.code: a
        for a in session.scalars(
            select(ProgramAttribute).where(ProgramAttribute.program_id == program.id)
        )
    }
    # An attribute is never removed (enrolments record it): `active = false` retires it.
    for order, attribute in enumerate(spec.attributes, start=1):
        attribute_row = attributes.get(attribute.code)
        if attribute_row is None:
            attribute_row = ProgramAttribute(program_id=program.id, code=attribute.code)
            session.add(attribute_row)
        attribute_row.label_ja = attribute.label_ja
        attribute_row.label_en = attribute.label_en
        attribute_row.reporting_group = attribute.reporting_group
        attribute_row.active = attribute.active
        attribute_row.sort_order = order
    session.flush()
    return program


def apply_program_spec(
    session: DbSession,
    spec: ProgramSpec,
    *,
    actor: Any,
    base_dir: Path | None = None,
    dry_run: bool = False,
) -> list[Change]:
    """Bring the program in the database to the spec, all or nothing, auditing each changed
    field with its value before and after. Nothing is written when nothing differs, or with
    `dry_run`. FileProblems when the spec is wrong (nothing written either)."""
    spec, resolved = validate(session, spec, base_dir=base_dir)
    changes = plan(session, spec)
    if dry_run or not changes:
        return changes
    created = session.scalar(select(Program.id).where(Program.code == spec.code)) is None
    program = _write(session, spec, resolved, actor)
    if created:
        record_audit(
            session,
            actor,
            "program.create",
            program,
            program_id=program.id,
            detail={"code": program.code},
        )
    for change in changes:
        record_audit(
            session,
            actor,
            "program.change",
            program,
            program_id=program.id,
            detail={"key": change.key, "before": change.before, "after": change.after},
        )
    session.flush()
    return changes


def refusal(problems: FileProblems) -> ServiceError:
    """The file's problems as one ServiceError for a page (the first key as the field)."""
    return ServiceError(
        "program_file",
        " / ".join(str(p) for p in problems.problems),
        code="program_file_invalid",
    )
