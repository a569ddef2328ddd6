"""`certificates card`, `certificates sheet`, `certificates completion` and
`certificates calibration`. A file is written only when everything succeeded: the PDF goes
to a temporary file next to the target, renamed into place at the end."""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from supporters.audit.services import record_audit
from supporters.certificates import services
from supporters.certificates.pdf import render_calibration_page, render_card, render_card_sheet
from supporters.core.progress import TerminalProgress
from supporters.core.time import local_date
from supporters.db import ServiceError, now_utc
from supporters.extensions import db
from supporters.pdf.errors import PdfInputError
from supporters.programs.services import get_program_by_code
from supporters.registry.models import Registration
from supporters.training.models import Enrolment
from supporters.training.pdf import render_completion_certificate

certificates_cli = AppGroup("certificates", help="Supporter cards and completion certificates.")

OutputPath = click.Path(dir_okay=False, writable=True, path_type=Path)


def register(app: Flask) -> None:
    app.cli.add_command(certificates_cli)


def _font() -> str | None:
    font = current_app.config.get("PDF_FONT")
    return str(font) if font else None


def _base_url() -> str:
    return str(current_app.config["BASE_URL"])


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(
            f"{value!r} is not a date like 2023-11-30", param_hint=option
        ) from error


def _write(output: Path, build: Callable[[], bytes]) -> int:
    """Build the PDF, write it to a temporary file beside `output`, commit the issue records,
    then move the file into place. Any error: rollback, no file, exit code 1."""
    directory = output.parent if str(output.parent) else Path(".")
    if not directory.is_dir():
        raise click.ClickException(f"The directory {directory} does not exist.")
    try:
        body = build()
    except (ServiceError, PdfInputError) as error:
        db.session.rollback()
        raise click.ClickException(error.message) from error
    handle, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(body)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp's 0600 is not what a user expects
        db.session.commit()
        os.replace(temporary, output)
    except BaseException:
        db.session.rollback()
        Path(temporary).unlink(missing_ok=True)
        raise
    return len(body)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _audit(kind: str, target: object, program_id: int | None, **detail: object) -> None:
    record_audit(
        db.session,
        None,
        "certificate.download",
        target,
        program_id=program_id,
        detail={"kind": kind, "via": "cli", **detail},
    )


@certificates_cli.command("card")
@click.argument("registration_number")
@click.option("-o", "--output", type=OutputPath, required=True, help="The PDF file to write.")
def card_command(registration_number: str, output: Path) -> None:
    """One supporter card (REGISTRATION_NUMBER, e.g. TCG-2023-0154)."""
    registration = db.session.scalar(
        select(Registration).where(Registration.number == registration_number.strip())
    )
    if registration is None:
        raise click.ClickException(f"No registration with the number {registration_number}.")
    found = registration
    number = ""

    def build() -> bytes:
        nonlocal number
        now = now_utc()
        card = services.issue_card(
            db.session, actor=None, registration=found, now=now, font_path=_font()
        )
        data = services.card_data(
            db.session,
            card,
            today=local_date(now),
            base_url=_base_url(),
            font_path=_font(),
        )
        body = render_card(data, font_path=_font())
        _audit("card", card, found.program_id, number=card.number)
        number = card.number
        return body

    size = _write(output, build)
    click.echo(f"Card {number} written to {output} ({size:,} bytes).")


@certificates_cli.command("sheet")
@click.option("--program", "program_code", required=True, help="Program code (chiba, tochigi…).")
@click.option("-o", "--output", type=OutputPath, required=True, help="The PDF file to write.")
@click.option(
    "--status",
    type=click.Choice(services.SHEET_STATUSES),
    default="active",
    show_default=True,
    help="active: every registration in force (including follow-up due).",
)
@click.option("--registered-from", "registered_from", default=None, help="YYYY-MM-DD")
@click.option("--registered-to", "registered_to", default=None, help="YYYY-MM-DD")
@click.option("--cut-marks", is_flag=True, help="Print cut marks in the margins.")
@click.option("--margin-top", type=float, default=None, help="mm (default: centred)")
@click.option("--margin-left", type=float, default=None, help="mm (default: centred)")
@click.option("--gap", type=float, default=0.0, show_default=True, help="mm between cards")
def sheet_command(
    program_code: str,
    output: Path,
    status: str,
    registered_from: str | None,
    registered_to: str | None,
    cut_marks: bool,
    margin_top: float | None,
    margin_left: float | None,
    gap: float,
) -> None:
    """A4 sheets of 10 cards for a selection of a program's supporters."""
    program = get_program_by_code(db.session, program_code)
    if program is None:
        raise click.ClickException(f"Unknown program: {program_code} (chiba, tochigi, kagawa)")
    found = program
    selection_from = _date(registered_from, "--registered-from")
    selection_to = _date(registered_to, "--registered-to")
    counts = {"cards": 0, "skipped": 0}
    started = time.perf_counter()

    bar = TerminalProgress("Drawing cards")

    def progress(done: int, total: int) -> None:
        if bar.shown:
            bar(done, total)
        elif total > services.LARGE_SHEET and (done % 200 == 0 or done == total):
            click.echo(f"  {done:,} / {total:,} cards", err=True)

    def build() -> bytes:
        now = now_utc()
        selection = services.SheetSelection(
            program=found,
            day=local_date(now),
            status=status,
            registered_from=selection_from,
            registered_to=selection_to,
        )
        registrations = services.select_for_sheet(db.session, selection)
        if not registrations:
            raise ServiceError(None, "No supporter matches the selection.", code="empty_selection")
        issued = services.issue_sheet(
            db.session,
            actor=None,
            registrations=registrations,
            now=now,
            base_url=_base_url(),
            font_path=_font(),
        )
        if not issued.cards:
            raise ServiceError(None, "No supporter matches the selection.", code="empty_selection")
        body = render_card_sheet(
            issued.cards,
            margin_top_mm=margin_top,
            margin_left_mm=margin_left,
            gap_mm=gap,
            cut_marks=cut_marks,
            font_path=_font(),
            progress=progress,
        )
        _audit("sheet", None, found.id, cards=len(issued.cards), status=status)
        counts.update(cards=len(issued.cards), skipped=len(issued.skipped))
        for number in issued.skipped:
            click.echo(f"Skipped {number}: its card was revoked and not reissued.", err=True)
        return body

    with bar:
        size = _write(output, build)
    click.echo(
        f"{counts['cards']:,} cards written to {output} ({size:,} bytes, "
        f"{time.perf_counter() - started:.2f} s)."
    )


@certificates_cli.command("completion")
@click.argument("enrolment_id", type=int)
@click.option("-o", "--output", type=OutputPath, required=True, help="The PDF file to write.")
def completion_command(enrolment_id: int, output: Path) -> None:
    """The completion certificate (修了証) of an enrolment."""
    enrolment = db.session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise click.ClickException(f"No enrolment with the id {enrolment_id}.")
    found = enrolment
    number = ""

    def build() -> bytes:
        nonlocal number
        now = now_utc()
        certificate = services.issue_certificate(
            db.session, actor=None, enrolment=found, now=now, font_path=_font()
        )
        data = services.completion_data(certificate, today=local_date(now), font_path=_font())
        body = render_completion_certificate(data, font_path=_font())
        _audit("completion", certificate, found.course.program_id, number=certificate.number)
        number = certificate.number
        return body

    size = _write(output, build)
    click.echo(f"Completion certificate {number} written to {output} ({size:,} bytes).")


@certificates_cli.command("calibration")
@click.option("-o", "--output", type=OutputPath, required=True, help="The PDF file to write.")
@click.option("--margin-top", type=float, default=None, help="mm (default: centred)")
@click.option("--margin-left", type=float, default=None, help="mm (default: centred)")
@click.option("--gap", type=float, default=0.0, show_default=True, help="mm between cards")
def calibration_command(
    output: Path, margin_top: float | None, margin_left: float | None, gap: float
) -> None:
    """One page with the card outlines and rulers, to check the printer's position."""
    size = _write(
        output,
        lambda: render_calibration_page(
            margin_top_mm=margin_top, margin_left_mm=margin_left, gap_mm=gap, font_path=_font()
        ),
    )
    click.echo(f"Calibration page written to {output} ({size:,} bytes).")
