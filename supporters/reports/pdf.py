"""The fiscal-year report as a PDF: a pure function from the report's figures (the plain data
of :func:`supporters.reports.presentation.report_figures`) to bytes.

The document is in Japanese, like the prefecture's own reports. It reuses the Japanese font
handling of :mod:`supporters.pdf` (IPAexGothic embedded as a subset, every text
checked against the font before drawing) and draws the charts with reportlab's canvas: the
attribute breakdown, dispatches per month and registrations over the years. Hidden
(suppressed) figures get no bar, only their "<N" text.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from supporters.core.eras import japanese_era
from supporters.pdf.canvas import new_canvas
from supporters.pdf.fonts import FontPath, PdfFont, check_text, load_font

__all__ = ["render_report"]

INK = HexColor("#1a1a1c")
MUTED = HexColor("#4d4d4d")
GRID = HexColor("#cccccc")
HEAD_BG = HexColor("#e8eef4")
PALETTE = (HexColor("#0031d8"), HexColor("#197a4b"))
MARGIN = 18 * mm


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _percent(value: Any) -> str:
    return "—" if value is None else f"{value:g}%"


def _value(cell: Any) -> float | None:
    """A bar's length: hidden cells ("<5", "x") and missing ones have none."""
    return float(cell) if isinstance(cell, int | float) else None


def _dispatch_kind(key: str, terms: Mapping[str, str]) -> str:
    kind, _, activity = key.partition("/")
    return f"{terms.get(f'event_kind.{kind}', kind)}・{terms.get(f'activity.{activity}', activity)}"


class _Writer:
    """Flows headings, text, tables and charts down A4 pages."""

    def __init__(self, canvas: Canvas, font: PdfFont, footer: str) -> None:
        self.canvas = canvas
        self.font = font
        self.footer = footer
        self.width, self.height = A4
        self.page = 1
        self.y = self.height - MARGIN

    def text(self, value: str, field: str) -> str:
        check_text(value, field, self.font)
        return value

    def _end_page(self) -> None:
        self.canvas.setFillColor(MUTED)
        self.canvas.setFont(self.font.name, 8)
        self.canvas.drawString(MARGIN, 10 * mm, self.footer)
        self.canvas.drawRightString(self.width - MARGIN, 10 * mm, f"{self.page} ページ")
        self.canvas.showPage()

    def ensure(self, needed: float) -> None:
        if self.y - needed < 18 * mm:
            self._end_page()
            self.page += 1
            self.y = self.height - MARGIN

    def finish(self) -> None:
        self._end_page()

    def title(self, text: str, subtitle: str) -> None:
        self.canvas.setFillColor(INK)
        self.canvas.setFont(self.font.name, 16)
        self.canvas.drawString(MARGIN, self.y - 16, text)
        self.canvas.setFont(self.font.name, 10)
        self.canvas.setFillColor(MUTED)
        self.canvas.drawString(MARGIN, self.y - 32, subtitle)
        self.y -= 44

    def heading(self, text: str, keep: float = 60) -> None:
        """A section heading, kept on one page with the first `keep` points that follow."""
        self.ensure(32 + keep)
        self.y -= 8
        self.canvas.setFillColor(INK)
        self.canvas.setFont(self.font.name, 12.5)
        self.canvas.drawString(MARGIN, self.y - 13, text)
        self.canvas.setStrokeColor(INK)
        self.canvas.setLineWidth(0.6)
        self.canvas.line(MARGIN, self.y - 17, self.width - MARGIN, self.y - 17)
        self.y -= 24

    def note(self, text: str, size: float = 9.5) -> None:
        self.ensure(size * 1.8)
        self.canvas.setFillColor(INK)
        self.canvas.setFont(self.font.name, size)
        self.canvas.drawString(MARGIN, self.y - size, text)
        self.y -= size * 1.7

    def table(
        self, headers: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
    ) -> None:
        """First column left-aligned, the others right-aligned numbers; header repeated on a
        new page."""
        row_h = 15.0
        scale = (self.width - 2 * MARGIN) / sum(widths)
        columns = [w * scale for w in widths]

        def header() -> None:
            self.canvas.setFillColor(HEAD_BG)
            self.canvas.rect(MARGIN, self.y - row_h, sum(columns), row_h, stroke=0, fill=1)
            self._row(headers, columns, row_h)

        self.ensure(row_h * 2)
        header()
        for row in rows:
            if self.y - row_h < 18 * mm:
                self.ensure(row_h * 2)
                header()
            self._row(row, columns, row_h)
        self.y -= 6

    def _row(self, cells: Sequence[str], columns: Sequence[float], row_h: float) -> None:
        self.canvas.setFillColor(INK)
        self.canvas.setFont(self.font.name, 9)
        x = MARGIN
        for index, (cell, width) in enumerate(zip(cells, columns, strict=True)):
            if index == 0:
                self.canvas.drawString(x + 3, self.y - row_h + 4.5, cell)
            else:
                self.canvas.drawRightString(x + width - 3, self.y - row_h + 4.5, cell)
            x += width
        self.canvas.setStrokeColor(GRID)
        self.canvas.setLineWidth(0.4)
        self.canvas.line(MARGIN, self.y - row_h, MARGIN + sum(columns), self.y - row_h)
        self.y -= row_h

    def bar_chart(self, data: Sequence[tuple[str, float | None, str]]) -> None:
        row_h = 14.0
        height = row_h * len(data) + 16
        self.ensure(height + 6)
        left = MARGIN + 38 * mm
        right = self.width - MARGIN - 22 * mm
        top = max((v for _l, v, _t in data if v is not None), default=0.0) or 1.0
        scale = (right - left) / top
        y = self.y - 4
        for label, value, text in data:
            self.canvas.setFillColor(INK)
            self.canvas.setFont(self.font.name, 9)
            self.canvas.drawRightString(left - 4, y - row_h + 4, label)
            length = (value or 0) * scale
            if value is not None:
                self.canvas.setFillColor(PALETTE[0])
                self.canvas.rect(left, y - row_h + 2.5, length, row_h - 5, stroke=0, fill=1)
            self.canvas.setFillColor(INK)
            self.canvas.drawString(left + length + 3, y - row_h + 4, text)
            y -= row_h
        self.canvas.setStrokeColor(INK)
        self.canvas.setLineWidth(0.5)
        self.canvas.line(left, self.y - 4, left, y)
        self.y = y - 12

    def column_chart(
        self,
        categories: Sequence[str],
        series: Sequence[tuple[str, Sequence[tuple[float | None, str]]]],
        height: float = 48 * mm,
    ) -> None:
        self.ensure(height + 10)
        left, right = MARGIN + 8 * mm, self.width - MARGIN
        legend = 12 if len(series) > 1 else 0
        top_y = self.y - 6 - legend
        bottom = self.y - height
        values = [v for _name, data in series for v, _t in data if v is not None]
        top = max(values, default=0.0) or 1.0
        scale = (top_y - bottom - 12) / top
        if legend:
            x = left
            for number, (name, _data) in enumerate(series):
                self.canvas.setFillColor(PALETTE[number % len(PALETTE)])
                self.canvas.rect(x, self.y - 10, 7, 7, stroke=0, fill=1)
                self.canvas.setFillColor(INK)
                self.canvas.setFont(self.font.name, 8.5)
                self.canvas.drawString(x + 10, self.y - 9.5, name)
                x += 20 + self.canvas.stringWidth(name, self.font.name, 8.5) + 10
        slot = (right - left) / max(len(categories), 1)
        bar_w = min(slot * 0.8 / max(len(series), 1), 14 * mm)
        group_w = bar_w * len(series)
        for index, category in enumerate(categories):
            x0 = left + index * slot + (slot - group_w) / 2
            for number, (_name, data) in enumerate(series):
                value, text = data[index]
                x = x0 + number * bar_w
                length = (value or 0) * scale
                if value is not None:
                    self.canvas.setFillColor(PALETTE[number % len(PALETTE)])
                    self.canvas.rect(x, bottom, bar_w - 1, length, stroke=0, fill=1)
                self.canvas.setFillColor(INK)
                self.canvas.setFont(self.font.name, 7)
                self.canvas.drawCentredString(x + bar_w / 2, bottom + length + 2, text)
            self.canvas.setFont(self.font.name, 7.5)
            self.canvas.drawCentredString(x0 + group_w / 2, bottom - 10, category)
        self.canvas.setStrokeColor(INK)
        self.canvas.setLineWidth(0.5)
        self.canvas.line(left, bottom, right, bottom)
        self.y = bottom - 18


def _period(figures: Mapping[str, Any]) -> str:
    start, end = date.fromisoformat(figures["start"]), date.fromisoformat(figures["end"])
    return (
        f"対象期間: {japanese_era(start)}〜{japanese_era(end)}"
        f"（{start.isoformat()}〜{end.isoformat()}、FY{figures['fiscal_year']}）"
    )


def report_title(figures: Mapping[str, Any]) -> str:
    """The title line (the organisation, if one, is on the line under it: a long name would
    run off the page at the title's size)."""
    return f"{figures['label']} {figures['program']['name_ja']} 実績報告"


def render_report(
    figures: Mapping[str, Any],
    *,
    font_path: FontPath | None = None,
    terms: Mapping[str, str] | None = None,
) -> bytes:
    """The report's pages as PDF bytes, in the words of supporters.reports.terms (Japanese;
    without `terms`, they are looked up, which needs an application context)."""
    if terms is None:
        from supporters.reports.terms import terms as report_terms

        terms = report_terms("ja")
    font = load_font(font_path)
    title = report_title(figures)
    check_text(title, "事業名", font)
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, title, font)
    w = _Writer(canvas, font, f"{title}（{figures['figures_until']} 時点の記録から集計）")
    w.title(title, _period(figures))
    T = terms
    organisation = figures.get("organisation")
    whom = organisation["name"] if organisation is not None else T["report.whole_program"]
    w.note(f"{T['report.organisation']}: {w.text(whom, '団体名')}")
    if figures["running"]:
        w.note(
            f"年度途中のため、{japanese_era(date.fromisoformat(figures['figures_until']))}"
            "までの記録による数値です。"
        )
    if figures["publish"]:
        n = figures["suppress_below"]
        w.note(
            f"公表用: {n}未満の人数は「<{n}」と表示しています。"
            "「x」は合計から逆算されないよう伏せた数値です。"
        )
    if figures["empty"]:
        w.note("この年度の記録はありません。", size=11)

    def label(group: str, code: str) -> str:
        return T.get(f"{group}.{code}", code)

    w.heading(T["courses"])
    courses = [*figures["courses"], figures["courses_total"]] if figures["courses"] else []
    w.table(
        [
            T["courses.kind"],
            T["courses.courses"],
            T["courses.capacity"],
            T["courses.applicants"],
            T["courses.attendees"],
            T["courses.completions"],
        ],
        [
            [
                T["total"] if row["kind"] == "total" else label("course_kind", row["kind"]),
                _cell(row["courses"]),
                _cell(row["capacity"]),
                _cell(row["applicants"]),
                _cell(row["attendees"]),
                _cell(row["completions"]),
            ]
            for row in courses
        ]
        or [[T["courses.none"], "", "", "", "", ""]],
        [5, 2, 2, 2, 2, 2],
    )

    attributes = figures.get("attributes")
    if attributes is not None and not attributes["attendees"]:
        w.heading(T["attributes"], keep=20)
        w.note(T["attributes.none"])
    elif attributes is not None:
        rows = attributes["rows"]
        w.heading(T["attributes"], keep=14.0 * len(rows) + 20)
        w.bar_chart(
            [
                (
                    label("attribute", r["attribute"]),
                    _value(r["count"]),
                    _cell(r["count"]) + (f"（{_percent(r['percent'])}）" if r["percent"] else ""),
                )
                for r in rows
            ]
        )
        w.table(
            [T["attributes.attribute"], T["attributes.people"], T["attributes.share"]],
            [
                [label("attribute", r["attribute"]), _cell(r["count"]), _percent(r["percent"])]
                for r in rows
            ]
            + [[T["total"], _cell(attributes["total"]), ""]],
            [6, 2, 2],
        )

    w.heading(T["register"])
    reg = figures["registrations"]
    w.table(
        ["", T["attributes.people"]],
        [
            [T[f"registrations.{key}"], _cell(reg[key])]
            for key in ("new", "renewed", "follow_up_attended", "lapsed", "withdrawn")
        ],
        [8, 2],
    )
    for key, caption in (
        (
            "register_at_year_end",
            T["register.today" if figures["running"] else "register.year_end"],
        ),
        ("register_as_of", T["register.as_of"]),
    ):
        block = figures.get(key)
        if block is None:
            continue
        day = japanese_era(date.fromisoformat(block["on"]))
        w.note(f"{caption}: {day}　{T['register.valid']} {_cell(block['valid'])}")
        w.table(
            [T["register.status"], T["attributes.people"]],
            [[label("status", s), _cell(v)] for s, v in block["statuses"].items()],
            [8, 2],
        )

    follow_up = figures.get("follow_up")
    if follow_up is not None:
        w.heading(T["follow_up"])
        w.table(
            ["", T["attributes.people"]],
            [
                [T[f"follow_up.{key}"], _cell(follow_up[key])]
                for key in ("due", "done", "overdue", "pending")
            ],
            [8, 2],
        )

    dispatch = figures["dispatch"]
    columns = [T["dispatch.events"], T["dispatch.supporters"], T["dispatch.hours"]]
    w.heading(T["dispatch"], keep=48 * mm + 30 if dispatch["events"] else 40)
    w.note(
        "、".join(
            f"{name} {_cell(dispatch[key])}"
            for name, key in zip(columns, ("events", "supporters", "hours"), strict=True)
        )
    )
    months = dispatch["by_month"]
    if dispatch["events"]:
        w.column_chart(
            [f"{int(m['key'][5:])}月" for m in months],
            [(T["dispatch.events"], [(float(m["events"]), _cell(m["events"])) for m in months])],
        )
    w.note(T["dispatch.by_municipality"])
    w.table(
        [T["dispatch.municipality"], *columns],
        [
            [
                w.text(r["key"], "市町村名"),
                _cell(r["events"]),
                _cell(r["supporters"]),
                _cell(r["hours"]),
            ]
            for r in dispatch["by_municipality"]
        ]
        or [[T["dispatch.none"], "", "", ""]],
        [5, 2, 3, 3],
    )
    if dispatch["by_kind"]:
        w.note(T["dispatch.by_kind"])
        w.table(
            [T["dispatch.kind"], *columns],
            [
                [
                    _dispatch_kind(r["key"], T),
                    _cell(r["events"]),
                    _cell(r["supporters"]),
                    _cell(r["hours"]),
                ]
                for r in dispatch["by_kind"]
            ],
            [5, 2, 3, 3],
        )

    participation = figures.get("participation")
    if participation is not None:
        people = [T["participation.participations"], T["participation.participants"]]
        w.heading(T["participation"], keep=40)
        w.note(T["participation.note"], size=8.5)
        w.note(
            "、".join(
                f"{name} {_cell(participation[key])}"
                for name, key in zip(people, ("participations", "participants"), strict=True)
            )
        )
        if participation["by_kind"]:
            w.table(
                [T["dispatch.kind"], *people],
                [
                    [
                        _dispatch_kind(r["key"], T),
                        _cell(r["participations"]),
                        _cell(r["participants"]),
                    ]
                    for r in participation["by_kind"]
                ],
                [6, 2, 2],
            )

    activity = figures["activity_reports"]
    w.heading(T["activity_reports"])
    w.note(
        "、".join(
            f"{T[f'activity_reports.{key}']} {_cell(activity[key])}"
            for key in ("reports", "supporters", "hours")
        )
    )
    if activity["by_kind"]:
        w.note(T["activity_reports.by_kind"])
        w.table(
            [
                T["activity_reports.kind"],
                T["activity_reports.reports"],
                T["activity_reports.hours"],
            ],
            [
                [label("activity", r["kind"]), _cell(r["reports"]), _cell(r["hours"])]
                for r in activity["by_kind"]
            ],
            [6, 2, 2],
        )

    history = figures["history"]
    if history:
        w.heading(T["history"], keep=48 * mm + 10)
        w.column_chart(
            [row["label"].replace("年度", "") for row in history],
            [
                (T["history.new"], [(_value(r["new"]), _cell(r["new"])) for r in history]),
                (
                    T["history.valid_at_year_end"],
                    [
                        (_value(r["valid_at_year_end"]), _cell(r["valid_at_year_end"]))
                        for r in history
                    ],
                ),
            ],
        )
        w.table(
            [T["history.year"], T["history.new"], T["history.valid_at_year_end"]],
            [
                [
                    f"{r['label']}（{r['fiscal_year']}）",
                    _cell(r["new"]),
                    _cell(r["valid_at_year_end"]),
                ]
                for r in history
            ],
            [6, 2, 2],
        )
    w.finish()
    canvas.save()
    return buffer.getvalue()
