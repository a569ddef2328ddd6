"""What every feature's views share: public pages, the locale, safe redirects, the client's
address, and the form-handling helper that runs a service call at the edge (commit once,
roll back and show the refusal on a ServiceError, the normal message on a write race)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, NoReturn, TypeVar

from flask import Response, abort, flash, has_request_context, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from supporters.db import ServiceError
from supporters.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def require(allowed: bool) -> None:
    """Abort with 403 unless a permission predicate allowed it."""
    if not allowed:
        forbid()


def forbid() -> NoReturn:
    abort(403)


def require_confirmed() -> None:
    """A button posted with a ConfirmForm: without its CSRF token the request is a 400."""
    from supporters.core.forms import ConfirmForm

    if not ConfirmForm().validate_on_submit():
        abort(400)


@dataclass
class Outcome(Generic[T]):
    """What `save` did: the service's value when it was saved, else the refusal. True when
    saved, so a view reads `if outcome: ...`."""

    value: T | None = None
    error: ServiceError | None = None
    conflict: bool = False

    def __bool__(self) -> bool:
        return self.error is None and not self.conflict


def save(action: Callable[[], T], *, form: Any = None, success: str | None = None) -> Outcome[T]:
    """Run a service call at the edge and commit. A refusal (ServiceError) rolls back and is
    shown next to its field of `form` (or as a message); a unique key or lock that another
    request took at the same moment rolls back with the normal message. Mail goes out later
    from the outbox, so nothing is sent for what was not saved."""
    try:
        value = action()
        db.session.commit()
    except ServiceError as error:
        db.session.rollback()
        if form is not None:
            show_service_error(form, error)
        else:
            flash(error.message, "error")
        return Outcome(error=error)
    except (IntegrityError, OperationalError) as error:
        db.session.rollback()
        if not is_write_conflict(error):
            raise
        flash(conflict_message(), "info")
        return Outcome(conflict=True)
    if success:
        flash(success, "success")
    return Outcome(value=value)


def download(body: bytes | str, *, mimetype: str, filename: str, inline: bool = False) -> Response:
    """A file for the browser to save, or with `inline` to show (a PDF to print)."""
    disposition = "inline" if inline else "attachment"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f"{disposition}; filename={filename}"},
    )


def public(view: F) -> F:
    """Mark a view as reachable without logging in (everything else requires a login)."""
    view._public = True  # type: ignore[attr-defined]
    return view


def select_locale() -> str:
    languages = ("ja", "en")
    if not has_request_context():  # commands and jobs: the default language
        return "ja"
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return str(current_user.locale)
    chosen = session.get("locale")
    if chosen in languages:
        return str(chosen)
    return request.accept_languages.best_match(languages, default="ja") or "ja"


def is_local_url(target: str | None) -> bool:
    """Only a path on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    from urllib.parse import urlsplit

    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return False
    if any(ch in target for ch in ("\\", "\r", "\n", "\t")):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def client_address() -> str:
    """The real client's address (see trust_proxies), the key of every per-client limit."""
    return request.remote_addr or "unknown"


def hours_text(value: Any) -> str:
    """Hours as a person writes them: 3.5, 2, not 3.50 or 2.0 (the unit is the message's)."""
    if value is None or value == "":
        return ""
    from decimal import Decimal

    number = Decimal(str(value))
    if number == number.to_integral_value():
        return str(int(number))
    return format(number.normalize(), "f")


def commit_or_flash(action: Callable[[], object], success: str) -> bool:
    """`save` without a form: the refusal as a message. Returns whether it was saved."""
    return bool(save(action, success=success))


def posted_reason() -> str | None:
    """The reason of a posted ReasonForm; a missing CSRF token is a 400, a missing reason a
    message (None)."""
    from flask import abort

    from supporters.core.forms import ReasonForm

    form = ReasonForm()
    if form.validate_on_submit():
        return form.reason.data or ""
    if "csrf_token" in form.errors:
        abort(400)
    flash(_("Give a reason."), "error")
    return None


def show_service_error(form: Any, error: Any) -> None:
    """Show a ServiceError next to its field, or as a message when it names none."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, error.message]
    else:
        flash(error.message, "error")


def is_write_conflict(error: BaseException) -> bool:
    """A unique key taken by another transaction, or a lock/serialisation conflict between
    two transactions: the outcome of a race, not a bug (foreign key and NOT NULL failures
    are bugs and stay errors)."""
    if not isinstance(error, DBAPIError):
        return False
    original = error.orig
    state = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if state is not None:
        return str(state) in ("23505", "40001", "40P01")
    text = str(original)
    return text.startswith("UNIQUE constraint failed") or "database is locked" in text


def conflict_message() -> str:
    return _(
        "This was saved by another request at the same moment, so it was not saved twice. "
        "Check the page and try again if something is missing."
    )


def back_url() -> str:
    """Where to send a form that cannot be used again: the page it was on (this site
    only), else the start page."""
    from urllib.parse import urlsplit

    referrer = request.referrer
    if referrer:
        parts = urlsplit(referrer)
        if parts.netloc in ("", request.host):
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if is_local_url(target):
                return target
    return url_for("main.index")


def writes_on_get(view: F) -> F:
    """A GET that writes (a download that issues a card or certificate the first time):
    marked like `db.writes`, so on SQLite its transaction takes the write lock at once, and
    when another request issued the same record at the same moment it runs once more and
    finds that record."""
    from functools import wraps

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return view(*args, **kwargs)
        except (IntegrityError, OperationalError) as error:
            db.session.rollback()
            if not is_write_conflict(error):
                raise
        return view(*args, **kwargs)

    wrapper.writes_on_get = True  # type: ignore[attr-defined]  # read by db._may_write
    return wrapper  # type: ignore[return-value]
