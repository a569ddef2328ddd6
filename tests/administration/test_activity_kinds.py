"""Issue 16 item 5 in the program file: `[activity_kinds.CODE]` holds the program's kinds of
activity and its word for taking part; export, change, import (dry run first), refusals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from supporters.administration.services import apply_program_spec
from supporters.administration.spec import FileProblems, parse_program_file
from supporters.dispatch import kinds
from tests import factories

NEW_KIND = """
[activity_kinds.supporter_meeting]
name_ja = "サポーター例会"
name_en = "Supporter meeting"
event_kind = "group_activity"
activity = "supporter_meeting"
taking_part_ja = "例会への参加"
taking_part_en = "Taking part"
organised_by_supporters = true
active = true
"""


def _export(app: Flask, code: str, tmp_path: Path) -> str:
    target = tmp_path / f"{code}.toml"
    result = app.test_cli_runner().invoke(args=["programs", "export", code, "-o", str(target)])
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_kinds_round_trip_through_the_file(app: Flask, db_session: Any, tmp_path: Path) -> None:
    text = _export(app, "tochigi", tmp_path)
    assert "[activity_kinds.supporter_place]" in text and "organised_by_supporters = true" in text
    changed = text.replace(
        'taking_part_ja = "活動への参加"', 'taking_part_ja = "居場所の運営"'
    ).replace("[attributes]", NEW_KIND.lstrip() + "\n[attributes]")
    spec = parse_program_file(changed)
    dry = apply_program_spec(db_session, spec, actor=None, dry_run=True)
    keys = {c.key for c in dry}
    assert "activity_kinds[supporter_place].taking_part_ja" in keys
    assert "activity_kinds[supporter_meeting].name_ja" in keys
    tochigi = factories.program(db_session)
    assert [k.code for k in kinds.program_kinds(db_session, tochigi)] == [
        "outreach_day",
        "supporter_place",
    ]
    apply_program_spec(db_session, spec, actor=None)
    held = kinds.program_kinds(db_session, tochigi)
    assert [(k.code, k.taking_part_ja) for k in held] == [
        ("outreach_day", "出張相談会への同席"),
        ("supporter_place", "居場所の運営"),
        ("supporter_meeting", "例会への参加"),
    ]
    # Exported again it is the file that was imported; importing it again changes nothing.
    again = _export(app, "tochigi", tmp_path)
    assert parse_program_file(again) == parse_program_file(changed)
    assert apply_program_spec(db_session, parse_program_file(again), actor=None) == []


def test_a_kind_is_retired_not_removed(app: Flask, db_session: Any, tmp_path: Path) -> None:
    text = _export(app, "kagawa", tmp_path)
    retired = text.replace(
        'activity = "other"\ntaking_part_ja = "活動への参加"\ntaking_part_en = "Taking part"\n'
        "organised_by_supporters = false\nactive = true",
        'activity = "other"\ntaking_part_ja = "活動への参加"\ntaking_part_en = "Taking part"\n'
        "organised_by_supporters = false\nactive = false",
    )
    assert retired != text
    apply_program_spec(db_session, parse_program_file(retired), actor=None)
    kagawa = factories.program(db_session, code="kagawa")
    assert [k.name_ja for k in kinds.program_kinds(db_session, kagawa)] == ["家族会", "居場所"]
    start = text.index("[activity_kinds.peer_group]")
    end = text.index("[activity_kinds.ibasho]")
    with pytest.raises(FileProblems) as refused:
        apply_program_spec(db_session, parse_program_file(text[:start] + text[end:]), actor=None)
    assert [p.key for p in refused.value.problems] == ["activity_kinds"]
    assert "peer_group" in refused.value.problems[0].message


@pytest.mark.parametrize(
    ("before", "after", "key"),
    [
        (
            'event_kind = "outreach_day"',
            'event_kind = "picnic"',
            "activity_kinds.outreach_day.event_kind",
        ),
        ('activity = "drop_in"', 'activity = "karaoke"', "activity_kinds.supporter_place.activity"),
        (
            'name_ja = "サポーターが運営する居場所"',
            'name_ja = ""',
            "activity_kinds.supporter_place.name_ja",
        ),
        (
            "active = true\n\n[attributes]",
            "active = true\ncolour = 1\n\n[attributes]",
            "activity_kinds.supporter_place.colour",
        ),
    ],
)
def test_a_bad_kind_is_named(
    app: Flask, db_session: Any, tmp_path: Path, before: str, after: str, key: str
) -> None:
    text = _export(app, "tochigi", tmp_path)
    assert before in text
    with pytest.raises(FileProblems) as refused:
        apply_program_spec(db_session, parse_program_file(text.replace(before, after)), actor=None)
    assert [p.key for p in refused.value.problems] == [key]
