"""Course pages: the list, creating and editing a course, its page, closing it."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.sql.expression import True_
from wtforms import SelectChoice

from supporters.core.eras import fiscal_year_label
from supporters.core.forms import ConfirmForm
from supporters.core.time import local_date
from supporters.core.web import require, save
from supporters.db import now_utc
from supporters.extensions import db
from supporters.people.models import Person
from supporters.programs.models import Organisation, Program
from supporters.programs.permissions import coordinated_filter, coordinator_scope
from supporters.training.forms import KIND_LABELS, CourseForm
from supporters.training.models import Course, CourseSession, Enrolment, EnrolmentState
from supporters.training.permissions import (
    can_apply,
    can_create_course,
    can_manage_course,
    can_view_attribute_figures,
    visible_course_filter,
    visible_trainee_filter,
)
from supporters.training.services import course_state, courses
from supporters.training.views.common import bp, labels, load_course, saved_to_course

COURSES_PER_PAGE = 30
ENROLMENTS_PER_PAGE = 100


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
        **labels(),
    )


def _fill_course_choices(form: CourseForm, program_ids: set[int]) -> None:
    """The programs given, and of their organisations those the user coordinates (all of
    them for the program's coordinators, their own for an organisation's)."""
    programs = db.session.scalars(
        select(Program).where(Program.id.in_(program_ids)).order_by(Program.id)
    ).all()
    form.program_id.choices = [SelectChoice(str(p.id), p.name_ja) for p in programs]
    organisations = db.session.scalars(
        select(Organisation)
        .where(
            Organisation.program_id.in_(program_ids),
            coordinated_filter(current_user, Organisation.program_id, Organisation.id),
        )
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
    program_ids = set(coordinator_scope(current_user))
    require(bool(program_ids))
    form = CourseForm()
    _fill_course_choices(form, program_ids)
    if form.validate_on_submit():
        program = db.session.get(Program, int(form.program_id.data or 0))
        if program is None or program.id not in program_ids:
            abort(403)
        created = save(
            lambda: courses.create_course(
                db.session,
                actor=current_user,
                program=program,
                data=_course_input(form),
                first_session_on=form.first_session_on.data,
                use_curriculum=bool(form.use_curriculum.data),
            ),
            form=form,
            success=_("The course was created."),
        )
        if created.value is not None:  # saved
            return redirect(url_for("training.detail", course_id=created.value.id))
    return render_template("training/course_form.html", form=form, course=None)


@bp.route("/<int:course_id>/edit", methods=["GET", "POST"])
def edit(course_id: int) -> ResponseReturnValue:
    course = load_course(course_id, manage=True)
    form = CourseForm(obj=course)
    _fill_course_choices(form, {course.program_id})
    if request.method == "GET":
        form.program_id.data = str(course.program_id)
        form.organiser_id.data = str(course.organiser_id)
    saved = saved_to_course(
        course,
        form,
        lambda: courses.update_course(
            db.session, actor=current_user, course=course, data=_course_input(form)
        ),
        _("The course was saved."),
    )
    return saved or render_template("training/course_form.html", form=form, course=course)


@bp.get("/<int:course_id>")
def detail(course_id: int) -> str:
    course = load_course(course_id)
    trainee_filter = visible_trainee_filter(current_user, course)
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    enrolments: list[tuple[Enrolment, Person]] = []
    total = 0
    figures = courses.course_figures(db.session, course)
    if trainee_filter is not None:
        query = (
            select(Enrolment, Person)
            .join(Person, Person.id == Enrolment.person_id)
            .where(Enrolment.course_id == course.id, trainee_filter)
        )
        if isinstance(trainee_filter, True_):  # every trainee: the figures have counted them
            total = sum(figures.by_state.values())
        else:
            total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        enrolments = [
            (e, p)
            for e, p in db.session.execute(
                query.order_by(Person.name_reading, Person.id)
                .limit(ENROLMENTS_PER_PAGE)
                .offset((page - 1) * ENROLMENTS_PER_PAGE)
            )
        ]
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
        **labels(),
    )


@bp.route("/<int:course_id>/close", methods=["GET", "POST"])
def close(course_id: int) -> ResponseReturnValue:
    """Closing asks first: the page says who will be marked as not completed."""
    course = load_course(course_id, manage=True)
    form = ConfirmForm()
    now = now_utc()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        closed = save(
            lambda: courses.close_course(db.session, actor=current_user, course=course, now=now)
        )
        if closed:
            flash(
                _("The course is closed: %(n)d trainees did not complete.", n=closed.value),
                "success",
            )
        return redirect(url_for("training.detail", course_id=course.id))
    refusal = courses.close_refusal(course, now)
    problem = refusal.message if refusal else None
    figures = courses.course_figures(db.session, course)
    return render_template(
        "training/close.html",
        course=course,
        form=form,
        problem=problem,
        not_completing=figures.by_state.get(EnrolmentState.CONFIRMED, 0),
        completed=figures.completed,
    )
