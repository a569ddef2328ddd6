"""`report fiscal-year YEAR --program CODE [--organisation NAME] [--format text|csv|json]
[--publish] [--as-of DATE]`."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from supporters.core.time import today_in_japan
from supporters.db import ServiceError
from supporters.extensions import db
from supporters.programs.services import get_program_by_code
from supporters.reports.exports import figures_csv, figures_json, figures_text, record_export
from supporters.reports.presentation import fiscal_year_figures
from supporters.reports.suppression import DEFAULT_SUPPRESS_BELOW, Suppression

report_cli = AppGroup("report", help="Fiscal-year reports.")


def register(app: Flask) -> None:
    app.cli.add_command(report_cli)


@report_cli.command("fiscal-year")
@click.argument("year", type=int)
@click.option("--program", "program_code", required=True, help="Program code (chiba, tochigi…).")
@click.option("--format", "output", type=click.Choice(["text", "csv", "json"]), default="text")
@click.option(
    "--publish",
    is_flag=True,
    help="For publication: counts of people under REPORT_SUPPRESS_BELOW (5) read '<5'.",
)
@click.option("--as-of", "as_of", default=None, help="Also the register on this day (YYYY-MM-DD).")
@click.option(
    "--organisation",
    "organisation_name",
    default=None,
    help="Only this organisation of the program (its name or id); default: the whole program.",
)
def fiscal_year_command(
    year: int,
    program_code: str,
    output: str,
    publish: bool,
    as_of: str | None,
    organisation_name: str | None,
) -> None:
    """The figures of fiscal year YEAR (2023 = 令和5年度, April 2023 to March 2024).

    The attribute breakdown of trainees is included: whoever runs this command has the
    database itself. Each run is recorded in the audit log (export.report)."""
    program = get_program_by_code(db.session, program_code)
    if program is None:
        raise click.ClickException(f"Unknown program: {program_code}")
    organisation = None
    if organisation_name is not None:
        wanted = organisation_name.strip()
        organisation = next(
            (o for o in program.organisations if wanted in (o.name, str(o.id))), None
        )
        if organisation is None:
            names = ", ".join(f"{o.id} {o.name}" for o in program.organisations)
            raise click.ClickException(
                f"No organisation {wanted!r} in {program.code}. Its organisations: {names}"
            )
    threshold = int(current_app.config.get("REPORT_SUPPRESS_BELOW", DEFAULT_SUPPRESS_BELOW))
    try:
        figures = fiscal_year_figures(
            db.session,
            program,
            year,
            today=today_in_japan(),
            as_of=as_of,
            rule=Suppression(publish=publish, threshold=threshold),
            include_attributes=True,
            organisation=organisation,
        )
    except ServiceError as error:
        raise click.ClickException(error.message) from error
    day = figures["register_as_of"]["on"] if figures["register_as_of"] else None
    record_export(
        db.session,
        None,
        program,
        year=year,
        output=output,
        publish=publish,
        as_of=day,
        attributes=True,
        command=True,
        organisation_id=organisation.id if organisation is not None else None,
    )
    db.session.commit()
    if output == "json":
        click.echo(figures_json(figures))
    elif output == "csv":
        click.echo(figures_csv(figures), nl=False)
    else:
        click.echo(figures_text(figures))
