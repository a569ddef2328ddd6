"""`trainees import|list` and `courses list`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from supporters.audit.services import record_audit
from supporters.core.progress import TerminalProgress
from supporters.db import now_utc
from supporters.extensions import db
from supporters.programs.services import get_program_by_code
from supporters.training.importer import enrolments_csv, import_trainees
from supporters.training.models import Course
from supporters.training.services.courses import courses_for_program

trainees_cli = AppGroup("trainees", help="Trainees of a course.")
courses_cli = AppGroup("courses", help="Training courses.")


def register(app: Flask) -> None:
    app.cli.add_command(trainees_cli)
    app.cli.add_command(courses_cli)


def _course(course_id: int) -> Course:
    course = db.session.get(Course, course_id)
    if course is None:
        raise click.ClickException(f"No course with id {course_id} (see: courses list).")
    return course


@trainees_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--course", "course_id", type=int, required=True)
def import_command(file: Path, course_id: int) -> None:
    """Import trainees from an Excel .xlsx or a CSV (UTF-8, UTF-8 with BOM or cp932): all
    rows or none."""
    course = _course(course_id)
    with TerminalProgress("Importing") as progress:
        report = import_trainees(
            db.session,
            actor=None,
            course=course,
            data=file.read_bytes(),
            now=now_utc(),
            progress=progress,
        )
    if not report.ok:
        db.session.rollback()
        click.echo(f"Nothing imported: {len(report.errors)} problem(s).", err=True)
        for error in report.errors:
            where = f"row {error.row}" if error.row else "file"
            column = f", {error.column}" if error.column else ""
            click.echo(f"  {where}{column}: {error.message}", err=True)
        sys.exit(1)
    record_audit(
        db.session,
        None,
        "enrolment.import",
        course,
        program_id=course.program_id,
        detail={"file": file.name, "created": report.created},
    )
    db.session.commit()
    click.echo(
        f"Imported {report.enrolled + report.waitlisted} trainee(s): {report.enrolled} "
        f"enrolled, {report.waitlisted} waiting list; {report.created} new, "
        f"{report.reused} already known."
    )


@trainees_cli.command("list")
@click.option("--course", "course_id", type=int, required=True)
def list_command(course_id: int) -> None:
    """The course's enrolments as CSV."""
    course = _course(course_id)
    record_audit(db.session, None, "export.enrolments", course, program_id=course.program_id)
    db.session.commit()
    click.echo(enrolments_csv(db.session, course), nl=False)


@courses_cli.command("list")
@click.option("--program", "program_code", required=True)
@click.option("--format", "output", type=click.Choice(["json", "text"]), default="text")
def courses_command(program_code: str, output: str) -> None:
    """The program's courses, each with its id."""
    program = get_program_by_code(db.session, program_code)
    if program is None:
        raise click.ClickException(f"Unknown program: {program_code} (chiba, tochigi, kagawa)")
    rows = courses_for_program(db.session, program)
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        click.echo(
            f"{row['id']:>5}  {row['first_session_on'] or '----------'}  {row['kind']:<10} "
            f"{row['title']}"
        )
