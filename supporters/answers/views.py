"""The one-tap page, `/a/<token>`, reachable without logging in. Opening it (GET) shows the
request as the mail did and changes nothing (mail scanners follow links); only the page's
form (POST, with its CSRF token) answers. A used or expired link says so and offers the
login; an unknown one, or one that is no longer the user's to answer, is not found."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from supporters.answers import services
from supporters.core.forms import ConfirmForm
from supporters.core.web import client_address, public, save
from supporters.db import now_utc
from supporters.dispatch.forms import event_when
from supporters.dispatch.models import Assignment
from supporters.extensions import db, limiter
from supporters.mail.links import AnswerLink, find_link
from supporters.training.models import EnrolmentState

bp = Blueprint("answers", __name__)


def _limit() -> str:
    return str(current_app.config["ANSWER_LINK_LIMIT"])


def _link(token: str) -> AnswerLink:
    link = find_link(db.session, token)
    if link is None:
        abort(404)
    return link


def _login_url(link: AnswerLink) -> str:
    if link.purpose == services.ANSWER_ASSIGNMENT:
        after = url_for("dispatch.my_schedule")
    else:
        after = url_for("training.detail", course_id=link.subject_id)
    return url_for("accounts.login", next=after)


def _closed(link: AnswerLink, state: str) -> str:
    """A used or expired link: says so, shows nothing of the request, offers the login."""
    return render_template("answers/closed.html", state=state, login_url=_login_url(link))


@bp.get("/a/<token>")
@public
@limiter.limit(_limit)
def show(token: str) -> ResponseReturnValue:
    link = _link(token)
    state = services.state_of(link, now_utc())
    if state != "open":
        return _closed(link, state)
    found = services.subject_of(db.session, link)
    if found is None:
        abort(404)
    _user, subject = found
    return render_template(
        "answers/answer.html",
        token=token,
        form=ConfirmForm(),
        assignment=subject if isinstance(subject, Assignment) else None,
        course=None if isinstance(subject, Assignment) else subject,
        when=event_when,
        login_url=_login_url(link),
    )


@bp.post("/a/<token>")
@public
@limiter.limit(_limit)
def answer(token: str) -> ResponseReturnValue:
    link = _link(token)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    choice = request.form.get("answer", "")
    if choice not in services.ANSWERS.get(link.purpose, ()):
        abort(400)
    if services.state_of(link, now_utc()) != "open":
        return redirect(url_for("answers.show", token=token))
    outcome = save(
        lambda: services.answer_by_link(
            db.session, link=link, answer=choice, now=now_utc(), ip_address=client_address()
        )
    )
    if outcome:
        if choice == "confirm":
            message = _("Thank you, you are confirmed.")
        elif choice == "decline":
            message = _("You have declined.")
        elif getattr(outcome.value, "state", None) == EnrolmentState.WAITLISTED:
            message = _("The course is full: you are on the waiting list.")
        else:
            message = _("Your application was received.")
        flash(message, "success")
    return redirect(url_for("answers.show", token=token))
