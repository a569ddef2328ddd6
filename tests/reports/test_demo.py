"""The seed's figures, reproduced by the report from the demo data set (DOMAIN.md): Kagawa
FY2023 capacity 50, 30 attended, 12 / 12 / 6 (40 % / 40 % / 20 %); Tochigi 154 registered
and valid on 2023-11-30. The demo is loaded once per backend, through the command."""

from __future__ import annotations

import html
import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from supporters.accounts import services as account_services
from supporters.accounts.models import User
from supporters.db import now_utc
from supporters.extensions import db
from tests.conftest import BACKENDS, build_migrated_app
from tests.reports.conftest import figure


@pytest.fixture(scope="module", params=BACKENDS)
def demo_app(request: pytest.FixtureRequest, schema_factory: Any) -> Iterator[Flask]:
    app = build_migrated_app(schema_factory.url(request.param, "report_demo"))
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    yield app
    with app.app_context():
        db.engine.dispose()


def _client(app: Flask, email: str) -> Any:
    with app.app_context():
        user = db.session.scalar(select(User).where(User.email == email))
        assert user is not None
        token = account_services.start_session(
            db.session, user, now=now_utc(), lifetime=timedelta(hours=1)
        )
        db.session.commit()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["_user_id"] = token
        flask_session["_fresh"] = True
    return client


def _value(page: str, key: str) -> str:
    return html.unescape(figure(page, key)).strip()


def test_kagawa_fy2023_shows_the_seed_figures(demo_app: Flask) -> None:
    client = _client(demo_app, "coordinator.kagawa@demo.example")
    page = client.get("/reports/kagawa/2023").get_data(as_text=True)
    assert "令和5年度" in page
    assert _value(page, "courses.initial.capacity") == "50"
    assert _value(page, "courses.initial.attendees") == "30"
    assert _value(page, "courses.initial.completions") == "30"
    assert (
        _value(page, "attributes.welfare_professional"),
        _value(page, "attributes.family"),
        _value(page, "attributes.lived_experience"),
    ) == ("12", "12", "6")
    for attribute, percent in (
        ("welfare_professional", "40.0"),
        ("family", "40.0"),
        ("lived_experience", "20.0"),
    ):
        assert f'<tr data-attribute="{attribute}">' in page
        row = page[page.index(f'<tr data-attribute="{attribute}">') :]
        assert f'data-percent="{percent}"' in row[: row.index("</tr>")]
    assert 'id="chart-attributes"' in page and 'id="chart-history"' in page
    published = client.get("/reports/kagawa/2023?publish=1").get_data(as_text=True)
    assert _value(published, "attributes.lived_experience") == "6"
    assert _value(published, "attributes.resident") == "<5"
    assert _value(published, "registrations.lapsed") == "<5"
    assert _value(published, "courses.initial.capacity") == "50"


def test_tochigi_registered_and_valid_on_2023_11_30(demo_app: Flask) -> None:
    client = _client(demo_app, "coordinator.tochigi@demo.example")
    page = client.get("/reports/tochigi/2023?as_of=2023-11-30").get_data(as_text=True)
    assert _value(page, "register_as_of.valid") == "154"
    runner = demo_app.test_cli_runner()
    result = runner.invoke(
        args=[
            "report",
            "fiscal-year",
            "2023",
            "--program",
            "tochigi",
            "--as-of",
            "2023-11-30",
            "--format",
            "json",
        ]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["register_as_of"]["valid"] == 154


def test_dispatch_chart_in_the_running_year(demo_app: Flask) -> None:
    from supporters.core.dates import fiscal_year

    year = fiscal_year(now_utc().date())
    client = _client(demo_app, "coordinator.tochigi@demo.example")
    page = client.get(f"/reports/tochigi/{year}").get_data(as_text=True)
    assert 'id="report-running"' in page
    assert 'id="chart-dispatch-months"' in page
    assert int(_value(page, "dispatch.events")) > 0
    assert 'data-municipality="佐野市"' in page


@pytest.mark.parametrize(
    "email", ["staff.takamatsu@demo.example", "coordinator.tochigi@demo.example"]
)
def test_no_attribute_numbers_for_staff_or_other_coordinators(demo_app: Flask, email: str) -> None:
    client = _client(demo_app, email)
    response = client.get("/reports/kagawa/2023")
    if response.status_code == 403:
        return
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "data-attribute=" not in page and "chart-attributes" not in page
    assert _value(page, "courses.initial.attendees") == "30"
    assert client.get("/reports/kagawa/2023/report.json").get_json()["attributes"] is None


def test_coordinator_of_another_program_is_refused(demo_app: Flask) -> None:
    client = _client(demo_app, "coordinator.tochigi@demo.example")
    assert client.get("/reports/kagawa/2023").status_code == 403
    assert client.get("/reports/kagawa/2023/report.csv").status_code == 403


def test_pdf_of_the_kagawa_report(demo_app: Flask, tmp_path: Path) -> None:
    client = _client(demo_app, "coordinator.kagawa@demo.example")
    response = client.get("/reports/kagawa/2023/report.pdf")
    assert response.status_code == 200
    if shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils are not installed")
    path = tmp_path / "kagawa.pdf"
    path.write_bytes(response.data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Pages:" in info.stdout and "令和5年度" in info.stdout  # the document title
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "令和5年度 香川県ひきこもりサポーター養成事業 実績報告" in text
    assert "12（40%）" in text and "6（20%）" in text


def test_command_formats_and_errors(demo_app: Flask) -> None:
    runner = demo_app.test_cli_runner()
    as_json = runner.invoke(
        args=["report", "fiscal-year", "2023", "--program", "kagawa", "--format", "json"]
    )
    assert as_json.exit_code == 0, as_json.output
    data = json.loads(as_json.output)
    initial = data["courses"][0]
    assert (initial["kind"], initial["capacity"], initial["attendees"]) == ("initial", 50, 30)
    rows = {r["attribute"]: (r["count"], r["percent"]) for r in data["attributes"]["rows"]}
    assert rows["welfare_professional"] == (12, 40.0) and rows["lived_experience"] == (6, 20.0)
    published = json.loads(
        runner.invoke(
            args=[
                "report",
                "fiscal-year",
                "2023",
                "--program",
                "kagawa",
                "--format",
                "json",
                "--publish",
            ]
        ).output
    )
    assert published["attributes"]["rows"][3]["count"] == "<5"
    as_csv = runner.invoke(
        args=["report", "fiscal-year", "2023", "--program", "kagawa", "--format", "csv"]
    )
    assert as_csv.exit_code == 0 and as_csv.output.startswith("\ufeff区分,項目,値,割合（%）")
    assert "研修・養成研修,定員,50," in as_csv.output
    assert "養成研修の受講者の属性,家族,12,40.0" in as_csv.output
    text = runner.invoke(args=["report", "fiscal-year", "2023", "--program", "kagawa"])
    assert text.exit_code == 0 and "令和5年度" in text.output
    unknown = runner.invoke(args=["report", "fiscal-year", "2023", "--program", "osaka"])
    assert unknown.exit_code != 0 and "osaka" in unknown.output
    future = runner.invoke(args=["report", "fiscal-year", "2999", "--program", "kagawa"])
    assert future.exit_code != 0 and "2999" in future.output
    bad_day = runner.invoke(
        args=["report", "fiscal-year", "2023", "--program", "kagawa", "--as-of", "30/11"]
    )
    assert bad_day.exit_code != 0 and "2023-11-30" in bad_day.output
    empty = runner.invoke(
        args=["report", "fiscal-year", "2012", "--program", "kagawa", "--format", "json"]
    )
    assert empty.exit_code == 0 and json.loads(empty.output)["empty"] is True
