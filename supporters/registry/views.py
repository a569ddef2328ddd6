"""The register for coordinators, the person page, a supporter's own page, activity reports
and the municipal view of the supporters acting in a municipality."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from supporters.accounts.permissions import (
    contact_for,
    supporter_program_ids,
)
from supporters.core.dates import parse_day
from supporters.core.forms import ConfirmForm, ReasonForm
from supporters.core.time import today_in_japan
from supporters.core.web import commit_or_flash, download, hours_text, posted_reason, require, save
from supporters.db import ServiceError, now_utc, writes
from supporters.extensions import db
from supporters.people.free_text import asks_confirmation
from supporters.people.services import record_attribute_view
from supporters.programs.models import Organisation, Program, RegistrationMode
from supporters.programs.permissions import coordinated_organisation_ids, coordinator_scope
from supporters.programs.services import find_municipality
from supporters.registry import activity_reports, queries, services
from supporters.registry.forms import (
    ACTIVITY_LABELS,
    EVENT_LABELS,
    STATUS_LABELS,
    TOPIC_LABELS,
    RegisterForm,
    ReportForm,
)
from supporters.registry.models import Registration
from supporters.registry.permissions import (
    can_file_report_for,
    can_manage_registration,
    can_view_registration,
    staff_places,
)
from supporters.training.forms import ATTRIBUTE_LABELS, STATE_LABELS
from supporters.training.models import Course, Enrolment
from supporters.training.permissions import can_manage_course
from supporters.training.services.course_state import (
    follow_up_courses_to_enrol,
)

bp = Blueprint("registry", __name__)

PAGE_SIZE = 50


def _labels() -> dict[str, object]:
    return {
        "status_labels": STATUS_LABELS,
        "activity_labels": ACTIVITY_LABELS,
        "topic_labels": TOPIC_LABELS,
        "event_labels": EVENT_LABELS,
        "attribute_labels": ATTRIBUTE_LABELS,
    }


# --- coordinators: the register -------------------------------------------------------


def _managed_program() -> Program:
    ids = set(coordinator_scope(current_user))
    require(bool(ids))
    return queries.chosen_program(db.session, ids, request.args.get("program"))


def _own_courses(courses: list[Course]) -> list[Course]:
    """The follow-up courses offered: those the user runs (all of the program's for its
    coordinators, the organisation's own for an organisation's)."""
    return [course for course in courses if can_manage_course(current_user, course)]


def _shown_organisations(program: Program) -> tuple[list[Organisation], frozenset[int] | None]:
    """The issuing organisations the user may split the register by, and those shown: an
    organisation's coordinators see their own; the program's all, or the one chosen."""
    held = coordinated_organisation_ids(current_user, program.id)
    choices = [o for o in program.organisations if held is None or o.id in held]
    chosen = request.args.get("organisation", type=int)
    if chosen is not None and any(o.id == chosen for o in choices):
        return choices, frozenset({chosen})
    return choices, held


def _register_filter(program: Program) -> queries.RegisterFilter:
    args = request.args
    try:
        day = parse_day(args["as_of"]) if args.get("as_of") else today_in_japan()
    except ValueError:
        flash(_("The date %(d)s is not valid; showing today.", d=args.get("as_of")), "error")
        day = today_in_japan()
    municipality_id = None
    if args.get("municipality"):
        try:
            municipality_id = find_municipality(
                db.session, args["municipality"], prefecture=program.prefecture
            ).id
        except ServiceError as error:
            flash(error.message, "error")
    due = args.get("due", type=int)
    return queries.RegisterFilter(
        program=program,
        day=day,
        status=args.get("status") if args.get("status") in STATUS_LABELS else None,
        query=(args.get("q") or "")[:100],
        municipality_id=municipality_id,
        due_within_days=due if due is not None and 0 <= due <= 3650 else None,
        attribute=args.get("attribute") if args.get("attribute") in ATTRIBUTE_LABELS else None,
        organisation_ids=_shown_organisations(program)[1],
    )


@bp.get("/register/")
@writes.when(lambda args: bool(args.get("attribute")))
def register() -> str:
    program = _managed_program()
    flt = _register_filter(program)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = queries.register_page(
        db.session, flt, actor=current_user, page=page, page_size=PAGE_SIZE
    )
    if flt.attribute:
        db.session.commit()  # the audit row of who listed by attribute
    return render_template(
        "registry/list.html",
        program=program,
        programs=queries.programs_by_id(db.session, set(coordinator_scope(current_user))),
        organisations=_shown_organisations(program)[0],
        flt=flt,
        rows=found.rows,
        places=found.places,
        total=found.total,
        page=page,
        page_size=PAGE_SIZE,
        counts=found.counts,
        args={k: v for k, v in request.args.items() if k != "page"},
        follow_up_courses=_own_courses(
            follow_up_courses_to_enrol(db.session, program, today_in_japan())
        ),
        confirm=ConfirmForm(),
        **_labels(),
    )


@bp.post("/register/enrol")
def enrol_follow_up() -> ResponseReturnValue:
    """Enrol the chosen registered supporters into a follow-up course."""
    require(bool(coordinator_scope(current_user)))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    course = db.session.get(Course, request.form.get("course_id", type=int) or 0)
    if course is None:
        flash(_("Choose a follow-up course."), "error")
        return redirect(request.referrer or url_for("registry.register"))
    require(can_manage_course(current_user, course))
    ids = {int(v) for v in request.form.getlist("registration_id") if v.isdigit()}
    registrations = [
        registration
        for registration in queries.registrations_of_program(db.session, ids, course.program_id)
        if can_manage_registration(current_user, registration)
    ]
    if not registrations:
        flash(_("Choose the supporters to enrol."), "error")
        return redirect(request.referrer or url_for("registry.register"))
    outcome = save(
        lambda: services.enrol_in_follow_up(
            db.session,
            actor=current_user,
            course=course,
            registrations=registrations,
            now=now_utc(),
        )
    )
    if not outcome or outcome.value is None:
        return redirect(request.referrer or url_for("registry.register"))
    flash(
        _(
            "%(n)d supporters were enrolled in %(t)s.",
            n=len(outcome.value.enrolled),
            t=course.title,
        ),
        "success",
    )
    for message in outcome.value.refused:
        flash(message, "info")
    return redirect(url_for("training.detail", course_id=course.id))


@bp.get("/register/export.csv")
@writes
def export() -> Response:
    program = _managed_program()
    flt = _register_filter(program)
    body = queries.export_register(
        db.session, flt, actor=current_user, ip_address=request.remote_addr
    )
    db.session.commit()
    name = f"register-{program.code}-{flt.day.isoformat()}.csv"
    return download(body, mimetype="text/csv", filename=name)


def _registration(registration_id: int) -> Registration:
    registration = db.get_or_404(Registration, registration_id)
    require(can_view_registration(current_user, registration))
    return registration


@bp.get("/register/<int:registration_id>")
@writes
def person_page(registration_id: int) -> str:
    registration = _registration(registration_id)
    manage = can_manage_registration(current_user, registration)
    today = today_in_japan()
    found = queries.person_page(db.session, registration, today)
    if manage:
        record_attribute_view(
            db.session,
            actor=current_user,
            person=registration.person,
            program_id=registration.program_id,
        )
        db.session.commit()
    return render_template(
        "registry/person.html",
        registration=registration,
        person=registration.person,
        contact=contact_for(
            db.session,
            current_user,
            registration.person,
            registration.program_id,
            organisation_id=registration.issuing_organisation_id,
        ),
        status=found.status,
        follow_up_due_from=found.follow_up_due_from,
        follow_up_valid_until=found.valid_until,
        follow_up_courses=_own_courses(
            follow_up_courses_to_enrol(db.session, registration.program, today)
        )
        if manage and registration.withdrawn_on is None
        else [],
        timeline=_timeline(found.events, found.enrolments, found.reports),
        manage=manage,
        reports=found.reports,
        due=found.due,
        totals=found.totals,
        confirm=ConfirmForm(),
        reason_form=ReasonForm(),
        today=today,
        **_labels(),
    )


def _timeline(events: Any, enrolments: Any, reports: Any) -> list[tuple[date, str, str]]:
    """(date, kind, text) rows, newest first."""
    rows: list[tuple[date, str, str]] = []
    for event in events:
        text = str(EVENT_LABELS[event.kind])
        if event.valid_until:
            text += " — " + _("valid until %(d)s", d=event.valid_until.isoformat())
        if event.reason:
            text += f" ({event.reason})"
        rows.append((event.occurred_on, "registration", text))
    for enrolment, course in enrolments:
        day = enrolment.completed_on or enrolment.applied_at.date()
        rows.append((day, "training", f"{course.title}: {STATE_LABELS[enrolment.state]}"))
    for report in reports:
        rows.append(
            (
                report.activity_on,
                "report",
                f"{ACTIVITY_LABELS[report.kind]} " + _("%(h)s hours", h=hours_text(report.hours)),
            )
        )
    return sorted(rows, key=lambda row: row[0], reverse=True)


def _state_change(registration_id: int, action: str) -> ResponseReturnValue:
    registration = _registration(registration_id)
    require(can_manage_registration(current_user, registration))
    back = url_for("registry.person_page", registration_id=registration.id)
    if action == "suspend":
        reason = posted_reason()
        if reason is None:
            return redirect(back)
    else:
        if not ConfirmForm().validate_on_submit():
            abort(400)
        reason = request.form.get("reason", "")

    def change() -> None:
        if action == "suspend":
            services.suspend(
                db.session,
                actor=current_user,
                registration=registration,
                on=today_in_japan(),
                reason=reason,
            )
        elif action == "reinstate":
            services.reinstate(
                db.session, actor=current_user, registration=registration, on=today_in_japan()
            )
        else:
            services.withdraw(
                db.session,
                actor=current_user,
                registration=registration,
                on=today_in_japan(),
                reason=reason,
            )

    commit_or_flash(change, _("Saved."))
    return redirect(back)


@bp.post("/register/<int:registration_id>/suspend")
def suspend(registration_id: int) -> ResponseReturnValue:
    return _state_change(registration_id, "suspend")


@bp.post("/register/<int:registration_id>/reinstate")
def reinstate(registration_id: int) -> ResponseReturnValue:
    return _state_change(registration_id, "reinstate")


@bp.post("/register/<int:registration_id>/withdraw")
def withdraw(registration_id: int) -> ResponseReturnValue:
    return _state_change(registration_id, "withdraw")


# --- registering ----------------------------------------------------------------------


def _enrolment_for_registration(enrolment_id: int) -> Enrolment:
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    require(can_manage_course(current_user, enrolment.course))
    return enrolment


@bp.route("/register/new/<int:enrolment_id>", methods=["GET", "POST"])
def register_enrolment(enrolment_id: int) -> ResponseReturnValue:
    enrolment = _enrolment_for_registration(enrolment_id)
    program = enrolment.course.program
    form = RegisterForm()
    if request.method == "GET":
        form.registered_on.data = enrolment.completed_on or today_in_japan()
        residence = enrolment.person.residence_municipality
        if residence and residence.prefecture == program.prefecture:
            form.main_municipality.data = residence.name
    if form.validate_on_submit():
        outcome = save(
            lambda: services.register_enrolment(
                db.session,
                actor=current_user,
                enrolment=enrolment,
                on=form.registered_on.data or today_in_japan(),
                main_municipality=services.find_place(
                    db.session, program, form.main_municipality.data, "main_municipality"
                ),
                consent_share_contact=bool(form.consent_share_contact.data),
                form_received=bool(form.form_received.data),
                today=today_in_japan(),
            ),
            form=form,
        )
        if outcome and outcome.value is not None:
            registration = outcome.value
            flash(_("Registered as %(number)s.", number=registration.number), "success")
            return redirect(url_for("registry.person_page", registration_id=registration.id))
    return render_template(
        "registry/register_form.html",
        form=form,
        enrolment=enrolment,
        program=program,
        on_request=program.registration_mode == RegistrationMode.ON_REQUEST,
    )


@bp.post("/courses/<int:course_id>/register-completed")
def register_completed(course_id: int) -> ResponseReturnValue:
    """Register everyone who completed the course and is not registered yet, in one step.
    Programs where registration is optional register one by one, by form."""
    course = db.get_or_404(Course, course_id)
    require(can_manage_course(current_user, course))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = save(
        lambda: services.register_completed(
            db.session, actor=current_user, course=course, today=today_in_japan()
        )
    )
    if outcome:
        flash(_("%(n)d trainees were registered.", n=outcome.value or 0), "success")
    return redirect(url_for("training.detail", course_id=course.id))


# --- activity reports -----------------------------------------------------------------


def _report_form(registration: Registration) -> ReportForm:
    form = ReportForm()
    form.meeting_course_id.choices = [SelectChoice("", _("(none)"))] + [
        SelectChoice(str(c.id), c.title)
        for c in activity_reports.recent_meetings(db.session, registration)
    ]
    return form


def _prefill_report(form: ReportForm, registration: Registration) -> None:
    """From a dispatch ("file the activity report" on the schedule): date, hours, kind, place."""
    form.activity_on.data = today_in_japan()
    prefill = activity_reports.report_prefill(
        db.session, registration, request.args.get("assignment", type=int)
    )
    if prefill is None:
        return
    form.activity_on.data = prefill["activity_on"]
    form.hours.data = prefill["hours"]
    form.kind.data = prefill["kind"]
    form.municipality.data = prefill["municipality"]


def _report_link(registration: Registration, report_id: int, on_behalf: bool) -> str:
    if on_behalf:
        page = url_for("registry.person_page", registration_id=registration.id)
    else:
        page = url_for("registry.me")
    return f"{page}#report-{report_id}"


def _already_filed(
    registration: Registration, error: activity_reports.ReportAlreadyFiled, on_behalf: bool
) -> ResponseReturnValue:
    flash(error.message, "info")
    return redirect(_report_link(registration, error.report.id, on_behalf))


@bp.route("/register/<int:registration_id>/reports/new", methods=["GET", "POST"])
def new_report(registration_id: int) -> ResponseReturnValue:
    registration = _registration(registration_id)
    require(can_file_report_for(current_user, registration))
    on_behalf = registration.person_id != current_user.person_id
    assignment_id = request.args.get("assignment", type=int)
    if assignment_id is not None:
        filed = activity_reports.report_for_assignment(db.session, assignment_id)
        if filed is not None and filed.registration_id == registration.id:
            return _already_filed(
                registration, activity_reports.ReportAlreadyFiled(filed), on_behalf
            )
    form = _report_form(registration)
    if request.method == "GET":
        _prefill_report(form, registration)
    needs_confirm = False
    if form.validate_on_submit():

        def file() -> activity_reports.ReportAlreadyFiled | None:
            place = services.find_place(
                db.session, registration.program, form.municipality.data, "municipality"
            )
            try:
                activity_reports.file_report(
                    db.session,
                    actor=current_user,
                    registration=registration,
                    today=today_in_japan(),
                    on_behalf=on_behalf,
                    data=activity_reports.ReportInput(
                        activity_on=form.activity_on.data,
                        hours=form.hours.data,
                        kind=form.kind.data or "",
                        municipality_id=place.id if place else None,
                        topics=list(form.topics.data or []),
                        note=form.note.data or "",
                        meeting_course_id=int(form.meeting_course_id.data)
                        if form.meeting_course_id.data
                        else None,
                        assignment_id=assignment_id,
                        note_confirmed=bool(form.confirm_free_text.data),
                    ),
                )
            except activity_reports.ReportAlreadyFiled as error:
                db.session.rollback()  # not a mistake on the form: the page links to the first
                return error
            return None

        outcome = save(file, form=form)
        if outcome and outcome.value is not None:
            return _already_filed(registration, outcome.value, on_behalf)
        if outcome:
            flash(_("Thank you. The report was filed."), "success")
            if on_behalf:
                return redirect(url_for("registry.person_page", registration_id=registration.id))
            return redirect(url_for("registry.me"))
        needs_confirm = outcome.error is not None and asks_confirmation(outcome.error)
    return render_template(
        "registry/report_form.html",
        form=form,
        registration=registration,
        on_behalf=on_behalf,
        needs_confirm=needs_confirm,
    )


@bp.post("/register/<int:registration_id>/no-activity")
def declare_no_activity(registration_id: int) -> ResponseReturnValue:
    """活動なし for a fiscal year, in place of that year's report."""
    registration = _registration(registration_id)
    require(can_file_report_for(current_user, registration))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    on_behalf = registration.person_id != current_user.person_id
    year = request.form.get("year", type=int)
    back = (
        url_for("registry.person_page", registration_id=registration.id)
        if on_behalf
        else url_for("registry.me")
    )
    if year is None:
        flash(_("Choose the fiscal year."), "error")
        return redirect(back)
    commit_or_flash(
        lambda: activity_reports.declare_no_activity(
            db.session,
            actor=current_user,
            registration=registration,
            year=year,
            today=today_in_japan(),
            on_behalf=on_behalf,
        ),
        _("Recorded: no activity in fiscal year %(y)d.", y=year),
    )
    return redirect(back)


# --- a supporter's own page -----------------------------------------------------------


@bp.get("/me")
def me() -> ResponseReturnValue:
    if current_user.person_id is None or not supporter_program_ids(current_user):
        return redirect(url_for("main.index"))
    today = today_in_japan()
    return render_template(
        "registry/me.html",
        cards=queries.supporter_cards(db.session, current_user, today),
        today=today,
        confirm=ConfirmForm(),
        **_labels(),
    )


# --- municipal staff ------------------------------------------------------------------


@bp.get("/municipality/supporters")
def municipal_supporters() -> str:
    places = staff_places(current_user)
    require(bool(places))
    program_ids = {g.program_id for g in current_user.active_grants if g.role == "municipal_staff"}
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    found = queries.municipal_page(db.session, program_ids, places, page=page, page_size=PAGE_SIZE)
    return render_template(
        "registry/staff_list.html",
        sections=found.sections,
        total=found.total,
        page=page,
        page_size=PAGE_SIZE,
        **_labels(),
    )
