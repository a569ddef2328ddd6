"""One-tap answer links in mail: `BASE_URL/a/<token>` answers a request (confirm or decline a
dispatch, apply for a follow-up course) without logging in.

A link is a random token (`secrets.token_urlsafe`); only its SHA-256 is stored, with what it
answers (`purpose`, `subject_id`), for whom (`user_id`) and until when. It is single use: the
answer consumes it with a conditional UPDATE (`WHERE used_at IS NULL`) in the same transaction
as the answer itself, so two taps at the same moment answer once. Opening the link (GET)
changes nothing: mail scanners follow links.

The mail layer knows no features: each purpose is registered by the package that answers it
(`register_purpose`, at import), with the check that the subject is the user's own; a link for
another user's subject, or for a purpose nobody registered, cannot be made."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import ForeignKey, String, select, update
from sqlalchemy.orm import Mapped, mapped_column

from supporters.db import Base, DbSession

# The purposes (registered by supporters.answers).
ANSWER_ASSIGNMENT = "assignment"  # confirm or decline a dispatch request
APPLY_FOR_COURSE = "course"  # apply for a follow-up course

# However far away the event, a link stops working after this long.
MAX_DAYS = 14
TOKEN_BYTES = 24  # 32 characters in the URL
MAX_TOKEN_LENGTH = 100  # anything longer is not one of ours, and is not hashed

# purpose -> may_answer(session, user_id, subject_id): the subject is the user's own.
OwnerCheck = Callable[[DbSession, int, int], bool]
_PURPOSES: dict[str, OwnerCheck] = {}


class AnswerLink(Base):
    __tablename__ = "answer_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(30))
    subject_id: Mapped[int]
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    answer: Mapped[str | None] = mapped_column(String(20))  # what the tap answered


class NotOwnSubject(PermissionError):
    """A link for a subject that is not the user's own (or an unknown purpose)."""


def register_purpose(purpose: str, may_answer: OwnerCheck) -> None:
    """Register what a link may answer (the answering package does, at import)."""
    _PURPOSES[purpose] = may_answer


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_link(
    session: DbSession,
    *,
    purpose: str,
    subject_id: int,
    user_id: int,
    expires_at: datetime,
    now: datetime,
) -> tuple[str, AnswerLink]:
    """`issue_link`'s token and row, the row not yet added to the session (the reminder pass
    inserts many at once). Raises NotOwnSubject as `issue_link` does."""
    check = _PURPOSES.get(purpose)
    if check is None or not check(session, user_id, subject_id):
        raise NotOwnSubject(f"no {purpose} link for user {user_id} and subject {subject_id}")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, AnswerLink(
        token_hash=_hash(token),
        purpose=purpose,
        subject_id=subject_id,
        user_id=user_id,
        created_at=now,
        expires_at=min(expires_at, now + timedelta(days=MAX_DAYS)),
    )


def issue_link(
    session: DbSession,
    *,
    purpose: str,
    subject_id: int,
    user_id: int,
    expires_at: datetime,
    now: datetime,
) -> str:
    """A new link for `user_id` to answer `subject_id`; returns the token (only its hash is
    kept). It expires at `expires_at` (the event's start) or after MAX_DAYS, whichever first.
    Raises NotOwnSubject for another user's subject or an unregistered purpose."""
    token, link = new_link(
        session,
        purpose=purpose,
        subject_id=subject_id,
        user_id=user_id,
        expires_at=expires_at,
        now=now,
    )
    session.add(link)
    session.flush()
    return token


def find_link(session: DbSession, token: str) -> AnswerLink | None:
    """The link a token names, used or not, expired or not; None for an unknown token."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return session.scalar(select(AnswerLink).where(AnswerLink.token_hash == _hash(token)))


def is_expired(link: AnswerLink, now: datetime) -> bool:
    return now >= link.expires_at


def consume_link(session: DbSession, link: AnswerLink, *, answer: str, now: datetime) -> bool:
    """Mark the link used, in the caller's transaction; False if it was used (by another
    request, even one running at this moment) or has expired. Only one of two transactions
    that try at once succeeds: the UPDATE waits for the other's row lock, then finds used_at
    set."""
    result = session.execute(
        update(AnswerLink)
        .where(
            AnswerLink.id == link.id,
            AnswerLink.used_at.is_(None),
            AnswerLink.expires_at > now,
        )
        .values(used_at=now, answer=answer)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    session.refresh(link)
    return True
