from __future__ import annotations

import pytest

from config import Config, ProductionConfig


def test_production_refuses_to_start_without_a_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORTERS_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SUPPORTERS_SECRET_KEY must be set"):
        ProductionConfig()
    monkeypatch.setenv("SUPPORTERS_SECRET_KEY", "short")
    with pytest.raises(RuntimeError, match="at least 32 characters"):
        ProductionConfig()
    monkeypatch.setenv("SUPPORTERS_SECRET_KEY", "k" * 48)
    assert ProductionConfig().SECRET_KEY == "k" * 48


def test_production_password_hash_is_at_owasp_cost() -> None:
    from argon2 import PasswordHasher
    from argon2.profiles import RFC_9106_LOW_MEMORY  # noqa: F401 - the library's profiles exist

    params = Config.PASSWORD_HASH
    # OWASP Password Storage Cheat Sheet: argon2id, m >= 19 MiB, t >= 2, p = 1.
    assert params["memory_cost"] >= 19 * 1024 and params["time_cost"] >= 2
    hashed = PasswordHasher(**params).hash("x")
    assert hashed.startswith("$argon2id$") and "m=19456,t=2,p=1" in hashed


def test_https_base_url_makes_cookies_secure(monkeypatch: pytest.MonkeyPatch) -> None:
    class HttpsConfig(Config):
        BASE_URL = "https://supporters.example.jp"

    assert HttpsConfig().SESSION_COOKIE_SECURE is True
    assert Config().SESSION_COOKIE_SECURE is False
