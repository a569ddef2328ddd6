"""Issue 16 item 1: the program as a file. Export, change, import (dry run first), the same
file twice, a bad file refused naming the key, a fourth program joining from a file."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from supporters.administration.services import apply_program_spec
from supporters.administration.spec import FileProblems, parse_program_file
from supporters.audit.models import AuditEvent
from supporters.dispatch.models import ProgramMunicipality
from supporters.programs.models import Organisation, Program
from supporters.registry.services import status_counts
from tests import factories

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "programs"


def _audits(session: Any) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def _run(app: Flask, *args: str) -> Any:
    return app.test_cli_runner().invoke(args=list(args))


def _uncommented(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.startswith("# ") or line == ""]


def _export(app: Flask, code: str, tmp_path: Path) -> str:
    target = tmp_path / f"{code}.toml"
    result = _run(app, "programs", "export", code, "-o", str(target))
    assert result.exit_code == 0, result.output
    return target.read_text(encoding="utf-8")


def test_list_as_json(app: Flask, db_session: Any) -> None:
    import json

    result = _run(app, "programs", "list", "--format", "json")
    assert [row["code"] for row in json.loads(result.output)] == ["chiba", "tochigi", "kagawa"]


def test_export_change_import_dry_run_first_then_export_again(
    app: Flask, db_session: Any, tmp_path: Path
) -> None:
    text = _export(app, "tochigi", tmp_path)
    assert "interval_months = 36" in text
    changed = text.replace("interval_months = 36", "interval_months = 24").replace(
        'municipality = "那須町"\nfrom = 2019-04-01\npaid = false',
        'municipality = "那須町"\nfrom = 2019-04-01\nuntil = 2026-03-31\npaid = true\n'
        'honorarium_yen = 3000\ntravel_rule = "actual_cost"',
    )
    assert changed.count("honorarium_yen") == 1
    source = tmp_path / "changed.toml"
    source.write_text(changed, encoding="utf-8")
    audits = _audits(db_session)

    dry = _run(app, "programs", "import", str(source), "--dry-run")
    assert dry.exit_code == 0, dry.output + dry.stderr
    assert "follow_up.interval_months: 36 -> 24" in dry.output
    assert "scheme[那須町].honorarium_yen: (none) -> 3000" in dry.output
    assert "dry run" in dry.output
    assert factories.program(db_session).follow_up_interval_months == 36
    assert _audits(db_session) == audits

    done = _run(app, "programs", "import", str(source))
    assert done.exit_code == 0, done.output + done.stderr
    db_session.expire_all()
    tochigi = factories.program(db_session)
    assert tochigi.follow_up_interval_months == 24
    nasu = db_session.scalar(
        select(ProgramMunicipality).where(
            ProgramMunicipality.program_id == tochigi.id,
            ProgramMunicipality.municipality_id
            == factories.municipality(db_session, name="那須町").id,
        )
    )
    assert (nasu.paid, nasu.honorarium_yen, nasu.travel_rule, nasu.left_on) == (
        True,
        3000,
        "actual_cost",
        date(2026, 3, 31),
    )
    rows = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "program.change").order_by(AuditEvent.id)
    ).all()
    interval = next(r for r in rows if r.detail["key"] == "follow_up.interval_months")
    assert (interval.detail["before"], interval.detail["after"]) == (36, 24)
    assert interval.program_id == tochigi.id
    # interval; Nasu's until, paid, honorarium, travel; the rule change (program.rules)
    assert _audits(db_session) == audits + 6

    assert _export(app, "tochigi", tmp_path) == changed


def test_the_same_file_twice_changes_nothing(app: Flask, db_session: Any, tmp_path: Path) -> None:
    for code in ("chiba", "tochigi", "kagawa"):
        source = tmp_path / f"{code}.toml"
        source.write_text(_export(app, code, tmp_path), encoding="utf-8")
        audits = _audits(db_session)
        for _time in range(2):
            result = _run(app, "programs", "import", str(source))
            assert result.exit_code == 0, result.output + result.stderr
            assert f"{code}: 0 change(s)" in result.output
        assert _audits(db_session) == audits


def test_a_bad_file_names_each_key_in_japanese_and_writes_nothing(
    app: Flask, db_session: Any, tmp_path: Path
) -> None:
    text = _export(app, "tochigi", tmp_path)
    bad = (
        text.replace("interval_months = 36", "interval_months = -3")
        .replace('eligibility = "open"', 'eligibility = "everyone"')
        .replace('municipality = "那須塩原市"\nfrom', 'municipality = "存在しない市"\nfrom')
        .replace("window_days = 180", "window_days = 90")  # valid, but not written either
    )
    source = tmp_path / "bad.toml"
    source.write_text(bad, encoding="utf-8")
    audits = _audits(db_session)
    result = _run(app, "programs", "import", str(source))
    assert result.exit_code == 1
    assert "follow_up.interval_months: 1以上にしてください。" in result.stderr
    assert "rules.eligibility: " in result.stderr and "everyone" in result.stderr
    assert "scheme[1].municipality: 栃木県に存在しない市という市町村はありません。" in result.stderr
    db_session.expire_all()
    tochigi = factories.program(db_session)
    assert (tochigi.follow_up_interval_months, tochigi.follow_up_window_days) == (36, 180)
    assert _audits(db_session) == audits


@pytest.mark.parametrize(
    ("before", "after", "key"),
    [
        (
            'renewal_rule = "any_in_cycle"',
            'renewal_rule = "never"',
            "follow_up.renewal_rule",
        ),
        (
            "cancellation_cutoff_hours = 48",
            "cancellation_cutoff_hours = -1",
            "rules.cancellation_cutoff_hours",
        ),
        ('design = "tochigi"', 'design = "gold"', "card.design"),
        ("window_days = 180", 'window_days = "half a year"', "follow_up.window_days"),
        ("[card]", "[card]\ncolour = 1", "card.colour"),
        (
            'reporting_group = "resident"',
            'reporting_group = "citizen"',
            "attributes.resident.reporting_group",
        ),
    ],
)
def test_each_bad_value_is_named(
    app: Flask, db_session: Any, tmp_path: Path, before: str, after: str, key: str
) -> None:
    text = _export(app, "tochigi", tmp_path)
    assert before in text
    with pytest.raises(FileProblems) as refused:
        apply_program_spec(db_session, parse_program_file(text.replace(before, after)), actor=None)
    assert [p.key for p in refused.value.problems] == [key]


FOURTH = """
format = 1
code = "tochigi-north"
prefecture = "栃木県"

[names]
ja = "栃木県北部ひきこもりサポーター養成事業"
en = "North Tochigi Hikikomori Supporter Training Program"
public_ja = "栃木県北部 サポーター"
public_en = "North Tochigi Supporter"

[rules]
eligibility = "lives_or_works_in_prefecture"
registration = "on_request"
dispatch_mode = "group_activities"
cancellation_cutoff_hours = 24

[follow_up]
interval_months = 24
mandatory = true

[numbers]
registration_prefix = "TCN"

[contact]
phone = "0287-00-0000"
email = "north@example.jp"

[[organisations]]
name = "那須塩原市社会福祉協議会"
kind = "social_welfare_council"
municipality = "なすしおばらし"

[[scheme]]
municipality = "那須塩原市"
from = 2026-04-01
paid = true
honorarium_yen = 2000
travel_rule = "municipal_rule"

[[curricula.initial]]
topic = "ひきこもりの理解"
minutes = 90
"""


def test_a_fourth_program_joins_from_a_file_and_tochigi_does_not_move(
    app: Flask, db_session: Any, tmp_path: Path
) -> None:
    tochigi = factories.program(db_session)
    counts = status_counts(db_session, tochigi, date(2023, 11, 30))
    assert counts["active"] + counts["follow_up_due"] == 154
    source = tmp_path / "north.toml"
    source.write_text(FOURTH, encoding="utf-8")
    result = _run(app, "programs", "import", str(source))
    assert result.exit_code == 0, result.output + result.stderr
    db_session.expire_all()
    north = factories.program(db_session, code="tochigi-north")
    assert north.registration_mode == "on_request" and north.follow_up_interval_months == 24
    assert north.curriculum_template == [
        {"topic": "ひきこもりの理解", "minutes": 90, "required": True}
    ]
    council = db_session.scalar(select(Organisation).where(Organisation.program_id == north.id))
    assert council.municipality.name == "那須塩原市"  # found by its reading
    assert status_counts(db_session, tochigi, date(2023, 11, 30)) == counts
    assert (
        db_session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.program_id == north.id)
        )
        > 1
    )
    again = _run(app, "programs", "import", str(source))
    assert "tochigi-north: 0 change(s)" in again.output
    assert db_session.scalar(select(func.count()).select_from(Program)) == 4


@pytest.mark.parametrize("code", ["chiba", "tochigi", "kagawa"])
def test_the_documented_files_import_cleanly(
    app: Flask, db_session: Any, tmp_path: Path, code: str
) -> None:
    """docs/programs/*.toml are the demo's programs as exported: they import with no change."""
    text = (EXAMPLES / f"{code}.toml").read_text(encoding="utf-8")
    # The files may explain a value in a comment (Tochigi's renewal rule cites the seed).
    assert _uncommented(text) == _uncommented(_export(app, code, tmp_path))
    changes = apply_program_spec(db_session, parse_program_file(text), actor=None, dry_run=True)
    assert changes == []


def _png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGBA", (40, 40), (200, 0, 0, 255)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_a_seal_by_file_reference_round_trips(app: Flask, db_session: Any, tmp_path: Path) -> None:
    text = _export(app, "tochigi", tmp_path)
    (tmp_path / "nasu.png").write_bytes(_png())
    with_seal = text.replace(
        'municipality = "那須町"\n\n', 'municipality = "那須町"\nseal = "nasu.png"\n\n', 1
    )
    assert with_seal != text
    source = tmp_path / "sealed.toml"
    source.write_text(with_seal, encoding="utf-8")
    result = _run(app, "programs", "import", str(source))
    assert result.exit_code == 0, result.output
    assert "organisations[那須町社会福祉協議会].seal: (none) -> sha256:" in result.output
    db_session.expire_all()
    council = db_session.scalar(
        select(Organisation).where(Organisation.name == "那須町社会福祉協議会")
    )
    assert council.seal_png == _png()
    (tmp_path / "out").mkdir()
    exported = _export(app, "tochigi", tmp_path / "out")
    assert 'seal = "tochigi-seal-1.png"' in exported
    assert (tmp_path / "out" / "tochigi-seal-1.png").read_bytes() == _png()
    again = _run(app, "programs", "import", str(tmp_path / "out" / "tochigi.toml"))
    assert "tochigi: 0 change(s)" in again.output
    missing = with_seal.replace('seal = "nasu.png"', 'seal = "missing.png"')
    source.write_text(missing, encoding="utf-8")
    refused = _run(app, "programs", "import", str(source))
    assert refused.exit_code == 1
    assert "organisations[1].seal: ファイルmissing.pngを読み込めません。" in refused.stderr


def test_the_file_holds_who_takes_part_and_who_staffs_requests(
    app: Flask, db_session: Any, tmp_path: Path
) -> None:
    """Kagawa's completers may take part without registering; Chiba's municipalities staff
    their own requests: both are in the file, and a changed file changes them (audited)."""
    text = _export(app, "kagawa", tmp_path)
    assert "participation_without_registration = true" in text
    assert "staff_own_requests = true" in _export(app, "chiba", tmp_path)
    source = tmp_path / "kagawa-changed.toml"
    source.write_text(
        text.replace(
            "participation_without_registration = true",
            "participation_without_registration = false",
        ),
        encoding="utf-8",
    )
    result = _run(app, "programs", "import", str(source))
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    kagawa = db_session.scalar(select(Program).where(Program.code == "kagawa"))
    assert kagawa.participation_without_registration is False
    assert db_session.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.program_id == kagawa.id, AuditEvent.action == "program.change")
    )
