"""Session pages: adding, editing and deleting a session, the roll call and its
printed sign-in sheet."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user

from supporters.core.forms import ConfirmForm
from supporters.core.web import download, save
from supporters.db import now_utc, writes
from supporters.extensions import db
from supporters.training.forms import SessionForm
from supporters.training.services import sessions
from supporters.training.views.common import bp, load_course, load_session, saved_to_course


def _session_input(form: SessionForm) -> sessions.SessionInput:
    assert form.date.data is not None
    return sessions.SessionInput(
        date=form.date.data,
        start_time=form.start_time.data,
        end_time=form.end_time.data,
        topic=form.topic.data or "",
        required=bool(form.required.data),
    )


@bp.route("/<int:course_id>/sessions/new", methods=["GET", "POST"])
def new_session(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    form = SessionForm()
    saved = saved_to_course(
        course,
        form,
        lambda: sessions.add_session(
            db.session, actor=current_user, course=course, data=_session_input(form)
        ),
        _("The session was added."),
    )
    return saved or render_template(
        "training/session_form.html", form=form, course=course, row=None
    )


@bp.route("/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(course_id: int, session_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    row = load_session(course, session_id)
    form = SessionForm(obj=row)
    saved = saved_to_course(
        course,
        form,
        lambda: sessions.update_session(
            db.session, actor=current_user, course_session=row, data=_session_input(form)
        ),
        _("The session was saved."),
    )
    return saved or render_template(
        "training/session_form.html", form=form, course=course, row=row, confirm=ConfirmForm()
    )


@bp.post("/<int:course_id>/sessions/<int:session_id>/delete")
def delete_session(course_id: int, session_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    row = load_session(course, session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    outcome = save(
        lambda: sessions.delete_session(db.session, actor=current_user, course_session=row),
        success=_("The session was deleted."),
    )
    if not outcome:
        return redirect(
            url_for("training.edit_session", course_id=course.id, session_id=session_id)
        )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.route("/<int:course_id>/sessions/<int:session_id>/roll", methods=["GET", "POST"])
def roll_call(course_id: int, session_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    row = load_session(course, session_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            present = {int(v) for v in request.form.getlist("present")}
        except ValueError:
            abort(400)
        outcome = save(
            lambda: sessions.record_roll_call(
                db.session,
                actor=current_user,
                course_session=row,
                present_ids=present,
                now=now_utc(),
            ),
            success=_("Attendance saved: %(n)d present.", n=len(present)),
        )
        if outcome:
            if outcome.value:
                flash(_("%(n)d trainees completed the course.", n=len(outcome.value)), "success")
            return redirect(url_for("training.roll_call", course_id=course.id, session_id=row.id))
    roll = sessions.roll_call_enrolments(db.session, course)
    people = sessions.people_on_roll(db.session, roll)
    present_ids = sessions.present_enrolment_ids(db.session, row)
    return render_template(
        "training/roll_call.html",
        course=course,
        row=row,
        roll=roll,
        people=people,
        present_ids=present_ids,
        form=form,
    )


@bp.get("/<int:course_id>/sessions/<int:session_id>/sign-in.pdf")
@writes
def sign_in_sheet(course_id: int, session_id: int) -> ResponseReturnValue:
    from supporters.pdf.errors import UnprintableTextError
    from supporters.training.pdf import SignInSheetData, render_sign_in_sheet

    course = load_course(course_id, manage=True)
    row = load_session(course, session_id)
    roll = sessions.roll_call_enrolments(db.session, course)
    people = sessions.people_on_roll(db.session, roll)
    data = SignInSheetData(
        course_title=course.title,
        session_label=row.topic,
        session_date=row.date,
        venue=course.venue,
        rows=[(people[e.person_id].printable_name, people[e.person_id].name_reading) for e in roll],
    )
    try:
        pdf = render_sign_in_sheet(data, font_path=current_app.config.get("PDF_FONT"))
    except UnprintableTextError as error:
        flash(error.message, "error")
        return redirect(url_for("training.roll_call", course_id=course.id, session_id=row.id))
    sessions.record_sign_in_sheet(db.session, actor=current_user, course_session=row)
    db.session.commit()
    return download(
        pdf, mimetype="application/pdf", filename=f"sign-in-{course.id}-{row.id}.pdf", inline=True
    )
