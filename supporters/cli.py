"""The flask commands (flask --app wsgi ...)."""

from __future__ import annotations

import logging
import shutil
import sqlite3
import subprocess
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import MetaData, text

from supporters.db import ServiceError, now_utc
from supporters.extensions import db
from supporters.reminders.cli import configure_logging
from supporters.reminders.cli import register as register_reminders_cli

DEFAULT_DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed by `demo`; refused in production


def register_cli(app: Flask) -> None:
    app.cli.add_command(demo_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(scheduler_cli)
    register_reminders_cli(app)

    from supporters.administration import cli as administration_cli
    from supporters.certificates import cli as certificates_cli
    from supporters.registry import cli as registry_cli
    from supporters.reports import cli as reports_cli
    from supporters.training import cli as training_cli

    training_cli.register(app)
    registry_cli.register(app)
    certificates_cli.register(app)
    reports_cli.register(app)
    administration_cli.register(app)


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
    try:
        logins = load_demo(
            db.session,
            password=password or DEFAULT_DEMO_PASSWORD,
            now=now_utc(),
            set_password_always=password is not None or reset,
        )
    except ServiceError as error:  # e.g. a --password that breaks the password rules
        db.session.rollback()
        raise click.UsageError(error.message) from None
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
@click.option(
    "--organisation",
    default=None,
    help="A coordinator for one organisation of the program, e.g. 那須町社会福祉協議会.",
)
@click.option("--name", "display_name", default=None, help="Display name (default: the e-mail).")
def create_user_command(
    email: str,
    role: str,
    program_code: str | None,
    municipality: str | None,
    organisation: str | None,
    display_name: str | None,
) -> None:
    """Create an account and print an invitation link."""
    from supporters.accounts import services
    from supporters.programs.services import (
        find_municipality,
        find_organisation,
        get_program_by_code,
    )

    session = db.session
    try:
        program = None
        if program_code:
            program = get_program_by_code(session, program_code)
            if program is None:
                raise ServiceError(
                    "program", f"unknown program: {program_code}", code="unknown_program"
                )
        place = (
            find_municipality(
                session, municipality, prefecture=program.prefecture if program else None
            )
            if municipality
            else None
        )
        issuer = None
        if organisation:
            if program is None:
                raise ServiceError(
                    "program", "--organisation needs --program", code="organisation_needs_program"
                )
            issuer = find_organisation(session, program, organisation)
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
            organisation=issuer,
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
    click.echo(f"Created {user.email} ({role}{' of ' + issuer.name if issuer else ''}).")
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
        schema = _current_schema()
        result = subprocess.run(  # noqa: S603 - fixed program, our own URL
            [
                pg_dump,
                "--format=custom",
                "--no-owner",
                f"--schema={schema}",  # the application's schema, not the whole server
                f"--file={target}",
                libpq_url,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise click.ClickException(f"pg_dump failed: {result.stderr.strip()}")
        click.echo(f"PostgreSQL backup (pg_dump custom format) written to {target}")
        return
    raise click.ClickException(f"No backup method for {url.get_backend_name()}")


def _current_schema() -> str:
    with db.engine.connect() as connection:
        return str(connection.scalar(text("SELECT current_schema()")))


@click.command("restore")
@with_appcontext
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Restore even while a scheduler holds its lock (it would act on data being replaced).",
)
def restore_command(source: Path, force: bool) -> None:
    """Replace the database with the backup SOURCE (made by `backup`), safely.

    The backup is checked first (SQLite: integrity_check; PostgreSQL: pg_restore --list),
    and nothing is changed if it is unusable. SQLite: copied into the live file through
    SQLite's backup API, which keeps the database and its WAL consistent (copying the file
    over it does not). PostgreSQL: pg_restore --clean --if-exists --no-owner in one
    transaction, into the application's schema. Refused while a scheduler runs, unless
    --force; stop the web workers too. Afterwards run `flask --app wsgi db upgrade` if the
    backup is older than the code (`/healthz` says so).
    """
    from supporters.scheduler import make_lock

    url = db.engine.url
    backend = url.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise click.ClickException(f"No restore method for {backend}")
    db.session.remove()
    db.engine.dispose()
    lock = make_lock(current_app._get_current_object())  # type: ignore[attr-defined]
    held = lock.try_acquire()
    if not held and not force:
        raise click.ClickException(
            f"A scheduler is running ({lock.description}): stop it first (and the web "
            "workers), or give --force."
        )
    try:
        if backend == "sqlite":
            _restore_sqlite(url.database, source)
        else:
            _restore_postgresql(source)
    finally:
        if held:
            lock.release()
        db.engine.dispose()
    with db.engine.connect() as connection:
        revision = connection.scalar(text("SELECT version_num FROM alembic_version"))
    click.echo(f"Restored {source} (schema revision {revision}).")
    click.echo("If the backup is older than the code, run: flask --app wsgi db upgrade")


def _restore_sqlite(database: str | None, source: Path) -> None:
    if not database or database == ":memory:" or database.startswith("file:"):
        raise click.ClickException("Restore needs an SQLite database file.")
    try:
        backup = sqlite3.connect(source)
        try:
            verdict = [row[0] for row in backup.execute("PRAGMA integrity_check")]
            tables = {
                row[0]
                for row in backup.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
        except sqlite3.DatabaseError as error:
            backup.close()
            raise click.ClickException(
                f"{source} is not a usable SQLite database: {error}"
            ) from error
    except sqlite3.Error as error:
        raise click.ClickException(f"{source} cannot be opened: {error}") from error
    try:
        if verdict != ["ok"]:
            raise click.ClickException(
                f"{source} failed SQLite's integrity check, nothing was changed: "
                + "; ".join(verdict[:5])
            )
        if "alembic_version" not in tables:
            raise click.ClickException(f"{source} is not a backup of this application.")
        live = sqlite3.connect(database, timeout=30)
        try:
            live.execute("PRAGMA busy_timeout=30000")
            backup.backup(live)  # page by page into the live file, under its own locks and WAL
            live.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            after = [row[0] for row in live.execute("PRAGMA integrity_check")]
        finally:
            live.close()
    finally:
        backup.close()
    if after != ["ok"]:
        raise click.ClickException(
            "The restored database failed the integrity check: " + "; ".join(after[:5])
        )


def _restore_postgresql(source: Path) -> None:
    pg_restore = shutil.which("pg_restore")
    if pg_restore is None:
        raise click.ClickException(
            "pg_restore is not installed (apt-get install postgresql-client)."
        )
    listing = subprocess.run(  # noqa: S603 - fixed program, our own arguments
        [pg_restore, "--list", str(source)],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if listing.returncode != 0 or "alembic_version" not in listing.stdout:
        raise click.ClickException(
            f"{source} is not a pg_dump archive of this application, nothing was changed: "
            + (listing.stderr.strip() or "no alembic_version table")
        )
    schema = _current_schema()
    db.engine.dispose()
    libpq_url = db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    result = subprocess.run(  # noqa: S603 - fixed program, our own URL
        [
            pg_restore,
            "--clean",
            "--if-exists",  # an empty database has nothing to drop: not an error
            "--no-owner",
            "--single-transaction",  # all or nothing
            "--exit-on-error",
            f"--schema={schema}",
            f"--dbname={libpq_url}",
            str(source),
        ],
        capture_output=True,
        encoding="utf-8",
        errors="replace",
        check=False,
    )
    if result.returncode != 0:
        raise click.ClickException(
            f"pg_restore failed, nothing was changed: {result.stderr.strip()}"
        )


scheduler_cli = AppGroup("scheduler", help="The scheduler process (exactly one acts at a time).")


@scheduler_cli.command("run")
@click.option(
    "--lock-poll",
    type=click.FloatRange(min=0.05),
    default=5.0,
    show_default=True,
    help="Seconds between attempts to take the lock while another scheduler holds it.",
)
def scheduler_run_command(lock_poll: float) -> None:
    """Run every scheduled job; a second scheduler waits for the lock."""
    from supporters.scheduler import SchedulerLockLost, run_scheduler

    configure_logging(logging.INFO)
    try:
        run_scheduler(current_app._get_current_object(), poll_seconds=lock_poll)  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        pass
    except SchedulerLockLost as error:
        raise click.ClickException(f"the scheduler lock was lost: {error}") from error
