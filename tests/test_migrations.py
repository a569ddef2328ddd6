"""The schema is what the migrations build, and the migrations match the models."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade

from supporters.extensions import db, migrate
from tests.conftest import BACKENDS, build_migrated_app


def _script(app: Flask) -> ScriptDirectory:
    with app.app_context():
        config = migrate.get_config()
        return ScriptDirectory.from_config(config)


def test_one_head(app: Flask) -> None:
    assert len(_script(app).get_heads()) == 1


@pytest.mark.parametrize("backend", BACKENDS)
def test_models_match_migrations_and_downgrade_works(backend: str, schema_factory: Any) -> None:
    app = build_migrated_app(schema_factory.url(backend, "mig"))
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        with db.engine.connect() as connection:
            assert connection.scalar(sa.text("SELECT count(*) FROM municipality")) == 1741
        db.engine.dispose()


def test_reference_data(db_session: Any) -> None:
    from supporters.programs.models import Municipality, Program

    assert db_session.scalar(sa.select(sa.func.count()).select_from(Municipality)) == 1741
    assert db_session.scalar(sa.select(sa.func.count(sa.distinct(Municipality.prefecture)))) == 47
    codes = set(db_session.scalars(sa.select(Program.code)))
    assert codes == {"chiba", "tochigi", "kagawa"}
    tochigi = db_session.scalar(sa.select(Program).where(Program.code == "tochigi"))
    assert tochigi.follow_up_interval_months == 36 and tochigi.follow_up_mandatory
    assert tochigi.activity_reports_required
    assert tochigi.format_registration_number(2023, 154) == "TCG-2023-0154"
    kagawa = db_session.scalar(sa.select(Program).where(Program.code == "kagawa"))
    assert kagawa.registration_mode == "on_request" and kagawa.follow_up_interval_months is None


def _counts(tables: list[str]) -> dict[str, int]:
    with db.engine.connect() as connection:
        return {
            # The names come from the database's own catalogue.
            table: int(connection.scalar(sa.text(f'SELECT count(*) FROM "{table}"')) or 0)  # noqa: S608
            for table in tables
            if table != "alembic_version"
        }


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_migration_goes_down_and_up_again_with_the_demo_data(
    backend: str, schema_factory: Any
) -> None:
    """Each revision from head to base: down, up (the data in the tables it leaves alone is
    all still there), down again; then up to head and the demo loads again. Above the
    reference data (0002) no downgrade loses a row of a table it keeps."""
    app = build_migrated_app(schema_factory.url(backend, "updown"))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    revisions = [script.revision for script in _script(app).walk_revisions()]  # head first
    with app.app_context():
        for revision in revisions:
            before = _counts(sa.inspect(db.engine).get_table_names())
            downgrade(revision="-1")
            kept = sa.inspect(db.engine).get_table_names()
            during = _counts(kept)
            upgrade(revision=revision)
            after = _counts(sa.inspect(db.engine).get_table_names())
            lost = {t: (during[t], after[t]) for t in during if after[t] < during[t]}
            assert not lost, f"{revision}: up again lost rows: {lost}"
            if revision > "0002":
                assert during == {t: before[t] for t in during}, f"{revision}: down lost rows"
            downgrade(revision="-1")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        db.engine.dispose()
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert _counts(["user_account"])["user_account"] == 12
        db.engine.dispose()
