"""Courses, their sessions, enrolments and attendance."""

from __future__ import annotations

from datetime import date, datetime, time
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.people.models import Person
from supporters.programs.models import Organisation, Program


class CourseKind(StrEnum):
    INITIAL = "initial"  # 養成研修
    FOLLOW_UP = "follow_up"  # フォローアップ研修
    MEETING = "meeting"  # サポーター例会


class EnrolmentState(StrEnum):
    APPLIED = "applied"  # a supporter applied; the coordinator confirms
    CONFIRMED = "confirmed"
    WAITLISTED = "waitlisted"
    WITHDRAWN = "withdrawn"
    COMPLETED = "completed"
    NOT_COMPLETED = "not_completed"


# States that hold a place within the capacity.
HOLDS_PLACE = (
    EnrolmentState.APPLIED,
    EnrolmentState.CONFIRMED,
    EnrolmentState.COMPLETED,
    EnrolmentState.NOT_COMPLETED,
)
# States on the roll call.
ON_ROLL = (EnrolmentState.CONFIRMED, EnrolmentState.COMPLETED, EnrolmentState.NOT_COMPLETED)


class Course(Base):
    __tablename__ = "course"

    id: Mapped[int] = mapped_column(primary_key=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("program.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    organiser_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    title: Mapped[str] = mapped_column(String(200))
    venue: Mapped[str] = mapped_column(String(200), default="")
    capacity: Mapped[int | None]
    application_opens_on: Mapped[date | None]
    application_closes_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    # Closed after the last session: no more enrolments, imports or roll calls.
    closed_at: Mapped[datetime | None]
    # Bumped by every change of enrolments, so concurrent enrolments serialise on the row.
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    program: Mapped[Program] = relationship()
    organiser: Mapped[Organisation] = relationship()
    sessions: Mapped[list[CourseSession]] = relationship(
        back_populates="course",
        order_by="(CourseSession.date, CourseSession.start_time, CourseSession.id)",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        CheckConstraint("kind IN ('initial', 'follow_up', 'meeting')", name="kind"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
    )


class CourseSession(Base):
    __tablename__ = "course_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    date: Mapped[date]
    start_time: Mapped[time | None]
    end_time: Mapped[time | None]
    topic: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)

    course: Mapped[Course] = relationship(back_populates="sessions")

    __table_args__ = (Index("ix_course_session_topic_date", "topic", "date"),)

    @property
    def hours(self) -> float:
        if self.start_time is None or self.end_time is None:
            return 0.0
        minutes = (self.end_time.hour * 60 + self.end_time.minute) - (
            self.start_time.hour * 60 + self.start_time.minute
        )
        return max(minutes, 0) / 60


class Enrolment(Base):
    __tablename__ = "enrolment"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("course.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    state: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10), default="form")  # form, csv, self
    applied_at: Mapped[datetime] = mapped_column(default=now_utc)
    state_changed_at: Mapped[datetime] = mapped_column(default=now_utc)
    eligibility_override_reason: Mapped[str | None] = mapped_column(String(500))
    completion_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    completed_on: Mapped[date | None]
    completion_reason: Mapped[str | None] = mapped_column(String(500))  # by hand only
    # The trainee's attribute as given at enrolment (a program attribute code, or one of
    # people.models.Attribute's): the figures count this, so editing the person later does
    # not move past years.
    attribute: Mapped[str | None] = mapped_column(String(40))
    # The reporting group the program counted that attribute in then: the figures count
    # this, so rewording or regrouping the program's attribute later leaves past years.
    attribute_group: Mapped[str | None] = mapped_column(String(30))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    course: Mapped[Course] = relationship()
    person: Mapped[Person] = relationship()

    __table_args__ = (
        UniqueConstraint("course_id", "person_id"),
        CheckConstraint(
            "state IN ('applied', 'confirmed', 'waitlisted', 'withdrawn', 'completed', "
            "'not_completed')",
            name="state",
        ),
        Index("ix_enrolment_course_state", "course_id", "state"),
    )


class Attendance(Base):
    """Presence of an enrolled trainee at a session: the course's own, or a make-up session
    of another course with the same topic."""

    __tablename__ = "attendance"

    id: Mapped[int] = mapped_column(primary_key=True)
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("enrolment.id"), index=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("course_session.id"), index=True)
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    session: Mapped[CourseSession] = relationship()

    __table_args__ = (UniqueConstraint("enrolment_id", "session_id"),)
