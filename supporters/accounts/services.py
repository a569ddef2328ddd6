"""Accounts: users, role grants, sessions, invitations and password resets.

Plain functions: they take the session, the acting user and the time, and never commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import lazyload

from supporters.accounts.models import Role, RoleGrant, User, UserSession
from supporters.audit.services import record_audit
from supporters.core.text import fold, normalise_email
from supporters.db import DbSession, ServiceError
from supporters.programs.models import Municipality, Organisation, Program

PASSWORD_MIN_LENGTH = 10
PASSWORD_MAX_LENGTH = 128


# --- e-mail and passwords -------------------------------------------------------------


def login_address(raw: str) -> str:
    """The address a login looks up and its limits count: normalise_email, or for input that
    is not an address, the same folding (NFKC, trimmed, case-folded)."""
    try:
        return normalise_email(raw)
    except ServiceError:
        return fold(raw).casefold()


@lru_cache(maxsize=4)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


def password_hasher(params: Mapping[str, int]) -> PasswordHasher:
    return _hasher(params["time_cost"], params["memory_cost"], params["parallelism"])


# The shortest part of an e-mail's name (local part) that a password may not contain.
NAME_PART_MIN_LENGTH = 3


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords (data/common-passwords.txt; see data/NOTICE.md)."""
    text = (
        resources.files("supporters.accounts")
        .joinpath("data/common-passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(line.strip().casefold() for line in text.splitlines() if line.strip())


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _email_name_parts(email: str) -> list[str]:
    """The e-mail's name (local part) and its words: taro.yamada -> taro.yamada, taro, yamada."""
    local = _fold(email).rsplit("@", 1)[0]
    parts = [local, *re.split(r"[^0-9a-z\u3040-\u30ff\u4e00-\u9fff]+", local)]
    return [part for part in dict.fromkeys(parts) if len(part) >= NAME_PART_MIN_LENGTH]


def check_password_rules(password: str, email: str | None = None) -> None:
    """Refuse a password that is short, among the 10,000 most common, or contains the name of
    the e-mail address. Called whenever a password is chosen (invitation, reset, change)."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise ServiceError(
            "password",
            str(_l("Use at least %(n)d characters.", n=PASSWORD_MIN_LENGTH)),
            code="password_too_short",
        )
    if len(password) > PASSWORD_MAX_LENGTH:
        raise ServiceError(
            "password",
            str(_l("Use at most %(n)d characters.", n=PASSWORD_MAX_LENGTH)),
            code="password_too_long",
        )
    folded = _fold(password)
    if email and folded.strip() == _fold(email):
        raise ServiceError(
            "password",
            str(_l("The password must not be your e-mail address.")),
            code="password_is_email",
        )
    if folded.strip() in common_passwords():
        raise ServiceError(
            "password",
            str(
                _l(
                    "This password is among the 10,000 most common passwords and is easy to "
                    "guess. Choose another one, for example a short sentence."
                )
            ),
            code="password_common",
        )
    for part in _email_name_parts(email or ""):
        if part in folded:
            raise ServiceError(
                "password",
                str(
                    _l(
                        "The password must not contain the name of your e-mail address "
                        "(%(name)s): it is the first thing someone would try.",
                        name=part,
                    )
                ),
                code="password_has_email_name",
            )


def set_password(
    user: User, password: str, *, hash_params: Mapping[str, int], now: datetime
) -> None:
    check_password_rules(password, user.email)
    store_password(user, password, hash_params=hash_params, now=now)


def store_password(
    user: User, password: str, *, hash_params: Mapping[str, int], now: datetime
) -> None:
    """Hash and keep a password without the rules: only for rehashing the password the user
    just logged in with (rules apply when a password is chosen, not when it is used)."""
    user.password_hash = password_hasher(hash_params).hash(password)
    user.password_changed_at = now


def verify_password(user: User | None, password: str, *, hash_params: Mapping[str, int]) -> bool:
    hasher = password_hasher(hash_params)
    if user is None or user.password_hash is None:
        # Spend the same time as a real check, so timing does not tell whether an account exists.
        _dummy_verify(hasher, password)
        return False
    try:
        return hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_verify(hasher: PasswordHasher, password: str) -> None:
    dummy = _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism)
    with contextlib.suppress(VerificationError, InvalidHashError):
        hasher.verify(dummy, password)


@lru_cache(maxsize=4)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash(secrets.token_urlsafe(16))


def password_needs_rehash(user: User, hash_params: Mapping[str, int]) -> bool:
    return user.password_hash is not None and password_hasher(hash_params).check_needs_rehash(
        user.password_hash
    )


# --- users and grants -----------------------------------------------------------------


def find_user_by_email(session: DbSession, email: str, *, with_grants: bool = True) -> User | None:
    """The account with this address. Without grants: one query whether or not it exists (the
    grants are loaded on first use), for pages whose timing must not tell."""
    query = select(User).where(func.lower(User.email) == email.strip().lower())
    if not with_grants:
        query = query.options(lazyload(User.active_grants))
    return session.scalar(query)


def create_user(
    session: DbSession,
    *,
    actor: User | None,
    email: str,
    display_name: str,
    locale: str | None = None,
) -> User:
    email = normalise_email(email)
    display_name = " ".join((display_name or "").split())
    if not display_name:
        raise ServiceError("display_name", str(_l("Enter a name.")), code="display_name_missing")
    if len(display_name) > 100:
        raise ServiceError(
            "display_name",
            str(_l("Use at most %(n)d characters.", n=100)),
            code="display_name_too_long",
        )
    if find_user_by_email(session, email) is not None:
        raise ServiceError(
            "email",
            str(_l("An account with this e-mail address already exists.")),
            code="email_taken",
        )
    user = User(email=email, display_name=display_name, locale=locale)
    session.add(user)
    session.flush()
    record_audit(session, actor, "user.create", user, detail={"email": email})
    return user


def grant_role(
    session: DbSession,
    *,
    actor: User | None,
    user: User,
    role: Role | str,
    program: Program | None = None,
    municipality: Municipality | None = None,
    organisation: Organisation | None = None,
    now: datetime,
) -> RoleGrant:
    """Grant a role. A coordinator may be granted for one `organisation` of the program: its
    courses, trainees and supporters only."""
    role = Role(role)
    if role in (Role.COORDINATOR, Role.SUPPORTER, Role.MUNICIPAL_STAFF) and program is None:
        raise ServiceError(
            "program", str(_l("Choose a program for this role.")), code="program_missing"
        )
    if role == Role.MUNICIPAL_STAFF:
        if municipality is None:
            raise ServiceError(
                "municipality",
                str(_l("Choose a municipality for this role.")),
                code="municipality_missing",
            )
        assert program is not None
        if municipality.prefecture != program.prefecture:
            raise ServiceError(
                "municipality",
                str(_l("%(m)s is not in the program's prefecture.", m=municipality.full_name)),
                code="municipality_outside_prefecture",
            )
    if organisation is not None:
        if role != Role.COORDINATOR:
            raise ServiceError(
                "organisation",
                str(_l("Only a coordinator can be granted for an organisation.")),
                code="organisation_not_coordinator",
            )
        assert program is not None
        if organisation.program_id != program.id:
            raise ServiceError(
                "organisation",
                str(_l("%(o)s is not an organisation of this program.", o=organisation.name)),
                code="organisation_outside_program",
            )
    if role == Role.ADMIN:
        program = None
    if role != Role.MUNICIPAL_STAFF:
        municipality = None
    for grant in user.active_grants:
        if (
            grant.role == role
            and grant.program_id == (program.id if program else None)
            and grant.municipality_id == (municipality.id if municipality else None)
            and grant.organisation_id == (organisation.id if organisation else None)
        ):
            return grant  # already held: granting twice is a no-op
    grant = RoleGrant(
        user=user,
        role=role,
        program=program,
        municipality=municipality,
        organisation=organisation,
        granted_by_id=actor.id if actor else None,
        granted_at=now,
    )
    session.add(grant)
    session.flush()
    session.expire(user, ["active_grants"])
    record_audit(
        session,
        actor,
        "role.grant",
        user,
        program_id=program.id if program else None,
        detail={
            "role": role.value,
            "municipality_id": municipality.id if municipality else None,
            "organisation_id": organisation.id if organisation else None,
        },
    )
    return grant


def revoke_role(session: DbSession, *, actor: User, grant: RoleGrant, now: datetime) -> None:
    if grant.revoked_at is not None:
        return
    if grant.role == Role.ADMIN and count_active_admins(session) <= 1:
        raise ServiceError(
            None, str(_l("The last administrator's role cannot be revoked.")), code="last_admin"
        )
    grant.revoked_at = now
    grant.revoked_by_id = actor.id
    session.flush()
    session.expire(grant.user, ["active_grants"])
    record_audit(
        session,
        actor,
        "role.revoke",
        grant.user,
        program_id=grant.program_id,
        detail={"role": grant.role, "grant_id": grant.id},
    )


def count_active_admins(session: DbSession) -> int:
    return (
        session.scalar(
            select(func.count(func.distinct(RoleGrant.user_id)))
            .join(User, User.id == RoleGrant.user_id)
            .where(
                RoleGrant.role == Role.ADMIN, RoleGrant.revoked_at.is_(None), User.active.is_(True)
            )
        )
        or 0
    )


def set_user_active(session: DbSession, *, actor: User, user: User, active: bool) -> None:
    if not active and user.id == actor.id:
        raise ServiceError(
            None, str(_l("You cannot deactivate your own account.")), code="own_account"
        )
    user.active = active
    if not active:
        end_all_sessions(session, user)
    record_audit(session, actor, "user.activate" if active else "user.deactivate", user)


# --- sessions -------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(session: DbSession, user: User, *, now: datetime, lifetime: timedelta) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    user.last_login_at = now
    user.session_token = token
    return token


def load_session_user(session: DbSession, token: str, *, now: datetime) -> User | None:
    row = session.execute(
        select(User, UserSession.expires_at)
        .join(UserSession, UserSession.user_id == User.id)
        .where(UserSession.token_hash == _token_hash(token))
    ).first()
    if row is None:
        return None
    user, expires_at = row
    if expires_at <= now or not user.active:
        return None
    user.session_token = token
    return user


def end_session(session: DbSession, token: str | None) -> None:
    if token:
        session.execute(delete(UserSession).where(UserSession.token_hash == _token_hash(token)))


def end_all_sessions(session: DbSession, user: User, *, keep_token: str | None = None) -> None:
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_token:
        query = query.where(UserSession.token_hash != _token_hash(keep_token))
    session.execute(query)


def change_password(
    session: DbSession,
    *,
    user: User,
    current_password: str,
    new_password: str,
    hash_params: Mapping[str, int],
    now: datetime,
) -> None:
    if not verify_password(user, current_password, hash_params=hash_params):
        raise ServiceError(
            "current_password",
            str(_l("The current password is not correct.")),
            code="wrong_password",
        )
    set_password(user, new_password, hash_params=hash_params, now=now)
    # Every other login of this account ends; the current one is kept.
    end_all_sessions(session, user, keep_token=user.session_token)
    record_audit(session, user, "user.password_change", user)


# --- invitations and resets: signed, expiring, single use ------------------------------

INVITATION_SALT = "invitation"
RESET_SALT = "password-reset"


def _serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=salt)


def issue_invitation(session: DbSession, *, actor: User | None, user: User, secret_key: str) -> str:
    """A new invitation token; any earlier one for this user stops working."""
    user.invitation_nonce = secrets.token_urlsafe(24)
    record_audit(session, actor, "user.invite", user)
    return _serializer(secret_key, INVITATION_SALT).dumps(
        {"u": user.id, "n": user.invitation_nonce}
    )


def _load_token(secret_key: str, salt: str, token: str, max_age: int) -> dict[str, object]:
    try:
        data = _serializer(secret_key, salt).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise ServiceError(
            None, str(_l("This link has expired. Ask for a new one.")), code="link_expired"
        ) from error
    except BadSignature as error:
        raise ServiceError(None, str(_l("This link is not valid.")), code="link_invalid") from error
    if not isinstance(data, dict):
        raise ServiceError(None, str(_l("This link is not valid.")), code="link_invalid")
    return data


def user_for_invitation(session: DbSession, token: str, *, secret_key: str, max_age: int) -> User:
    data = _load_token(secret_key, INVITATION_SALT, token, max_age)
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if (
        user is None
        or not user.active
        or user.invitation_nonce is None
        or not secrets.compare_digest(str(data.get("n")), user.invitation_nonce)
    ):
        raise ServiceError(
            None,
            str(_l("This invitation has already been used or was replaced.")),
            code="invitation_used",
        )
    return user


def _password_fingerprint(user: User) -> str:
    # The token is bound to the current hash, so it stops working once used.
    return hashlib.sha256((user.password_hash or "none").encode()).hexdigest()[:20]


def issue_password_reset(user: User, *, secret_key: str) -> str:
    return _serializer(secret_key, RESET_SALT).dumps(
        {"u": user.id, "p": _password_fingerprint(user)}
    )


def user_for_password_reset(
    session: DbSession, token: str, *, secret_key: str, max_age: int
) -> User:
    data = _load_token(secret_key, RESET_SALT, token, max_age)
    user = session.get(User, data.get("u")) if isinstance(data.get("u"), int) else None
    if user is None or not user.active or data.get("p") != _password_fingerprint(user):
        raise ServiceError(
            None,
            str(_l("This link has already been used. Ask for a new one.")),
            code="reset_link_used",
        )
    return user


# What each link's audit row is called.
LINK_ACTIONS = {"invitation": "user.invitation_accept", "reset": "user.password_reset"}


def set_password_from_link(
    session: DbSession,
    *,
    kind: str,
    user: User,
    password: str,
    hash_params: Mapping[str, int],
    now: datetime,
) -> User:
    """An invitation (`kind` "invitation") or a password reset ("reset") ends the same way,
    once `user_for_invitation` or `user_for_password_reset` has checked the link: the new
    password, no outstanding invitation, every login ended, and the audit row."""
    set_password(user, password, hash_params=hash_params, now=now)
    user.invitation_nonce = None
    end_all_sessions(session, user)
    record_audit(session, user, LINK_ACTIONS[kind], user)
    return user
