"""Enrolment pages: enrolling one person, importing a file, the export, an enrolment's
page, confirming and withdrawing, and a supporter's own application."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from supporters.accounts.permissions import contact_for
from supporters.core.forms import ConfirmForm, ReasonForm
from supporters.core.time import local_date
from supporters.core.web import download, require, save, select_locale, show_service_error
from supporters.db import ServiceError, now_utc, writes
from supporters.extensions import db
from supporters.people.models import Person
from supporters.people.services import (
    program_attributes,
    record_attribute_view,
)
from supporters.training.follow_up import current_registration
from supporters.training.forms import EnrolForm, ImportForm, MakeUpForm, attribute_choices
from supporters.training.importer import (
    enrolments_csv,
    import_trainees,
    template_csv,
    template_xlsx,
)
from supporters.training.models import Enrolment, EnrolmentState
from supporters.training.permissions import (
    can_apply,
    can_manage_course,
    can_view_attributes,
    visible_trainee_filter,
)
from supporters.training.services import completion, enrolments, sessions
from supporters.training.views.common import (
    bp,
    labels,
    load_course,
    load_enrolment,
    managed_enrolment,
)


@bp.route("/<int:course_id>/enrol", methods=["GET", "POST"])
def enrol(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    if course.closed_at is not None:
        flash(_("This course is closed."), "error")
        return redirect(url_for("training.detail", course_id=course.id))
    form = EnrolForm()
    form.attribute.choices = attribute_choices(
        program_attributes(db.session, course.program_id), select_locale()
    )
    duplicates: list[Person] = []
    if form.validate_on_submit():
        try:
            match = enrolments.match_person(
                db.session,
                course=course,
                name=form.name.data,
                name_reading=form.name_reading.data,
                email=form.email.data,
                phone=form.phone.data,
                residence=form.residence.data,
                workplace=form.workplace.data,
                attribute=form.attribute.data,
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
            return render_template("training/enrol.html", form=form, course=course, duplicates=[])
        duplicates = match.duplicates
        if duplicates and not form.duplicate.data:  # who is it? ask first, nothing saved
            flash(
                _("A person with the same name, reading and contact already exists. Choose below.")
                if match.same_contact
                else _(
                    "A person with the same name and reading is already in this program. "
                    "If it is the same person, choose their record below."
                ),
                "info",
            )
            return render_template(
                "training/enrol.html", form=form, course=course, duplicates=duplicates
            )
        try:
            outcome = save(
                lambda: enrolments.enrol_match(
                    db.session,
                    actor=current_user,
                    course=course,
                    match=match,
                    choice=form.duplicate.data,
                    override_reason=form.override_reason.data,
                    now=now_utc(),
                ),
                form=form,
            )
        except LookupError:  # a choice that was not offered
            abort(400)
        if outcome.value is not None:  # saved
            name = outcome.value.person.name
            if outcome.value.state == EnrolmentState.WAITLISTED:
                flash(_("%(name)s is on the waiting list: the course is full.", name=name), "info")
            else:
                flash(_("%(name)s is enrolled.", name=name), "success")
            return redirect(url_for("training.enrol", course_id=course.id))
    return render_template("training/enrol.html", form=form, course=course, duplicates=duplicates)


@bp.route("/<int:course_id>/import", methods=["GET", "POST"])
def import_csv(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    if course.closed_at is not None:
        flash(_("This course is closed."), "error")
        return redirect(url_for("training.detail", course_id=course.id))
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        data = form.file.data.read(5 * 1024 * 1024 + 1)
        report = import_trainees(
            db.session, actor=current_user, course=course, data=data, now=now_utc()
        )
        if report.ok:
            enrolments.record_import(
                db.session,
                actor=current_user,
                course=course,
                created=report.created,
                reused=report.reused,
            )
            db.session.commit()
            flash(
                _(
                    "Imported: %(e)d enrolled, %(w)d on the waiting list (%(c)d new people, "
                    "%(r)d already known).",
                    e=report.enrolled,
                    w=report.waitlisted,
                    c=report.created,
                    r=report.reused,
                ),
                "success",
            )
            if report.ignored_columns:
                flash(
                    _(
                        "These columns were not read: %(c)s",
                        c="、".join(report.ignored_columns),
                    ),
                    "info",
                )
            return redirect(url_for("training.detail", course_id=course.id))
        db.session.rollback()
        flash(_("Nothing was imported. Correct the rows below and try again."), "error")
    return render_template("training/import.html", form=form, course=course, report=report)


_TEMPLATES = {
    "csv": (template_csv, "text/csv"),
    "xlsx": (template_xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}


def _template(course_id: int, extension: str) -> ResponseReturnValue:
    """The trainees' template to fill in for the course's program, as CSV or Excel."""
    course = load_course(course_id, manage=True)
    build, mimetype = _TEMPLATES[extension]
    return download(
        build(db.session, course.program),
        mimetype=mimetype,
        filename=f"trainees-template.{extension}",
    )


@bp.get("/<int:course_id>/template.csv")
def csv_template(course_id: int) -> ResponseReturnValue:
    return _template(course_id, "csv")


@bp.get("/<int:course_id>/template.xlsx")
def xlsx_template(course_id: int) -> ResponseReturnValue:
    return _template(course_id, "xlsx")


@bp.get("/<int:course_id>/enrolments.csv")
@writes
def export_csv(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    enrolments.record_export(
        db.session, actor=current_user, course=course, ip_address=request.remote_addr
    )
    body = "\ufeff" + enrolments_csv(db.session, course)
    db.session.commit()
    return download(body.encode("utf-8"), mimetype="text/csv", filename=f"course-{course.id}.csv")


@bp.get("/<int:course_id>/enrolments/<int:enrolment_id>")
@writes
def enrolment_detail(course_id: int, enrolment_id: int) -> str:
    course = load_course(course_id)
    enrolment = load_enrolment(course, enrolment_id)
    trainee_filter = visible_trainee_filter(current_user, course)
    if trainee_filter is None:
        abort(403)
    visible = db.session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.id == enrolment.person_id, trainee_filter)
    )
    require(bool(visible))
    contact = contact_for(
        db.session,
        current_user,
        enrolment.person,
        course.program_id,
        organisation_id=course.organiser_id,
    )
    show_attribute = can_view_attributes(current_user, course)
    if show_attribute:
        record_attribute_view(
            db.session, actor=current_user, person=enrolment.person, program_id=course.program_id
        )
        db.session.commit()
    make_up = MakeUpForm()
    manage = can_manage_course(current_user, course)
    if manage:
        make_up.session_id.choices = [
            SelectChoice(str(s.id), f"{s.date.isoformat()} {s.topic} ({s.course.title})")
            for s in sessions.make_up_sessions(db.session, enrolment)
        ]
    registration = None
    if manage and enrolment.person_id:
        # The register reacts to training; asked here only to offer what can succeed.
        registration = current_registration(db.session, course.program_id, enrolment.person_id)
    return render_template(
        "training/enrolment.html",
        course=course,
        enrolment=enrolment,
        registration=registration,
        person=enrolment.person,
        contact=contact,
        show_attribute=show_attribute,
        can_manage=manage,
        confirm=ConfirmForm(),
        reason_form=ReasonForm(),
        make_up=make_up,
        attended=completion.attended_topics(db.session, enrolment),
        **labels(),
    )


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/withdraw")
def withdraw(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = managed_enrolment(course_id, enrolment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = save(
        lambda: enrolments.withdraw_enrolment(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        ),
        success=_("%(name)s has withdrawn.", name=enrolment.person.name),
    )
    if outcome.value is not None:  # someone moved up
        flash(
            _("%(name)s moved up from the waiting list.", name=outcome.value.person.name),
            "success",
        )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/confirm")
def confirm(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = managed_enrolment(course_id, enrolment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    save(
        lambda: enrolments.confirm_application(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        ),
        success=_("The application is confirmed."),
    )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/apply")
def apply(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id)
    require(can_apply(current_user, course))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person = db.session.get(Person, current_user.person_id)
    assert person is not None
    outcome = save(
        lambda: enrolments.apply_for_course(
            db.session,
            actor=current_user,
            course=course,
            person=person,
            today=local_date(now_utc()),
            now=now_utc(),
        )
    )
    if outcome.value is not None:  # saved
        if outcome.value.state == EnrolmentState.WAITLISTED:
            flash(_("The course is full: you are on the waiting list."), "info")
        else:
            flash(_("Your application was received."), "success")
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/withdraw-mine")
def withdraw_mine(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.person_id == current_user.person_id
        )
    )
    if enrolment is None or current_user.person_id is None:
        abort(404)
    save(
        lambda: enrolments.withdraw_enrolment(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        ),
        success=_("You have withdrawn from the course."),
    )
    return redirect(url_for("training.detail", course_id=course.id))
