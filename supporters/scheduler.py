"""The scheduler process: every scheduled job, registered here under a stable id.

Only `flask --app wsgi scheduler run` starts a scheduler (`run_scheduler`); `create_app`,
and so gunicorn workers, never do. At most one scheduler acts at a time, guarded by a lock
held for the life of the process:

* PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a dedicated
  connection, keyed by a constant and the schema, so one scheduler runs per application
  database. The lock goes when the process or its connection dies; a lost connection
  stops the scheduler (exit 1) so that it never runs beside the one that took over.
* SQLite: an exclusive `fcntl.flock` on a lock file next to the database file.

A second scheduler logs "waiting for the scheduler lock" and polls until it gets it.

The active scheduler checks that it still holds the lock before every job, before every
reminder rule commits and before every message it sends (`ensure_active`, the fence), and
every `LOCK_CHECK_INTERVAL` in between, when it also writes its heartbeat (`service_state`
row `scheduler`, shown by `/healthz`). On PostgreSQL the check asks `pg_locks` on the lock's
own connection, so a killed connection (`pg_terminate_backend`) or a lock released behind
its back is seen at the next check: the scheduler stops acting at once and exits 1.

Jobs run in a thread pool, each inside its own app context (`run_job`): it commits at the
edge, rolls back and logs on error. Each job is idempotent and can run beside a manual
`reminders run-due`.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from apscheduler.events import EVENT_SCHEDULER_START
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy.engine import URL, Connection
from sqlalchemy.pool import NullPool

from supporters.core.time import TOKYO, local_date
from supporters.db import DbSession, now_utc
from supporters.extensions import db
from supporters.mail.jobs import send_due_mail
from supporters.mail.services import record_heartbeat
from supporters.registry.status_refresh import refresh_statuses
from supporters.reminders.jobs import RunReport, run_due

log = logging.getLogger(__name__)

# pg_try_advisory_lock(LOCK_CLASS, <schema hash>): "SCHD", then the schema in use.
LOCK_CLASS = 0x53434844
LOCK_CHECK_INTERVAL = timedelta(seconds=5)
WAITING_LOG_INTERVAL = 300.0  # seconds between repeated "waiting" lines

T = TypeVar("T")
Work = Callable[[DbSession, datetime, Mapping[str, Any]], T]


@dataclass(frozen=True)
class ScheduledJob:
    id: str  # stable: the scheduler replaces a job with the same id
    func: Callable[[Flask], object]
    every: timedelta
    description: str


def run_due_job(app: Flask) -> RunReport | None:
    """The `reminders.run_due` job: one pass of every registered reminder rule, then the outbox."""
    return _run_guarded(app, "reminders.run_due", run_due)


def send_outbox_job(app: Flask) -> int | None:
    """The `outbox.send` job."""
    return _run_guarded(app, "outbox.send", send_due_mail)


def _run_guarded(app: Flask, job_id: str, work: Callable[..., T]) -> T | None:
    """Run `work` as the job `job_id`; it stops acting once this scheduler is not the
    active one (`ensure_active`)."""
    return run_job(
        app,
        job_id,
        lambda session, now, config: work(session, now=now, app_config=config, guard=ensure_active),
    )


def refresh_statuses_job(app: Flask) -> int | None:
    """The `registry.refresh_statuses` job: the status stored on each registration moved on
    to today's (a validity end passed, a follow-up window opened)."""
    return run_job(
        app,
        "registry.refresh_statuses",
        lambda session, now, config: refresh_statuses(session, today=local_date(now)),
    )


def scheduled_jobs() -> list[ScheduledJob]:
    """Every job the scheduler runs. A feature adds its `jobs.py` entry point here (the
    reminder rules are not jobs: each feature registers them with `reminders.jobs`, and the
    `reminders.run_due` job runs them all)."""
    return [
        ScheduledJob(
            "reminders.run_due",
            run_due_job,
            timedelta(minutes=5),
            "one pass of every reminder rule, then send the outbox",
        ),
        ScheduledJob("outbox.send", send_outbox_job, timedelta(minutes=1), "send the outbox"),
        # Hourly, so the stored statuses follow midnight in Japan within the hour; lists do
        # not wait for it (registry.services.status_today_sql reads the dates themselves).
        ScheduledJob(
            "registry.refresh_statuses",
            refresh_statuses_job,
            timedelta(hours=1),
            "move the status stored on each registration on to today's",
        ),
    ]


def build_scheduler(app: Flask) -> BlockingScheduler:
    """A scheduler (not started) with every job; each also runs once right at start, which
    catches up after downtime (runs missed meanwhile are coalesced into that one)."""
    scheduler = BlockingScheduler(
        timezone=TOKYO,
        executors={"default": ThreadPoolExecutor(max_workers=4)},
        job_defaults={"coalesce": True, "max_instances": 1},
    )
    start = datetime.now(TOKYO)
    for job in scheduled_jobs():
        seconds = int(job.every.total_seconds())
        scheduler.add_job(
            job.func,
            IntervalTrigger(seconds=seconds, timezone=TOKYO),
            args=[app],
            id=job.id,
            name=job.description,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=seconds,
            next_run_time=start,
        )
    return scheduler


class _Fence:
    """The lock this process acts under, checked before every job and every send. Outside a
    scheduler process (commands, web workers, tests) there is none and nothing is checked."""

    def __init__(self) -> None:
        self.lock: SchedulerLock | None = None
        self.on_lost: Callable[[SchedulerLockLost], None] | None = None
        self.lost: SchedulerLockLost | None = None
        self.mutex = threading.Lock()  # the lock's connection is used by one thread at a time
        self.running = 0  # jobs in flight
        self.idle = threading.Condition()

    def arm(self, lock: SchedulerLock, on_lost: Callable[[SchedulerLockLost], None] | None) -> None:
        with self.mutex:
            self.lock, self.on_lost, self.lost = lock, on_lost, None

    def disarm(self, *, wait: float = 120.0) -> None:
        """Forget the lock once the jobs in flight have ended (each stops at its next check
        if the lock was lost), so none of them acts unchecked afterwards."""
        with self.idle:
            self.idle.wait_for(lambda: self.running == 0, timeout=wait)
        with self.mutex:
            self.lock, self.on_lost, self.lost = None, None, None

    @contextmanager
    def job(self) -> Iterator[None]:
        with self.idle:
            self.running += 1
        try:
            yield
        finally:
            with self.idle:
                self.running -= 1
                self.idle.notify_all()

    def check(self) -> None:
        with self.mutex:
            if self.lost is not None:
                raise self.lost
            if self.lock is None:
                return
            try:
                self.lock.check()
            except SchedulerLockLost as error:
                self.lost = error
                on_lost = self.on_lost
            else:
                return
        log.error("lost the scheduler lock, stopping: %s", self.lost)
        if on_lost is not None:
            on_lost(self.lost)
        raise self.lost


FENCE = _Fence()


def ensure_active() -> None:
    """Raise `SchedulerLockLost` if this scheduler no longer holds its lock (no-op outside
    the scheduler process). Jobs call it before each step that acts."""
    FENCE.check()


def run_job(app: Flask, job_id: str, work: Work[T]) -> T | None:
    """Run one job inside its own app context: `work(session, now, config)`, then commit;
    on error roll back, log and return None (the next run tries again). A scheduler that
    has lost its lock runs nothing."""
    started = time.monotonic()
    with FENCE.job(), app.app_context():
        session = db.session
        try:
            ensure_active()
            result = work(session, now_utc(), app.config)
            ensure_active()
            session.commit()
        except SchedulerLockLost:
            session.rollback()
            log.error("job %s stopped: this scheduler lost its lock", job_id)
            return None
        except Exception:
            session.rollback()
            log.exception("job %s failed after %.1fs", job_id, time.monotonic() - started)
            return None
    summary = result.summary() if hasattr(result, "summary") else repr(result)
    busy = bool(result) if isinstance(result, int) else True
    log.log(
        logging.INFO if busy else logging.DEBUG,
        "job %s: %s (%.1fs)",
        job_id,
        summary,
        time.monotonic() - started,
    )
    return result


def heartbeat(app: Flask) -> None:
    """Record that this scheduler is alive (its pid and host), for `/healthz`."""
    with app.app_context():
        try:
            record_heartbeat(
                db.session,
                "scheduler",
                now=now_utc(),
                detail=f"pid {os.getpid()} on {socket.gethostname()}",
            )
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            log.warning("could not record the scheduler heartbeat", exc_info=True)


# --- the single-instance lock ---------------------------------------------------------------


class SchedulerLock(Protocol):
    description: str

    def try_acquire(self) -> bool: ...

    def check(self) -> None:
        """Raise if the lock is no longer held."""

    def release(self) -> None: ...


class SchedulerLockLost(RuntimeError):
    pass


class PostgresAdvisoryLock:
    """A session-level advisory lock on a dedicated connection (AUTOCOMMIT, no pool), held
    until `release` or until the connection goes."""

    def __init__(self, url: URL) -> None:
        self.engine = sa.create_engine(url, poolclass=NullPool)
        self.connection: Connection | None = None
        self.key: tuple[int, int] | None = None
        self.held = False
        self.description = f"PostgreSQL advisory lock on {url.render_as_string()}"

    def _connect(self) -> Connection:
        if self.connection is None:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            schema = str(connection.scalar(sa.text("SELECT current_schema()")))
            self.key = (LOCK_CLASS, zlib.crc32(schema.encode()) & 0x7FFFFFFF)
            self.description = f"PostgreSQL advisory lock {self.key} (schema {schema})"
            self.connection = connection
        return self.connection

    def try_acquire(self) -> bool:
        try:
            connection = self._connect()
            assert self.key is not None
            self.held = bool(
                connection.scalar(
                    sa.text("SELECT pg_try_advisory_lock(:k1, :k2)"),
                    {"k1": self.key[0], "k2": self.key[1]},
                )
            )
            return self.held
        except sa.exc.OperationalError as error:
            log.warning("cannot reach the database for the scheduler lock: %s", error)
            self._drop()
            return False

    def check(self) -> None:
        if not self.held or self.connection is None or self.key is None:
            raise SchedulerLockLost("the advisory lock is not held")
        try:
            still_held = self.connection.scalar(
                sa.text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory'"
                    " AND pid = pg_backend_pid() AND granted AND classid::bigint = :k1"
                    " AND objid::bigint = :k2 AND objsubid = 2)"
                ),
                {"k1": self.key[0], "k2": self.key[1]},
            )
        except sa.exc.SQLAlchemyError as error:
            self.held = False
            raise SchedulerLockLost(f"the lock connection is gone: {error}") from error
        if not still_held:
            self.held = False
            raise SchedulerLockLost("the advisory lock is no longer held by this session")

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                connection.close()
            except sa.exc.SQLAlchemyError:
                connection.invalidate()

    def release(self) -> None:
        if self.held and self.connection is not None and self.key is not None:
            # If this fails, the session, and so the lock, is gone anyway.
            with contextlib.suppress(sa.exc.SQLAlchemyError):
                self.connection.execute(
                    sa.text("SELECT pg_advisory_unlock(:k1, :k2)"),
                    {"k1": self.key[0], "k2": self.key[1]},
                )
        self.held = False
        self._drop()
        self.engine.dispose()


class FileLock:
    """An exclusive `flock` on a file, released by the kernel when the process ends."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fd: int | None = None
        self.description = f"lock file {path}"

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return True

    def check(self) -> None:
        if self.fd is None:
            raise SchedulerLockLost("the lock file is not held")

    def release(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def sqlite_lock_path(app: Flask, url: URL) -> Path:
    """`<database file>.scheduler.lock` beside the database (instance folder when in memory)."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return Path(app.instance_path) / "scheduler.lock"
    path = Path(database)
    return path.with_name(path.name + ".scheduler.lock")


def make_lock(app: Flask) -> SchedulerLock:
    with app.app_context():
        url = db.engine.url
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresAdvisoryLock(url)
    if backend == "sqlite":
        return FileLock(sqlite_lock_path(app, url))
    raise RuntimeError(f"no scheduler lock for the {backend} backend")


def wait_for_lock(lock: SchedulerLock, *, poll_seconds: float) -> None:
    """Block until this process holds the lock, logging while another process has it."""
    last_logged: float | None = None
    while not lock.try_acquire():
        if last_logged is None or time.monotonic() - last_logged >= WAITING_LOG_INTERVAL:
            log.warning(
                "waiting for the scheduler lock (%s): another scheduler is running; "
                "retrying every %gs",
                lock.description,
                poll_seconds,
            )
            last_logged = time.monotonic()
        time.sleep(poll_seconds)
    log.info("acquired the scheduler lock (%s)", lock.description)


class _Stopper:
    """SIGTERM and SIGINT. While waiting for the lock: unwind at once (SystemExit). Once the
    scheduler runs: shut it down from a helper thread (APScheduler's loop would swallow an
    exception raised in it), which lets running jobs finish; then the lock is released."""

    def __init__(self) -> None:
        self.scheduler: BlockingScheduler | None = None
        self.requested = False

    def attach(self, scheduler: BlockingScheduler) -> None:
        self.scheduler = scheduler
        if self.requested:
            self._stop_soon()

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.requested:
            return
        self.requested = True
        log.info("stopping the scheduler (signal %s)", signum)
        if self.scheduler is None:
            raise SystemExit(0)
        self._stop_soon()

    def _stop_soon(self) -> None:
        def stop() -> None:
            assert self.scheduler is not None
            with contextlib.suppress(SchedulerNotRunningError):
                self.scheduler.shutdown(wait=True)

        threading.Thread(target=stop, name="scheduler-stop", daemon=True).start()


@contextmanager
def _signals_to(handler: _Stopper) -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {number: signal.signal(number, handler) for number in _STOP_SIGNALS}
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def run_scheduler(app: Flask, *, poll_seconds: float = 5.0) -> None:
    """The scheduler process: wait for the lock, then run every job until stopped
    (SIGTERM or Ctrl+C: running jobs finish, the lock is released, exit 0)."""
    lock = make_lock(app)
    lost: list[SchedulerLockLost] = []
    stopper = _Stopper()
    with _signals_to(stopper):
        try:
            wait_for_lock(lock, poll_seconds=poll_seconds)
        except BaseException:
            lock.release()
            raise
        try:
            scheduler = build_scheduler(app)

            def stop_acting(error: SchedulerLockLost) -> None:
                lost.append(error)
                with contextlib.suppress(SchedulerNotRunningError):
                    scheduler.shutdown(wait=False)

            FENCE.arm(lock, stop_acting)

            def check_lock() -> None:
                try:
                    ensure_active()
                except SchedulerLockLost:
                    return
                heartbeat(app)

            scheduler.add_job(
                check_lock,
                IntervalTrigger(seconds=LOCK_CHECK_INTERVAL.total_seconds(), timezone=TOKYO),
                id="scheduler.lock_check",
                name="check that this process still holds the scheduler lock",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
            )
            scheduler.add_listener(lambda event: stopper.attach(scheduler), EVENT_SCHEDULER_START)
            log.info(
                "scheduler started (Asia/Tokyo): %s",
                ", ".join(f"{job.id} every {job.every}" for job in scheduled_jobs()),
            )
            try:
                scheduler.start()
            finally:
                if scheduler.running:
                    scheduler.shutdown(wait=True)  # running jobs finish first
        finally:
            FENCE.disarm()
            lock.release()
            log.info("scheduler stopped, lock released")
    if lost:
        raise lost[0]
