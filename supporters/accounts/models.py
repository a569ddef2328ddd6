"""Accounts belong to people; roles are granted and revoked, and the history stays."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, CheckConstraint, ForeignKey, String, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from supporters.db import Base, now_utc
from supporters.people.models import Person
from supporters.programs.models import Municipality, Organisation, Program


class Role(StrEnum):
    ADMIN = "admin"
    COORDINATOR = "coordinator"
    MUNICIPAL_STAFF = "municipal_staff"
    SUPPORTER = "supporter"


class User(Base):
    # "user" is reserved in PostgreSQL.
    __tablename__ = "user_account"
    __allow_unmapped__ = True  # for session_token below, which is not a column

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-case
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(String(5))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), unique=True)
    # Set while an invitation is outstanding; cleared when it is used (single use).
    invitation_nonce: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    # Reminder rules (non-essential ones only) this user does not want.
    reminder_opt_outs: Mapped[list[str]] = mapped_column(JSON, default=list)

    person: Mapped[Person | None] = relationship()
    grants: Mapped[list[RoleGrant]] = relationship(
        foreign_keys="RoleGrant.user_id", back_populates="user", order_by="RoleGrant.id"
    )
    active_grants: Mapped[list[RoleGrant]] = relationship(
        primaryjoin=lambda: and_(RoleGrant.user_id == User.id, RoleGrant.revoked_at.is_(None)),
        viewonly=True,
        lazy="selectin",
        order_by=lambda: RoleGrant.id,
    )

    # Flask-Login protocol. get_id returns the server-side session token, not the user id,
    # so that deleting the session row (logout, password change) invalidates the cookie.
    session_token: str | None = None

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None


class RoleGrant(Base):
    __tablename__ = "role_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    program_id: Mapped[int | None] = mapped_column(ForeignKey("program.id"), index=True)
    municipality_id: Mapped[int | None] = mapped_column(ForeignKey("municipality.id"), index=True)
    # A coordinator for one organisation of the program (e.g. a council that runs its own
    # course and issues cards): its courses, trainees and supporters only. None: the program.
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    granted_at: Mapped[datetime] = mapped_column(default=now_utc)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], back_populates="grants")
    program: Mapped[Program | None] = relationship(lazy="joined")
    municipality: Mapped[Municipality | None] = relationship(lazy="joined")
    organisation: Mapped[Organisation | None] = relationship(lazy="joined")

    __table_args__ = (
        CheckConstraint(
            "role IN ('admin', 'coordinator', 'municipal_staff', 'supporter')", name="role"
        ),
        CheckConstraint(
            "(organisation_id IS NULL OR role = 'coordinator') AND ((role = 'admin') OR "
            "(role = 'municipal_staff' AND municipality_id IS NOT NULL "
            "AND program_id IS NOT NULL) OR (role IN ('coordinator', 'supporter') "
            "AND program_id IS NOT NULL))",
            name="role_scope",
        ),
    )


class UserSession(Base):
    """A login. The cookie holds a random token; only its SHA-256 is stored here."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    expires_at: Mapped[datetime]

    user: Mapped[User] = relationship()
