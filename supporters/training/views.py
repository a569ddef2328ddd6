"""Courses, sessions, enrolment, roll call and completion."""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
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
from flask_login import current_user
from sqlalchemy import func, select
from wtforms import SelectChoice

from supporters.accounts.permissions import coordinated_program_ids
from supporters.audit.services import record_audit
from supporters.core.eras import fiscal_year_label
from supporters.core.forms import ConfirmForm, ReasonForm
from supporters.core.time import local_date
from supporters.core.web import commit_or_flash, posted_reason, require, show_service_error
from supporters.db import ServiceError, now_utc, writes
from supporters.extensions import db
from supporters.people.models import Person
from supporters.people.privacy import contact_for
from supporters.people.services import (
    clean_person_input,
    create_person,
    find_duplicates,
    record_attribute_view,
)
from supporters.programs.models import Municipality, Organisation, Program
from supporters.programs.services import find_municipality
from supporters.training.follow_up import current_registration
from supporters.training.forms import (
    ATTRIBUTE_LABELS,
    KIND_LABELS,
    STATE_LABELS,
    CourseForm,
    EnrolForm,
    ImportForm,
    MakeUpForm,
    SessionForm,
    attribute_choices,
)
from supporters.training.importer import (
    enrolments_csv,
    import_trainees,
    template_csv,
    template_xlsx,
)
from supporters.training.models import Course, CourseSession, Enrolment, EnrolmentState
from supporters.training.permissions import (
    can_apply,
    can_create_course,
    can_manage_course,
    can_view_attribute_figures,
    can_view_attributes,
    can_view_course,
    visible_course_filter,
    visible_trainee_filter,
)
from supporters.training.services import completion, course_state, courses, enrolments, sessions

bp = Blueprint("training", __name__, url_prefix="/courses")

COURSES_PER_PAGE = 30
ENROLMENTS_PER_PAGE = 100


def _labels() -> dict[str, object]:
    return {
        "kind_labels": KIND_LABELS,
        "state_labels": STATE_LABELS,
        "attribute_labels": ATTRIBUTE_LABELS,
    }


def _course(course_id: int, *, manage: bool = False) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        abort(404)
    require(
        can_manage_course(current_user, course) if manage else can_view_course(current_user, course)
    )
    return course


def _session(course: Course, session_id: int) -> CourseSession:
    row = db.session.get(CourseSession, session_id)
    if row is None or row.course_id != course.id:
        abort(404)
    return row


def _enrolment(course: Course, enrolment_id: int) -> Enrolment:
    row = db.session.get(Enrolment, enrolment_id)
    if row is None or row.course_id != course.id:
        abort(404)
    return row


@bp.get("/")
def index() -> str:
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    kind = request.args.get("kind") or None
    query = select(Course).where(visible_course_filter(current_user))
    if kind in KIND_LABELS:
        query = query.where(Course.kind == kind)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    first_session = (
        select(CourseSession.course_id, func.min(CourseSession.date).label("first_on"))
        .group_by(CourseSession.course_id)
        .subquery()
    )
    rows = db.session.execute(
        query.add_columns(first_session.c.first_on)
        .outerjoin(first_session, first_session.c.course_id == Course.id)
        .order_by(first_session.c.first_on.desc().nulls_last(), Course.id.desc())
        .limit(COURSES_PER_PAGE)
        .offset((page - 1) * COURSES_PER_PAGE)
    ).all()
    ids = [course.id for course, _first in rows]
    counts: dict[int, dict[str, int]] = {}
    for course_id, state, count in db.session.execute(
        select(Enrolment.course_id, Enrolment.state, func.count())
        .where(Enrolment.course_id.in_(ids))
        .group_by(Enrolment.course_id, Enrolment.state)
    ):
        counts.setdefault(course_id, {})[state] = count
    return render_template(
        "training/index.html",
        rows=rows,
        counts=counts,
        total=total,
        page=page,
        page_size=COURSES_PER_PAGE,
        kind=kind,
        can_create=can_create_course(current_user),
        **_labels(),
    )


def _fill_course_choices(form: CourseForm, program_ids: set[int]) -> None:
    programs = db.session.scalars(
        select(Program).where(Program.id.in_(program_ids)).order_by(Program.id)
    ).all()
    form.program_id.choices = [SelectChoice(str(p.id), p.name_ja) for p in programs]
    organisations = db.session.scalars(
        select(Organisation)
        .where(Organisation.program_id.in_(program_ids))
        .order_by(Organisation.program_id, Organisation.id)
    ).all()
    form.organiser_id.choices = [
        SelectChoice(
            str(o.id), f"{o.name}" if len(programs) == 1 else f"{o.name} ({o.program.code})"
        )
        for o in organisations
    ]


def _course_input(form: CourseForm) -> courses.CourseInput:
    return courses.CourseInput(
        kind=form.kind.data or "",
        organiser_id=int(form.organiser_id.data or 0),
        title=form.title.data or "",
        venue=(form.venue.data or "").strip(),
        capacity=form.capacity.data,
        application_opens_on=form.application_opens_on.data,
        application_closes_on=form.application_closes_on.data,
        notes=(form.notes.data or "").strip(),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    program_ids = coordinated_program_ids(current_user)
    require(bool(program_ids))
    form = CourseForm()
    _fill_course_choices(form, program_ids)
    if form.validate_on_submit():
        program = db.session.get(Program, int(form.program_id.data or 0))
        if program is None or program.id not in program_ids:
            abort(403)
        try:
            course = courses.create_course(
                db.session,
                actor=current_user,
                program=program,
                data=_course_input(form),
                first_session_on=form.first_session_on.data,
                use_curriculum=bool(form.use_curriculum.data),
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
            flash(_("The course was created."), "success")
            return redirect(url_for("training.detail", course_id=course.id))
    return render_template("training/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
def edit(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    form = CourseForm(obj=course)
    _fill_course_choices(form, {course.program_id})
    if request.method == "GET":
        form.program_id.data = str(course.program_id)
        form.organiser_id.data = str(course.organiser_id)
    if form.validate_on_submit():
        try:
            courses.update_course(
                db.session, actor=current_user, course=course, data=_course_input(form)
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
            flash(_("The course was saved."), "success")
            return redirect(url_for("training.detail", course_id=course.id))
    return render_template("training/course_form.html", form=form, course=course)


@bp.get("/<int:course_id>")
def detail(course_id: int) -> str:
    course = _course(course_id)
    trainee_filter = visible_trainee_filter(current_user, course)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    enrolments: list[tuple[Enrolment, Person]] = []
    total = 0
    if trainee_filter is not None:
        query = (
            select(Enrolment, Person)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, trainee_filter)
        )
        total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        enrolments = [
            (e, p)
            for e, p in db.session.execute(
                query.order_by(Person.name_reading, Person.id)
                .limit(ENROLMENTS_PER_PAGE)
                .offset((page - 1) * ENROLMENTS_PER_PAGE)
            )
        ]
    figures = courses.course_figures(db.session, course)
    mine = None
    if current_user.person_id:
        mine = db.session.scalar(
            select(Enrolment).where(
                Enrolment.course_id == course.id, Enrolment.person_id == current_user.person_id
            )
        )
    return render_template(
        "training/detail.html",
        course=course,
        figures=figures,
        enrolments=enrolments,
        total=total,
        page=page,
        page_size=ENROLMENTS_PER_PAGE,
        can_manage=can_manage_course(current_user, course),
        show_attributes=can_view_attribute_figures(current_user, course.program_id),
        can_apply=can_apply(current_user, course),
        application_problem=course_state.application_problem(course, local_date(now_utc())),
        course_over=course_state.course_is_over(course, now_utc()),
        today=local_date(now_utc()),
        mine=mine,
        confirm=ConfirmForm(),
        fiscal_year_label=fiscal_year_label,
        **_labels(),
    )


@bp.route("/<int:course_id>/close", methods=["GET", "POST"])
def close(course_id: int) -> ResponseReturnValue:
    """Closing asks first: the page says who will be marked as not completed."""
    course = _course(course_id, manage=True)
    form = ConfirmForm()
    now = now_utc()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        try:
            count = courses.close_course(db.session, actor=current_user, course=course, now=now)
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("The course is closed: %(n)d trainees did not complete.", n=count), "success")
        return redirect(url_for("training.detail", course_id=course.id))
    problem = None
    if course.closed_at is not None:
        problem = _("This course is already closed.")
    elif not course_state.course_is_over(course, now):
        problem = _("The course can be closed once its last session is over.")
    figures = courses.course_figures(db.session, course)
    return render_template(
        "training/close.html",
        course=course,
        form=form,
        problem=problem,
        not_completing=figures.by_state.get(EnrolmentState.CONFIRMED, 0),
        completed=figures.completed,
    )


# --- sessions -------------------------------------------------------------------------


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
    course = _course(course_id, manage=True)
    form = SessionForm()
    if form.validate_on_submit():
        try:
            sessions.add_session(
                db.session, actor=current_user, course=course, data=_session_input(form)
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
            flash(_("The session was added."), "success")
            return redirect(url_for("training.detail", course_id=course.id))
    return render_template("training/session_form.html", form=form, course=course, row=None)


@bp.route("/<int:course_id>/sessions/<int:session_id>/edit", methods=["GET", "POST"])
def edit_session(course_id: int, session_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    row = _session(course, session_id)
    form = SessionForm(obj=row)
    if form.validate_on_submit():
        try:
            sessions.update_session(
                db.session, actor=current_user, course_session=row, data=_session_input(form)
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
            flash(_("The session was saved."), "success")
            return redirect(url_for("training.detail", course_id=course.id))
    return render_template(
        "training/session_form.html", form=form, course=course, row=row, confirm=ConfirmForm()
    )


@bp.post("/<int:course_id>/sessions/<int:session_id>/delete")
def delete_session(course_id: int, session_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    row = _session(course, session_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        sessions.delete_session(db.session, actor=current_user, course_session=row)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(
            url_for("training.edit_session", course_id=course.id, session_id=session_id)
        )
    db.session.commit()
    flash(_("The session was deleted."), "success")
    return redirect(url_for("training.detail", course_id=course.id))


@bp.route("/<int:course_id>/sessions/<int:session_id>/roll", methods=["GET", "POST"])
def roll_call(course_id: int, session_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    row = _session(course, session_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            present = {int(v) for v in request.form.getlist("present")}
        except ValueError:
            abort(400)
        try:
            completed = sessions.record_roll_call(
                db.session,
                actor=current_user,
                course_session=row,
                present_ids=present,
                now=now_utc(),
            )
        except ServiceError as error:
            db.session.rollback()
            flash(error.message, "error")
        else:
            db.session.commit()
            flash(_("Attendance saved: %(n)d present.", n=len(present)), "success")
            if completed:
                flash(_("%(n)d trainees completed the course.", n=len(completed)), "success")
            return redirect(url_for("training.roll_call", course_id=course.id, session_id=row.id))
    roll = sessions.roll_call_enrolments(db.session, course)
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.id.in_([e.person_id for e in roll]))
        )
    }
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


# --- enrolment ------------------------------------------------------------------------


def _find_place(course: Course, raw: str | None, field: str) -> Municipality | None:
    """A bare name means the program's prefecture first, then anywhere in Japan."""
    if not raw or not raw.strip():
        return None
    try:
        return find_municipality(db.session, raw, prefecture=course.program.prefecture)
    except ServiceError:
        pass
    try:
        return find_municipality(db.session, raw)
    except ServiceError as error:
        raise ServiceError(field, error.message) from error


@bp.route("/<int:course_id>/enrol", methods=["GET", "POST"])
def enrol(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    if course.closed_at is not None:
        flash(_("This course is closed."), "error")
        return redirect(url_for("training.detail", course_id=course.id))
    form = EnrolForm()
    form.attribute.choices = attribute_choices()
    duplicates: list[Person] = []
    if form.validate_on_submit():
        try:
            # Before looking for duplicates: two pages enrolling the same person at the
            # same moment then find each other instead of creating the person twice.
            course_state.lock_course(db.session, course)
            residence = _find_place(course, form.residence.data, "residence")
            work = _find_place(course, form.workplace.data, "workplace")
            data = clean_person_input(
                name=form.name.data,
                name_reading=form.name_reading.data,
                email=form.email.data,
                phone=form.phone.data,
                residence=residence,
                work=work,
                attribute=form.attribute.data or None,
            )
            duplicates = find_duplicates(db.session, data, program_id=course.program_id)
            same_contact = bool(duplicates)
            if not duplicates:
                duplicates = enrolments.same_name_in_program(db.session, course.program, data)
            choice = form.duplicate.data
            if duplicates and not choice:
                flash(
                    _(
                        "A person with the same name, reading and contact already exists. "
                        "Choose below."
                    )
                    if same_contact
                    else _(
                        "A person with the same name and reading is already in this program. "
                        "If it is the same person, choose their record below."
                    ),
                    "info",
                )
                return render_template(
                    "training/enrol.html", form=form, course=course, duplicates=duplicates
                )
            if choice and choice != "new":
                person = next((p for p in duplicates if str(p.id) == choice), None)
                if person is None:
                    abort(400)
            else:
                person = create_person(db.session, actor=current_user, data=data)
            enrolment = enrolments.enrol_person(
                db.session,
                actor=current_user,
                course=course,
                person=person,
                now=now_utc(),
                override_reason=form.override_reason.data,
            )
        except ServiceError as error:
            db.session.rollback()
            show_service_error(form, error)
        else:
            db.session.commit()
            if enrolment.state == EnrolmentState.WAITLISTED:
                flash(
                    _("%(name)s is on the waiting list: the course is full.", name=person.name),
                    "info",
                )
            else:
                flash(_("%(name)s is enrolled.", name=person.name), "success")
            return redirect(url_for("training.enrol", course_id=course.id))
    return render_template("training/enrol.html", form=form, course=course, duplicates=duplicates)


@bp.route("/<int:course_id>/import", methods=["GET", "POST"])
def import_csv(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
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
            record_audit(
                db.session,
                current_user,
                "enrolment.import",
                course,
                program_id=course.program_id,
                detail={"created": report.created, "reused": report.reused},
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


@bp.get("/<int:course_id>/template.csv")
def csv_template(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    return Response(
        template_csv(db.session, course.program),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=trainees-template.csv"},
    )


@bp.get("/<int:course_id>/template.xlsx")
def xlsx_template(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    return Response(
        template_xlsx(db.session, course.program),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": "attachment; filename=trainees-template.xlsx"},
    )


@bp.get("/<int:course_id>/enrolments.csv")
@writes
def export_csv(course_id: int) -> ResponseReturnValue:
    course = _course(course_id, manage=True)
    record_audit(
        db.session,
        current_user,
        "export.enrolments",
        course,
        program_id=course.program_id,
        ip_address=request.remote_addr,
    )
    body = "\ufeff" + enrolments_csv(db.session, course)
    db.session.commit()
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=course-{course.id}.csv"},
    )


@bp.get("/<int:course_id>/enrolments/<int:enrolment_id>")
@writes
def enrolment_detail(course_id: int, enrolment_id: int) -> str:
    course = _course(course_id)
    enrolment = _enrolment(course, enrolment_id)
    trainee_filter = visible_trainee_filter(current_user, course)
    if trainee_filter is None:
        abort(403)
    visible = db.session.scalar(
        select(func.count())
        .select_from(Person)
        .where(Person.id == enrolment.person_id, trainee_filter)
    )
    require(bool(visible))
    contact = contact_for(db.session, current_user, enrolment.person, course.program_id)
    show_attribute = can_view_attributes(current_user, course.program_id)
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
        **_labels(),
    )


def _enrolment_action(course_id: int, enrolment_id: int) -> tuple[Course, Enrolment]:
    course = _course(course_id, manage=True)
    return course, _enrolment(course, enrolment_id)


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/withdraw")
def withdraw(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = _enrolment_action(course_id, enrolment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        promoted = enrolments.withdraw_enrolment(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("%(name)s has withdrawn.", name=enrolment.person.name), "success")
        if promoted:
            flash(
                _("%(name)s moved up from the waiting list.", name=promoted.person.name), "success"
            )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/confirm")
def confirm(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = _enrolment_action(course_id, enrolment_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    commit_or_flash(
        lambda: enrolments.confirm_application(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        ),
        _("The application is confirmed."),
    )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/complete")
def complete(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    return _by_hand(course_id, enrolment_id, complete=True)


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/uncomplete")
def uncomplete(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    return _by_hand(course_id, enrolment_id, complete=False)


def _by_hand(course_id: int, enrolment_id: int, *, complete: bool) -> ResponseReturnValue:
    course, enrolment = _enrolment_action(course_id, enrolment_id)
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

    commit_or_flash(decide, _("Saved."))
    return redirect(back)


@bp.post("/<int:course_id>/enrolments/<int:enrolment_id>/make-up")
def make_up(course_id: int, enrolment_id: int) -> ResponseReturnValue:
    course, enrolment = _enrolment_action(course_id, enrolment_id)
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
    try:
        done = sessions.record_make_up(
            db.session, actor=current_user, enrolment=enrolment, course_session=row, now=now_utc()
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        flash(_("The make-up attendance was recorded."), "success")
        if done:
            flash(_("The course is completed."), "success")
    return redirect(back)


@bp.post("/<int:course_id>/apply")
def apply(course_id: int) -> ResponseReturnValue:
    course = _course(course_id)
    require(can_apply(current_user, course))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person = db.session.get(Person, current_user.person_id)
    assert person is not None
    try:
        enrolment = enrolments.apply_for_course(
            db.session,
            actor=current_user,
            course=course,
            person=person,
            today=local_date(now_utc()),
            now=now_utc(),
        )
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
        if enrolment.state == EnrolmentState.WAITLISTED:
            flash(_("The course is full: you are on the waiting list."), "info")
        else:
            flash(_("Your application was received."), "success")
    return redirect(url_for("training.detail", course_id=course.id))


@bp.post("/<int:course_id>/withdraw-mine")
def withdraw_mine(course_id: int) -> ResponseReturnValue:
    course = _course(course_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    enrolment = db.session.scalar(
        select(Enrolment).where(
            Enrolment.course_id == course.id, Enrolment.person_id == current_user.person_id
        )
    )
    if enrolment is None or current_user.person_id is None:
        abort(404)
    commit_or_flash(
        lambda: enrolments.withdraw_enrolment(
            db.session, actor=current_user, enrolment=enrolment, now=now_utc()
        ),
        _("You have withdrawn from the course."),
    )
    return redirect(url_for("training.detail", course_id=course.id))


@bp.get("/<int:course_id>/sessions/<int:session_id>/sign-in.pdf")
@writes
def sign_in_sheet(course_id: int, session_id: int) -> ResponseReturnValue:
    from supporters.certificates.pdf import (
        SignInSheetData,
        UnprintableTextError,
        render_sign_in_sheet,
    )

    course = _course(course_id, manage=True)
    row = _session(course, session_id)
    roll = sessions.roll_call_enrolments(db.session, course)
    people = {
        p.id: p
        for p in db.session.scalars(
            select(Person).where(Person.id.in_([e.person_id for e in roll]))
        )
    }
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
    record_audit(
        db.session,
        current_user,
        "export.sign_in_sheet",
        course,
        program_id=course.program_id,
        detail={"session_id": row.id},
    )
    db.session.commit()
    return Response(
        pdf,
        mimetype="application/pdf",
        headers={"Content-Disposition": f"inline; filename=sign-in-{course.id}-{row.id}.pdf"},
    )
