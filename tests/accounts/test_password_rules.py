"""Passwords: at least 10 characters, not among the 10,000 most common, not containing the
name of the e-mail address; checked at invitation, reset and change, with clear messages."""

from __future__ import annotations

from typing import Any

import pytest

from supporters.accounts import services
from supporters.db import ServiceError
from tests import factories
from tests.conftest import post_form

COMMON = "このパスワードはよく使われるパスワード"
HAS_NAME = "メールアドレスの名前"


def test_the_list_holds_the_10000_most_common_passwords() -> None:
    common = services.common_passwords()
    assert len(common) == 10_000
    for password in ("123456", "password", "qwerty", "1234567890", "iloveyou", "qqqqqq1"):
        assert password in common


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("123456789", "^10文字以上で入力してください"),  # too short comes first
        ("1234567890", "よく使われるパスワード上位1万件に含まれていて"),
        ("QWERTYUIOP", "よく使われるパスワード上位1万件に含まれていて"),  # case does not help
        ("ｑｗｅｒｔｙｕｉｏｐ", "よく使われるパスワード上位1万件に含まれていて"),  # nor full width
        ("1q2w3e4r5t", "よく使われるパスワード上位1万件に含まれていて"),
        ("yamada.taro", r"メールアドレスの名前の部分\(yamada\.taro\)を含めることはできません"),
        ("my name is Yamada.Taro!", r"メールアドレスの名前の部分\(yamada\.taro\)を含めることは"),
        ("taro likes tea 2026", r"メールアドレスの名前の部分\(taro\)を含めることは"),  # a part
        ("yamada.taro@example.jp", "メールアドレスと同じパスワードは使えません"),
    ],
)
@pytest.mark.usefixtures("japanese")
def test_weak_passwords_are_refused_with_the_reason(password: str, message: str) -> None:
    with pytest.raises(ServiceError, match=message) as info:
        services.check_password_rules(password, "yamada.taro@example.jp")
    assert info.value.code.startswith("password_")


@pytest.mark.parametrize(
    "password",
    ["correct horse battery", "1234567890x", "tea at the harbour", "a1@example.jp is mine"],
)
def test_reasonable_passwords_pass(password: str) -> None:
    services.check_password_rules(password, "yamada.taro@example.jp")
    services.check_password_rules(password, "a1@example.jp")  # a short name is not checked


def test_invitation_refuses_a_common_password_in_japanese(
    client: Any, db_session: Any, app: Any
) -> None:
    user = factories.user(db_session, password=None, email="suzuki.hanako@example.jp")
    token = services.issue_invitation(
        db_session, actor=None, user=user, secret_key=app.config["SECRET_KEY"]
    )
    db_session.commit()
    for weak, reason in (("1234567890", COMMON), ("hanako-2026-04", HAS_NAME)):
        response = post_form(client, f"/invitation/{token}", {"password": weak, "confirm": weak})
        assert response.status_code == 200
        assert reason in response.get_data(as_text=True)
    db_session.refresh(user)
    assert user.password_hash is None


def test_reset_refuses_a_common_password(client: Any, db_session: Any, app: Any) -> None:
    user = factories.user(db_session, email="reset.rules@example.jp")
    token = services.issue_password_reset(user, secret_key=app.config["SECRET_KEY"])
    db_session.commit()
    response = post_form(
        client, f"/password/reset/{token}", {"password": "qwertyuiop", "confirm": "qwertyuiop"}
    )
    assert response.status_code == 200 and COMMON in response.get_data(as_text=True)


def test_change_refuses_a_common_password_and_the_name(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.admin(db_session, email="kimura@example.jp"))
    for weak, reason in (("password123", COMMON), ("I am Kimura, hello", HAS_NAME)):
        response = post_form(
            client,
            "/account/password",
            {"current_password": factories.PASSWORD, "password": weak, "confirm": weak},
        )
        assert response.status_code == 200
        assert reason in response.get_data(as_text=True)


def test_an_old_weak_password_still_logs_in_and_is_rehashed(
    client: Any, db_session: Any, app: Any
) -> None:
    """A password set before the rules tightened still works (the rehash on login must not
    refuse it); the rules apply when a password is chosen."""
    user = factories.user(db_session, email="old@example.jp")
    weak_hash = services.password_hasher(
        {"time_cost": 1, "memory_cost": 512, "parallelism": 1}
    ).hash("1234567890")
    user.password_hash = weak_hash
    db_session.commit()
    response = post_form(client, "/login", {"email": "old@example.jp", "password": "1234567890"})
    assert response.status_code == 302
    db_session.refresh(user)
    assert user.password_hash != weak_hash
