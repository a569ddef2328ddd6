"""Login throttling holds across gunicorn workers: the per-account counter lives in Redis, so
wrong passwords spread over two worker processes add up to one limit.

Which worker answers is made certain, not left to chance: a sync worker serves one
connection at a time, so a connection that has sent only half a request keeps that worker
busy and the next connections go to the other one. The access log (with the worker's pid)
shows that both workers took part."""

from __future__ import annotations

import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.client import HTTPConnection
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from supporters.extensions import db
from tests import factories
from tests.conftest import BACKENDS, CSRF_RE, build_migrated_app

ROOT = Path(__file__).resolve().parents[2]
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
EMAIL = "throttled@workers.example"
PER_ACCOUNT = 5  # the production default: "5 per 15 minutes"


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true)")
    pytest.skip(reason)


def _redis_db() -> int:
    """A database of its own per xdist worker, high up, away from anything else."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return 15 if worker == "main" else max(1, 14 - int(re.sub(r"\D", "", worker) or 0))


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    url = f"redis://{REDIS_HOST}:{REDIS_PORT}/{_redis_db()}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        _unavailable(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}")
    client.flushdb()
    try:
        yield url
    finally:
        client.flushdb()
        client.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Server:
    def __init__(self, port: int, access_log: Path) -> None:
        self.port = port
        self.access_log = access_log
        self.cookie = ""

    def request(
        self,
        method: str,
        path: str,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Any:
        connection = HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(headers or {})
        if self.cookie:
            headers["Cookie"] = self.cookie
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.text = response.read().decode()
        finally:
            connection.close()
        cookie = response.getheader("Set-Cookie")
        if cookie:
            self.cookie = cookie.split(";", 1)[0]
        return response

    def hold_a_worker(self) -> socket.socket:
        """Half a request: the worker that accepts it waits for the rest."""
        held = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        held.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        time.sleep(0.5)  # let a worker accept it
        return held

    @staticmethod
    def release(held: socket.socket) -> None:
        held.sendall(b"Connection: close\r\n\r\n")
        assert held.recv(1024).startswith(b"HTTP/1.1 200"), "the held worker did not answer"
        held.close()

    def pids(self, path: str, count: int) -> list[str]:
        """The worker pid of each request to `path`, in order, from the access log (waiting
        a little for the last lines)."""
        found: list[str] = []
        for _ in range(50):
            lines = self.access_log.read_text().splitlines() if self.access_log.exists() else []
            found = [line.split()[0] for line in lines if f" {path} " in line]
            if len(found) >= count:
                break
            time.sleep(0.1)
        return found


@contextmanager
def running_server(
    url: str,
    redis_url: str,
    tmp_path: Path,
    *,
    worker_args: tuple[str, ...] = ("--workers", "2"),
    env_extra: dict[str, str] | None = None,
) -> Iterator[Server]:
    """gunicorn in production mode on `url`, counting in Redis, until the block ends."""
    port = _free_port()
    access_log = tmp_path / "access.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUPPORTERS_")} | {
        "SUPPORTERS_ENV": "production",
        "SUPPORTERS_SECRET_KEY": "workers-test-secret-key-0123456789-abcdefghij",
        "SUPPORTERS_DATABASE_URL": url,
        "SUPPORTERS_RATELIMIT_STORAGE_URI": redis_url,
        "SUPPORTERS_BASE_URL": f"http://127.0.0.1:{port}",
        **(env_extra or {}),
    }
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        *worker_args,
        "--bind",
        f"127.0.0.1:{port}",
        "--timeout",
        "120",
        "--access-logfile",
        str(access_log),
        "--access-logformat",
        "%(p)s %(m)s %(U)s %(s)s",
        "wsgi:app",
    ]
    with (tmp_path / "gunicorn.log").open("wb") as output:
        process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        server = Server(port, access_log)
        deadline = time.monotonic() + 60
        while True:
            try:
                if server.request("GET", "/healthz").status == 200:
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log = (tmp_path / "gunicorn.log").read_text(errors="replace")
                pytest.fail(f"gunicorn did not start:\n{log[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def migrated_url(schema_factory: Any, backend: str, *emails: str) -> str:
    """A fresh schema with a user for each address (the factories' password)."""
    if importlib.util.find_spec("gunicorn") is None:
        _unavailable("gunicorn is not installed (pip install -e '.[prod]')")
    url = schema_factory.url(backend, "workers")
    app = build_migrated_app(url)
    with app.app_context():
        for email in emails:
            factories.user(db.session, email=email)
        db.session.commit()
        db.engine.dispose()
    return url


@pytest.fixture(params=BACKENDS)
def server(
    request: pytest.FixtureRequest, schema_factory: Any, redis_url: str, tmp_path: Path
) -> Iterator[Server]:
    url = migrated_url(schema_factory, request.param, EMAIL)
    with running_server(url, redis_url, tmp_path) as running:
        yield running


def _login(server: Server, token: str, password: str) -> int:
    response = server.request(
        "POST", "/login", {"email": EMAIL, "password": password, "csrf_token": token}
    )
    return int(response.status)


def test_the_per_account_limit_is_shared_by_two_workers(server: Server) -> None:
    page = server.request("GET", "/login")
    assert page.status == 200
    match = CSRF_RE.search(page.text)
    assert match, "no CSRF token on /login"
    token = match.group(1)

    first = server.hold_a_worker()  # worker A is busy: these go to worker B
    early = [_login(server, token, "wrong password") for _ in range(3)]
    second = server.hold_a_worker()  # now worker B is busy too
    server.release(first)  # worker A is free: the rest go to it
    late = [_login(server, token, "wrong password") for _ in range(PER_ACCOUNT - 3)]
    refused = _login(server, token, "wrong password")
    right_password = _login(server, token, factories.PASSWORD)
    server.release(second)
    right_password_again = _login(server, token, factories.PASSWORD)

    assert early + late == [200] * PER_ACCOUNT  # the form again, with the error
    assert refused == 429
    assert right_password == 429 and right_password_again == 429
    pids = server.pids("/login", PER_ACCOUNT + 4)[1:]  # the POSTs (after the first GET)
    assert len(pids) == PER_ACCOUNT + 3, pids
    assert len(set(pids[:3])) == 1 and len(set(pids[3:-1])) == 1, pids
    assert pids[0] != pids[3], f"both workers answered: {pids}"
