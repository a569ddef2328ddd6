"""The supporter's printed notice (活動のご案内, or the program's title: Chiba's 派遣のご
案内) as PDF bytes, for a supporter who does not use a smartphone; not a 派遣依頼書, which
is a municipality's request to the program. A pure function; fonts, text checks and
fitting are the base layer's (:mod:`supporters.pdf`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm

from supporters.core.eras import japanese_era
from supporters.pdf.canvas import INK, finish, new_canvas
from supporters.pdf.fonts import FontPath, check_fields, load_font, require_fields
from supporters.pdf.text import text_paragraph

__all__ = ["DispatchNoticeData", "render_dispatch_notice"]


@dataclass(frozen=True)
class DispatchNoticeData:
    """A printed notice for a supporter who does not use a smartphone."""

    supporter_name: str
    event_title: str
    when: str  # e.g. 令和8年12月11日（金） 13:00〜16:00
    place: str  # municipality and public venue; never a private home
    activity: str
    bring: str
    notes: str
    issuer_name: str
    issued_on: date
    title: str = "活動のご案内"


def render_dispatch_notice(data: DispatchNoticeData, *, font_path: FontPath | None = None) -> bytes:
    """One A4 page: what, when and where, what to bring, and whom to call."""
    font = load_font(font_path)
    require_fields([("name", data.supporter_name), ("event_title", data.event_title)])
    check_fields(
        font,
        [
            ("name", data.supporter_name),
            ("event_title", data.event_title),
            ("place", data.place),
            ("notes", data.notes),
            ("bring", data.bring),
            ("issuer", data.issuer_name),
        ],
    )
    page_w, page_h = A4
    margin = 25 * mm
    width = page_w - 2 * margin
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, data.title, font)
    canvas.setFillColor(INK)
    canvas.setFont(font.name, 10.5)
    canvas.drawRightString(page_w - margin, page_h - margin, japanese_era(data.issued_on))
    canvas.setFont(font.name, 22)
    canvas.drawCentredString(page_w / 2, page_h - margin - 18 * mm, data.title)
    y = page_h - margin - 36 * mm
    canvas.setFont(font.name, 14)
    canvas.drawString(margin, y, f"{data.supporter_name} 様")
    y -= 12 * mm

    def paragraph(text: str, size: float, top: float) -> float:
        """Draw a paragraph across the page below `top`; its height."""
        para = text_paragraph(text, font, size, width=width)
        _, height = para.wrap(width, page_h)
        para.drawOn(canvas, margin, top - height)
        return float(height)

    y -= paragraph(
        "いつもご協力いただき、ありがとうございます。次のとおり、サポーターとしての"
        "ご参加をお願いいたします。",
        11,
        y,
    )
    y -= 8 * mm
    rows = [
        ("内容", data.event_title),
        ("日時", data.when),
        ("場所", data.place),
        ("活動", data.activity),
        ("持ち物", data.bring or "特になし"),
        ("連絡事項", data.notes or "特になし"),
    ]
    label_w = 28 * mm
    for label, value in rows:
        para = text_paragraph(value, font, 11.5, width=width - label_w - 4 * mm)
        _, h = para.wrap(width - label_w - 4 * mm, page_h)
        row_h = max(h, 6 * mm) + 5 * mm
        canvas.setStrokeColor(INK)
        canvas.setLineWidth(0.4)
        canvas.rect(margin, y - row_h, width, row_h)
        canvas.line(margin + label_w, y, margin + label_w, y - row_h)
        canvas.setFont(font.name, 11)
        canvas.drawString(margin + 3 * mm, y - 2.5 * mm - 11, label)
        para.drawOn(canvas, margin + label_w + 2 * mm, y - 2.5 * mm - h)
        y -= row_h
    y -= 10 * mm
    paragraph(
        "ご都合が悪くなった場合は、お早めに事務局までご連絡ください。"
        "相談に来られた方のお名前やお話の内容は、記録したり持ち帰ったりしないでください。",
        10.5,
        y,
    )
    canvas.setFont(font.name, 12)
    canvas.drawRightString(page_w - margin, margin + 10 * mm, data.issuer_name)
    return finish(canvas, buffer)
