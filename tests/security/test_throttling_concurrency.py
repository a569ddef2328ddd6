"""Login throttling under real concurrency and behind a reverse proxy, against gunicorn in
production mode with the counters in Redis (as deployed).

- 30 wrong passwords sent at once, over 2 workers with 4 threads each, check at most the
  per-account limit of 5: each guess is counted before its password is checked.
- With SUPPORTERS_TRUSTED_PROXIES=1 every real client behind the proxy has its own limits:
  one client's failures never lock out another."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests import factories
from tests.conftest import BACKENDS, CSRF_RE
from tests.security.test_throttling_workers import (
    Server,
    migrated_url,
    redis_url,  # noqa: F401  (a fixture)
    running_server,
)

EMAIL = "parallel@workers.example"
PER_ACCOUNT = 5
GUESSES = 30


@pytest.fixture(params=BACKENDS)
def threaded(
    request: pytest.FixtureRequest,
    schema_factory: Any,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Server]:
    url = migrated_url(schema_factory, request.param, EMAIL)
    args = ("--workers", "2", "--worker-class", "gthread", "--threads", "4")
    with running_server(url, redis_url, tmp_path, worker_args=args) as server:
        yield server


@pytest.fixture(params=BACKENDS)
def proxied(
    request: pytest.FixtureRequest,
    schema_factory: Any,
    redis_url: str,  # noqa: F811
    tmp_path: Path,
) -> Iterator[Server]:
    url = migrated_url(schema_factory, request.param, EMAIL)
    with running_server(
        url, redis_url, tmp_path, env_extra={"SUPPORTERS_TRUSTED_PROXIES": "1"}
    ) as server:
        yield server


def _token(server: Server, headers: dict[str, str] | None = None) -> str:
    page = server.request("GET", "/login", headers=headers)
    assert page.status == 200
    match = CSRF_RE.search(page.text)
    assert match, "no CSRF token on /login"
    return match.group(1)


def test_thirty_parallel_wrong_passwords_check_at_most_the_limit(threaded: Server) -> None:
    token = _token(threaded)
    cookie = threaded.cookie
    start = threading.Barrier(GUESSES)

    def guess(n: int) -> int:
        own = Server(threaded.port, threaded.access_log)
        own.cookie = cookie
        start.wait()
        response = own.request(
            "POST", "/login", {"email": EMAIL, "password": f"wrong {n}", "csrf_token": token}
        )
        return int(response.status)

    with ThreadPoolExecutor(GUESSES) as pool:
        statuses = list(pool.map(guess, range(GUESSES)))
    # 200: the password was checked (the form again, with the error); 429: refused unchecked.
    assert statuses.count(200) == PER_ACCOUNT, statuses
    assert statuses.count(429) == GUESSES - PER_ACCOUNT, statuses


def test_behind_the_proxy_one_clients_failures_do_not_lock_out_another(proxied: Server) -> None:
    stranger = {"X-Forwarded-For": "203.0.113.9"}
    token = _token(proxied, stranger)

    def login(headers: dict[str, str], email: str, password: str) -> int:
        form = {"email": email, "password": password, "csrf_token": token}
        return int(proxied.request("POST", "/login", form, headers=headers).status)

    for i in range(20):
        assert login(stranger, f"nobody{i}@workers.example", "wrong password") == 200
    assert login(stranger, EMAIL, factories.PASSWORD) == 429
    # A forged header is not believed: only the entry the proxy added counts.
    forged = {"X-Forwarded-For": "198.51.100.1, 203.0.113.9"}
    assert login(forged, EMAIL, factories.PASSWORD) == 429
    owner = {"X-Forwarded-For": "198.51.100.1"}
    assert login(owner, EMAIL, factories.PASSWORD) == 302
