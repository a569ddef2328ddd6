"""Card and certificate downloads, reissue and revocation, card sheets, and the public check
`/verify/<code>` (its own blueprint, with its own minimal pages)."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from wtforms import SelectChoice

from supporters.accounts.models import User
from supporters.audit.services import record_audit
from supporters.certificates import services, verification
from supporters.certificates.forms import VERIFY_STATUS_LABELS, CardReasonForm, SheetForm
from supporters.certificates.models import CardIssue
from supporters.certificates.pdf import render_calibration_page, render_card, render_card_sheet
from supporters.certificates.permissions import (
    can_download_card,
    can_manage_cards,
    can_print_certificate,
    can_print_sheets,
    is_own_registration,
)
from supporters.core.time import today_in_japan
from supporters.core.web import (
    commit_or_flash,
    download,
    public,
    require,
    save,
    select_locale,
    show_service_error,
    writes_on_get,
)
from supporters.db import ServiceError, now_utc, writes
from supporters.extensions import db, limiter
from supporters.pdf.errors import PdfInputError
from supporters.programs.models import Program
from supporters.programs.permissions import coordinated_organisation_ids, coordinator_scope
from supporters.registry import services as registry
from supporters.registry.forms import STATUS_LABELS
from supporters.registry.models import Registration
from supporters.training.models import Enrolment
from supporters.training.pdf import render_completion_certificate

bp = Blueprint("certificates", __name__)
verify_bp = Blueprint("verify", __name__)

LARGE_SHEET = services.LARGE_SHEET


def _font() -> str | None:
    font = current_app.config.get("PDF_FONT")
    return str(font) if font else None


def _base_url() -> str:
    return str(current_app.config["BASE_URL"])


def _pdf(body: bytes, filename: str) -> Response:
    return download(body, mimetype="application/pdf", filename=filename)


def _audit_download(kind: str, target: object, program_id: int, **detail: object) -> None:
    record_audit(
        db.session,
        current_user,
        "certificate.download",
        target,
        program_id=program_id,
        ip_address=request.remote_addr,
        detail={"kind": kind, **detail},
    )


# --- supporter cards ------------------------------------------------------------------


def _registration(registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    return registration


def _download(build: Callable[[], tuple[bytes, str]], back: str) -> ResponseReturnValue:
    """Issue and draw a PDF (``build`` returns it and its file name) and commit; a refusal
    rolls back and is shown on the page the user came from."""
    try:
        body, filename = build()
    except (ServiceError, PdfInputError) as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back)
    db.session.commit()
    return _pdf(body, filename)


def _send_card(registration: Registration, back: str) -> ResponseReturnValue:
    def build() -> tuple[bytes, str]:
        card = services.issue_card(
            db.session,
            actor=current_user,
            registration=registration,
            now=now_utc(),
            font_path=_font(),
        )
        data = services.card_data(
            db.session, card, today=today_in_japan(), base_url=_base_url(), font_path=_font()
        )
        body = render_card(data, font_path=_font())
        _audit_download("card", card, registration.program_id, number=card.number)
        return body, f"card-{card.number}.pdf"

    return _download(build, back)


@bp.get("/me/card/<int:registration_id>.pdf")
@writes_on_get
def my_card(registration_id: int) -> ResponseReturnValue:
    """A supporter's own card (coordinators of the program may use it too)."""
    registration = _registration(registration_id)
    require(can_download_card(current_user, registration))
    back = (
        url_for("registry.me")
        if is_own_registration(current_user, registration)
        else url_for("certificates.cards", registration_id=registration.id)
    )
    return _send_card(registration, back)


@bp.get("/register/<int:registration_id>/card.pdf")
@writes_on_get
def card_pdf(registration_id: int) -> ResponseReturnValue:
    registration = _registration(registration_id)
    require(can_manage_cards(current_user, registration))
    return _send_card(registration, url_for("certificates.cards", registration_id=registration.id))


@bp.get("/register/<int:registration_id>/cards")
def cards(registration_id: int) -> str:
    registration = _registration(registration_id)
    require(can_manage_cards(current_user, registration))
    history = services.card_history(db.session, registration)
    events = registry.events_for(db.session, registration)
    users = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(
                User.id.in_({c.issued_by_id for c in history} | {c.revoked_by_id for c in history})
            )
        )
    }
    return render_template(
        "certificates/cards.html",
        registration=registration,
        person=registration.person,
        status=registry.status_on(registration, registration.program, events, today_in_japan()),
        status_labels=STATUS_LABELS,
        history=history,
        checks=verification.verify_counts(db.session, history),
        users=users,
        reissue_form=CardReasonForm(prefix="reissue"),
        revoke_form=CardReasonForm(prefix="revoke"),
    )


def _reason_action(registration: Registration, prefix: str) -> tuple[CardReasonForm, bool]:
    require(can_manage_cards(current_user, registration))
    form = CardReasonForm(prefix=prefix)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        return form, False
    return form, True


@bp.post("/register/<int:registration_id>/cards/reissue")
def reissue(registration_id: int) -> ResponseReturnValue:
    registration = _registration(registration_id)
    back = url_for("certificates.cards", registration_id=registration.id)
    form, valid = _reason_action(registration, "reissue")
    if not valid:
        flash(_("Give a reason."), "error")
        return redirect(back)
    outcome = save(
        lambda: services.reissue_card(
            db.session,
            actor=current_user,
            registration=registration,
            now=now_utc(),
            reason=form.reason.data or "",
            font_path=_font(),
        )
    )
    if outcome.value is not None:
        number = outcome.value.number
        flash(_("Card %(number)s was issued; the previous card is revoked.", number=number))
    return redirect(back)


@bp.post("/register/<int:registration_id>/cards/<int:card_id>/revoke")
def revoke(registration_id: int, card_id: int) -> ResponseReturnValue:
    registration = _registration(registration_id)
    card = db.session.get(CardIssue, card_id)
    if card is None or card.registration_id != registration.id:
        abort(404)
    back = url_for("certificates.cards", registration_id=registration.id)
    form, valid = _reason_action(registration, "revoke")
    if not valid:
        flash(_("Give a reason."), "error")
        return redirect(back)
    commit_or_flash(
        lambda: services.revoke_card(
            db.session, actor=current_user, card=card, now=now_utc(), reason=form.reason.data or ""
        ),
        _("Card %(number)s was revoked.", number=card.number),
    )
    return redirect(back)


# --- completion certificates ----------------------------------------------------------


@bp.get("/enrolments/<int:enrolment_id>/certificate.pdf")
@writes_on_get
def completion_pdf(enrolment_id: int) -> ResponseReturnValue:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    require(can_print_certificate(current_user, enrolment))
    back = url_for(
        "training.enrolment_detail", course_id=enrolment.course_id, enrolment_id=enrolment.id
    )

    def build() -> tuple[bytes, str]:
        certificate = services.issue_certificate(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc(), font_path=_font()
        )
        data = services.completion_data(certificate, today=today_in_japan(), font_path=_font())
        body = render_completion_certificate(data, font_path=_font())
        program_id = enrolment.course.program_id
        _audit_download("completion", certificate, program_id, number=certificate.number)
        return body, f"certificate-{certificate.number}.pdf"

    return _download(build, back)


# --- card sheets ----------------------------------------------------------------------


def _sheet_form() -> tuple[SheetForm, list[Program]]:
    require(can_print_sheets(current_user))
    ids = set(coordinator_scope(current_user))
    programs = list(
        db.session.scalars(select(Program).where(Program.id.in_(ids)).order_by(Program.id))
    )
    form = SheetForm()
    locale = select_locale()
    form.program.choices = [SelectChoice(p.code, p.name(locale)) for p in programs]
    return form, programs


@bp.route("/certificates/sheet", methods=["GET", "POST"])
def sheet() -> ResponseReturnValue:
    form, programs = _sheet_form()
    if request.method == "GET" and request.args.get("program"):
        form.program.data = request.args["program"]
    if form.validate_on_submit():
        program = next(p for p in programs if p.code == form.program.data)
        try:
            if form.calibration.data:
                page = render_calibration_page(
                    margin_top_mm=form.margin_top_mm.data,
                    margin_left_mm=form.margin_left_mm.data,
                    gap_mm=form.gap_mm.data or 0.0,
                    font_path=_font(),
                )
                return _pdf(page, "calibration.pdf")
            return _build_sheet(form, program)
        except (ServiceError, PdfInputError) as error:
            db.session.rollback()
            show_service_error(form, error)
    return render_template("certificates/sheet.html", form=form, large=LARGE_SHEET)


def _build_sheet(form: SheetForm, program: Program) -> ResponseReturnValue:
    started = time.perf_counter()
    selection = services.SheetSelection(
        program=program,
        day=today_in_japan(),
        status=form.status.data or "active",
        registered_from=form.registered_from.data,
        registered_to=form.registered_to.data,
        organisation_ids=coordinated_organisation_ids(current_user, program.id),
    )
    registrations = services.select_for_sheet(db.session, selection)
    if not registrations:
        raise ServiceError(None, _("No supporter matches the selection."), code="empty_selection")
    issued = services.issue_sheet(
        db.session,
        actor=current_user,
        registrations=registrations,
        now=now_utc(),
        base_url=_base_url(),
        font_path=_font(),
    )
    if not issued.cards:
        raise ServiceError(None, _("No supporter matches the selection."), code="empty_selection")
    total = len(issued.cards)
    logger = current_app.logger

    def progress(done: int, count: int) -> None:
        if count > LARGE_SHEET and (done % (LARGE_SHEET // 2) == 0 or done == count):
            logger.info("card sheet %s: %d of %d cards drawn", program.code, done, count)

    body = render_card_sheet(
        issued.cards,
        cut_marks=bool(form.cut_marks.data),
        font_path=_font(),
        progress=progress,
        margin_top_mm=form.margin_top_mm.data,
        margin_left_mm=form.margin_left_mm.data,
        gap_mm=form.gap_mm.data or 0.0,
    )
    _audit_download(
        "sheet",
        None,
        program.id,
        cards=total,
        status=selection.status,
        registered_from=selection.registered_from.isoformat()
        if selection.registered_from
        else None,
        registered_to=selection.registered_to.isoformat() if selection.registered_to else None,
        skipped=issued.skipped,
    )
    db.session.commit()
    if issued.skipped:
        flash(
            _(
                "Left out, as their card was revoked and not reissued: %(numbers)s",
                numbers=", ".join(issued.skipped),
            ),
            "info",
        )
    logger.info(
        "card sheet %s: %d cards, %d bytes in %.2f s",
        program.code,
        total,
        len(body),
        time.perf_counter() - started,
    )
    return _pdf(body, f"cards-{program.code}-{selection.day.isoformat()}.pdf")


# --- the public check -----------------------------------------------------------------


def _no_trace(response: Response) -> Response:
    """Nothing of a check should linger: no cache, no referrer, no search engine."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _verify_page(status_code: int, **context: object) -> Response:
    response = Response(
        render_template(
            "certificates/verify.html",
            status_labels=VERIFY_STATUS_LABELS,
            locale=select_locale(),
            **context,
        ),
        status_code,
    )
    return _no_trace(response)


@verify_bp.get("/verify/<code>")
@writes
@public
@limiter.limit(lambda: current_app.config["VERIFY_LIMIT"])
def verify(code: str) -> ResponseReturnValue:
    result = verification.verify(db.session, code, today_in_japan())
    db.session.commit()
    if result is None:
        return _verify_page(404, result=None)
    return _verify_page(200, result=result, checked_on=today_in_japan())


@verify_bp.after_request
def no_session_cookie(response: Response) -> Response:
    """A visitor who is not logged in leaves with no cookie: nothing ties two checks together."""
    if set(session.keys()) <= {"_permanent", "_fresh"}:
        session.clear()
    return response


@verify_bp.errorhandler(429)
def verify_too_many(error: Exception) -> ResponseReturnValue:
    return _verify_page(429, result=None, throttled=True)
