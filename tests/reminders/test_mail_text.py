"""The reminder pass renders its mail without Flask's per-render work (context processors,
a locale lookup at every ``_()``, each lazy text drawn by every template): the mail must
still be, byte for byte, what ``flask.render_template`` makes of the same message's texts.
Those texts are drawn as plain text, so the HTML mail escapes what they were formatted with
(a lazy string's ``__html__`` would let a course title or a venue through as typed)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from supporters.core.display import human_date, lazy
from supporters.mail.models import OutboxMessage
from supporters.reminders.models import Notification, ReminderLedger
from supporters.reminders.rules import Message, Reminder, decide, decide_many, person_as_recipient
from tests import factories

NOW = datetime(2030, 5, 10, 4, 0, tzinfo=UTC)


def _message(n: int) -> Message:
    """Lazy texts and plain ones, with characters HTML escapes (a course title, a venue)."""
    return Message(
        _l("New follow-up training: %(t)s", t=f"A&B <i>{n}</i>"),
        [
            _l(
                "Please take a follow-up training before %(d)s to stay registered "
                "(registration %(n)s).",
                d=lazy(human_date, date(2030, 6, 1)),
                n=f"<b>{n}&</b>",
            ),
            f"会場 <b>{n}</b> & 2F",
            lazy(lambda: f"{human_date(date(2030, 6, 2))} 10:00 <x>"),
        ],
        f"/courses/{n}",
    )


def _as_flask_rendered(template: str, locale: str, **context: Any) -> tuple[str, str, str]:
    """Flask's render_template of the message's texts, drawn in `locale` as plain text."""
    with force_locale(locale):
        context = {
            name: [str(v) for v in value] if isinstance(value, list) else value
            for name, value in context.items()
        }
        context["title"] = str(context["title"])
        return (
            render_template(f"mail/{template}.subject.txt", **context).strip(),
            render_template(f"mail/{template}.txt", **context),
            render_template(f"mail/{template}.html", **context),
        )


@pytest.mark.parametrize("locale", ["ja", "en"])
def test_reminder_mail_is_what_flask_rendered(db_session: Any, locale: str) -> None:
    user = factories.supporter(db_session, email="u@example.jp", name="山田 <太郎> & 花子")
    user.locale = locale
    person = factories.person(db_session, name="佐藤 花子", email="p@example.jp")
    db_session.flush()
    base = str(current_app.config["BASE_URL"]).rstrip("/")
    items = [
        Reminder("test_text", ("course", 1), "new", _message(1), user=user),
        Reminder("test_text", ("course", 2), "new", _message(2), person=person),
    ]
    assert len(decide_many(db_session, items, now=NOW)) == 2  # the batch path
    assert decide(  # and one by one
        db_session,
        rule="test_text",
        subject=("course", 3),
        occurrence="new",
        message=_message(3),
        now=NOW,
        user=user,
    )
    mails = {
        ledger.subject_id: mail
        for ledger, mail in db_session.execute(
            select(ReminderLedger, OutboxMessage).join(
                OutboxMessage, OutboxMessage.id == ReminderLedger.outbox_message_id
            )
        )
    }
    for n in (1, 3):
        message = _message(n)
        expected = _as_flask_rendered(
            "reminder",
            locale,
            user=user,
            base_url=current_app.config["BASE_URL"],
            title=message.title,
            lines=message.lines,
            link=base + message.path,
            answer_link=None,
            answer_label=None,
        )
        mail = mails[n]
        assert (mail.subject, mail.body_text, mail.body_html) == expected
        assert "&lt;太郎&gt; &amp; 花子" in expected[2]  # the name is escaped in HTML
        assert "会場 &lt;b&gt;" in expected[2]  # and so is a plain line
        assert f"&lt;b&gt;{n}&amp;&lt;/b&gt;" in mail.body_html  # and what a lazy one holds
        assert f"<b>{n}&</b>" not in mail.body_html
        assert f"<b>{n}&</b>" in mail.body_text  # the text mail says it as typed
    message = _message(2)
    expected = _as_flask_rendered(
        "reminder",
        "ja",
        user=person_as_recipient(person),
        title=message.title,
        lines=message.lines,
        link=base + message.path,
        base_url=base,
    )
    assert (mails[2].subject, mails[2].body_text, mails[2].body_html) == expected
    with force_locale(locale):
        message = _message(1)
        body = "\n".join(str(line) for line in message.lines)
        title = str(message.title)
    notes = db_session.scalars(select(Notification).where(Notification.user_id == user.id)).all()
    assert len(notes) == 2 and (notes[0].title, notes[0].body) == (title, body)
