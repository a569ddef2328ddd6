"""Completion pages: completing or taking back a completion by hand, and make-up
attendance at another course's session."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from supporters.core.time import local_date
from supporters.core.web import posted_reason, save
from supporters.db import now_utc
from supporters.extensions import db
from supporters.training.forms import MakeUpForm
from supporters.training.models import CourseSession
from supporters.training.services import completion, sessions
from supporters.training.views.common import bp, managed_enrolment


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/complete")
def complete(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    return _by_hand(course_id, enrolment_id, complete=True)


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/uncomplete")
def uncomplete(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    return _by_hand(course_id, enrolment_id, complete=False)


def _by_hand(course_id: int, enrolment_id: int, *, complete: bool) -> ResponseReturnValue:
    course, enrolment = managed_enrolment(course_id, enrolment_id)
    back = url_for("training.enrolment_detail", course_id=course.id, enrolment_id=enrolment.id)
    reason = posted_reason()
    if reason is None:
        return redirect(back)

    def decide() -> None:
        if complete:
            completion.complete_by_hand(
                db.session,
                actor=current_user,
                enrolment=enrolment,
                reason=reason,
                on=local_date(now_utc()),
            )
        else:
            completion.uncomplete_by_hand(
                db.session, actor=current_user, enrolment=enrolment, reason=reason
            )

    save(decide, success=_("Saved."))
    return redirect(back)


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/make-up")
def make_up(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = managed_enrolment(course_id, enrolment_id)
    form = MakeUpForm()
    form.session_id.choices = [
        SelectChoice(str(s.id), s.topic) for s in sessions.make_up_sessions(db.session, enrolment)
    ]
    back = url_for("training.enrolment_detail", course_id=course.id, enrolment_id=enrolment.id)
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400)
        flash(_("Choose a session."), "error")
        return redirect(back)
    row = db.session.get(CourseSession, int(form.session_id.data or 0))
    if row is None:
        abort(404)
    outcome = save(
        lambda: sessions.record_make_up(
            db.session, actor=current_user, enrolment=enrolment, course_session=row, now=now_utc()
        ),
        success=_("The make-up attendance was recorded."),
    )
    if outcome.value:  # saved, and that completed the course
        flash(_("The course is completed."), "success")
    return redirect(back)
