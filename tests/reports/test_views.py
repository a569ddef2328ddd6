"""The report pages: who sees what, exports, charts and bad input."""

from __future__ import annotations

import html
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from supporters.audit.models import AuditEvent
from tests import factories
from tests.reports.conftest import build_fy2024, counting_queries, figure


def _value(page: str, key: str) -> str:
    return html.unescape(figure(page, key)).strip()


def test_coordinator_sees_the_figures_the_attributes_and_the_charts(
    client: Any, db_session: Any, login_as: Any
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    response = client.get("/reports/tochigi/2024")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'data-fiscal-year="2024"' in page and "令和6年度" in page
    assert _value(page, "courses.initial.capacity") == "10"
    assert _value(page, "courses.initial.attendees") == "3"
    assert _value(page, "registrations.lapsed") == "1"
    assert _value(page, "register_at_year_end.valid") == "2"
    assert _value(page, "follow_up.overdue") == "1"
    assert _value(page, "dispatch.by_municipality.佐野市.hours") == "3.0"
    assert _value(page, "attributes.family") == "2"
    assert 'data-attribute="lived_experience"' in page
    for chart in ("chart-attributes", "chart-dispatch-months", "chart-history"):
        assert f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart}"' in page
        assert f'<title id="{chart}-title">' in page and f'<desc id="{chart}-desc">' in page
    assert page.count('role="img"') == 3
    assert "<script" not in page and ' style="' not in page  # the CSP allows neither


def test_as_of_and_publication(client: Any, db_session: Any, login_as: Any) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/reports/tochigi/2024?as_of=2024-05-20").get_data(as_text=True)
    assert _value(page, "register_as_of.valid") == "2"
    assert _value(page, "register_as_of.lapsed") == "1"
    published = client.get("/reports/tochigi/2024?publish=1&as_of=2024-05-20").get_data(
        as_text=True
    )
    assert 'id="report-publish"' in published
    assert _value(published, "registrations.new") == "<5"
    assert _value(published, "attributes.lived_experience") == "<5"
    assert _value(published, "courses.initial.capacity") == "10"
    # The export links keep the options.
    assert "report.csv?as_of=2024-05-20&amp;publish=1" in published
    data = client.get("/reports/tochigi/2024/report.json?publish=1").get_json()
    assert data["publish"] is True and data["registrations"]["lapsed"] == "<5"


@pytest.mark.parametrize("who", ["staff", "admin"])
def test_others_get_the_figures_without_attributes(
    client: Any, db_session: Any, login_as: Any, who: str
) -> None:
    build_fy2024(db_session)
    user = (
        factories.municipal_staff(db_session, program_code="tochigi", municipality_name="佐野市")
        if who == "staff"
        else factories.admin(db_session)
    )
    login_as(user)
    page = client.get("/reports/tochigi/2024").get_data(as_text=True)
    assert _value(page, "courses.initial.capacity") == "10"
    assert 'id="attributes"' not in page and "data-attribute=" not in page
    assert "chart-attributes" not in page
    data = client.get("/reports/tochigi/2024/report.json").get_json()
    assert data["attributes"] is None
    csv_text = client.get("/reports/tochigi/2024/report.csv").get_data(as_text=True)
    assert "\nattributes," not in csv_text and "lived_experience" not in csv_text


def test_other_programs_and_supporters_are_refused(
    client: Any, db_session: Any, login_as: Any
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="kagawa"))
    assert client.get("/reports/tochigi/2024").status_code == 403
    assert client.get("/reports/tochigi/2024/report.json").status_code == 403
    assert client.get("/reports/kagawa/2024").status_code == 200
    login_as(factories.supporter(db_session, program_code="tochigi"))
    assert client.get("/reports/").status_code == 403
    assert client.get("/reports/tochigi/2024").status_code == 403


def test_bad_input(client: Any, db_session: Any, login_as: Any) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    assert client.get("/reports/nowhere/2024").status_code == 404
    assert client.get("/reports/tochigi/2024/report.xml").status_code == 404
    assert client.get("/reports/tochigi/next").status_code == 404
    future = client.get("/reports/tochigi/2099")
    assert future.status_code == 400
    assert 'id="report-problem" data-field="year"' in future.get_data(as_text=True)
    assert client.get("/reports/tochigi/2099/report.csv").status_code == 400
    assert client.get("/reports/tochigi/1900").status_code == 400
    for bad in ("30/11/2023", "2023-13-01", "2099-01-01", "<script>"):
        response = client.get(f"/reports/tochigi/2023?as_of={bad}")
        assert response.status_code == 400, bad
        text = response.get_data(as_text=True)
        assert 'data-field="as_of"' in text and "<script>" not in text
    empty = client.get("/reports/tochigi/2010")
    assert empty.status_code == 200 and 'id="report-empty"' in empty.get_data(as_text=True)


def test_index_lists_the_programs_and_jumps_to_a_year(
    client: Any, db_session: Any, login_as: Any
) -> None:
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/reports/").get_data(as_text=True)
    assert 'value="tochigi"' in page and 'value="kagawa"' not in page
    response = client.get("/reports/?program=tochigi&year=2023")
    assert response.status_code == 302 and response.headers["Location"].endswith(
        "/reports/tochigi/2023"
    )
    home = client.get("/").get_data(as_text=True)
    assert 'href="/reports/"' in home


def test_exports_are_audited(client: Any, db_session: Any, login_as: Any) -> None:
    build_fy2024(db_session)
    coordinator = login_as(factories.coordinator(db_session, program_code="tochigi"))
    csv_response = client.get("/reports/tochigi/2024/report.csv?publish=1")
    assert csv_response.data.startswith(b"\xef\xbb\xbf")
    assert csv_response.headers["Content-Disposition"].endswith("report-tochigi-2024-publish.csv")
    assert csv_response.mimetype == "text/csv"
    data = client.get("/reports/tochigi/2024/report.json").get_json()
    assert data["attributes"]["total"] == 3
    assert [r["count"] for r in data["attributes"]["rows"][:3]] == [0, 2, 1]
    events = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export.report").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor_user_id, e.detail["format"], e.detail["publish"]) for e in events] == [
        (coordinator.id, "csv", True),
        (coordinator.id, "json", False),
    ]


def test_pdf_has_pages_and_the_japanese_title(
    client: Any, db_session: Any, login_as: Any, tmp_path: Path
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    response = client.get("/reports/tochigi/2024/report.pdf?publish=1")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    if shutil.which("pdfinfo") is None or shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils are not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(response.data)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    pages = int(
        next(line for line in info.stdout.splitlines() if line.startswith("Pages:")).split()[1]
    )
    assert pages >= 1
    text = subprocess.run(
        ["pdftotext", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "令和6年度 栃木県ひきこもりサポーター養成事業 実績報告" in text
    assert "養成研修の受講者の属性" in text and "<5" in text and "佐野市" in text


def test_report_page_queries_do_not_grow_with_the_data(
    client: Any, db_session: Any, login_as: Any
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    client.get("/reports/tochigi/2024")  # warm up: user loading, first-use caches
    with counting_queries() as few:
        assert client.get("/reports/tochigi/2024?as_of=2024-12-01").status_code == 200
    build_fy2024(db_session, extra=2)
    db_session.commit()
    with counting_queries() as many:
        assert client.get("/reports/tochigi/2024?as_of=2024-12-01").status_code == 200
    assert len(few) == len(many), many


def test_the_threshold_is_configurable(
    app: Any, client: Any, db_session: Any, login_as: Any, monkeypatch: Any
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    monkeypatch.setitem(app.config, "REPORT_SUPPRESS_BELOW", 2)
    page = client.get("/reports/tochigi/2024?publish=1").get_data(as_text=True)
    assert _value(page, "attributes.family") == "2"
    assert _value(page, "attributes.lived_experience") == "<2"
    assert 'data-suppress-below="2"' in page


def test_a_year_without_initial_training_has_no_attribute_chart(
    client: Any, db_session: Any, login_as: Any
) -> None:
    build_fy2024(db_session)
    login_as(factories.coordinator(db_session, program_code="tochigi"))
    page = client.get("/reports/tochigi/2025").get_data(as_text=True)
    assert 'id="attributes-none"' in page and "chart-attributes" not in page
    assert 'id="report-empty"' not in page  # the register still has supporters
