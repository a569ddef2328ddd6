"""Request-wide behaviour: who is logged in, locale, login-by-default, security headers,
error pages and what every template can use."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from typing import Any, TypeVar

from flask import (
    Flask,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from supporters.accounts import permissions
from supporters.core.web import (
    back_url,
    conflict_message,
    hours_text,
    is_local_url,
    is_write_conflict,
    select_locale,
)
from supporters.db import now_utc
from supporters.extensions import db, login_manager

F = TypeVar("F", bound=Callable[..., Any])

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


def trust_proxies(app: Flask) -> None:
    """Behind SUPPORTERS_TRUSTED_PROXIES reverse proxies, take the client's address, scheme and
    host from their X-Forwarded-* headers (the last N entries only, so a client cannot forge
    them). Rate limits and the audit log use `request.remote_addr`, so they see the real
    client."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


def init_web(app: Flask) -> None:
    from supporters.inputs import init_inputs

    trust_proxies(app)
    init_inputs(app)  # first: refuses control characters before any other hook reads input
    login_manager.login_view = "accounts.login"
    login_manager.login_message = _l("Please log in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(token: str) -> Any:
        from supporters.accounts.services import load_session_user

        return load_session_user(db.session, token, now=now_utc())

    @app.before_request
    def require_login_by_default() -> Response | None:
        view = app.view_functions.get(request.endpoint or "")
        if view is not None and getattr(view, "_public", False):
            return None
        if request.endpoint == "static":
            return None
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return None

    @app.before_request
    def make_session_permanent() -> None:
        session.permanent = True  # expires after PERMANENT_SESSION_LIFETIME

    @app.before_request
    def take_form_token() -> Response | None:
        """A submitted form's single-use token is taken in the request's transaction; a form
        sent a second time gets the normal "already done" answer (see submissions.py)."""
        if request.method != "POST" or request.endpoint is None:
            return None
        from supporters import submissions

        token = request.form.get(submissions.FIELD_NAME)
        if token is None:
            return None  # clients that post without a rendered form (commands, tests)
        if not submissions.is_well_formed(token):
            abort(400)
        if submissions.consume(db.session, token, now=now_utc()):
            return None
        db.session.rollback()
        flash(_("This form was already sent, so it was not saved a second time."), "info")
        return redirect(back_url(), code=303)

    @app.after_request
    def add_form_tokens(response: Response) -> Response:
        """Every form on an HTML page gets its own single-use token beside its CSRF token."""
        if response.mimetype != "text/html" or response.direct_passthrough:
            return response
        if response.is_streamed:
            return response
        body = response.get_data(as_text=True)
        if 'csrf_token"' not in body:
            return response
        response.set_data(_with_form_tokens(body))
        return response

    @app.after_request
    def security_headers(response: Response) -> Response:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure or app.config.get("SESSION_COOKIE_SECURE"):
            headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
        if current_user and getattr(current_user, "is_authenticated", False):
            # Pages with personal data must not linger in shared caches or the back button.
            headers.setdefault("Cache-Control", "no-store")
        return response

    @app.teardown_request
    def rollback_on_error(error: BaseException | None) -> None:
        if error is not None:
            db.session.rollback()

    def render_error(code: int, title: str, message: str) -> tuple[str, int]:
        return render_template("errors/error.html", code=code, title=title, message=message), code

    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError) -> tuple[str, int]:
        return render_error(
            400,
            _("The form has expired"),
            _(
                "For your safety the form could not be sent. "
                "Go back, reload the page and try again."
            ),
        )

    @app.errorhandler(400)
    def bad_request(error: HTTPException) -> tuple[str, int]:
        return render_error(
            400,
            _("The request cannot be used"),
            _(
                "The address or the form contained something this site does not accept "
                "(for example an invisible control character, a number that is too large or "
                "a date out of range). "
                "Go back and try again."
            ),
        )

    @app.errorhandler(DataError)
    def data_error(error: DataError) -> tuple[str, int]:
        """A value the database refuses (out of range, not valid for its column): the
        request's input, so a 400, never a 500."""
        db.session.rollback()
        app.logger.warning("input refused by the database on %s: %s", request.path, error)
        return bad_request(error)  # type: ignore[arg-type]

    @app.errorhandler(403)
    def forbidden(error: HTTPException) -> tuple[str, int]:
        return render_error(
            403, _("Not allowed"), _("You do not have permission to see this page.")
        )

    @app.errorhandler(404)
    def not_found(error: HTTPException) -> tuple[str, int]:
        return render_error(404, _("Page not found"), _("The page you asked for does not exist."))

    @app.errorhandler(429)
    def too_many(error: HTTPException) -> Response | tuple[str, int]:
        message = _("Too many attempts. Please wait a while and try again.")
        if request.endpoint == "accounts.login":
            from supporters.accounts.forms import LoginForm

            form = LoginForm()
            return render_template("accounts/login.html", form=form, throttled=message), 429
        return render_error(429, _("Too many attempts"), message)

    def database_unavailable(error: Exception) -> tuple[str, int]:
        """The database cannot be opened, reached, read or written (unreachable, read-only,
        not a database, damaged): the product's page, 503, never a bare server error; it
        touches the database no further."""
        app.logger.error("database unavailable: %s", error)
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            db.session.rollback()
        # The page is drawn without the user (whose menu would need the database).
        g._login_user = login_manager.anonymous_user()
        g.database_unavailable = True
        return render_error(
            503,
            _("The service is not available just now"),
            _(
                "The database cannot be used at the moment, so nothing was saved. "
                "Please try again in a few minutes; the administrator has been told."
            ),
        )

    @app.errorhandler(IntegrityError)
    @app.errorhandler(OperationalError)
    def write_conflict(error: Exception) -> Response | tuple[str, int]:
        """Two requests saved the same thing at the same moment and a unique key (or the
        database's lock order) let only one through: the other gets the normal answer.
        Another broken constraint is a bug (500); another operational error an outage."""
        with contextlib.suppress(sa_exc.SQLAlchemyError):
            db.session.rollback()
        if is_write_conflict(error):
            app.logger.info("write conflict on %s %s: %s", request.method, request.path, error)
            flash(conflict_message(), "info")
            return redirect(back_url(), code=303)
        if isinstance(error, IntegrityError):
            return server_error(error)
        return database_unavailable(error)

    @app.errorhandler(sa_exc.DBAPIError)
    def database_error(error: Exception) -> tuple[str, int]:
        """The other driver errors: a query error is a 500 as usual, the rest an outage."""
        if isinstance(error, sa_exc.ProgrammingError):
            return server_error(error)
        return database_unavailable(error)

    @app.errorhandler(500)
    def server_error(error: Exception) -> tuple[str, int]:
        db.session.rollback()
        return render_error(500, _("Something went wrong"), error_contact_line(current_user))

    @app.context_processor
    def template_helpers() -> dict[str, Any]:
        unread = 0
        if not g.get("database_unavailable"):
            try:
                unread = unread_notifications(current_user)
            except sa_exc.SQLAlchemyError:
                db.session.rollback()
        return {
            "unread_notifications": unread,
            "perm": permissions,
            "nav_items": navigation_for(current_user),
            "current_locale": select_locale(),
        }

    from supporters.core.display import era_date, human_date, human_datetime

    # Dates people read carry the weekday (2026年12月14日（月） / Mon 14 Dec 2026).
    app.jinja_env.filters["local_datetime"] = lambda value: human_datetime(value) if value else ""
    app.jinja_env.filters["local_date"] = lambda value: human_date(value) if value else ""
    app.jinja_env.filters["wareki"] = lambda value: era_date(value) if value else ""
    app.jinja_env.filters["hours"] = hours_text
    from supporters.programs import fields as place_fields

    app.jinja_env.globals["municipality_names"] = lambda prefecture: (
        place_fields.municipality_names(db.session, prefecture)
    )
    app.jinja_env.globals["example_place"] = lambda program: place_fields.example_place(
        db.session, program
    )
    app.jinja_env.globals["is_local_url"] = is_local_url
    app.jinja_env.add_extension("jinja2.ext.do")


def error_contact_line(user: Any) -> str:
    """Whom to tell when something keeps failing: a coordinator for those who have one, the
    system's administrator for coordinators and administrators themselves."""
    from supporters.accounts.permissions import is_admin, is_coordinator

    try:
        runs_things = getattr(user, "is_authenticated", False) and (
            is_admin(user) or is_coordinator(user)
        )
    except Exception:  # the database may be what failed
        runs_things = False
    if runs_things:
        return _(
            "Nothing was saved. Please try again; if it happens again, tell the "
            "administrator of the system."
        )
    return _("Nothing was saved. Please try again; if it happens again, tell your coordinator.")


def unread_notifications(user: Any) -> int:
    if not getattr(user, "is_authenticated", False):
        return 0
    from sqlalchemy import func, select

    from supporters.reminders.models import Notification

    return (
        db.session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def navigation_for(user: Any) -> list[tuple[str, str]]:
    """(endpoint, label) pairs for the main navigation, by role."""
    if not getattr(user, "is_authenticated", False):
        return []
    items: list[tuple[str, str]] = [("main.index", _("Home"))]
    if permissions.supporter_program_ids(user) and user.person_id:
        items.append(("registry.me", _("My page")))
        items.append(("dispatch.my_schedule", _("Schedule")))
    if permissions.coordinated_program_ids(user) or permissions.staff_municipality_ids(user):
        items.append(("dispatch.index", _("Dispatch")))
    if user.active_grants:
        items.append(("training.index", _("Courses")))
    if permissions.is_coordinator(user):
        items.append(("registry.register", _("Supporter register")))
        items.append(("certificates.sheet", _("Card sheets")))
    if permissions.staff_municipality_ids(user):
        items.append(("registry.municipal_supporters", _("Supporters")))
    if permissions.is_admin(user) or permissions.is_coordinator(user):
        items.append(("programs.index", _("Programs")))
    if (
        permissions.is_admin(user)
        or permissions.coordinated_any_program_ids(user)  # an organisation's: its own figures
        or permissions.staff_municipality_ids(user)
    ):
        items.append(("reports.index", _("Reports")))
    if permissions.can_manage_users(user):
        items.append(("admin.users", _("Users")))
    if permissions.can_view_audit_log(user):
        items.append(("audit.index", _("Audit log")))
    if permissions.can_view_outbox(user):
        items.append(("reminders.outbox", _("Mail")))
    return items


# --- forms sent twice and writes that meet at the same moment -------------------------

# The CSRF field of a form, also of a form with a prefix ("reissue-csrf_token").
_CSRF_INPUT_RE = re.compile(r'<input\b[^>]*\bname="(?:[\w-]+-)?csrf_token"[^>]*>')


def _with_form_tokens(body: str) -> str:
    from supporters import submissions

    def add(match: re.Match[str]) -> str:
        return (
            f'{match.group(0)}<input type="hidden" name="{submissions.FIELD_NAME}" '
            f'value="{submissions.new_token()}">'
        )

    return _CSRF_INPUT_RE.sub(add, body)
