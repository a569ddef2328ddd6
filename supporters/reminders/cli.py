"""`flask --app wsgi reminders run-due [--now ISO8601]`; `scheduler run` is in supporters/cli."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from supporters.core.time import TOKYO
from supporters.db import now_utc
from supporters.extensions import db

# `--now` further ahead than this acts on the future (mail sent early): refused without --force.
FUTURE_TOLERANCE = timedelta(minutes=5)


def register(app: Flask) -> None:
    app.cli.add_command(reminders_cli)


def configure_logging(level: int) -> None:
    """Log lines on stderr for the command's process (no-op if logging is set up already)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)


class IsoDateTime(click.ParamType):
    """An ISO 8601 date or date-time; without an offset it is Asia/Tokyo time. Gives UTC."""

    name = "ISO8601"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, datetime):
            parsed = value
        else:
            try:
                parsed = datetime.fromisoformat(str(value).strip())
            except ValueError as error:
                self.fail(
                    f"{value!r} is not an ISO 8601 date or date-time ({error}). "
                    "Examples: 2026-04-01, 2026-04-01T09:00 (Asia/Tokyo), "
                    "2026-04-01T00:00:00+00:00.",
                    param,
                    ctx,
                )
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=TOKYO)
        return parsed.astimezone(UTC)


reminders_cli = AppGroup("reminders", help="Reminders and the outbox.")


@reminders_cli.command("run-due")
@click.option(
    "--now",
    type=IsoDateTime(),
    default=None,
    help="Act as if it were this time (ISO 8601; Asia/Tokyo unless an offset is given). "
    "Default: now. A time in the future needs --dry-run (to see what it would decide) or "
    "--force (to act on it: mail goes out now).",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Print what the pass would decide and send; write nothing, send nothing.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Act on a --now in the future: reminders are decided and mailed now, early.",
)
def run_due_command(now: datetime | None, dry_run: bool, force: bool) -> None:
    """One pass of every reminder rule, then send the outbox."""
    from supporters.reminders.jobs import preview_due, run_due

    configure_logging(logging.WARNING)
    real_now = now_utc()
    moment = now or real_now
    local = moment.astimezone(TOKYO).isoformat()
    if dry_run:
        preview = preview_due(db.session, now=moment)
        click.echo(f"DRY RUN at {local}: nothing was written and no mail was sent.")
        click.echo(f"would decide {len(preview.planned)} reminder(s):")
        for item in preview.planned:
            target = f"mail to {item.mail_to}: {item.subject}" if item.mail_to else item.note
            click.echo(f"  {item.rule} {item.key} -> {target}")
        click.echo(f"would send {len(preview.due_mail)} queued message(s) now due:")
        for message_id, recipient, subject in preview.due_mail:
            click.echo(f"  #{message_id} to {recipient}: {subject}")
        for name, error in sorted(preview.errors.items()):
            click.echo(f"  rule {name} failed: {error}", err=True)
        if not preview.ok:
            raise click.exceptions.Exit(1)
        return
    if moment > real_now + FUTURE_TOLERANCE and not force:
        raise click.UsageError(
            f"--now {local} is in the future: a pass would decide and mail those reminders "
            "now, early, and move retries. Use --dry-run to see what it would do, or --force "
            "to act anyway."
        )
    report = run_due(db.session, now=moment, app_config=current_app.config)
    click.echo(f"{local}: {report.summary()}")
    for name, error in sorted(report.errors.items()):
        click.echo(f"  rule {name} failed: {error}", err=True)
    if not report.ok:
        raise click.exceptions.Exit(1)
