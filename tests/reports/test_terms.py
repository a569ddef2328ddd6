"""Issue 13 items 4 and 11: the report's CSV is for people (Japanese headers and values), and
the web report, its PDF and its CSV use the same terms."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from supporters.reports.exports import figures_csv
from supporters.reports.pdf import render_report
from supporters.reports.presentation import report_figures
from supporters.reports.suppression import Suppression
from supporters.reports.terms import TERMS, terms
from tests import factories
from tests.reports.conftest import build_fy2024
from tests.reports.test_services import _report

# Terms every report with courses, registrations, dispatches and reports shows.
SHOWN = [
    "courses",
    "courses.kind",
    "courses.capacity",
    "courses.applicants",
    "courses.attendees",
    "courses.completions",
    "attributes",
    "register",
    "registrations.new",
    "registrations.renewed",
    "dispatch",
    "dispatch.events",
    "dispatch.supporters",
    "dispatch.hours",
    "dispatch.municipality",
    "activity_reports",
    "activity_reports.kind",
    "course_kind.initial",
    "attribute.family",
    "status.active",
]


def test_the_csv_has_japanese_headers_and_values_and_json_keeps_english_keys(
    db_session: Any,
) -> None:
    build_fy2024(db_session)
    figures = report_figures(_report(db_session), Suppression())
    text = figures_csv(figures)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["区分", "項目", "値", "割合（%）"]
    cells = {cell for row in rows for cell in row[:2]}
    for code in ("welfare_professional", "family", "initial", "attendees", "courses", "true"):
        assert code not in cells, code
    assert any(row[:2] == ["研修・養成研修", "定員"] for row in rows), rows[:12]
    assert "attributes" in figures and "courses" in figures  # the JSON's keys


def test_web_report_and_pdf_use_the_same_terms(
    app: Any, client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils are not installed")
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/reports/tochigi/2024").get_data(as_text=True)
    pdf = client.get("/reports/tochigi/2024/report.pdf").data
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    words = terms("ja")
    pdf_text = "".join(text.split())
    for key in SHOWN:
        word = words[key]
        assert word in page, (key, word)
        assert "".join(word.split()) in pdf_text, (key, word)


def test_every_term_has_a_japanese_translation(app: Any) -> None:
    with app.app_context():
        words = terms("ja")
    for key, message in TERMS.items():
        assert words[key] != message or not message.isascii(), key


def test_pdf_renders_with_given_terms(db_session: Any) -> None:
    build_fy2024(db_session)
    figures = report_figures(_report(db_session), Suppression())
    assert render_report(figures, terms=terms("ja")).startswith(b"%PDF")


def test_register_and_enrolment_exports_are_in_japanese(app: Any, db_session: Any) -> None:
    import json

    registration = factories.registration(db_session, on=__import__("datetime").date(2024, 5, 1))
    db_session.commit()
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["registry", "list", "--program", "tochigi", "--format", "csv"])
    assert listing.exit_code == 0, listing.output
    rows = list(csv.reader(io.StringIO(listing.output)))
    assert rows[0][:4] == ["登録番号", "氏名", "フリガナ", "状態"]
    mine = next(r for r in rows if r[0] == registration.number)
    assert mine[3] in {"有効", "フォローアップ研修の受講時期", "失効"}
    as_json = runner.invoke(args=["registry", "list", "--program", "tochigi", "--format", "json"])
    entry = next(e for e in json.loads(as_json.output) if e["number"] == registration.number)
    assert entry["status"] in {"active", "follow_up_due", "lapsed"}
