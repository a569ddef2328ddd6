"""The register for coordinators, the person page, a supporter's own page, activity reports
and the municipal view of the supporters acting in a municipality."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from supporters.accounts.permissions import coordinated_program_ids, supporter_program_ids
from supporters.audit.services import record_audit
from supporters.core.csv import safe_cell
from supporters.core.dates import parse_day
from supporters.core.forms import ConfirmForm, ReasonForm
from supporters.core.time import local_date, today_in_japan
from supporters.core.web import (
    commit_or_flash,
    hours_text,
    posted_reason,
    require,
    show_service_error,
)
from supporters.db import ServiceError, now_utc, writes
from supporters.extensions import db
from supporters.people.free_text import asks_confirmation
from supporters.people.privacy import contact_for
from supporters.people.services import record_attribute_view
from supporters.programs.models import Municipality, Program, RegistrationMode
from supporters.programs.services import find_municipality
from supporters.registry import services
from supporters.registry.forms import (
    ACTIVITY_LABELS,
    EVENT_LABELS,
    STATUS_LABELS,
    TOPIC_LABELS,
    RegisterForm,
    ReportForm,
)
from supporters.registry.models import ActivityReport, Registration
from supporters.registry.permissions import (
    can_file_report_for,
    can_manage_register,
    can_view_registration,
    own_current_registration_filter,
    staff_places,
)
from supporters.training.forms import ATTRIBUTE_LABELS, STATE_LABELS
from supporters.training.models import Course, CourseKind, Enrolment, EnrolmentState
from supporters.training.permissions import can_manage_course
from supporters.training.services.course_state import (
    follow_up_courses_open,
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


def _place(program: Program, raw: str | None, field: str) -> Municipality | None:
    if not raw or not raw.strip():
        return None
    try:
        return find_municipality(db.session, raw, prefecture=program.prefecture)
    except ServiceError as error:
        raise ServiceError(field, error.message) from error


# --- coordinators: the register -------------------------------------------------------


def _managed_program() -> Program:
    ids = coordinated_program_ids(current_user)
    require(bool(ids))
    code = request.args.get("program")
    programs = db.session.scalars(select(Program).where(Program.id.in_(ids)).order_by(Program.id))
    chosen = next((p for p in programs if p.code == code), None) if code else None
    if chosen is None:
        chosen = db.session.get(Program, min(ids))
    assert chosen is not None
    return chosen


def _register_filter(program: Program) -> services.RegisterFilter:
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
    return services.RegisterFilter(
        program=program,
        day=day,
        status=args.get("status") if args.get("status") in STATUS_LABELS else None,
        query=(args.get("q") or "")[:100],
        municipality_id=municipality_id,
        due_within_days=due if due is not None and 0 <= due <= 3650 else None,
        attribute=args.get("attribute") if args.get("attribute") in ATTRIBUTE_LABELS else None,
    )


@bp.get("/register/")
@writes.when(lambda args: bool(args.get("attribute")))
def register() -> str:
    program = _managed_program()
    flt = _register_filter(program)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    query = services.register_query(flt)
    total = (
        db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    )
    rows = db.session.execute(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    places = {
        m.id: m
        for m in db.session.scalars(
            select(Municipality).where(
                Municipality.id.in_({r.Registration.main_municipality_id for r in rows} - {None})
            )
        )
    }
    counts = services.status_counts(db.session, program, flt.day)
    if flt.attribute:
        record_audit(
            db.session,
            current_user,
            "person.view_attribute_list",
            None,
            program_id=program.id,
            detail={"attribute": flt.attribute},
        )
        db.session.commit()
    programs = db.session.scalars(
        select(Program)
        .where(Program.id.in_(coordinated_program_ids(current_user)))
        .order_by(Program.id)
    ).all()
    return render_template(
        "registry/list.html",
        program=program,
        programs=programs,
        flt=flt,
        rows=rows,
        places=places,
        total=total,
        page=page,
        page_size=PAGE_SIZE,
        counts=counts,
        args={k: v for k, v in request.args.items() if k != "page"},
        follow_up_courses=follow_up_courses_to_enrol(db.session, program, today_in_japan()),
        confirm=ConfirmForm(),
        **_labels(),
    )


@bp.post("/register/enrol")
def enrol_follow_up() -> ResponseReturnValue:
    """Enrol the chosen registered supporters into a follow-up course."""
    require(bool(coordinated_program_ids(current_user)))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    course = db.session.get(Course, request.form.get("course_id", type=int) or 0)
    if course is None:
        flash(_("Choose a follow-up course."), "error")
        return redirect(request.referrer or url_for("registry.register"))
    require(can_manage_course(current_user, course))
    require(can_manage_register(current_user, course.program_id))
    ids = {int(v) for v in request.form.getlist("registration_id") if v.isdigit()}
    registrations = list(
        db.session.scalars(
            select(Registration)
            .where(Registration.id.in_(ids), Registration.program_id == course.program_id)
            .order_by(Registration.id)
        )
    )
    if not registrations:
        flash(_("Choose the supporters to enrol."), "error")
        return redirect(request.referrer or url_for("registry.register"))
    try:
        result = services.enrol_in_follow_up(
            db.session,
            actor=current_user,
            course=course,
            registrations=registrations,
            now=now_utc(),
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(request.referrer or url_for("registry.register"))
    db.session.commit()
    flash(
        _("%(n)d supporters were enrolled in %(t)s.", n=len(result.enrolled), t=course.title),
        "success",
    )
    for message in result.refused:
        flash(message, "info")
    return redirect(url_for("training.detail", course_id=course.id))


@bp.get("/register/export.csv")
@writes
def export() -> Response:
    program = _managed_program()
    flt = _register_filter(program)
    record_audit(
        db.session,
        current_user,
        "export.register",
        None,
        program_id=program.id,
        ip_address=request.remote_addr,
        detail={"status": flt.status, "as_of": flt.day.isoformat(), "q": flt.query},
    )
    db.session.commit()
    places = dict(db.session.execute(select(Municipality.id, Municipality.name)).all())
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(
        [
            "登録番号",
            "氏名",
            "フリガナ",
            "状態",
            "登録日",
            "有効期限",
            "主な活動市町村",
            "メールアドレス",
            "電話番号",
        ]
    )
    for registration, person, status, valid_until in db.session.execute(
        services.register_query(flt)
    ):
        writer.writerow(
            [
                registration.number,
                safe_cell(person.name),
                safe_cell(person.name_reading),
                str(STATUS_LABELS[status]),
                registration.registered_on.isoformat(),
                valid_until.isoformat() if valid_until else "",
                places.get(registration.main_municipality_id, ""),
                safe_cell(person.email or ""),
                safe_cell(person.phone or ""),
            ]
        )
    body = ("\ufeff" + buffer.getvalue()).encode("utf-8")
    name = f"register-{program.code}-{flt.day.isoformat()}.csv"
    return Response(
        body, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"}
    )


def _registration(registration_id: int) -> Registration:
    registration = db.session.get(Registration, registration_id)
    if registration is None:
        abort(404)
    require(can_view_registration(current_user, registration))
    return registration


@bp.get("/register/<int:registration_id>")
@writes
def person_page(registration_id: int) -> str:
    registration = _registration(registration_id)
    manage = can_manage_register(current_user, registration.program_id)
    today = today_in_japan()
    events = services.events_for(db.session, registration)
    status = services.status_on(registration, registration.program, events, today)
    enrolments = db.session.execute(
        select(Enrolment, Course)
        .join(Course, Course.id == Enrolment.course_id)
        .where(
            Enrolment.person_id == registration.person_id,
            Course.program_id == registration.program_id,
        )
        .order_by(Enrolment.applied_at)
    ).all()
    reports = db.session.scalars(
        select(ActivityReport)
        .where(ActivityReport.registration_id == registration.id)
        .order_by(ActivityReport.activity_on.desc())
        .limit(100)
    ).all()
    timeline = _timeline(events, enrolments, reports)
    if manage:
        record_attribute_view(
            db.session,
            actor=current_user,
            person=registration.person,
            program_id=registration.program_id,
        )
        db.session.commit()
    valid_until = services.validity_end_on(registration, events, today)
    return render_template(
        "registry/person.html",
        registration=registration,
        person=registration.person,
        contact=contact_for(db.session, current_user, registration.person, registration.program_id),
        status=status,
        follow_up_due_from=services.follow_up_due_from(registration.program, valid_until),
        follow_up_valid_until=valid_until,
        follow_up_courses=follow_up_courses_to_enrol(db.session, registration.program, today)
        if manage and registration.withdrawn_on is None
        else [],
        timeline=timeline,
        manage=manage,
        reports=reports,
        due=services.reports_due(db.session, registration, registration.program, today),
        totals=services.report_totals(db.session, registration),
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
    require(can_manage_register(current_user, registration.program_id))
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
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        abort(404)
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
        try:
            registration = services.register_enrolment(
                db.session,
                actor=current_user,
                enrolment=enrolment,
                on=form.registered_on.data or today_in_japan(),
                main_municipality=_place(program, form.main_municipality.data, "main_municipality"),
                consent_share_contact=bool(form.consent_share_contact.data),
                form_received=bool(form.form_received.data),
                today=today_in_japan(),
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
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
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    require(can_manage_course(current_user, course))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if course.program.registration_mode == RegistrationMode.ON_REQUEST:
        flash(_("In this program, register each trainee who hands in the form."), "error")
        return redirect(url_for("training.detail", course_id=course.id))
    done = 0
    for enrolment in db.session.scalars(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.state == EnrolmentState.COMPLETED
        )
    ):
        if services.current_registration(db.session, course.program_id, enrolment.person_id):
            continue
        residence = enrolment.person.residence_municipality
        services.register_enrolment(
            db.session,
            actor=current_user,
            enrolment=enrolment,
            on=enrolment.completed_on or today_in_japan(),
            main_municipality=residence
            if residence and residence.prefecture == course.program.prefecture
            else None,
        )
        done += 1
    db.session.commit()
    flash(_("%(n)d trainees were registered.", n=done), "success")
    return redirect(url_for("training.detail", course_id=course.id))


# --- activity reports -----------------------------------------------------------------


def _report_form(registration: Registration) -> ReportForm:
    form = ReportForm()
    meetings = db.session.scalars(
        select(Course)
        .where(Course.program_id == registration.program_id, Course.kind == CourseKind.MEETING)
        .order_by(Course.id.desc())
        .limit(20)
    ).all()
    form.meeting_course_id.choices = [SelectChoice("", _("(none)"))] + [
        SelectChoice(str(c.id), c.title) for c in meetings
    ]
    return form


def _prefill_report(form: ReportForm, registration: Registration) -> None:
    """From a dispatch ("file the activity report" on the schedule): date, hours, kind, place."""
    from supporters.dispatch.models import Assignment

    form.activity_on.data = today_in_japan()
    assignment = db.session.get(Assignment, request.args.get("assignment", type=int) or 0)
    if assignment is None or assignment.registration_id != registration.id:
        return
    event = assignment.event
    form.activity_on.data = local_date(event.starts_at)
    form.hours.data = f"{(event.ends_at - event.starts_at).total_seconds() / 3600:.1f}"
    form.kind.data = event.activity
    form.municipality.data = event.municipality.name


def _report_link(registration: Registration, report_id: int, on_behalf: bool) -> str:
    if on_behalf:
        page = url_for("registry.person_page", registration_id=registration.id)
    else:
        page = url_for("registry.me")
    return f"{page}#report-{report_id}"


def _already_filed(
    registration: Registration, error: services.ReportAlreadyFiled, on_behalf: bool
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
        filed = services.report_for_assignment(db.session, assignment_id)
        if filed is not None and filed.registration_id == registration.id:
            return _already_filed(registration, services.ReportAlreadyFiled(filed), on_behalf)
    form = _report_form(registration)
    if request.method == "GET":
        _prefill_report(form, registration)
    needs_confirm = False
    if form.validate_on_submit():
        try:
            place = _place(registration.program, form.municipality.data, "municipality")
            services.file_report(
                db.session,
                actor=current_user,
                registration=registration,
                today=today_in_japan(),
                on_behalf=on_behalf,
                data=services.ReportInput(
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
        except services.ReportAlreadyFiled as error:
            db.session.rollback()
            return _already_filed(registration, error, on_behalf)
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
            needs_confirm = asks_confirmation(error)
        else:
            db.session.commit()
            flash(_("Thank you. The report was filed."), "success")
            if on_behalf:
                return redirect(url_for("registry.person_page", registration_id=registration.id))
            return redirect(url_for("registry.me"))
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
        lambda: services.declare_no_activity(
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
    registrations = db.session.scalars(
        select(Registration)
        .where(own_current_registration_filter(current_user))
        .order_by(Registration.registered_on.desc())
    ).all()
    cards = []
    for registration in registrations:
        program = registration.program
        events = services.events_for(db.session, registration)
        status = services.status_on(registration, program, events, today)
        follow_ups: list[Course] = []
        if status in ("follow_up_due", "lapsed") or not program.follow_up_mandatory:
            follow_ups = follow_up_courses_open(db.session, program, today, limit=3)
        reports = db.session.scalars(
            select(ActivityReport)
            .where(ActivityReport.registration_id == registration.id)
            .order_by(ActivityReport.activity_on.desc())
            .limit(10)
        ).all()
        cards.append(
            {
                "registration": registration,
                "program": program,
                "status": status,
                "valid_until": services.validity_end_on(registration, events, today),
                "due": services.reports_due(db.session, registration, program, today),
                "follow_ups": follow_ups,
                "reports": reports,
            }
        )
    return render_template(
        "registry/me.html", cards=cards, today=today, confirm=ConfirmForm(), **_labels()
    )


# --- municipal staff ------------------------------------------------------------------


@bp.get("/municipality/supporters")
def municipal_supporters() -> str:
    places = staff_places(current_user)
    require(bool(places))
    today = today_in_japan()
    program_ids = {g.program_id for g in current_user.active_grants if g.role == "municipal_staff"}
    sections = []
    for program in db.session.scalars(select(Program).where(Program.id.in_(program_ids))):
        flt = services.RegisterFilter(program=program, day=today)
        rows = db.session.execute(
            services.register_query(flt, municipality_ids=places)
            .where(Registration.withdrawn_on.is_(None))
            .limit(500)
        ).all()
        sections.append((program, rows))
    return render_template("registry/staff_list.html", sections=sections, **_labels())
