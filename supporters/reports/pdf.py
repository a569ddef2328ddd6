"""The fiscal-year report as a PDF: a pure function from the report's figures (the plain data
of :func:`supporters.reports.services.report_figures`) to bytes.

The document is in Japanese, like the prefecture's own reports. It reuses the Japanese font
handling of :mod:`supporters.certificates.pdf` (IPAexGothic embedded as a subset, every text
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

from supporters.certificates.pdf import (
    FontPath,
    PdfFont,
    check_text,
    japanese_era,
    load_font,
    new_canvas,
)
from supporters.people.services import ATTRIBUTE_LABELS_JA

__all__ = ["render_report"]

INK = HexColor("#1a1a1c")
MUTED = HexColor("#4d4d4d")
GRID = HexColor("#cccccc")
HEAD_BG = HexColor("#e8eef4")
PALETTE = (HexColor("#0031d8"), HexColor("#197a4b"))
MARGIN = 18 * mm

COURSE_KINDS = {
    "initial": "養成研修",
    "follow_up": "フォローアップ研修",
    "meeting": "サポーター例会",
    "total": "合計",
}
STATUSES = {
    "active": "有効",
    "follow_up_due": "有効（フォローアップ期限前）",
    "lapsed": "失効",
    "suspended": "一時停止",
    "withdrawn": "登録取消",
}
ATTRIBUTES = {**{a.value: label for a, label in ATTRIBUTE_LABELS_JA.items()}, "unknown": "未記入"}
EVENT_KINDS = {
    "outreach_day": "出張相談会",
    "dispatch_request": "派遣依頼",
    "group_activity": "グループ活動",
}
ACTIVITIES = {
    "sitting_in": "相談会への同席",
    "phone": "電話",
    "home_visit": "訪問",
    "drop_in": "居場所",
    "family_meeting": "家族会",
    "supporter_meeting": "サポーター例会",
    "other": "その他",
}


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


def _dispatch_kind(key: str) -> str:
    kind, _, activity = key.partition("/")
    return f"{EVENT_KINDS.get(kind, kind)}・{ACTIVITIES.get(activity, activity)}"


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
    return f"{figures['label']} {figures['program']['name_ja']} 年度報告"


def render_report(figures: Mapping[str, Any], *, font_path: FontPath | None = None) -> bytes:
    """The report's pages as PDF bytes."""
    font = load_font(font_path)
    title = report_title(figures)
    check_text(title, "事業名", font)
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, title, font)
    w = _Writer(canvas, font, f"{title}（{figures['figures_until']} 時点の記録から集計）")
    w.title(title, _period(figures))
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

    w.heading("研修")
    courses = [*figures["courses"], figures["courses_total"]] if figures["courses"] else []
    w.table(
        ["種別", "回数", "定員", "申込者", "受講者", "修了者"],
        [
            [
                COURSE_KINDS.get(row["kind"], row["kind"]),
                _cell(row["courses"]),
                _cell(row["capacity"]),
                _cell(row["applicants"]),
                _cell(row["attendees"]),
                _cell(row["completions"]),
            ]
            for row in courses
        ]
        or [["この年度に実施した研修はありません", "", "", "", "", ""]],
        [5, 2, 2, 2, 2, 2],
    )

    attributes = figures.get("attributes")
    if attributes is not None and not attributes["attendees"]:
        w.heading("養成研修の受講者の属性", keep=20)
        w.note("この年度の養成研修の受講者はいません。")
    elif attributes is not None:
        rows = attributes["rows"]
        w.heading("養成研修の受講者の属性", keep=14.0 * len(rows) + 20)
        w.bar_chart(
            [
                (
                    ATTRIBUTES.get(r["attribute"], r["attribute"]),
                    _value(r["count"]),
                    _cell(r["count"]) + (f"（{_percent(r['percent'])}）" if r["percent"] else ""),
                )
                for r in rows
            ]
        )
        w.table(
            ["属性", "人数", "割合"],
            [
                [
                    ATTRIBUTES.get(r["attribute"], r["attribute"]),
                    _cell(r["count"]),
                    _percent(r["percent"]),
                ]
                for r in rows
            ]
            + [["合計", _cell(attributes["total"]), ""]],
            [6, 2, 2],
        )

    w.heading("登録")
    reg = figures["registrations"]
    w.table(
        ["項目", "人数"],
        [
            ["新規登録", _cell(reg["new"])],
            ["フォローアップ研修による更新", _cell(reg["renewed"])],
            ["フォローアップ研修の受講（更新なし）", _cell(reg["follow_up_attended"])],
            ["失効（有効期限の経過）", _cell(reg["lapsed"])],
            ["登録取消", _cell(reg["withdrawn"])],
        ],
        [8, 2],
    )
    for key, caption in (("register_at_year_end", "年度末"), ("register_as_of", "指定日")):
        block = figures.get(key)
        if block is None:
            continue
        day = japanese_era(date.fromisoformat(block["on"]))
        w.note(f"{caption}（{day}）に登録が有効なサポーター: {_cell(block['valid'])}人")
        w.table(
            ["状態", "人数"],
            [[STATUSES.get(s, s), _cell(v)] for s, v in block["statuses"].items()],
            [8, 2],
        )

    follow_up = figures.get("follow_up")
    if follow_up is not None:
        w.heading("フォローアップ研修（受講が登録継続の条件）")
        w.table(
            ["項目", "人数"],
            [
                ["この年度に期限を迎えた", _cell(follow_up["due"])],
                ["期限までに受講", _cell(follow_up["done"])],
                ["期限を過ぎて未受講", _cell(follow_up["overdue"])],
                ["期限前", _cell(follow_up["pending"])],
            ],
            [8, 2],
        )

    dispatch = figures["dispatch"]
    w.heading("派遣", keep=48 * mm + 30 if dispatch["events"] else 40)
    w.note(
        f"派遣 {_cell(dispatch['events'])}件、"
        f"参加サポーター延べ {_cell(dispatch['supporters'])}人、"
        f"活動時間 延べ {_cell(dispatch['hours'])}時間"
    )
    months = dispatch["by_month"]
    if dispatch["events"]:
        w.column_chart(
            [f"{int(m['key'][5:])}月" for m in months],
            [("派遣件数", [(float(m["events"]), _cell(m["events"])) for m in months])],
        )
    w.table(
        ["市町村", "件数", "延べ人数", "時間"],
        [
            [
                w.text(r["key"], "市町村名"),
                _cell(r["events"]),
                _cell(r["supporters"]),
                _cell(r["hours"]),
            ]
            for r in dispatch["by_municipality"]
        ]
        or [["派遣はありません", "", "", ""]],
        [6, 2, 2, 2],
    )
    if dispatch["by_kind"]:
        w.table(
            ["種類", "件数", "延べ人数", "時間"],
            [
                [
                    _dispatch_kind(r["key"]),
                    _cell(r["events"]),
                    _cell(r["supporters"]),
                    _cell(r["hours"]),
                ]
                for r in dispatch["by_kind"]
            ],
            [6, 2, 2, 2],
        )

    activity = figures["activity_reports"]
    w.heading("活動報告")
    w.note(
        f"報告 {_cell(activity['reports'])}件、"
        f"報告したサポーター {_cell(activity['supporters'])}人、"
        f"活動時間 延べ {_cell(activity['hours'])}時間"
    )
    if activity["by_kind"]:
        w.table(
            ["活動の種類", "件数", "時間"],
            [
                [ACTIVITIES.get(r["kind"], r["kind"]), _cell(r["reports"]), _cell(r["hours"])]
                for r in activity["by_kind"]
            ],
            [6, 2, 2],
        )

    history = figures["history"]
    if history:
        w.heading("登録者数の推移", keep=48 * mm + 10)
        w.column_chart(
            [row["label"].replace("年度", "") for row in history],
            [
                ("新規登録", [(_value(r["new"]), _cell(r["new"])) for r in history]),
                (
                    "年度末に有効",
                    [
                        (_value(r["valid_at_year_end"]), _cell(r["valid_at_year_end"]))
                        for r in history
                    ],
                ),
            ],
        )
        w.table(
            ["年度", "新規登録", "年度末に有効"],
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
