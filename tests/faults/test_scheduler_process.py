"""The real `scheduler run` process beats: its heartbeat (pid and host) shows in /healthz
within seconds, so a monitor can tell when it stops."""

from __future__ import annotations

import time
from typing import Any

import pytest

from supporters.extensions import db
from tests.conftest import BACKENDS, build_migrated_app
from tests.reminders import FlaskProcess, flask_env


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_scheduler_process_beats_and_healthz_shows_it(
    backend: str, schema_factory: Any
) -> None:
    app = build_migrated_app(schema_factory.url(backend, "beat"))
    client = app.test_client()
    assert client.get("/healthz").get_json()["scheduler"]["last_heartbeat"] is None
    env = flask_env(app.config["SQLALCHEMY_DATABASE_URI"])
    with FlaskProcess(["scheduler", "run", "--lock-poll", "0.2"], env) as scheduler:
        assert scheduler.wait_for("acquired the scheduler lock"), scheduler.output
        deadline = time.monotonic() + 30
        beat = None
        while beat is None and time.monotonic() < deadline:
            beat = client.get("/healthz").get_json()["scheduler"]["last_heartbeat"]
            time.sleep(0.2)
        assert beat is not None, scheduler.output
        report = client.get("/healthz").get_json()
        assert report["scheduler"]["age_seconds"] < 15
        assert report["scheduler"]["detail"].startswith("pid ")
        assert not [w for w in report["warnings"] if "scheduler" in w]
        scheduler.kill()
    with app.app_context():
        db.engine.dispose()
