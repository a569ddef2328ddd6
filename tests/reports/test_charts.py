"""The SVG charts: accessible, escaped, no inline style or script, hidden cells drawn empty."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from supporters.reports.charts import Datum, axis, bar_chart, column_chart

SVG = "{http://www.w3.org/2000/svg}"


def test_axis_steps_are_whole_numbers() -> None:
    assert axis(0) == (4.0, 1.0)
    assert axis(1) == (1.0, 1.0)
    assert axis(12) == (15.0, 5.0)
    assert axis(42) == (60.0, 20.0)
    assert axis(154) == (200.0, 50.0)


def test_bar_chart_is_an_accessible_image_with_hidden_cells_left_empty() -> None:
    svg = str(
        bar_chart(
            "c1",
            "属性 <&>",
            "福祉専門職 12, 当事者 <5",
            [Datum("福祉専門職", 12, "12 (40%)"), Datum("当事者 <b>", None, "<5")],
        )
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output; it must be well-formed XML
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").text == "属性 <&>"
    assert root.find(f"{SVG}desc").text == "福祉専門職 12, 当事者 <5"
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-label")]
    assert [b.get("data-label") for b in bars] == ["福祉専門職"]  # no bar for the hidden one
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "<5" in texts and "当事者 <b>" in texts and "12 (40%)" in texts
    assert "style=" not in svg and "<script" not in svg


def test_column_chart_with_two_series_and_a_legend() -> None:
    svg = str(
        column_chart(
            "c2",
            "Registrations",
            "2023: 28 new, 154 valid",
            ["2022", "2023"],
            [
                ("new", [Datum("2022", 42, "42"), Datum("2023", 28, "28")]),
                ("valid", [Datum("2022", 126, "126"), Datum("2023", 154, "154")]),
            ],
        )
    )
    root = ET.fromstring(svg)  # noqa: S314 - our own output
    bars = [r for r in root.iter(f"{SVG}rect") if r.get("data-label")]
    assert len(bars) == 4
    heights = {b.get("data-label"): float(b.get("height") or 0) for b in bars}
    assert heights["2023 2023"] > 0
    assert len(re.findall(r'<rect [^>]*width="14\.0" height="14\.0"', svg)) == 2  # legend
