from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests import factories
from tests.conftest import post_form

TRANSLATIONS = Path(__file__).resolve().parent.parent / "supporters" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def _catalog(locale: str) -> Any:
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        return read_po(handle)


def test_every_message_has_a_japanese_translation_with_the_same_placeholders() -> None:
    catalog = _catalog("ja")
    assert len(catalog) > 100
    for message in catalog:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple | list) else (message.string,)
        assert all(strings) and not message.fuzzy, message.id
        for text in strings:  # Japanese has one plural form
            assert sorted(set(PLACEHOLDER.findall(ids[-1]))) == sorted(
                set(PLACEHOLDER.findall(text))
            ), message.id


def test_the_catalogue_covers_the_template() -> None:
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == {m.id for m in _catalog("ja") if m.id}


def _text(value: Any) -> tuple[str, ...]:
    return tuple(value) if isinstance(value, tuple | list) else (value,)


def test_compiled_catalogues_match_their_sources() -> None:
    for locale in ("ja", "en"):
        with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
            # An untranslated plural is compiled as its English forms: leave those out.
            compiled = {
                _text(m.id): _text(m.string)
                for m in read_mo(handle)
                if m.id and _text(m.string) != _text(m.id)
            }
        source = {
            _text(m.id): _text(m.string)
            for m in _catalog(locale)
            if m.id and any(_text(m.string)) and _text(m.string) != _text(m.id)
        }
        assert compiled == source, f"run: pybabel compile -d supporters/translations ({locale})"


def test_language_switch_before_and_after_login(client: Any, db_session: Any) -> None:
    post_form(client, "/language", {"language": "en", "next": "/login"}, form_url="/login")
    assert "Log in" in client.get("/login").get_data(as_text=True)
    user = factories.user(db_session, email="en@example.jp")
    db_session.commit()
    post_form(client, "/login", {"email": "en@example.jp", "password": factories.PASSWORD})
    post_form(client, "/account", {"language": "en"})
    db_session.refresh(user)
    assert user.locale == "en"
    assert 'lang="en"' in client.get("/").get_data(as_text=True)
    post_form(client, "/account", {"language": "ja"})
    assert 'lang="ja"' in client.get("/").get_data(as_text=True)


def test_language_switch_ignores_a_foreign_next(client: Any) -> None:
    response = post_form(
        client, "/language", {"language": "en", "next": "https://evil.example/"}, form_url="/login"
    )
    assert response.headers["Location"] == "/"
