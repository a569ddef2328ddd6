"""Fiscal-year report pages and their CSV, JSON and PDF versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

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
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from supporters.core.dates import fiscal_year
from supporters.core.eras import fiscal_year_label
from supporters.core.time import today_in_japan
from supporters.core.web import download, require
from supporters.db import ServiceError, writes
from supporters.dispatch.forms import KIND_LABELS as EVENT_KIND_LABELS
from supporters.extensions import db
from supporters.pdf.errors import PdfInputError
from supporters.programs.models import Organisation, Program
from supporters.programs.permissions import is_coordinator_of
from supporters.programs.services import get_program_by_code, list_programs
from supporters.registry.forms import ACTIVITY_LABELS, STATUS_LABELS
from supporters.reports.charts import report_charts
from supporters.reports.exports import figures_csv, figures_json, record_export
from supporters.reports.figures import MIN_YEAR, check_year
from supporters.reports.permissions import (
    can_view_report,
    can_view_report_attributes,
    can_view_report_of,
    can_view_reports,
    report_scope,
    reportable_program_ids,
)
from supporters.reports.presentation import fiscal_year_figures
from supporters.reports.suppression import DEFAULT_SUPPRESS_BELOW, Suppression
from supporters.reports.terms import terms as report_terms
from supporters.reports.worklists import supporters_without_report, waiting_enrolments
from supporters.training.forms import ATTRIBUTE_LABELS
from supporters.training.forms import KIND_LABELS as COURSE_KIND_LABELS

bp = Blueprint("reports", __name__, url_prefix="/reports")

FORMATS = ("csv", "json", "pdf")


def _rule() -> Suppression:
    publish = (request.args.get("publish") or "").lower() in ("1", "true", "yes", "on")
    threshold = int(current_app.config.get("REPORT_SUPPRESS_BELOW", DEFAULT_SUPPRESS_BELOW))
    return Suppression(publish=publish, threshold=threshold)


def _program(code: str) -> Program:
    # With its organisations (the choice of organisation) in the same statement.
    program = (
        db.session.scalars(
            select(Program)
            .options(joinedload(Program.organisations))
            .where(Program.code == code.strip().lower())
        )
        .unique()
        .first()
    )
    if program is None:
        abort(404)
    require(can_view_report(current_user, program.id))
    return program


def _problem(program: Program, year: int, error: ServiceError) -> tuple[str, int]:
    return (
        render_template(
            "reports/problem.html",
            program=program,
            year=year,
            field=error.field,
            message=error.message,
            current_year=fiscal_year(today_in_japan()),
        ),
        400,
    )


@dataclass
class _Loaded:
    program: Program
    figures: dict[str, Any]
    attributes: bool
    organisation: Organisation | None
    # The organisations the user may choose between (and whether "the whole program" is one).
    choices: list[Organisation]
    whole_program: bool


def _organisation(program: Program) -> Organisation | None:
    """The organisation asked for (`?organisation=<id>`), if the user may see it (else 403):
    the program's coordinators, admins and municipal staff see the whole program by default;
    an organisation's coordinator gets their own organisation, never the whole program."""
    text = (request.args.get("organisation") or "").strip()
    scope = report_scope(current_user, program.id)
    if not text:
        if scope is None:
            return None
        own = [o for o in program.organisations if o.id in scope]
        require(bool(own))
        return own[0]
    chosen_id = int(text) if text.isdigit() and len(text) <= 9 else None
    require(scope is None or chosen_id in scope)
    chosen = next((o for o in program.organisations if o.id == chosen_id), None)
    if chosen is None:
        raise ServiceError(
            "organisation",
            str(_l("There is no such organisation in this program. Choose one from the list.")),
            code="organisation_unknown",
        )
    require(can_view_report_of(current_user, program.id, chosen.id))
    return chosen


def _load(code: str, year: int) -> _Loaded | tuple[str, int]:
    program = _program(code)
    attributes = can_view_report_attributes(current_user, program.id)
    scope = report_scope(current_user, program.id)
    choices = [o for o in program.organisations if scope is None or o.id in scope]
    try:
        organisation = _organisation(program)
        figures = fiscal_year_figures(
            db.session,
            program,
            year,
            today=today_in_japan(),
            as_of=request.args.get("as_of"),
            rule=_rule(),
            include_attributes=attributes,
            organisation=organisation,
        )
    except ServiceError as error:
        return _problem(program, year, error)
    return _Loaded(program, figures, attributes, organisation, choices, scope is None)


@bp.get("/<code>/<int:year>/missing-reports")
def missing_reports(code: str, year: int) -> ResponseReturnValue:
    """The supporters a coordinator's start page counts as without a report for the year."""
    program = get_program_by_code(db.session, code)
    if program is None:
        abort(404)
    require(is_coordinator_of(current_user, program.id))  # names: as the register
    try:
        check_year(year, today_in_japan())
    except ServiceError as error:
        return _problem(program, year, error)
    rows = supporters_without_report(db.session, program, year)
    return render_template(
        "reports/missing_reports.html",
        program=program,
        year=year,
        year_label=fiscal_year_label(year),
        rows=rows,
    )


@bp.get("/<code>/waiting-list")
def waiting_list(code: str) -> ResponseReturnValue:
    """The trainees a coordinator's start page counts as waiting for a place."""
    program = get_program_by_code(db.session, code)
    if program is None:
        abort(404)
    require(is_coordinator_of(current_user, program.id))
    rows = waiting_enrolments(db.session, program, today_in_japan())
    return render_template("reports/waiting_list.html", program=program, rows=rows)


@bp.get("/")
def index() -> ResponseReturnValue:
    require(can_view_reports(current_user))
    programs = list_programs(db.session, reportable_program_ids(current_user))
    code, year = request.args.get("program"), request.args.get("year", type=int)
    if code and year:
        return redirect(url_for("reports.fiscal_year_report", code=code, year=year))
    current = fiscal_year(today_in_japan())
    years = [(y, fiscal_year_label(y)) for y in range(current, max(MIN_YEAR, current - 9) - 1, -1)]
    return render_template(
        "reports/index.html", programs=programs, years=years, current_year=current
    )


def _labels() -> dict[str, Any]:
    return {
        "attribute_labels": ATTRIBUTE_LABELS,
        "course_kind_labels": COURSE_KIND_LABELS,
        "event_kind_labels": EVENT_KIND_LABELS,
        "activity_labels": ACTIVITY_LABELS,
        "status_labels": STATUS_LABELS,
        "t": report_terms(),  # the same words as the PDF and the CSV
    }


@bp.get("/<code>/<int:year>")
def fiscal_year_report(code: str, year: int) -> ResponseReturnValue:
    loaded = _load(code, year)
    if not isinstance(loaded, _Loaded):
        return loaded
    program, figures = loaded.program, loaded.figures
    as_of = (request.args.get("as_of") or "").strip()
    keep: dict[str, str] = {}
    if loaded.organisation is not None:
        keep["organisation"] = str(loaded.organisation.id)
    if as_of:
        keep["as_of"] = as_of
    if figures["publish"]:
        keep["publish"] = "1"
    return render_template(
        "reports/fiscal_year.html",
        program=program,
        f=figures,
        charts=report_charts(figures),
        attributes_allowed=loaded.attributes,
        organisation=loaded.organisation,
        organisation_choices=loaded.choices,
        whole_program=loaded.whole_program,
        rule=_rule(),
        start=date.fromisoformat(figures["start"]),
        end=date.fromisoformat(figures["end"]),
        until=date.fromisoformat(figures["figures_until"]),
        days={
            key: date.fromisoformat(figures[key]["on"])
            for key in ("register_at_year_end", "register_as_of")
            if figures[key] is not None
        },
        keep=keep,
        as_of=as_of,
        previous_year=year - 1 if year > MIN_YEAR else None,
        next_year=year + 1 if year < fiscal_year(today_in_japan()) else None,
        **_labels(),
    )


@bp.get("/<code>/<int:year>/report.<fmt>")
@writes
def export(code: str, year: int, fmt: str) -> ResponseReturnValue:
    if fmt not in FORMATS:
        abort(404)
    loaded = _load(code, year)
    if not isinstance(loaded, _Loaded):
        return loaded
    program, figures = loaded.program, loaded.figures
    part = f"-org{loaded.organisation.id}" if loaded.organisation is not None else ""
    publish = "-publish" if figures["publish"] else ""
    name = f"report-{program.code}-{year}{part}{publish}.{fmt}"
    if fmt == "pdf":
        from supporters.reports.pdf import render_report

        font = current_app.config.get("PDF_FONT")
        try:
            body: bytes | str = render_report(figures, font_path=str(font) if font else None)
        except PdfInputError as error:
            flash(error.message, "error")
            return redirect(url_for("reports.fiscal_year_report", code=program.code, year=year))
        mimetype = "application/pdf"
    elif fmt == "csv":
        body, mimetype = figures_csv(figures), "text/csv"
    else:
        body, mimetype = figures_json(figures), "application/json"
    record_export(
        db.session,
        current_user,
        program,
        year=year,
        output=fmt,
        publish=figures["publish"],
        as_of=request.args.get("as_of") or None,
        attributes=loaded.attributes,
        ip_address=request.remote_addr,
        organisation_id=loaded.organisation.id if loaded.organisation is not None else None,
    )
    db.session.commit()
    return download(body, mimetype=mimetype, filename=name)
