"""The completion certificate (修了証) and a session's sign-in sheet (受講者名簿・署名欄) as
PDF bytes.

Pure functions: the input is a frozen dataclass, the output is the PDF file as ``bytes``; no
Flask, request or database code. Fonts, text checks and fitting are the base layer's
(:mod:`supporters.pdf`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from xml.sax.saxutils import escape

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph

from supporters.core.eras import format_date, japanese_era
from supporters.pdf.canvas import INK, MUTED, finish, new_canvas, seal_image
from supporters.pdf.errors import EmptySelectionError, PdfInputError, too_long
from supporters.pdf.fonts import FontPath, check_fields, check_text, load_font, require_fields
from supporters.pdf.text import (
    clamp_lines,
    fit_size,
    format_hours,
    reading_sort_key,
    text_lines,
    text_paragraph,
    text_width,
)
from supporters.programs.services import SEAL_MAX_SIDE

__all__ = [
    "CERTIFICATE_TITLE_LINES",
    "CompletionData",
    "SignInSheetData",
    "render_completion_certificate",
    "render_sign_in_sheet",
]


@dataclass(frozen=True, slots=True)
class CompletionData:
    """One completion certificate (修了証)."""

    completion_number: str
    holder_name: str
    course_title: str
    session_count: int
    total_hours: float | None
    first_date: date
    last_date: date
    organiser_name: str
    issue_date: date
    seal_image: bytes | None = None


@dataclass(frozen=True, slots=True)
class SignInSheetData:
    """A session's sign-in sheet (受講者名簿・署名欄); ``rows`` are (氏名, フリガナ) pairs."""

    course_title: str
    session_label: str
    session_date: date
    venue: str
    rows: Sequence[tuple[str, str]]


# ---------------------------------------------------------------------------------------------
# Completion certificates

# A course title takes at most this many lines on a completion certificate (then "…").
CERTIFICATE_TITLE_LINES = 3


def render_completion_certificate(
    data: CompletionData, *, font_path: FontPath | None = None
) -> bytes:
    """An A4 portrait 修了証 with room for the organiser's seal (or the seal image)."""
    font = load_font(font_path)
    require_fields(
        [
            ("completion_number", data.completion_number),
            ("holder_name", data.holder_name),
            ("course_title", data.course_title),
            ("organiser_name", data.organiser_name),
        ]
    )
    check_fields(
        font,
        [
            ("completion_number", data.completion_number),
            ("holder_name", data.holder_name),
            ("course_title", data.course_title),
            ("organiser_name", data.organiser_name),
        ],
    )
    if data.session_count < 1:
        raise PdfInputError("session_count", "受講回数は1回以上にしてください。")
    if data.last_date < data.first_date:
        raise PdfInputError("last_date", "受講期間の終わりが始まりより前になっています。")
    seal = seal_image(data.seal_image, max_side=SEAL_MAX_SIDE) if data.seal_image else None
    page_w, page_h = A4
    name_text = f"{data.holder_name}　殿"
    name_size = fit_size(name_text, font, 24, 140 * mm, minimum=12, field="holder_name")
    sessions = f"全{data.session_count}回"
    if data.total_hours is not None:
        sessions += f"（計{format_hours(data.total_hours)}時間）"
    if data.first_date == data.last_date:
        period = format_date(data.first_date)
    else:
        period = f"{format_date(data.first_date)} から\n{format_date(data.last_date)} まで"
    items = [("研 修 名", data.course_title), ("受講回数", sessions), ("受講期間", period)]
    value_width = 112 * mm
    item_style = ParagraphStyle(
        "item", fontName=font.name, fontSize=12.5, leading=19, wordWrap="CJK", textColor=INK
    )
    paragraphs = [
        (
            label,
            Paragraph(
                "<br/>".join(
                    escape(line)
                    for part in value.split("\n")
                    for line in clamp_lines(
                        text_lines(part, font, 12.5, value_width),
                        font,
                        12.5,
                        value_width,
                        CERTIFICATE_TITLE_LINES,
                    )
                ),
                item_style,
            ),
        )
        for label, value in items
    ]
    heights = [paragraph.wrap(value_width, page_h)[1] for _, paragraph in paragraphs]
    # The items run from 158 mm below the top down to above the issue date (78 mm from the
    # bottom, 13 pt): what is left after the gaps between them.
    if sum(heights) + 6 * mm * (len(heights) - 1) > page_h - 158 * mm - 78 * mm - 8 * mm:
        raise too_long("course_title", "修了証")
    organiser = text_paragraph(data.organiser_name, font, 15, leading=21, align=2, width=100 * mm)
    _, organiser_h = organiser.wrap(100 * mm, page_h)
    if organiser_h > 45:
        raise too_long("organiser_name", "修了証")

    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, f"修了証 {data.completion_number}", font)
    canvas.setAuthor(data.organiser_name)
    navy = HexColor("#1F3A5F")
    canvas.setStrokeColor(navy)
    canvas.setLineWidth(2.2)
    canvas.rect(12 * mm, 12 * mm, page_w - 24 * mm, page_h - 24 * mm, stroke=1, fill=0)
    canvas.setLineWidth(0.6)
    canvas.rect(15 * mm, 15 * mm, page_w - 30 * mm, page_h - 30 * mm, stroke=1, fill=0)

    canvas.setFillColor(INK)
    canvas.setFont(font.name, 11)
    canvas.drawRightString(page_w - 30 * mm, page_h - 32 * mm, f"第 {data.completion_number} 号")

    canvas.setFillColor(navy)
    canvas.setFont(font.name, 40)
    title = "修了証"
    spacing = 18.0
    title_w = text_width(title, font, 40) + spacing * (len(title) - 1)
    canvas.drawString((page_w - title_w) / 2, page_h - 75 * mm, title, charSpace=spacing)

    canvas.setFillColor(INK)
    canvas.setFont(font.name, name_size)
    canvas.drawCentredString(page_w / 2, page_h - 108 * mm, name_text)
    canvas.setStrokeColor(MUTED)
    canvas.setLineWidth(0.5)
    canvas.line(40 * mm, page_h - 111 * mm, page_w - 40 * mm, page_h - 111 * mm)

    canvas.setFont(font.name, 13)
    canvas.drawCentredString(
        page_w / 2, page_h - 132 * mm, "あなたは下記の研修を修了したことを証します。"
    )
    canvas.drawCentredString(page_w / 2, page_h - 147 * mm, "記")

    y = page_h - 158 * mm
    for (label, paragraph), height in zip(paragraphs, heights, strict=True):
        canvas.setFont(font.name, 12)
        canvas.setFillColor(MUTED)
        canvas.drawString(36 * mm, y - 12, label)
        paragraph.drawOn(canvas, 64 * mm, y - height)
        y -= height + 6 * mm

    canvas.setFillColor(INK)
    canvas.setFont(font.name, 13)
    canvas.drawString(36 * mm, 78 * mm, japanese_era(data.issue_date))
    canvas.setFillColor(MUTED)
    canvas.setFont(font.name, 9)
    canvas.drawString(36 * mm, 72.5 * mm, f"({data.issue_date.isoformat()})")

    seal_size = 24 * mm
    seal_x, seal_y = page_w - 30 * mm - seal_size, 38 * mm
    organiser.drawOn(canvas, seal_x - 4 * mm - 100 * mm, seal_y + seal_size / 2 - organiser_h / 2)
    if seal is not None:
        canvas.drawImage(
            seal, seal_x, seal_y, seal_size, seal_size,
            mask="auto", preserveAspectRatio=True, anchor="c",
        )  # fmt: skip
    else:
        canvas.setStrokeColor(HexColor("#9AA0A6"))
        canvas.setLineWidth(0.7)
        canvas.setDash(1.5, 2)
        canvas.rect(seal_x, seal_y, seal_size, seal_size, stroke=1, fill=0)
        canvas.setDash()
        canvas.setFillColor(HexColor("#9AA0A6"))
        canvas.setFont(font.name, 16)
        canvas.drawCentredString(seal_x + seal_size / 2, seal_y + seal_size / 2 - 5.5, "印")
    canvas.showPage()
    return finish(canvas, buffer)


# ---------------------------------------------------------------------------------------------
# Sign-in sheets

_SIGN_COLUMNS: tuple[tuple[str, float], ...] = (
    ("No.", 11),
    ("氏名", 50),
    ("フリガナ", 44),
    ("署名", 55),
    ("備考", 20),
)
_SIGN_ROW_H = 11 * mm
_SIGN_HEADER_ROW_H = 7 * mm
_SIGN_MARGIN = 15 * mm


def render_sign_in_sheet(data: SignInSheetData, *, font_path: FontPath | None = None) -> bytes:
    """A4 sign-in sheets for one session: trainees sorted by フリガナ, a column to sign in, the
    header repeated on every page, and page numbers. Rows left on the last page stay blank
    for people who register on the day."""
    font = load_font(font_path)
    if not data.rows:
        raise EmptySelectionError(
            "この回の受講者がいません。受講者を登録してから印刷してください。"
        )
    require_fields([("course_title", data.course_title)])
    check_fields(
        font,
        [
            ("course_title", data.course_title),
            ("session_label", data.session_label),
            ("venue", data.venue),
        ],
    )
    rows = sorted(data.rows, key=lambda row: reading_sort_key(row[1]))
    sizes: list[tuple[float, float]] = []
    for name, reading in rows:
        check_text(name, "name", font)
        check_text(reading, "reading", font)
        sizes.append(
            (
                fit_size(name, font, 11, 47 * mm, minimum=6, field="name"),
                fit_size(reading, font, 9, 41 * mm, minimum=5, field="reading"),
            )
        )

    page_w, page_h = A4
    content_w = page_w - 2 * _SIGN_MARGIN
    title_para = text_paragraph(data.course_title, font, 12, leading=16, width=content_w)
    _, title_h = title_para.wrap(content_w, page_h)
    details = "　".join(
        part
        for part in (
            data.session_label,
            f"実施日: {format_date(data.session_date)}",
            f"会場: {data.venue}" if data.venue else "",
        )
        if part
    )
    details_para = text_paragraph(details, font, 10, leading=14, width=content_w)
    _, details_h = details_para.wrap(content_w, page_h)
    header_h = 9 * mm + title_h + 2 * mm + details_h + 5 * mm
    if header_h > 80 * mm:
        raise too_long("course_title", "名簿の見出し")
    table_top = page_h - _SIGN_MARGIN - header_h
    per_page = int((table_top - _SIGN_MARGIN - 8 * mm - _SIGN_HEADER_ROW_H) // _SIGN_ROW_H)
    pages = max(1, math.ceil(len(rows) / per_page))

    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, "受講者名簿（署名欄）", font)
    for page in range(pages):
        top = page_h - _SIGN_MARGIN
        canvas.setFillColor(INK)
        canvas.setFont(font.name, 16)
        canvas.drawString(_SIGN_MARGIN, top - 6 * mm, "受講者名簿（署名欄）")
        title_para.drawOn(canvas, _SIGN_MARGIN, top - 9 * mm - title_h)
        details_para.drawOn(canvas, _SIGN_MARGIN, top - 11 * mm - title_h - details_h)

        y = table_top
        canvas.setFillColor(HexColor("#E8EEF4"))
        canvas.rect(_SIGN_MARGIN, y - _SIGN_HEADER_ROW_H, content_w, _SIGN_HEADER_ROW_H, 0, 1)
        canvas.setFillColor(INK)
        canvas.setFont(font.name, 9)
        x = _SIGN_MARGIN
        for label, width in _SIGN_COLUMNS:
            canvas.drawCentredString(x + width * mm / 2, y - _SIGN_HEADER_ROW_H + 2.3 * mm, label)
            x += width * mm
        y -= _SIGN_HEADER_ROW_H
        chunk = list(range(page * per_page, min((page + 1) * per_page, len(rows))))
        for slot in range(per_page):
            baseline = y - _SIGN_ROW_H / 2 - 1.3 * mm
            if slot < len(chunk):
                index = chunk[slot]
                (name, reading), (name_size, reading_size) = rows[index], sizes[index]
                canvas.setFont(font.name, 9)
                canvas.drawCentredString(_SIGN_MARGIN + 5.5 * mm, baseline, str(index + 1))
                canvas.setFont(font.name, name_size)
                canvas.drawString(_SIGN_MARGIN + 13 * mm, baseline, name)
                canvas.setFont(font.name, reading_size)
                canvas.drawString(_SIGN_MARGIN + 63 * mm, baseline, reading)
            y -= _SIGN_ROW_H
        canvas.setStrokeColor(MUTED)
        canvas.setLineWidth(0.4)
        bottom = y
        canvas.rect(_SIGN_MARGIN, bottom, content_w, table_top - bottom, stroke=1, fill=0)
        canvas.setLineWidth(0.25)
        line_y = table_top - _SIGN_HEADER_ROW_H
        while line_y > bottom + 1:
            canvas.line(_SIGN_MARGIN, line_y, _SIGN_MARGIN + content_w, line_y)
            line_y -= _SIGN_ROW_H
        x = _SIGN_MARGIN
        for _, width in _SIGN_COLUMNS[:-1]:
            x += width * mm
            canvas.line(x, table_top, x, bottom)

        canvas.setFillColor(MUTED)
        canvas.setFont(font.name, 9)
        canvas.drawCentredString(page_w / 2, 9 * mm, f"{page + 1} / {pages} ページ")
        canvas.showPage()
    return finish(canvas, buffer)
