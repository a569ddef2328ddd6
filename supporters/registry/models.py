"""The register: registrations, their history (renewals, suspensions, withdrawal) and
activity reports. Status is computed for any date from these rows and the program's rules;
today's status, validity end and follow-up due date are also stored on the registration
(see `registry.services.keep_status` and `registry.services.status_today_sql`)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.people.models import Person
from supporters.programs.models import Municipality, Organisation, Program


class Status(StrEnum):
    ACTIVE = "active"
    FOLLOW_UP_DUE = "follow_up_due"
    LAPSED = "lapsed"
    SUSPENDED = "suspended"
    WITHDRAWN = "withdrawn"


# Statuses in which a supporter may be dispatched.
VALID_STATUSES = (Status.ACTIVE, Status.FOLLOW_UP_DUE)


class Registration(Base):
    __tablename__ = "registration"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))
    number: Mapped[str] = mapped_column(String(40), unique=True)
    registered_on: Mapped[date]
    issuing_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    main_municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipality.id"), index=True
    )
    consent_share_contact: Mapped[bool] = mapped_column(default=False)
    # The validity end set at registration; renewals are registration_event rows.
    initial_valid_until: Mapped[date | None]
    # The current validity end (the latest renewal), kept for fast lists and reminders.
    valid_until: Mapped[date | None] = mapped_column(index=True)
    # Today's status (a Status value), as of the last service that changed the registration
    # or the daily refresh (registry/status_refresh.py); lists read it through
    # `status_today_sql`, which also moves it past the validity dates on its own.
    status: Mapped[str] = mapped_column(
        String(20), default=Status.ACTIVE.value, server_default=Status.ACTIVE.value
    )
    # The day the follow-up window opens before `valid_until` (None without a validity end).
    follow_up_due: Mapped[date | None]
    withdrawn_on: Mapped[date | None]
    erased_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship()
    person: Mapped[Person] = relationship()
    issuing_organisation: Mapped[Organisation] = relationship()
    main_municipality: Mapped[Municipality | None] = relationship()

    __table_args__ = (
        CheckConstraint(
            "status IN ('active', 'follow_up_due', 'lapsed', 'suspended', 'withdrawn')",
            name="status",
        ),
        # The register list, its status filter and counts, and the start page's counts of a
        # program: one range scan of this index (registered_on makes the counts index-only).
        Index(
            "ix_registration_program_status",
            "program_id",
            "status",
            "valid_until",
            "registered_on",
        ),
        # One registration in force per person and program; withdrawn ones stay as history.
        Index(
            "uq_registration_program_person_current",
            "program_id",
            "person_id",
            unique=True,
            sqlite_where=text("withdrawn_on IS NULL"),
            postgresql_where=text("withdrawn_on IS NULL"),
        ),
    )


class EventKind(StrEnum):
    REGISTERED = "registered"
    RENEWED = "renewed"
    FOLLOW_UP = "follow_up"  # attended a follow-up course without a validity change
    SUSPENDED = "suspended"
    REINSTATED = "reinstated"
    WITHDRAWN = "withdrawn"
    ERASED = "erased"


class RegistrationEvent(Base):
    __tablename__ = "registration_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    occurred_on: Mapped[date]
    valid_until: Mapped[date | None]  # renewals: the new validity end
    enrolment_id: Mapped[int | None] = mapped_column(ForeignKey("enrolment.id"))
    reason: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (
        CheckConstraint(
            "kind IN ('registered', 'renewed', 'follow_up', 'suspended', 'reinstated', "
            "'withdrawn', 'erased')",
            name="kind",
        ),
        Index("ix_registration_event_kind_on", "registration_id", "kind", "occurred_on"),
    )


class ActivityKind(StrEnum):
    SITTING_IN = "sitting_in"  # 出張相談会への同席
    PHONE = "phone"
    HOME_VISIT = "home_visit"
    DROP_IN = "drop_in"  # 居場所
    FAMILY_MEETING = "family_meeting"
    SUPPORTER_MEETING = "supporter_meeting"  # サポーター例会
    OTHER = "other"


class Topic(StrEnum):
    GOING_OUT = "going_out"
    RELATING = "relating"
    FAMILY = "family"
    SCHOOL = "school"
    WORK = "work"
    HEALTH = "health"
    OTHER = "other"


class ActivityReport(Base):
    """活動報告: date, hours, kind and topic categories. Never who was helped."""

    __tablename__ = "activity_report"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    activity_on: Mapped[date] = mapped_column(index=True)
    hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    kind: Mapped[str] = mapped_column(String(20))
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"))
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str] = mapped_column(String(200), default="")
    # A report presented at a supporter meeting (例会), which is a course of kind "meeting".
    meeting_course_id: Mapped[int | None] = mapped_column(ForeignKey("course.id"))
    # The dispatch this report is about: one report per dispatch.
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), unique=True)
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filed_on_behalf: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    registration: Mapped[Registration] = relationship()
    municipality: Mapped[Municipality | None] = relationship()

    __table_args__ = (
        CheckConstraint("hours > 0 AND hours <= 24", name="hours_range"),
        CheckConstraint(
            "kind IN ('sitting_in', 'phone', 'home_visit', 'drop_in', 'family_meeting', "
            "'supporter_meeting', 'other')",
            name="kind",
        ),
    )


class NoActivityDeclaration(Base):
    """活動なし: a supporter declares no activity in a fiscal year, instead of a report.
    Where the program requires a yearly report, it counts as that year's report."""

    __tablename__ = "no_activity_declaration"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"))
    fiscal_year: Mapped[int]
    declared_on: Mapped[date]
    filed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    filed_on_behalf: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    __table_args__ = (UniqueConstraint("registration_id", "fiscal_year"),)
