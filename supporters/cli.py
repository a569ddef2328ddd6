"""The flask commands (flask --app wsgi ...)."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import MetaData

from supporters.db import ServiceError, now_utc
from supporters.extensions import db
from supporters.reminders.cli import register as register_reminders_cli

DEFAULT_DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed by `demo`; refused in production


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(backup_command)
    register_reminders_cli(app)

    from supporters.certificates import cli as certificates_cli
    from supporters.registry import cli as registry_cli
    from supporters.reports import cli as reports_cli
    from supporters.training import cli as training_cli

    training_cli.register(app)
    registry_cli.register(app)
    certificates_cli.register(app)
    reports_cli.register(app)


def upgrade_database() -> None:
    from flask_migrate import upgrade

    upgrade()


def drop_everything() -> None:
    """Drop every table, including alembic_version, whatever its state."""
    metadata = MetaData()
    metadata.reflect(bind=db.engine)
    metadata.drop_all(bind=db.engine)


@click.command("demo")
@with_appcontext
@click.option("--reset", is_flag=True, help="Drop everything first.")
@click.option("--password", default=None, help="Password for every demo account.")
def demo_command(reset: bool, password: str | None) -> None:
    """Migrate the database and load the demo data set (idempotent); print the logins."""
    from supporters.demo import load_demo

    if current_app.config.get("ENV_NAME") == "production" and not password:
        raise click.UsageError("In production, give --password (or better: do not load the demo).")
    if reset:
        drop_everything()
    upgrade_database()
    logins = load_demo(
        db.session,
        password=password or DEFAULT_DEMO_PASSWORD,
        now=now_utc(),
        set_password_always=password is not None or reset,
    )
    db.session.commit()
    click.echo("Demo data loaded. Logins (password: %s):" % (password or DEFAULT_DEMO_PASSWORD))
    for email, description in logins:
        click.echo(f"  {email:40} {description}")


users_cli = AppGroup("users", help="User accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option(
    "--role",
    required=True,
    type=click.Choice(["admin", "coordinator", "municipal_staff", "supporter"]),
)
@click.option(
    "--program", "program_code", default=None, help="Program code (chiba, tochigi, kagawa)."
)
@click.option("--municipality", default=None, help="Municipality name, e.g. 佐野市.")
@click.option("--name", "display_name", default=None, help="Display name (default: the e-mail).")
def create_user_command(
    email: str,
    role: str,
    program_code: str | None,
    municipality: str | None,
    display_name: str | None,
) -> None:
    """Create an account and print an invitation link."""
    from supporters.accounts import services
    from supporters.programs.services import find_municipality, get_program_by_code

    session = db.session
    try:
        program = None
        if program_code:
            program = get_program_by_code(session, program_code)
            if program is None:
                raise ServiceError("program", f"unknown program: {program_code}")
        place = (
            find_municipality(
                session, municipality, prefecture=program.prefecture if program else None
            )
            if municipality
            else None
        )
        user = services.create_user(
            session, actor=None, email=email, display_name=display_name or email.split("@")[0]
        )
        services.grant_role(
            session,
            actor=None,
            user=user,
            role=role,
            program=program,
            municipality=place,
            now=now_utc(),
        )
        token = services.issue_invitation(
            session, actor=None, user=user, secret_key=current_app.config["SECRET_KEY"]
        )
    except ServiceError as error:
        session.rollback()
        raise click.ClickException(error.message) from error
    session.commit()
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    click.echo(f"Created {user.email} ({role}).")
    click.echo(
        f"Invitation link (valid {current_app.config['INVITATION_MAX_AGE'] // 86400} days, "
        f"single use): {base}/invitation/{token}"
    )


@click.command("backup")
@with_appcontext
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(target: Path) -> None:
    """Write a consistent copy of the database to TARGET.

    SQLite: the online backup API (safe while the app runs). PostgreSQL: pg_dump in its
    custom format (restore with pg_restore --clean --dbname URL TARGET).
    """
    url = db.engine.url
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise click.ClickException("An in-memory database cannot be backed up.")
        if target.exists():
            target.unlink()
        source = sqlite3.connect(url.database)
        try:
            destination = sqlite3.connect(target)
            with destination:
                source.backup(destination)
            destination.close()
        finally:
            source.close()
        click.echo(f"SQLite backup written to {target}")
        return
    if url.get_backend_name() == "postgresql":
        pg_dump = shutil.which("pg_dump")
        if pg_dump is None:
            raise click.ClickException(
                "pg_dump is not installed (apt-get install postgresql-client)."
            )
        libpq_url = url.set(drivername="postgresql").render_as_string(hide_password=False)
        result = subprocess.run(  # noqa: S603 - fixed program, our own URL
            [pg_dump, "--format=custom", "--no-owner", f"--file={target}", libpq_url],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise click.ClickException(f"pg_dump failed: {result.stderr.strip()}")
        click.echo(f"PostgreSQL backup (pg_dump custom format) written to {target}")
        return
    raise click.ClickException(f"No backup method for {url.get_backend_name()}")
