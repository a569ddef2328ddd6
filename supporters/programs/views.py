from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from supporters.core.forms import ConfirmForm
from supporters.core.web import require, require_confirmed, save
from supporters.extensions import db
from supporters.programs.models import Organisation, Program
from supporters.programs.permissions import can_view_program, is_coordinator_of, visible_program_ids
from supporters.programs.services import get_program_by_code, list_programs, set_seal
from supporters.programs.terms import program_term

bp = Blueprint("programs", __name__, url_prefix="/programs")
bp.add_app_template_global(program_term, "program_term")


def _program(code: str) -> Program:
    program = get_program_by_code(db.session, code)
    if program is None:
        abort(404)
    return program


@bp.get("/")
def index() -> str:
    programs = list_programs(db.session, visible_program_ids(current_user))
    return render_template("programs/index.html", programs=programs)


@bp.get("/<code>")
def detail(code: str) -> str:
    program = _program(code)
    require(can_view_program(current_user, program.id))
    organisations = db.session.scalars(
        select(Organisation).where(Organisation.program_id == program.id).order_by(Organisation.id)
    ).all()
    organisation_count = db.session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.program_id == program.id)
    )
    return render_template(
        "programs/detail.html",
        program=program,
        organisations=organisations,
        organisation_count=organisation_count,
        manage=is_coordinator_of(current_user, program.id),
        confirm=ConfirmForm(),
    )


@bp.post("/<code>/organisations/<int:organisation_id>/seal")
def seal(code: str, organisation_id: int) -> ResponseReturnValue:
    """Upload (or remove) the seal printed on the organisation's completion certificates."""
    program = _program(code)
    organisation = db.get_or_404(Organisation, organisation_id)
    if organisation.program_id != program.id:
        abort(404)
    require(is_coordinator_of(current_user, program.id))
    require_confirmed()
    upload = request.files.get("seal")
    data = None if request.form.get("remove") else (upload.read(300 * 1024 + 1) if upload else b"")
    save(
        lambda: set_seal(db.session, actor=current_user, organisation=organisation, data=data),
        success=_("The seal was saved."),
    )
    return redirect(url_for("programs.detail", code=program.code))
