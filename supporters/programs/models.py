"""Programs hold their rules as data; organisations and municipalities belong to them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc


class EligibilityRule(StrEnum):
    OPEN = "open"
    LIVES_OR_WORKS_IN_PREFECTURE = "lives_or_works_in_prefecture"
    CAN_ACT_IN_PREFECTURE = "can_act_in_prefecture"


class RegistrationMode(StrEnum):
    ON_COMPLETION = "on_completion"  # everyone who completes is registered
    ON_REQUEST = "on_request"  # only those who hand in the registration form (Kagawa)


class DispatchMode(StrEnum):
    MUNICIPAL_REQUEST = "municipal_request"  # municipality opts in, then requests (Chiba)
    OUTREACH_SITTING_IN = "outreach_sitting_in"  # sit in on outreach days (Tochigi)
    GROUP_ACTIVITIES = "group_activities"  # drop-in places, family groups (Kagawa)


class RenewalRule(StrEnum):
    """How follow-up training renews a registration (registry.services.record_follow_up)."""

    # A follow-up within the window before the end renews from the end; one after the end
    # (a lapse) renews from its own date; one earlier counts as training only.
    WINDOW_OR_AFTER_LAPSE = "window_or_after_lapse"
    # Only a follow-up within the window before the end renews (from the end); after a
    # lapse, none does.
    WINDOW_ONLY = "window_only"
    # Any follow-up completed within the cycle (or after it) renews from its own date.
    ANY_IN_CYCLE = "any_in_cycle"


# The rule fields that change a registration's status; versioned in ProgramRule.
RULE_FIELDS = (
    "follow_up_interval_months",
    "follow_up_mandatory",
    "follow_up_window_days",
    "renewal_rule",
)
BEGINNING = date(1900, 1, 1)  # the first version's effective_from: the program's start


class OrganisationKind(StrEnum):
    PREFECTURE = "prefecture"
    OPERATOR = "operator"
    SOCIAL_WELFARE_COUNCIL = "social_welfare_council"
    MUNICIPAL_OFFICE = "municipal_office"


def _enum_check(column: str, enum: type[StrEnum]) -> str:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return f"{column} IN ({values})"


class Municipality(Base):
    __tablename__ = "municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(6), unique=True)
    prefecture: Mapped[str] = mapped_column(String(8), index=True)
    name: Mapped[str] = mapped_column(String(40))
    latitude: Mapped[float]
    longitude: Mapped[float]

    __table_args__ = (Index("ix_municipality_prefecture_name", "prefecture", "name", unique=True),)

    @property
    def full_name(self) -> str:
        return f"{self.prefecture}{self.name}"


class Program(Base):
    __tablename__ = "program"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    # The name printed on cards and shown by the public check: no word that says more.
    public_name_ja: Mapped[str] = mapped_column(String(100))
    public_name_en: Mapped[str] = mapped_column(String(100))
    prefecture: Mapped[str] = mapped_column(String(8))
    eligibility_rule: Mapped[str] = mapped_column(String(40))
    registration_mode: Mapped[str] = mapped_column(String(20))
    follow_up_interval_months: Mapped[int | None]
    follow_up_mandatory: Mapped[bool] = mapped_column(default=False)
    follow_up_window_days: Mapped[int] = mapped_column(default=180)
    follow_up_sessions_per_year: Mapped[int | None]
    renewal_rule: Mapped[str] = mapped_column(
        String(30), default=RenewalRule.WINDOW_OR_AFTER_LAPSE.value
    )
    activity_reports_required: Mapped[bool] = mapped_column(default=False)
    dispatch_mode: Mapped[str] = mapped_column(String(30))
    # str.format pattern with {prefix}, {year} (registration year) and {seq}.
    registration_number_format: Mapped[str] = mapped_column(String(60))
    registration_number_prefix: Mapped[str] = mapped_column(String(10))
    self_cancel_cutoff_hours: Mapped[int] = mapped_column(default=48)
    show_holder_name_on_verify: Mapped[bool] = mapped_column(default=False)
    # The supporter card's design (certificates.pdf.CARD_DESIGNS); Nasu's council uses the
    # Tochigi program's, so it is the program's, not the organiser's.
    card_design: Mapped[str] = mapped_column(String(20), default="default")
    completion_number_format: Mapped[str] = mapped_column(
        String(60), default="{prefix}-{year}-C{seq:04d}"
    )
    # Sessions a new initial course starts with: [{"topic": ..., "minutes": ..., "required": ...}]
    curriculum_template: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The coordinator's office as supporters reach it (cut-off messages give the phone as a
    # tel: link); None where the program has not given one.
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    # The program's own words where programs differ ("event.outreach_day": "出張相談会への同席");
    # see `term`. Keys not given fall back to the product's wording.
    terms: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # Completers who chose not to register may still join group activities, as participants
    # (not supporters): Kagawa.
    participation_without_registration: Mapped[bool] = mapped_column(default=False)
    # Municipal staff of a scheme municipality staff their own municipality's requests
    # (assign supporters), where the municipalities run the dispatch programme: Chiba.
    staff_own_requests: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    organisations: Mapped[list[Organisation]] = relationship(
        back_populates="program", order_by="Organisation.id"
    )
    # The rules in force from each date (`rules_on`); the columns above of the same names
    # are a copy of the version in force today, for pages and files that show "the rule".
    rule_versions: Mapped[list[ProgramRule]] = relationship(
        order_by="ProgramRule.effective_from", viewonly=True
    )

    __table_args__ = (
        CheckConstraint(_enum_check("eligibility_rule", EligibilityRule), name="eligibility_rule"),
        CheckConstraint(
            _enum_check("registration_mode", RegistrationMode), name="registration_mode"
        ),
        CheckConstraint(_enum_check("dispatch_mode", DispatchMode), name="dispatch_mode"),
        CheckConstraint(_enum_check("renewal_rule", RenewalRule), name="renewal_rule"),
        CheckConstraint(
            "follow_up_interval_months IS NULL OR follow_up_interval_months > 0",
            name="follow_up_interval_positive",
        ),
        CheckConstraint("self_cancel_cutoff_hours >= 0", name="self_cancel_cutoff_nonnegative"),
    )

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_ja

    def term(self, key: str, default: str) -> str:
        """The program's own word for `key`, else `default` (already translated)."""
        return (self.terms or {}).get(key) or default

    def format_registration_number(self, year: int, seq: int) -> str:
        return self.registration_number_format.format(
            prefix=self.registration_number_prefix, year=year, seq=seq
        )

    def format_completion_number(self, year: int, seq: int) -> str:
        return self.completion_number_format.format(
            prefix=self.registration_number_prefix, year=year, seq=seq
        )


class ProgramRule(Base):
    """A version of the program's status rules, in force from `effective_from` until the
    next version's date: a status on a past date uses the version in force then."""

    __tablename__ = "program_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    effective_from: Mapped[date]
    follow_up_interval_months: Mapped[int | None]
    follow_up_mandatory: Mapped[bool] = mapped_column(default=False)
    follow_up_window_days: Mapped[int] = mapped_column(default=180)
    renewal_rule: Mapped[str] = mapped_column(
        String(30), default=RenewalRule.WINDOW_OR_AFTER_LAPSE.value
    )
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        Index("ix_program_rule_program_from", "program_id", "effective_from", unique=True),
        CheckConstraint(_enum_check("renewal_rule", RenewalRule), name="rule_renewal_rule"),
        CheckConstraint(
            "follow_up_interval_months IS NULL OR follow_up_interval_months > 0",
            name="rule_interval_positive",
        ),
        CheckConstraint("follow_up_window_days >= 0", name="rule_window_nonnegative"),
    )

    def values(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in RULE_FIELDS}


def rules_on(program: Program, day: date) -> ProgramRule | Program:
    """The program's rules in force on `day`: the latest version from on or before it (the
    first version before any). A program without versions has only its own columns."""
    versions = program.rule_versions
    if not versions:
        return program
    found = versions[0]
    for version in versions:
        if version.effective_from > day:
            break
        found = version
    return found


def sync_program_rules(program: Program, today: date) -> None:
    """Copy the version in force `today` to the program's columns of the same names."""
    rules = rules_on(program, today)
    for name in RULE_FIELDS:
        if getattr(program, name) != getattr(rules, name):
            setattr(program, name, getattr(rules, name))


# The reporting groups program attributes map to: people.models.Attribute's values (this
# package is below people, so the list is repeated here and in the check constraint).
REPORTING_GROUPS = (
    "welfare_professional",
    "family",
    "lived_experience",
    "municipal_staff",
    "private_support",
    "resident",
    "other",
)


class ProgramAttribute(Base):
    """A trainee attribute as the program words it (Kagawa's 行政の相談担当者, Chiba's
    一般県民) and the reporting group the figures count it in. Program data: written by the
    program file (administration). An enrolment records the code as given then."""

    __tablename__ = "program_attribute"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    code: Mapped[str] = mapped_column(String(40))
    label_ja: Mapped[str] = mapped_column(String(100))
    label_en: Mapped[str] = mapped_column(String(100))
    reporting_group: Mapped[str] = mapped_column(String(30))
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index("ix_program_attribute_key", "program_id", "code", unique=True),
        CheckConstraint(
            "reporting_group IN (" + ", ".join(f"'{g}'" for g in REPORTING_GROUPS) + ")",
            name="reporting_group",
        ),
    )

    def label(self, locale: str) -> str:
        return self.label_ja if locale == "ja" else self.label_en


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    kind: Mapped[str] = mapped_column(String(30))
    name: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str | None] = mapped_column(String(120))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    # The official seal printed on completion certificates (PNG), if the organisation has one.
    seal_png: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    program: Mapped[Program] = relationship(back_populates="organisations")
    municipality: Mapped[Municipality | None] = relationship()

    __table_args__ = (
        CheckConstraint(_enum_check("kind", OrganisationKind), name="kind"),
        Index("ix_organisation_program_name", "program_id", "name", unique=True),
    )


class NumberSequence(Base):
    """Per program, kind and year counters for registration and completion numbers."""

    __tablename__ = "number_sequence"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int]
    last_value: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_number_sequence_key", "program_id", "kind", "year", unique=True),)
