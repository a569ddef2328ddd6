"""Dispatch: outreach consultation days, municipal dispatch requests and group activities,
and the supporters assigned to them. Never a client's name or address: venues are public."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.people.models import Person
from supporters.programs.models import Municipality, Program
from supporters.registry.models import Registration


class EventKind(StrEnum):
    OUTREACH_DAY = "outreach_day"  # 出張相談会 (Tochigi)
    DISPATCH_REQUEST = "dispatch_request"  # 派遣依頼 (Chiba)
    GROUP_ACTIVITY = "group_activity"  # 居場所・家族会 (Kagawa)


class EventState(StrEnum):
    REQUESTED = "requested"  # a municipality asked; the coordinator accepts or declines
    DECLINED = "declined"
    DRAFT = "draft"
    OPEN = "open"
    STAFFED = "staffed"
    HELD = "held"
    CANCELLED = "cancelled"
    REPORTED = "reported"


class AssignmentState(StrEnum):
    ASSIGNED = "assigned"  # by the coordinator, waiting for the supporter's answer
    CONFIRMED = "confirmed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    ATTENDED = "attended"
    NO_SHOW = "no_show"


# Assignments that hold a place and block the supporter's time.
HOLDING = (AssignmentState.ASSIGNED, AssignmentState.CONFIRMED)


class TravelRule(StrEnum):
    """How a paid scheme municipality meets a supporter's travel."""

    NONE = "none"  # not paid
    ACTUAL_COST = "actual_cost"  # the fare or mileage claimed
    MUNICIPAL_RULE = "municipal_rule"  # the municipality's own travel regulations


class ProgramMunicipality(Base):
    """A municipality taking part in a program's dispatch scheme (Chiba: opts in), unpaid
    or paid (an honorarium per dispatch and a travel rule)."""

    __tablename__ = "program_municipality"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"))
    joined_on: Mapped[date]
    left_on: Mapped[date | None]
    paid: Mapped[bool] = mapped_column(default=False)
    honorarium_yen: Mapped[int | None]
    travel_rule: Mapped[str | None] = mapped_column(String(20))

    municipality: Mapped[Municipality] = relationship()

    __table_args__ = (
        Index("ix_program_municipality_key", "program_id", "municipality_id", unique=True),
        CheckConstraint(
            "honorarium_yen IS NULL OR honorarium_yen >= 0", name="honorarium_nonnegative"
        ),
        CheckConstraint(
            "travel_rule IS NULL OR travel_rule IN ('none', 'actual_cost', 'municipal_rule')",
            name="travel_rule",
        ),
    )


class ProgramActivityKind(Base):
    """A kind of activity a program offers (Tochigi: sitting in on outreach consultation days
    and supporter-run places; Kagawa: 家族会, 当事者会, 居場所), the mechanic its events use
    (`event_kind`) and the program's own word for taking part (出張相談会への同席, 派遣,
    活動への参加). Program data: written by the program file (administration)."""

    __tablename__ = "program_activity_kind"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    code: Mapped[str] = mapped_column(String(40))
    name_ja: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    event_kind: Mapped[str] = mapped_column(String(20))  # an EventKind
    activity: Mapped[str] = mapped_column(String(20))  # the ActivityKind reports count it as
    taking_part_ja: Mapped[str] = mapped_column(String(100))  # 出張相談会への同席, 派遣, ...
    taking_part_en: Mapped[str] = mapped_column(String(100))
    organised_by_supporters: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index("ix_program_activity_kind_key", "program_id", "code", unique=True),
        CheckConstraint(
            "event_kind IN ('outreach_day', 'dispatch_request', 'group_activity')",
            name="event_kind",
        ),
    )

    def name(self, locale: str) -> str:
        return self.name_ja if locale == "ja" else self.name_en

    def taking_part(self, locale: str) -> str:
        return self.taking_part_ja if locale == "ja" else self.taking_part_en


class DispatchEvent(Base):
    __tablename__ = "dispatch_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"))
    kind: Mapped[str] = mapped_column(String(20))
    activity: Mapped[str] = mapped_column(String(20))  # an ActivityKind of activity reports
    title: Mapped[str] = mapped_column(String(200))
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id"), index=True)
    venue: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    needed: Mapped[int]
    lead_consultant: Mapped[str] = mapped_column(String(100), default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # for supporters; never client data
    bring: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))  # declined or cancelled
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    version: Mapped[int] = mapped_column(default=0)  # bumped to serialise staffing changes
    # Assignments holding a place (assigned or confirmed): recounted under the event's lock
    # by every staffing change (`places.recount_taken`), so open places need no grouping.
    places_taken: Mapped[int] = mapped_column(default=0, server_default="0")
    activity_kind_id: Mapped[int | None] = mapped_column(
        ForeignKey("program_activity_kind.id"), index=True
    )
    # Occurrences of one repeating event share it (dispatch/series.py).
    series_id: Mapped[str | None] = mapped_column(String(32), index=True)

    program: Mapped[Program] = relationship()
    municipality: Mapped[Municipality] = relationship()
    activity_kind: Mapped[ProgramActivityKind | None] = relationship()

    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("needed >= 1 AND needed <= 20", name="needed_range"),
        CheckConstraint(
            "kind IN ('outreach_day', 'dispatch_request', 'group_activity')", name="kind"
        ),
        CheckConstraint(
            "state IN ('requested', 'declined', 'draft', 'open', 'staffed', 'held', "
            "'cancelled', 'reported')",
            name="state",
        ),
        Index("ix_dispatch_event_program_starts_at", "program_id", "starts_at"),
    )


class Assignment(Base):
    __tablename__ = "assignment"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("dispatch_event.id"), index=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("registration.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # The event's times, copied so clashes are one indexed query per person.
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(12))  # self, coordinator
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    answered_at: Mapped[datetime | None]
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    event: Mapped[DispatchEvent] = relationship()
    registration: Mapped[Registration] = relationship()

    __table_args__ = (
        CheckConstraint(
            "state IN ('assigned', 'confirmed', 'declined', 'cancelled', 'attended', 'no_show')",
            name="state",
        ),
        # One live assignment per supporter and event (declined/cancelled ones stay as history).
        Index(
            "uq_assignment_event_person_live",
            "event_id",
            "person_id",
            unique=True,
            sqlite_where=text("state IN ('assigned', 'confirmed', 'attended', 'no_show')"),
            postgresql_where=text("state IN ('assigned', 'confirmed', 'attended', 'no_show')"),
        ),
        Index("ix_assignment_person_starts_at", "person_id", "starts_at"),
        # Unanswered and upcoming places by state and time (start page counts, open places,
        # reminder rules): measured 190 -> 8 ms and 170 -> 20 ms at national scale.
        Index("ix_assignment_state_starts_at", "state", "starts_at"),
        # A person's places held, by end: the clash test of open places (finding.open_places)
        # reads the supporter's coming places once, instead of ANDing the state index (every
        # place held before the event) per candidate event; 3,000 -> 580 buffers at 0.1.
        Index(
            "ix_assignment_holding_person_ends_at",
            "person_id",
            "ends_at",
            sqlite_where=text("state IN ('assigned', 'confirmed')"),
            postgresql_where=text("state IN ('assigned', 'confirmed')"),
        ),
    )


class Participation(Base):
    """A completer who chose not to register, taking part in a group activity where the
    program allows it: a participant, not a supporter, so never counted in the staffing
    (`needed`) and never an assignment (no registration behind it)."""

    __tablename__ = "participation"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("dispatch_event.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    # The completed initial course that lets the person take part.
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"))
    joined_at: Mapped[datetime] = mapped_column(default=now_utc)
    cancelled_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    event: Mapped[DispatchEvent] = relationship()
    person: Mapped[Person] = relationship()

    __table_args__ = (
        Index(
            "uq_participation_event_person_live",
            "event_id",
            "person_id",
            unique=True,
            sqlite_where=text("cancelled_at IS NULL"),
            postgresql_where=text("cancelled_at IS NULL"),
        ),
    )


class CalendarFeed(Base):
    """A private calendar address. Only the token's SHA-256 is stored; reset revokes."""

    __tablename__ = "calendar_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    revoked_at: Mapped[datetime | None]
