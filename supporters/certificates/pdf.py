"""Supporter cards (サポーター証), A4 sheets of ten cards, and the page that checks a printer's
alignment, as PDF bytes.

Pure functions: the input is a frozen dataclass, the output is the PDF file as ``bytes``. No
Flask, request or database code lives here; `services` builds the dataclasses and the views or
commands write the bytes. Fonts, text checks and fitting are the base layer's
(:mod:`supporters.pdf`).
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Literal

from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from supporters.certificates.qr import qr_pdf_operators, qr_symbol
from supporters.core.eras import format_date
from supporters.pdf.canvas import INK, MUTED, finish, new_canvas
from supporters.pdf.errors import EmptySelectionError, PdfInputError
from supporters.pdf.fonts import FontPath, PdfFont, check_fields, load_font, require_fields
from supporters.pdf.text import fit_lines, fit_size, text_paragraph, text_width

__all__ = [
    "CARDS_PER_SHEET",
    "CARD_DESIGNS",
    "CARD_HEIGHT_MM",
    "CARD_WIDTH_MM",
    "CardData",
    "CardDesign",
    "render_calibration_page",
    "render_card",
    "render_card_sheet",
]

CARD_WIDTH_MM = 91.0
CARD_HEIGHT_MM = 55.0
SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
_A4_WIDTH_MM = 210.0
_A4_HEIGHT_MM = 297.0

_STAMP_RED = HexColor("#C62828")


@dataclass(frozen=True, slots=True)
class CardDesign:
    """Colours and layout of a supporter card. ``layout``: a top band or a left sidebar."""

    code: str
    label: str
    layout: Literal["band", "sidebar"]
    primary: str
    accent: str


CARD_DESIGNS: Mapping[str, CardDesign] = MappingProxyType(
    {
        "default": CardDesign("default", "標準（紺の帯）", "band", "#1F4E79", "#6FA8DC"),
        "tochigi": CardDesign("tochigi", "栃木（緑の縦帯と星）", "sidebar", "#1E5B3C", "#C9A227"),
    }
)


@dataclass(frozen=True, slots=True)
class CardData:
    """One supporter card (サポーター証)."""

    program_public_name: str
    holder_name: str
    holder_reading: str
    registration_number: str
    registration_date: date
    valid_until: date | None
    issuer_name: str
    verify_url: str
    design: str = "default"
    status_note: str | None = None
    title: str = "サポーター証"


def _star(canvas: Canvas, cx: float, cy: float, radius: float, color: Color) -> None:
    path = canvas.beginPath()
    for index in range(10):
        angle = math.pi / 2 + index * math.pi / 5
        r = radius if index % 2 == 0 else radius * 0.4
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        if index == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    canvas.setFillColor(color)
    canvas.drawPath(path, stroke=0, fill=1)


_CARD_W = CARD_WIDTH_MM * mm
_CARD_H = CARD_HEIGHT_MM * mm
_QR_SIZE = 17 * mm
_QR_X = 69.5 * mm
_QR_Y = 14 * mm


@dataclass(frozen=True, slots=True)
class _CardGeometry:
    left: float  # x of the text column
    value_x: float  # x of the values after the labels
    right: float  # right end of the text column
    title_color: str  # "primary" or "white"


_GEOMETRY: Mapping[str, _CardGeometry] = MappingProxyType(
    {
        "band": _CardGeometry(5.5 * mm, 17.5 * mm, 65.5 * mm, "white"),
        "sidebar": _CardGeometry(14.5 * mm, 26.0 * mm, 65.5 * mm, "ink"),
    }
)


# design, program name, title, issuer, has a validity end, has a QR code
_FormKey = tuple[str, str, str, str, bool, bool]


@dataclass(frozen=True, slots=True)
class _CardLayout:
    """What varies per card, measured before anything is drawn."""

    card: CardData
    design: CardDesign
    form_key: _FormKey
    name_size: float
    reading_size: float
    number_size: float
    note_size: float


def _design(card: CardData) -> CardDesign:
    try:
        return CARD_DESIGNS[card.design]
    except KeyError:
        known = ", ".join(CARD_DESIGNS)
        raise PdfInputError(
            "design", f"サポーター証のデザイン「{card.design}」はありません（{known}）。"
        ) from None


def _layout_card(card: CardData, font: PdfFont, *, with_qr: bool) -> _CardLayout:
    require_fields(
        [
            ("holder_name", card.holder_name),
            ("registration_number", card.registration_number),
            ("program_public_name", card.program_public_name),
            ("issuer_name", card.issuer_name),
        ]
    )
    check_fields(
        font,
        [
            ("program_public_name", card.program_public_name),
            ("title", card.title),
            ("holder_name", card.holder_name),
            ("holder_reading", card.holder_reading),
            ("registration_number", card.registration_number),
            ("issuer_name", card.issuer_name),
            ("status_note", card.status_note),
        ],
    )
    if with_qr and not card.verify_url:
        raise PdfInputError("verify_url", "確認用のURLがありません。")
    design = _design(card)
    geometry = _GEOMETRY[design.layout]
    width = geometry.right - geometry.left
    name_size = fit_size(card.holder_name, font, 15, width, minimum=8, field="holder_name")
    reading_size = fit_size(
        card.holder_reading, font, 7, width, minimum=4.5, field="holder_reading"
    )
    number_size = fit_size(
        card.registration_number, font, 7.5, geometry.right - geometry.value_x,
        minimum=5, field="registration_number",
    )  # fmt: skip
    note_size = 0.0
    if card.status_note:
        note_size = fit_size(card.status_note, font, 16, 40 * mm, minimum=7, field="status_note")
    form_key = (
        card.design,
        card.program_public_name,
        card.title,
        card.issuer_name,
        card.valid_until is not None,
        with_qr,
    )
    return _CardLayout(card, design, form_key, name_size, reading_size, number_size, note_size)


@dataclass(frozen=True, slots=True)
class _CardStatic:
    """The measured text of what the cards of one form share."""

    program_size: float
    title_size: float
    issuer_size: float
    issuer_lines: tuple[str, ...]


def _measure_static(layouts: Iterable[_CardLayout], font: PdfFont) -> dict[_FormKey, _CardStatic]:
    """Fit the shared texts once per form, before anything is drawn."""
    statics: dict[_FormKey, _CardStatic] = {}
    for layout in layouts:
        if layout.form_key in statics:
            continue
        card, geometry = layout.card, _GEOMETRY[layout.design.layout]
        title_width = 86 * mm - geometry.left
        issuer_size, issuer_lines = fit_lines(
            card.issuer_name, font, 7, geometry.right - geometry.value_x,
            max_lines=2, minimum=5, field="issuer_name", where="サポーター証",
        )  # fmt: skip
        statics[layout.form_key] = _CardStatic(
            program_size=fit_size(
                card.program_public_name,
                font,
                7.5,
                title_width,
                minimum=4.5,
                field="program_public_name",
            ),
            title_size=fit_size(card.title, font, 12.5, title_width, minimum=6, field="title"),
            issuer_size=issuer_size,
            issuer_lines=issuer_lines,
        )
    return statics


class _CardPainter:
    """Draws cards on a canvas; what every card of a program shares is one form XObject."""

    def __init__(self, canvas: Canvas, font: PdfFont, *, with_qr: bool, best_mask: bool) -> None:
        self.canvas = canvas
        self.font = font
        self.with_qr = with_qr
        self.best_mask = best_mask
        self.forms: dict[_FormKey, str] = {}

    def prepare(
        self, layouts: Iterable[_CardLayout], statics: Mapping[_FormKey, _CardStatic]
    ) -> None:
        """Define the shared forms; call before the first page is drawn."""
        for layout in layouts:
            if layout.form_key not in self.forms:
                name = f"Card{len(self.forms)}"
                self.canvas.beginForm(name, 0, 0, _CARD_W, _CARD_H)
                self._draw_static(layout, statics[layout.form_key])
                self.canvas.endForm()
                self.forms[layout.form_key] = name

    def _draw_static(self, layout: _CardLayout, static: _CardStatic) -> None:
        c, font, card, design = self.canvas, self.font, layout.card, layout.design
        geometry = _GEOMETRY[design.layout]
        primary, accent = HexColor(design.primary), HexColor(design.accent)
        left = geometry.left
        if design.layout == "band":
            c.setFillColor(primary)
            c.roundRect(2.5 * mm, 41.5 * mm, 86 * mm, 11 * mm, 1.5 * mm, stroke=0, fill=1)
            c.setFillColor(accent)
            c.rect(2.5 * mm, 41.5 * mm, 86 * mm, 0.6 * mm, stroke=0, fill=1)
            program_color, title_color = HexColor("#FFFFFF"), HexColor("#FFFFFF")
            program_y, title_y = 48.4 * mm, 43.6 * mm
        else:
            c.setFillColor(primary)
            c.roundRect(2.5 * mm, 2.5 * mm, 8.5 * mm, 50 * mm, 1.5 * mm, stroke=0, fill=1)
            _star(c, 6.75 * mm, 47 * mm, 2.9 * mm, accent)
            c.setStrokeColor(accent)
            c.setLineWidth(0.9)
            c.line(left, 40.8 * mm, 88.5 * mm, 40.8 * mm)
            program_color, title_color = primary, INK
            program_y, title_y = 48.6 * mm, 43.2 * mm
        c.setFillColor(program_color)
        c.setFont(font.name, static.program_size)
        c.drawString(left, program_y, card.program_public_name)
        c.setFillColor(title_color)
        c.setFont(font.name, static.title_size)
        c.drawString(left, title_y, card.title, charSpace=1.2)

        # the rule under the name and the labels of the rows
        c.setStrokeColor(accent)
        c.setLineWidth(0.6)
        c.line(left, 27.3 * mm, geometry.right, 27.3 * mm)
        c.setFillColor(primary)
        c.setFont(font.name, 6)
        labels = [("登録番号", 22.5), ("登録日", 18.5)]
        if card.valid_until is not None:
            labels.append(("有効期限", 14.5))
        size, lines = static.issuer_size, static.issuer_lines
        issuer_y = 6.2 * mm + (len(lines) - 1) * size * 1.25
        for label, y in labels:
            c.drawString(left, y * mm, label)
        c.drawString(left, issuer_y, "発行")
        c.setFillColor(INK)
        c.setFont(font.name, size)
        y = issuer_y
        for line in lines:
            c.drawString(geometry.value_x, y, line)
            y -= size * 1.25

        if layout.form_key[5]:  # with QR
            c.setFillColor(MUTED)
            c.setFont(font.name, 5.5)
            c.drawCentredString(_QR_X + _QR_SIZE / 2, 10 * mm, "登録確認")

    def draw(self, layout: _CardLayout, x: float, y: float) -> None:
        c, font, card = self.canvas, self.font, layout.card
        geometry = _GEOMETRY[layout.design.layout]
        c.saveState()
        c.translate(x, y)
        c.doForm(self.forms[layout.form_key])
        c.setFillColor(MUTED)
        c.setFont(font.name, layout.reading_size)
        c.drawString(geometry.left, 35.6 * mm, card.holder_reading)
        c.setFillColor(INK)
        c.setFont(font.name, layout.name_size)
        c.drawString(geometry.left, 29.4 * mm, card.holder_name)
        c.setFont(font.name, layout.number_size)
        c.drawString(geometry.value_x, 22.5 * mm, card.registration_number)
        c.setFont(font.name, 7.5)
        c.drawString(geometry.value_x, 18.5 * mm, format_date(card.registration_date))
        if card.valid_until is not None:
            c.drawString(geometry.value_x, 14.5 * mm, format_date(card.valid_until))
        if self.with_qr:
            symbol = qr_symbol(card.verify_url, best_mask=self.best_mask)
            c.addLiteral(qr_pdf_operators(symbol, _QR_X, _QR_Y, _QR_SIZE))
        if card.status_note:
            self._stamp(card.status_note, layout.note_size)
        c.restoreState()

    def _stamp(self, note: str, size: float) -> None:
        c = self.canvas
        width = text_width(note, self.font, size) + 6 * mm
        height = size + 4 * mm
        c.saveState()
        c.translate(53 * mm, 33.5 * mm)
        c.rotate(12)
        c.setStrokeColor(_STAMP_RED)
        c.setFillColor(_STAMP_RED)
        c.setLineWidth(1.6)
        c.roundRect(-width / 2, -height / 2, width, height, 1.5 * mm, stroke=1, fill=0)
        c.setFont(self.font.name, size)
        c.drawCentredString(0, -size * 0.36, note)
        c.restoreState()


def render_card(data: CardData, *, font_path: FontPath | None = None) -> bytes:
    """One supporter card on a 91 × 55 mm page."""
    font = load_font(font_path)
    layout = _layout_card(data, font, with_qr=True)
    statics = _measure_static([layout], font)
    buffer = io.BytesIO()
    canvas = new_canvas(
        buffer, (_CARD_W, _CARD_H), f"{data.title} {data.registration_number}", font
    )
    canvas.setAuthor(data.issuer_name)
    painter = _CardPainter(canvas, font, with_qr=True, best_mask=True)
    painter.prepare([layout], statics)
    painter.draw(layout, 0, 0)
    canvas.showPage()
    return finish(canvas, buffer)


@dataclass(frozen=True, slots=True)
class _SheetGrid:
    left: float
    top: float
    gap: float

    def origins(self) -> Iterator[tuple[float, float]]:
        """Lower-left corners (points) of the card slots, row by row from the top left."""
        page_h = A4[1]
        for row in range(SHEET_ROWS):
            for column in range(SHEET_COLUMNS):
                x = (self.left + column * (CARD_WIDTH_MM + self.gap)) * mm
                y = page_h - (self.top + (row + 1) * CARD_HEIGHT_MM + row * self.gap) * mm
                yield x, y


def _grid(margin_top_mm: float | None, margin_left_mm: float | None, gap_mm: float) -> _SheetGrid:
    if gap_mm < 0:
        raise PdfInputError("gap_mm", "カードの間隔は0mm以上にしてください。")
    grid_w = SHEET_COLUMNS * CARD_WIDTH_MM + (SHEET_COLUMNS - 1) * gap_mm
    grid_h = SHEET_ROWS * CARD_HEIGHT_MM + (SHEET_ROWS - 1) * gap_mm
    left = (_A4_WIDTH_MM - grid_w) / 2 if margin_left_mm is None else margin_left_mm
    top = (_A4_HEIGHT_MM - grid_h) / 2 if margin_top_mm is None else margin_top_mm
    if left < 0 or left + grid_w > _A4_WIDTH_MM + 1e-6:
        raise PdfInputError(
            "margin_left_mm", "左右の余白と間隔の設定では、カードがA4用紙の幅に収まりません。"
        )
    if top < 0 or top + grid_h > _A4_HEIGHT_MM + 1e-6:
        raise PdfInputError(
            "margin_top_mm", "上下の余白と間隔の設定では、カードがA4用紙の高さに収まりません。"
        )
    return _SheetGrid(left, top, gap_mm)


def _cut_marks(canvas: Canvas, grid: _SheetGrid) -> None:
    """Short lines in the page margins on the extension of every card edge."""
    page_w, page_h = A4
    xs = sorted({round(x + dx, 3) for x, _ in grid.origins() for dx in (0.0, _CARD_W)})
    ys = sorted({round(y + dy, 3) for _, y in grid.origins() for dy in (0.0, _CARD_H)})
    grid_left, grid_right = xs[0], xs[-1]
    grid_bottom, grid_top = ys[0], ys[-1]
    canvas.setStrokeColor(HexColor("#000000"))
    canvas.setLineWidth(0.25)
    offset = 1.5 * mm

    def marks(space: float) -> float:
        return min(7 * mm, space - offset - 1 * mm)

    top_len, bottom_len = marks(page_h - grid_top), marks(grid_bottom)
    left_len, right_len = marks(grid_left), marks(page_w - grid_right)
    for x in xs:
        if top_len > 0:
            canvas.line(x, grid_top + offset, x, grid_top + offset + top_len)
        if bottom_len > 0:
            canvas.line(x, grid_bottom - offset, x, grid_bottom - offset - bottom_len)
    for y in ys:
        if left_len > 0:
            canvas.line(grid_left - offset, y, grid_left - offset - left_len, y)
        if right_len > 0:
            canvas.line(grid_right + offset, y, grid_right + offset + right_len, y)


def render_card_sheet(
    cards: Sequence[CardData],
    *,
    margin_top_mm: float | None = None,
    margin_left_mm: float | None = None,
    gap_mm: float = 0.0,
    cut_marks: bool = False,
    with_qr: bool = True,
    font_path: FontPath | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> bytes:
    """A4 portrait sheets of 10 cards (2 columns × 5 rows of 91 × 55 mm).

    The default margins centre the grid on the page: with no gap that is 14 mm left and right
    and 11 mm top and bottom, the layout of commercial 10-card business-card sheets.
    ``progress(done, total)`` is called after each page. Every card is checked before the
    first one is drawn.
    """
    if not cards:
        raise EmptySelectionError(
            "印刷するサポーター証がありません。対象の条件（事業・状態・期間）を確認してください。"
        )
    grid = _grid(margin_top_mm, margin_left_mm, gap_mm)
    font = load_font(font_path)
    layouts = [_layout_card(card, font, with_qr=with_qr) for card in cards]
    statics = _measure_static(layouts, font)

    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, "サポーター証（名刺サイズ 10面）", font)
    painter = _CardPainter(canvas, font, with_qr=with_qr, best_mask=False)
    painter.prepare(layouts, statics)
    if cut_marks:
        canvas.beginForm("CutMarks")
        _cut_marks(canvas, grid)
        canvas.endForm()
    slots = list(grid.origins())
    total = len(layouts)
    for start in range(0, total, CARDS_PER_SHEET):
        if cut_marks:
            canvas.doForm("CutMarks")
        for layout, (x, y) in zip(layouts[start : start + CARDS_PER_SHEET], slots, strict=False):
            painter.draw(layout, x, y)
        canvas.showPage()
        if progress is not None:
            progress(min(start + CARDS_PER_SHEET, total), total)
    return finish(canvas, buffer)


def _ruler(canvas: Canvas, font: PdfFont, x: float, y: float, length_mm: int) -> None:
    """A horizontal ruler with millimetre ticks, numbered every 10 mm, from (x, y) rightwards."""
    canvas.setStrokeColor(INK)
    canvas.setFillColor(INK)
    canvas.setLineWidth(0.3)
    canvas.line(x, y, x + length_mm * mm, y)
    canvas.setFont(font.name, 5.5)
    for tick in range(length_mm + 1):
        height = 3.0 if tick % 10 == 0 else 2.0 if tick % 5 == 0 else 1.2
        canvas.line(x + tick * mm, y, x + tick * mm, y + height * mm)
        if tick % 10 == 0:
            canvas.drawCentredString(x + tick * mm, y + 3.6 * mm, str(tick))


def render_calibration_page(
    *,
    margin_top_mm: float | None = None,
    margin_left_mm: float | None = None,
    gap_mm: float = 0.0,
    font_path: FontPath | None = None,
) -> bytes:
    """One A4 page with the outline of every card slot and rulers, to check a printer.

    Printed at 100 % on a business-card sheet, the outlines should sit on the perforations and
    the 10 mm marks of the rulers should measure 10 mm.
    """
    grid = _grid(margin_top_mm, margin_left_mm, gap_mm)
    font = load_font(font_path)
    buffer = io.BytesIO()
    canvas = new_canvas(buffer, A4, "サポーター証 印刷位置の確認", font)
    slots = list(grid.origins())
    canvas.setStrokeColor(HexColor("#777777"))
    canvas.setLineWidth(0.3)
    for number, (x, y) in enumerate(slots, start=1):
        canvas.rect(x, y, _CARD_W, _CARD_H, stroke=1, fill=0)
        if number > 3:  # the first three slots hold the instructions, rulers and settings
            cx, cy = x + _CARD_W / 2, y + _CARD_H / 2
            canvas.line(cx - 3 * mm, cy, cx + 3 * mm, cy)
            canvas.line(cx, cy - 3 * mm, cx, cy + 3 * mm)
        canvas.setFillColor(MUTED)
        canvas.setFont(font.name, 7)
        canvas.drawString(x + 2.5 * mm, y + _CARD_H - 4.5 * mm, f"{number}")

    x, y = slots[0]
    canvas.setFillColor(INK)
    canvas.setFont(font.name, 10)
    canvas.drawString(x + 7 * mm, y + _CARD_H - 10 * mm, "印刷位置の確認用ページ")
    text = (
        "拡大・縮小せずに（実際のサイズ・100%）印刷し、名刺用紙と重ねて枠線がミシン目に"
        "合っているか確認してください。定規の10mmの目盛りが実際に10mmになっているかも"
        "確かめてください。ずれている場合は余白の設定を調整してください。"
    )
    paragraph = text_paragraph(text, font, 7.5, leading=11)  # one sentence after another
    _, height = paragraph.wrap(_CARD_W - 12 * mm, _CARD_H)
    paragraph.drawOn(canvas, x + 7 * mm, y + _CARD_H - 14 * mm - height)

    x, y = slots[1]
    canvas.setFillColor(INK)
    canvas.setFont(font.name, 8)
    canvas.drawString(x + 7 * mm, y + _CARD_H - 10 * mm, "定規（1目盛り 1mm）")
    _ruler(canvas, font, x + 5.5 * mm, y + 30 * mm, 80)
    canvas.setLineWidth(0.4)
    canvas.rect(x + 7 * mm, y + 8 * mm, 10 * mm, 10 * mm, stroke=1, fill=0)
    canvas.setFont(font.name, 7)
    canvas.drawString(x + 20 * mm, y + 12 * mm, "← 10mm × 10mm の正方形")

    x, y = slots[2]
    settings = [
        f"上余白 {grid.top:.1f} mm",
        f"左余白 {grid.left:.1f} mm",
        f"カードの間隔 {grid.gap:.1f} mm",
        f"カード {CARD_WIDTH_MM:g} × {CARD_HEIGHT_MM:g} mm（2列 × 5段）",
    ]
    canvas.setFont(font.name, 8)
    canvas.drawString(x + 7 * mm, y + _CARD_H - 10 * mm, "この印刷の設定")
    for index, line in enumerate(settings):
        canvas.drawString(x + 9 * mm, y + _CARD_H - (16 + index * 5) * mm, line)
    canvas.showPage()
    return finish(canvas, buffer)
