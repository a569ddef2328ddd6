"""Login, logout, passwords and invitations (bp), and user administration (admin_bp)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import func, or_, select
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from supporters.accounts import services, throttle
from supporters.accounts.forms import (
    ROLE_LABELS,
    ChangePasswordForm,
    ForgotPasswordForm,
    GrantRoleForm,
    InviteUserForm,
    LanguageForm,
    LoginForm,
    SetPasswordForm,
)
from supporters.accounts.models import Role, RoleGrant, User
from supporters.accounts.permissions import can_manage_users
from supporters.audit.services import record_audit
from supporters.core.forms import ConfirmForm
from supporters.core.text import normalise_email
from supporters.core.web import (
    client_address,
    is_local_url,
    public,
    require,
    require_confirmed,
    save,
    show_service_error,
)
from supporters.db import ServiceError, now_utc
from supporters.extensions import db, limiter
from supporters.mail.services import queue_user_mail
from supporters.programs.models import Municipality, Organisation, Program
from supporters.programs.services import find_municipality, find_organisation

log = logging.getLogger(__name__)

bp = Blueprint("accounts", __name__)
admin_bp = Blueprint("admin", __name__, url_prefix="/admin")

PAGE_SIZE = 50


DEVICE_COOKIE = "supporters_device"
DEVICE_SALT = "login-device"
DEVICE_DAYS = 365
DEVICE_ACCOUNTS = 5  # a shared computer remembers up to this many accounts


def _login_limits() -> throttle.LoginLimits:
    config = current_app.config
    return throttle.LoginLimits(
        per_account_client=config["LOGIN_LIMIT_PER_ACCOUNT"],
        per_client=config["LOGIN_LIMIT_PER_ADDRESS"],
        account_ceiling=config["LOGIN_LIMIT_ACCOUNT_CEILING"],
        account_slowed=config["LOGIN_LIMIT_ACCOUNT_SLOWED"],
    )


def _device_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=DEVICE_SALT)


def _known_accounts() -> list[str]:
    """The accounts that logged in successfully from this browser before (signed cookie)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return []
    try:
        data = _device_serializer().loads(raw, max_age=DEVICE_DAYS * 86400)
    except BadSignature:
        return []
    return [str(item) for item in data] if isinstance(data, list) else []


def _remember_device(response: Response, account: str) -> None:
    accounts = [account, *(a for a in _known_accounts() if a != account)][:DEVICE_ACCOUNTS]
    response.set_cookie(
        DEVICE_COOKIE,
        _device_serializer().dumps(accounts),
        max_age=DEVICE_DAYS * 86400,
        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
        httponly=True,
        samesite="Lax",
    )


def _queue_mail_with_equal_work(
    user: User | None,
    email: str,
    *,
    kind: str,
    template: str,
    audit: str | None = None,
    **context: Any,
) -> bool:
    """Queue a mail for `user` if it is an active account; otherwise do the same work (render
    and write the mail, and the audit row) and undo it in a savepoint, so neither the answer
    nor its time tells whether the address has an account. Returns whether it was queued."""
    real = user is not None and user.active
    recipient = user if real and user is not None else User(email=email, display_name=email)
    savepoint = db.session.begin_nested()
    queue_user_mail(db.session, user=recipient, kind=kind, template=template, **context)
    if audit:
        record_audit(db.session, None, audit, recipient, ip_address=client_address())
    db.session.flush()
    if real:
        savepoint.commit()
    else:
        savepoint.rollback()
    return real


def _tell_owner_of_failed_logins(email: str) -> None:
    """The account is past its ceiling of failed logins: tell its owner (if there is one)."""
    user = services.find_user_by_email(db.session, email, with_grants=False)
    _queue_mail_with_equal_work(
        user,
        email,
        kind="login_attempts",
        template="login_attempts",
        audit="user.login_slowed",
        link=external_url("accounts.forgot_password"),
    )
    db.session.commit()


def _throttled(form: LoginForm, refusal: throttle.Refusal) -> tuple[str, int]:
    if refusal == throttle.Refusal.SLOWED:
        message = _(
            "This address has had many failed logins recently, so logins to it are slowed "
            "down. Wait a minute and try again. If the address belongs to an account, its "
            "owner has been told by e-mail."
        )
    else:
        message = _("Too many attempts. Please wait a while and try again.")
    form.password.errors = []
    return render_template("accounts/login.html", form=form, throttled=message), 429


def external_url(endpoint: str, **values: Any) -> str:
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    return base + url_for(endpoint, **values)


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Response | str | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    next_url = request.args.get("next")
    if next_url and not is_local_url(next_url):
        flash(
            _("The link you followed pointed outside this site; you will go to the start page."),
            "info",
        )
        next_url = None
    form = LoginForm()
    if form.validate_on_submit():
        config = current_app.config
        email = services.login_address(form.email.data or "")
        account = throttle.account_key(email)
        client = client_address()
        # Counted before the password is checked, so parallel guesses cannot pass the limits.
        attempt = throttle.claim_login_attempt(
            limiter.storage,
            _login_limits(),
            account=account,
            client=client,
            known_device=account in _known_accounts(),
        )
        if attempt.ceiling_crossed:
            _tell_owner_of_failed_logins(email)
        if attempt.refused is not None:
            log.info("login throttled (%s) from %s", attempt.refused, client)
            return _throttled(form, attempt.refused)
        user = services.find_user_by_email(db.session, email, with_grants=False)
        password = form.password.data or ""
        # One full hash check for every kind of address (known, unknown, deactivated, not yet
        # activated), so the time of the answer does not tell which it is.
        right = services.verify_password(user, password, hash_params=config["PASSWORD_HASH"])
        if user is not None and user.active and right:
            now = now_utc()
            if services.password_needs_rehash(user, config["PASSWORD_HASH"]):
                services.store_password(
                    user, password, hash_params=config["PASSWORD_HASH"], now=now
                )
            services.start_session(
                db.session,
                user,
                now=now,
                lifetime=timedelta(seconds=config["PERMANENT_SESSION_LIFETIME"]),
            )
            record_audit(db.session, user, "user.login", user, ip_address=client)
            db.session.commit()
            throttle.refund_login_attempt(
                limiter.storage, _login_limits(), account=account, client=client, attempt=attempt
            )
            session.clear()
            login_user(user)
            response = redirect(next_url or url_for("main.index"))
            _remember_device(response, account)
            return response
        log.info("failed login from %s", client)
        form.password.errors = []
        flash(_("The e-mail address or the password is not correct."), "error")
    return render_template("accounts/login.html", form=form)


@bp.post("/logout")
def logout() -> Response:
    require_confirmed()
    services.end_session(db.session, current_user.session_token)
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("You have logged out."), "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
def change_password() -> Response | str | tuple[str, int]:
    form = ChangePasswordForm()
    if form.validate_on_submit() and save(
        lambda: services.change_password(
            db.session,
            user=current_user,
            current_password=form.current_password.data or "",
            new_password=form.password.data or "",
            hash_params=current_app.config["PASSWORD_HASH"],
            now=now_utc(),
        ),
        form=form,
        success=_("Your password has been changed. Other devices have been logged out."),
    ):
        return redirect(url_for("accounts.account"))
    return render_template("accounts/change_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
def account() -> Response | str | tuple[str, int]:
    form = LanguageForm(language=current_user.locale or "ja")
    if form.validate_on_submit():
        current_user.locale = form.language.data
        db.session.commit()
        flash(_("Your language setting has been saved."), "success")
        return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form, role_labels=ROLE_LABELS)


def _queue_password_reset(email: str) -> None:
    """Queue a reset link for an active account (at most PASSWORD_RESET_MAILS_PER_ACCOUNT),
    with the same work for every address (see _queue_mail_with_equal_work)."""
    config = current_app.config
    user = services.find_user_by_email(db.session, email, with_grants=False)
    allowed = throttle.allow_reset_mail(
        limiter.storage,
        config["PASSWORD_RESET_MAILS_PER_ACCOUNT"],
        account=throttle.account_key(email),
    )
    recipient = user if allowed else None
    token = services.issue_password_reset(
        recipient or User(email=email, display_name=email), secret_key=config["SECRET_KEY"]
    )
    _queue_mail_with_equal_work(
        recipient,
        email,
        kind="password_reset",
        template="password_reset",
        link=external_url("accounts.reset_password", token=token),
    )


@bp.route("/password/forgot", methods=["GET", "POST"])
@public
@limiter.limit(lambda: current_app.config["PASSWORD_RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
def forgot_password() -> Response | str | tuple[str, int]:
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        try:
            email = normalise_email(form.email.data or "")
        except ServiceError as error:
            show_service_error(form, error)
            return render_template("accounts/forgot_password.html", form=form)
        # Only queued: the scheduler's sender job sends it (no worker waits on SMTP).
        _queue_password_reset(email)
        db.session.commit()
        # The same answer either way, so the page does not tell who has an account.
        flash(
            _(
                "If the address belongs to an account, a link to set a new password is on its way."
                " The link works for one hour."
            ),
            "info",
        )
        return redirect(url_for("accounts.login"))
    return render_template("accounts/forgot_password.html", form=form)


def _token_page(kind: str, token: str) -> Response | str | tuple[str, int]:
    config = current_app.config
    if kind == "invitation":
        load, max_age = services.user_for_invitation, config["INVITATION_MAX_AGE"]
    else:
        load, max_age = services.user_for_password_reset, config["PASSWORD_RESET_MAX_AGE"]
    try:
        user = load(db.session, token, secret_key=config["SECRET_KEY"], max_age=max_age)
    except ServiceError as error:
        return render_template("accounts/link_invalid.html", message=error.message), 400
    form = SetPasswordForm()
    if form.validate_on_submit() and save(
        lambda: services.set_password_from_link(
            db.session,
            kind=kind,
            user=user,
            password=form.password.data or "",
            hash_params=config["PASSWORD_HASH"],
            now=now_utc(),
        ),
        form=form,
    ):
        if current_user.is_authenticated:
            logout_user()
        session.clear()
        flash(_("Your password is set. Please log in."), "success")
        return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form, user=user, kind=kind)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
@public
def accept_invitation(token: str) -> Response | str | tuple[str, int]:
    return _token_page("invitation", token)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
@public
def reset_password(token: str) -> Response | str | tuple[str, int]:
    return _token_page("reset", token)


# --- administration --------------------------------------------------------------------


def _program_choices() -> list[SelectChoice]:
    programs = db.session.scalars(select(Program).order_by(Program.id)).all()
    return [SelectChoice("", _("(none)"))] + [SelectChoice(str(p.id), p.name_ja) for p in programs]


def _grant_from_form(form: GrantRoleForm, user: User) -> RoleGrant:
    program = db.session.get(Program, int(form.program.data)) if form.program.data else None
    municipality: Municipality | None = None
    if form.role.data == Role.MUNICIPAL_STAFF and form.municipality.data:
        municipality = find_municipality(
            db.session, form.municipality.data, prefecture=program.prefecture if program else None
        )
    organisation: Organisation | None = None
    if form.organisation.data and program is not None:
        organisation = find_organisation(db.session, program, form.organisation.data)
    return services.grant_role(
        db.session,
        actor=current_user,
        user=user,
        role=form.role.data or "",
        program=program,
        municipality=municipality,
        organisation=organisation,
        now=now_utc(),
    )


def _invite(user: User) -> str:
    token = services.issue_invitation(
        db.session, actor=current_user, user=user, secret_key=current_app.config["SECRET_KEY"]
    )
    link = external_url("accounts.accept_invitation", token=token)
    queue_user_mail(db.session, user=user, kind="invitation", template="invitation", link=link)
    return link


@admin_bp.before_request
def admin_only() -> None:
    require(can_manage_users(current_user))


@admin_bp.get("/users")
def users() -> str:
    query_text = " ".join((request.args.get("q") or "").split())[:100]
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = select(User)
    if query_text:
        pattern = f"%{query_text.lower()}%"
        query = query.where(
            or_(func.lower(User.email).like(pattern), User.display_name.like(pattern))
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.order_by(User.display_name, User.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    return render_template(
        "admin/users.html",
        users=rows,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        q=query_text,
        role_labels=ROLE_LABELS,
    )


@admin_bp.route("/users/new", methods=["GET", "POST"])
def new_user() -> Response | str | tuple[str, int]:
    form = InviteUserForm()
    form.program.choices = _program_choices()
    if form.validate_on_submit():
        # The invitation mail is queued with the account; the sender job sends it.
        outcome = save(lambda: _create_and_invite(form), form=form)
        if outcome.value is not None:
            user, link = outcome.value
            flash(
                _("The account was created and an invitation sent. Link: %(link)s", link=link),
                "success",
            )
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/new_user.html", form=form)


def _create_and_invite(form: InviteUserForm) -> tuple[User, str]:
    user = services.create_user(
        db.session,
        actor=current_user,
        email=form.email.data or "",
        display_name=form.display_name.data or "",
    )
    _grant_from_form(form, user)
    return user, _invite(user)


def _user_page(user: User, form: GrantRoleForm) -> str:
    return render_template(
        "admin/user_detail.html",
        user=user,
        form=form,
        confirm=ConfirmForm(),
        role_labels=ROLE_LABELS,
    )


@admin_bp.get("/users/<int:user_id>")
def user_detail(user_id: int) -> str:
    user = db.get_or_404(User, user_id)
    form = GrantRoleForm()
    form.program.choices = _program_choices()
    return _user_page(user, form)


@admin_bp.post("/users/<int:user_id>/grants")
def grant(user_id: int) -> Response | str | tuple[str, int]:
    user = db.get_or_404(User, user_id)
    form = GrantRoleForm()
    form.program.choices = _program_choices()
    if form.validate_on_submit() and save(
        lambda: _grant_from_form(form, user), form=form, success=_("The role was granted.")
    ):
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _user_page(user, form), 400


@admin_bp.post("/users/<int:user_id>/grants/<int:grant_id>/revoke")
def revoke(user_id: int, grant_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    grant_row = db.session.get(RoleGrant, grant_id)
    if grant_row is None or grant_row.user_id != user.id:
        abort(404)
    require_confirmed()
    save(
        lambda: services.revoke_role(
            db.session, actor=current_user, grant=grant_row, now=now_utc()
        ),
        success=_("The role was revoked. The history is kept."),
    )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@admin_bp.post("/users/<int:user_id>/active")
def toggle_active(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    require_confirmed()
    if save(
        lambda: services.set_user_active(
            db.session, actor=current_user, user=user, active=not user.active
        )
    ):
        flash(
            _("The account is active.") if user.active else _("The account is deactivated."),
            "success",
        )
    return redirect(url_for("admin.user_detail", user_id=user.id))


@admin_bp.post("/users/<int:user_id>/invite")
def reinvite(user_id: int) -> Response:
    user = db.get_or_404(User, user_id)
    require_confirmed()
    link = _invite(user)
    db.session.commit()  # the invitation mail is queued; the sender job sends it
    flash(
        _("A new invitation was sent; earlier links no longer work. Link: %(link)s", link=link),
        "success",
    )
    return redirect(url_for("admin.user_detail", user_id=user.id))
