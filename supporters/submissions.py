"""Single-use form tokens: every state-changing form is safe to submit twice, also at the
same moment.

Every form the application renders carries, next to its CSRF token, a fresh random token
(`form_once`, added to the page by `supporters.web`). A POST that brings one consumes it by
inserting it into `form_submission`, whose primary key makes it unique, in the same
transaction as the change the view commits. A second submit of the same form (a double
click, a reload, six tabs at once) finds the token taken and gets the normal "already done"
answer; on PostgreSQL the second insert waits for the first transaction and fails when it
commits, on SQLite the write lock orders them. When the first request is refused or fails,
its transaction rolls back and the token is free again, so the corrected form can be sent.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import String, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, DbSession

FIELD_NAME = "form_once"
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
KEEP_FOR = timedelta(days=2)  # longer than a form's CSRF token stays valid
PRUNE_ONE_IN = 50  # prune old tokens on about one submit in fifty


class FormSubmission(Base):
    """A form token that was used: the change it carried is committed with it."""

    __tablename__ = "form_submission"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)
    submitted_at: Mapped[datetime] = mapped_column(index=True)


def new_token() -> str:
    return secrets.token_urlsafe(24)


def is_well_formed(token: str) -> bool:
    return bool(TOKEN_RE.match(token))


def consume(session: DbSession, token: str, *, now: datetime) -> bool:
    """Take the token inside the current transaction; False when it was already used (the
    caller answers "already done"). Nothing is committed here."""
    savepoint = session.begin_nested()
    try:
        session.add(FormSubmission(token=token, submitted_at=now))
        session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.commit()
    if secrets.randbelow(PRUNE_ONE_IN) == 0:
        prune(session, now=now)
    return True


def prune(session: DbSession, *, now: datetime) -> int:
    """Forget tokens older than KEEP_FOR (their forms' CSRF tokens have expired)."""
    result = session.execute(
        delete(FormSubmission).where(FormSubmission.submitted_at < now - KEEP_FOR)
    )
    return int(getattr(result, "rowcount", 0) or 0)
