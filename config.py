"""Settings, all read from SUPPORTERS_* environment variables.

Config is what development and the demo use; ProductionConfig refuses to
start without a real secret key; TestConfig is what the test suite builds on.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
INSTANCE_DIR = BASE_DIR / "instance"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(f"SUPPORTERS_{name}")
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    value = _env(name)
    return int(value) if value is not None else default


def _development_secret_key() -> str:
    """A random key kept under instance/, so the demo's web and scheduler processes agree."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    ENV_NAME = "development"
    SECRET_KEY: str | None = _env("SECRET_KEY")
    SQLALCHEMY_DATABASE_URI = _env(
        "DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'supporters.sqlite3'}"
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    BASE_URL = _env("BASE_URL", "http://127.0.0.1:5000")
    MAIL_URL = _env("MAIL_URL")  # smtp://host:port; unset: mail stays in the outbox page
    MAIL_FROM = _env("MAIL_FROM", "supporters@localhost")
    # Rate-limit counters must be shared by every worker in production (redis://...).
    RATELIMIT_STORAGE_URI = _env("RATELIMIT_STORAGE_URI", "memory://")
    RATELIMIT_HEADERS_ENABLED = False
    # How many reverse proxies stand in front (werkzeug's ProxyFix): the limits and the audit
    # log then see the real client. 0: the connecting address is the client.
    TRUSTED_PROXIES = _env_int("TRUSTED_PROXIES", 0)
    # Login guesses, each counted before the password is checked (supporters.accounts.throttle):
    # per account from one client, per client, and a ceiling per account from all clients
    # together, past which the account takes LOGIN_LIMIT_ACCOUNT_SLOWED guesses and its owner
    # is told by mail. A device the owner logged in from before is not slowed.
    LOGIN_LIMIT_PER_ACCOUNT = _env("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes")
    LOGIN_LIMIT_PER_ADDRESS = _env("LOGIN_LIMIT_PER_ADDRESS", "20 per 15 minutes")
    LOGIN_LIMIT_ACCOUNT_CEILING = _env("LOGIN_LIMIT_ACCOUNT_CEILING", "30 per hour")
    LOGIN_LIMIT_ACCOUNT_SLOWED = _env("LOGIN_LIMIT_ACCOUNT_SLOWED", "2 per minute")
    # Forgot-password: requests per client, and reset mails per address (past it, the same
    # answer and no mail).
    PASSWORD_RESET_LIMIT_PER_ADDRESS = _env("PASSWORD_RESET_LIMIT_PER_ADDRESS", "10 per hour")
    PASSWORD_RESET_MAILS_PER_ACCOUNT = _env("PASSWORD_RESET_MAILS_PER_ACCOUNT", "3 per hour")
    # Public pages, per client: the certificate check and the calendar feed.
    VERIFY_LIMIT = _env("VERIFY_LIMIT", "30 per minute")
    CALENDAR_FEED_LIMIT = _env("CALENDAR_FEED_LIMIT", "60 per minute")
    # The one-tap answer page from mail (/a/<token>), opened and answered without a login.
    ANSWER_LINK_LIMIT = _env("ANSWER_LINK_LIMIT", "20 per minute")
    BABEL_DEFAULT_LOCALE = "ja"
    BABEL_DEFAULT_TIMEZONE = "Asia/Tokyo"
    LANGUAGES = ("ja", "en")
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    PERMANENT_SESSION_LIFETIME = _env_int("SESSION_HOURS", 12) * 3600
    INVITATION_MAX_AGE = _env_int("INVITATION_DAYS", 14) * 86400
    PASSWORD_RESET_MAX_AGE = _env_int("PASSWORD_RESET_MINUTES", 60) * 60
    # argon2id at the OWASP Password Storage Cheat Sheet minimum (m=19 MiB, t=2, p=1).
    PASSWORD_HASH = {"time_cost": 2, "memory_cost": 19 * 1024, "parallelism": 1}
    PDF_FONT = _env("PDF_FONT")
    # A withdrawn supporter's personal data is erased this many days after the withdrawal.
    WITHDRAWN_RETENTION_DAYS = _env_int("WITHDRAWN_RETENTION_DAYS", 365)
    # Published report cells with fewer people than this read "<N".
    REPORT_SUPPRESS_BELOW = _env_int("REPORT_SUPPRESS_BELOW", 5)
    AUDIT_SENSITIVE_VIEWS = True

    def __init__(self) -> None:
        if not self.SECRET_KEY:
            self.SECRET_KEY = _development_secret_key()
        # HTTPS deployments get Secure cookies and HSTS.
        secure = str(self.BASE_URL).startswith("https://")
        self.SESSION_COOKIE_SECURE = secure
        self.PREFERRED_URL_SCHEME = "https" if secure else "http"


class ProductionConfig(Config):
    ENV_NAME = "production"

    def __init__(self) -> None:
        super().__init__()
        key = _env("SECRET_KEY")
        if not key or len(key) < 32:
            raise RuntimeError(
                "SUPPORTERS_SECRET_KEY must be set to a random value of at least 32 characters "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        self.SECRET_KEY = key


class TestConfig(Config):
    ENV_NAME = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production-use-0123456789"  # noqa: S105
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    BASE_URL = "http://localhost"
    RATELIMIT_STORAGE_URI = "memory://"
    TRUSTED_PROXIES = 0  # tests that need a proxy build their own app with it
    # Cheap hashes keep the suite fast; production cost is asserted in its own test.
    PASSWORD_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


def config_from_env() -> type[Config]:
    name = _env("ENV", "development")
    return {"production": ProductionConfig, "test": TestConfig}.get(name or "", Config)
