"""`registry list` and `registry status`."""

from __future__ import annotations

import csv
import json
import sys
from datetime import date

import click
from flask import Flask
from flask.cli import AppGroup

from supporters.audit.services import record_audit
from supporters.core.csv import safe_cell
from supporters.db import ServiceError
from supporters.extensions import db
from supporters.programs.models import Municipality, Program
from supporters.programs.services import find_organisation, get_program_by_code
from supporters.registry import queries, services
from supporters.registry.models import Status

registry_cli = AppGroup("registry", help="The supporter register.")


def register(app: Flask) -> None:
    app.cli.add_command(registry_cli)


def _program(code: str) -> Program:
    program = get_program_by_code(db.session, code)
    if program is None:
        raise click.ClickException(f"Unknown program: {code} (chiba, tochigi, kagawa)")
    return program


def _organisations(program: Program, name: str | None) -> frozenset[int] | None:
    """The register split by issuing organisation: that organisation's only; None for all."""
    if not name:
        return None
    try:
        return frozenset({find_organisation(db.session, program, name).id})
    except ServiceError as error:
        raise click.ClickException(error.message) from error


def _day(text: str | None) -> date:
    if not text:
        return date.today()
    try:
        return date.fromisoformat(text)
    except ValueError as error:
        raise click.BadParameter(f"{text!r} is not a date like 2023-11-30") from error


@registry_cli.command("list")
@click.option("--program", "program_code", required=True)
@click.option("--status", type=click.Choice([s.value for s in Status]), default=None)
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today)")
@click.option("--format", "output", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--organisation", default=None, help="Only those issued by this organisation.")
def list_command(
    program_code: str, status: str | None, as_of: str | None, output: str, organisation: str | None
) -> None:
    """The register on a date."""
    program = _program(program_code)
    day = _day(as_of)
    flt = queries.RegisterFilter(
        program=program,
        day=day,
        status=status,
        organisation_ids=_organisations(program, organisation),
    )
    places = {
        mid: name for mid, name in db.session.execute(db.select(Municipality.id, Municipality.name))
    }
    rows = [
        {
            "number": registration.number,
            "name": person.name,
            "reading": person.name_reading,
            "status": row_status,
            "registered_on": registration.registered_on.isoformat(),
            "valid_until": valid_until.isoformat() if valid_until else "",
            "municipality": places.get(registration.main_municipality_id, ""),
        }
        for registration, person, row_status, valid_until in db.session.execute(
            queries.register_query(flt)
        )
    ]
    record_audit(
        db.session,
        None,
        "export.register",
        None,
        program_id=program.id,
        detail={
            "as_of": day.isoformat(),
            "status": status,
            "format": output,
            "organisation": organisation,
        },
    )
    db.session.commit()
    if output == "json":
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    # For people (Excel): the web export's Japanese headers and status labels; JSON keeps
    # the English keys and codes.
    from flask_babel import force_locale

    from supporters.registry.forms import STATUS_LABELS

    with force_locale("ja"):
        labels = {code: str(label) for code, label in STATUS_LABELS.items()}
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(
        ["登録番号", "氏名", "フリガナ", "状態", "登録日", "有効期限", "主な活動市町村"]
    )
    for row in rows:
        row = {**row, "status": labels.get(str(row["status"]), str(row["status"]))}
        writer.writerow([safe_cell(str(value)) for value in row.values()])


@registry_cli.command("status")
@click.option("--program", "program_code", required=True)
@click.option("--as-of", "as_of", default=None, help="YYYY-MM-DD (default: today)")
@click.option("--format", "output", type=click.Choice(["text", "json"]), default="text")
@click.option("--organisation", default=None, help="Only those issued by this organisation.")
def status_command(
    program_code: str, as_of: str | None, output: str, organisation: str | None
) -> None:
    """Counts per status on a date."""
    program = _program(program_code)
    day = _day(as_of)
    counts = services.status_counts(
        db.session, program, day, organisation_ids=_organisations(program, organisation)
    )
    if output == "json":
        issuer = {"organisation": organisation} if organisation else {}
        click.echo(
            json.dumps(
                {"program": program.code, "as_of": day.isoformat(), **issuer, **counts},
                ensure_ascii=False,
            )
        )
        return
    split = f" ({organisation})" if organisation else ""
    click.echo(f"{program.code}{split} as of {day.isoformat()}")
    for status, count in counts.items():
        click.echo(f"  {status:<14} {count:>7}")
    valid = counts["active"] + counts["follow_up_due"]
    click.echo(f"  {'registered and valid':<14} {valid:>7}")
