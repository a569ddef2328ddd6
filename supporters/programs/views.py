from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_login import current_user
from sqlalchemy import func, select

from supporters.accounts.permissions import can_view_program, require, visible_program_ids
from supporters.extensions import db
from supporters.programs.models import Organisation
from supporters.programs.services import get_program_by_code, list_programs

bp = Blueprint("programs", __name__, url_prefix="/programs")


@bp.get("/")
def index() -> str:
    programs = list_programs(db.session, visible_program_ids(current_user))
    return render_template("programs/index.html", programs=programs)


@bp.get("/<code>")
def detail(code: str) -> str:
    program = get_program_by_code(db.session, code)
    if program is None:
        abort(404)
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
    )
