"""Supporter cards, card sheets, completion certificates and sign-in sheets as PDF bytes.

Pure functions: the input is one of the frozen dataclasses below, the output is the PDF file
as ``bytes``. No Flask, request or database code lives here; the feature's services build the
dataclasses and the views or commands write the bytes.

Text is drawn with one Japanese TrueType font (IPAexGothic by default, the file that the
``matplotlib-fontja`` package ships), embedded as a subset. Every text is checked against the
font's character map before anything is drawn: a character the font has no glyph for (such as
𠮷, U+20BB7) raises :class:`UnprintableTextError` instead of printing an empty box. Long texts
are broken with reportlab's ``wordWrap="CJK"``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import math
import os
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Literal
from xml.sax.saxutils import escape

from reportlab import rl_config
from reportlab.lib.colors import Color, HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from supporters.certificates.qr import qr_pdf_operators, qr_symbol
from supporters.core.eras import format_date, japanese_era
from supporters.programs.services import SEAL_MAX_SIDE

__all__ = [
    "CARDS_PER_SHEET",
    "CARD_DESIGNS",
    "CARD_HEIGHT_MM",
    "CARD_WIDTH_MM",
    "CardData",
    "CardDesign",
    "CompletionData",
    "DispatchNoticeData",
    "EmptySelectionError",
    "FontNotFoundError",
    "PdfFont",
    "PdfInputError",
    "SignInSheetData",
    "UnprintableTextError",
    "check_printable",
    "check_text",
    "default_font_path",
    "load_font",
    "new_canvas",
    "reading_sort_key",
    "render_calibration_page",
    "render_card",
    "render_card_sheet",
    "render_completion_certificate",
    "render_dispatch_notice",
    "render_sign_in_sheet",
]

FontPath = str | os.PathLike[str]

# reportlab wraps every compressed stream in ASCII85 by default: 25 % larger files and, without
# the optional C accelerator, a pure-Python encoder that costs more than the drawing. Binary
# streams are what every PDF reader expects anyway.
rl_config.useA85 = 0

CARD_WIDTH_MM = 91.0
CARD_HEIGHT_MM = 55.0
SHEET_COLUMNS = 2
SHEET_ROWS = 5
CARDS_PER_SHEET = SHEET_COLUMNS * SHEET_ROWS
_A4_WIDTH_MM = 210.0
_A4_HEIGHT_MM = 297.0

_INK = HexColor("#222222")
_MUTED = HexColor("#5F6368")
_STAMP_RED = HexColor("#C62828")


# ---------------------------------------------------------------------------------------------
# Errors


class PdfInputError(ValueError):
    """Input that cannot be printed; ``field`` names the input, ``message`` is for the user."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


FIELD_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "holder_name": "氏名",
        "name": "氏名",
        "holder_reading": "フリガナ",
        "reading": "フリガナ",
        "program_public_name": "事業名",
        "registration_number": "登録番号",
        "issuer_name": "発行者名",
        "status_note": "状態の表示",
        "title": "表題",
        "completion_number": "修了番号",
        "course_title": "研修名",
        "organiser_name": "主催者名",
        "session_label": "回の名称",
        "venue": "会場",
    }
)
_NAME_FIELDS = frozenset({"holder_name", "name", "氏名"})
# Common variant characters outside JIS X 0208 and the form people usually print instead.
_PRINTABLE_VARIANTS: Mapping[str, str] = MappingProxyType(
    {"\U00020bb7": "吉", "\U0002123d": "土", "\U000238fa": "橋", "\U0002000b": "丈"}
)


def _shown_char(char: str) -> str:
    if unicodedata.category(char)[0] in {"C", "Z"} and char not in {" ", "\u3000"}:
        return f"U+{ord(char):04X}"
    return char


def _unprintable_message(field: str, char: str) -> str:
    label = FIELD_LABELS.get(field, field)
    shown = _shown_char(char)
    if field in _NAME_FIELDS:
        variant = _PRINTABLE_VARIANTS.get(char)
        example = f"（例: {variant}）" if variant else "（印刷できる字体で書いた氏名）"
        return f"{label}の「{shown}」は印刷できません。印字用氏名{example}を登録してください。"
    return f"{label}の「{shown}」は印刷できません。印刷できる文字に置き換えてください。"


class UnprintableTextError(PdfInputError):
    """A text contains a character the font has no glyph for."""

    def __init__(self, field: str, char: str) -> None:
        self.char = char
        super().__init__(field, _unprintable_message(field, char))


class EmptySelectionError(PdfInputError):
    """Nothing to print."""

    def __init__(self, message: str = "印刷する対象がありません。条件を確認してください。") -> None:
        super().__init__("selection", message)


class FontNotFoundError(RuntimeError):
    """The configured font file cannot be found (a configuration error, not a user error)."""


# ---------------------------------------------------------------------------------------------
# Input data


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
# Dates and sorting

_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


def reading_sort_key(reading: str) -> tuple[str, str]:
    """Sort key for フリガナ: hiragana and half-width katakana count as katakana, and voiced or
    small kana sort next to their plain form (カトウ, ガトウ, キムラ), as in a Japanese index."""
    text = unicodedata.normalize("NFKC", reading).strip()
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
    plain = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in plain if c not in "\u3099\u309a").translate(_SMALL_KANA)
    return plain.replace(" ", "").replace("\u3000", ""), text


# ---------------------------------------------------------------------------------------------
# Fonts


@dataclass(frozen=True, slots=True)
class _Font:
    name: str
    path: str
    cmap: frozenset[int]


def default_font_path() -> str:
    """IPAexGothic as shipped by ``matplotlib-fontja`` (found without importing matplotlib)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or spec.origin is None:
        raise FontNotFoundError(
            "日本語フォントが見つかりません。matplotlib-fontja をインストールするか、"
            "SUPPORTERS_PDF_FONT に TrueType フォント (.ttf) のパスを設定してください。"
        )
    return str(Path(spec.origin).parent / "fonts" / "ipaexg.ttf")


def _font(font_path: FontPath | None) -> _Font:
    path = os.path.abspath(os.fspath(font_path) if font_path is not None else default_font_path())
    return _load_font(path)


@lru_cache(maxsize=8)
def _load_font(path: str) -> _Font:
    if not os.path.isfile(path):
        raise FontNotFoundError(
            f"フォントファイル {path} が見つかりません。SUPPORTERS_PDF_FONT を確認してください。"
        )
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"SupportersFont-{digest}"
    ttf = TTFont(name, path)  # reportlab embeds TTFonts as subsets
    pdfmetrics.registerFont(ttf)
    cmap = frozenset(code for code, glyph in ttf.face.charToGlyph.items() if glyph)
    return _Font(name=name, path=path, cmap=cmap)


def load_font(font_path: FontPath | None = None) -> _Font:
    """The PDF font (embedded as a subset), for other PDF modules such as the reports."""
    return _font(font_path)


def check_text(text: str, field: str, font: _Font) -> None:
    """Raise UnprintableTextError before drawing anything the font cannot draw."""
    _check(text, field, font)


def new_canvas(
    buffer: io.BytesIO, pagesize: tuple[float, float], title: str, font: _Font
) -> Canvas:
    return _new_canvas(buffer, pagesize, title, font)


PdfFont = _Font


def _check(text: str, field: str, font: _Font) -> None:
    cmap = font.cmap
    for char in text:
        if ord(char) not in cmap:
            raise UnprintableTextError(field, char)


def check_printable(text: str, field: str, font_path: FontPath | None = None) -> None:
    """Raise :class:`UnprintableTextError` if the PDF font cannot draw a character of ``text``.

    ``field`` is the input's name (``"holder_name"``, ``"name"``, ``"course_title"``...); it picks
    the label in the Japanese message, and a name field asks for the 印字用氏名.
    """
    _check(text, field, _font(font_path))


def _check_fields(font: _Font, fields: Iterable[tuple[str, str | None]]) -> None:
    for field, value in fields:
        if value:
            _check(value, field, font)


def _require(fields: Iterable[tuple[str, str]]) -> None:
    for field, value in fields:
        if not value.strip():
            label = FIELD_LABELS.get(field, field)
            raise PdfInputError(field, f"{label}が入力されていません。")


# ---------------------------------------------------------------------------------------------
# Text helpers


def _width(text: str, font: _Font, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font.name, size))


def _too_long(field: str, where: str) -> PdfInputError:
    label = FIELD_LABELS.get(field, field)
    return PdfInputError(field, f"{label}が長すぎて{where}に収まりません。短くしてください。")


def _fit_size(
    text: str, font: _Font, size: float, width: float, *, minimum: float, field: str
) -> float:
    """The largest size up to ``size`` at which ``text`` fits on one line of ``width``."""
    natural = _width(text, font, size)
    if natural <= width:
        return size
    fitted = math.floor(size * width / natural * 10) / 10
    if fitted < minimum:
        raise _too_long(field, "1行")
    return fitted


@lru_cache(maxsize=1024)
def _wrap(text: str, font_name: str, size: float, width: float) -> tuple[str, ...]:
    """Break ``text`` into lines of ``width`` with reportlab's CJK line breaking."""
    style = ParagraphStyle(
        "wrap", fontName=font_name, fontSize=size, leading=size * 1.2, wordWrap="CJK"
    )
    paragraph = Paragraph(escape(text), style)
    paragraph.wrap(width, 100_000)
    lines: list[str] = []
    for line in paragraph.blPara.lines:
        if isinstance(line, tuple):  # a single-style paragraph: (extra space, words)
            lines.append(" ".join(line[1]))
        else:
            lines.append("".join(frag.text for frag in line.words))
    return tuple(line.strip() for line in lines if line.strip())


_OPENING = "（(「『【"
_CLOSING = "）)」』】"


def _natural_lines(text: str, font: _Font, size: float, width: float) -> tuple[str, ...] | None:
    """Lines broken only at spaces and around brackets, or None if a piece is too wide.

    CJK line breaking may break anywhere (栃木県若年者支援機 / 構); an organisation's name reads
    better when broken between its parts (一般社団法人… / （ポラリスとちぎ）).
    """
    pieces: list[tuple[str, str]] = []  # (piece, what joins it to the previous one)
    piece, joiner = "", ""
    for char in text:
        if char in " \u3000":
            if piece:
                pieces.append((piece, joiner))
                piece = ""
            joiner = char
            continue
        if char in _OPENING and piece:
            pieces.append((piece, joiner))
            piece, joiner = "", ""
        piece += char
        if char in _CLOSING:
            pieces.append((piece, joiner))
            piece, joiner = "", ""
    if piece:
        pieces.append((piece, joiner))
    lines: list[str] = []
    current = ""
    for piece, joiner in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if _width(candidate, font, size) <= width:
            current = candidate
            continue
        if _width(piece, font, size) > width:
            return None
        lines.append(current)
        current = piece
    if current:
        lines.append(current)
    return tuple(lines)


def _lines(text: str, font: _Font, size: float, width: float) -> tuple[str, ...]:
    """``text`` broken into lines: between its parts if that takes no more lines than CJK
    line breaking (``wordWrap="CJK"``), else by CJK line breaking."""
    if _width(text, font, size) <= width:
        return (text,)
    cjk = _wrap(text, font.name, size, width)
    natural = _natural_lines(text, font, size, width)
    return natural if natural is not None and len(natural) <= len(cjk) else cjk


def _clamp_lines(
    lines: tuple[str, ...], font: _Font, size: float, width: float, max_lines: int
) -> tuple[str, ...]:
    """At most ``max_lines`` lines; a text cut short ends with … (a long course title on a
    certificate shortens, never pushes the other items over the page)."""
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and _width(last + "…", font, size) > width:
        last = last[:-1]
    return (*lines[: max_lines - 1], last.rstrip() + "…")


def _fit_lines(
    text: str,
    font: _Font,
    size: float,
    width: float,
    *,
    max_lines: int,
    minimum: float,
    field: str,
    where: str,
) -> tuple[float, tuple[str, ...]]:
    """Shrink (by 0.5 pt) and wrap until ``text`` takes at most ``max_lines`` lines.

    A size up to 15 % smaller that lets the text break between its parts wins over CJK line
    breaking at the full size.
    """
    current = size
    while current >= max(minimum, size * 0.85):
        natural = _natural_lines(text, font, current, width)
        if natural is not None and len(natural) <= max_lines:
            return current, natural
        current -= 0.5
    current = size
    while current >= minimum:
        lines = _lines(text, font, current, width)
        if len(lines) <= max_lines:
            return current, lines
        current -= 0.5
    raise _too_long(field, where)


def _paragraph(
    text: str,
    font: _Font,
    size: float,
    *,
    leading: float | None = None,
    align: int = 0,
    width: float | None = None,
) -> Paragraph:
    """A CJK-wrapped paragraph; with ``width``, broken between the text's parts if possible."""
    lines = _lines(text, font, size, width) if width is not None else (text,)
    style = ParagraphStyle(
        "p",
        fontName=font.name,
        fontSize=size,
        leading=leading if leading is not None else size * 1.45,
        wordWrap="CJK",
        alignment=align,
        textColor=_INK,
    )
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def _new_canvas(
    buffer: io.BytesIO, pagesize: tuple[float, float], title: str, font: _Font
) -> Canvas:
    canvas = Canvas(
        buffer, pagesize=pagesize, invariant=True, pageCompression=1, initialFontName=font.name
    )
    canvas.setTitle(title)
    canvas.setSubject(title)
    canvas.setCreator("supporters")
    canvas.setProducer("supporters (reportlab)")
    return canvas


def _finish(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    canvas.save()
    return buffer.getvalue()


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


# ---------------------------------------------------------------------------------------------
# Supporter cards

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


def _layout_card(card: CardData, font: _Font, *, with_qr: bool) -> _CardLayout:
    _require(
        [
            ("holder_name", card.holder_name),
            ("registration_number", card.registration_number),
            ("program_public_name", card.program_public_name),
            ("issuer_name", card.issuer_name),
        ]
    )
    _check_fields(
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
    name_size = _fit_size(card.holder_name, font, 15, width, minimum=8, field="holder_name")
    reading_size = _fit_size(
        card.holder_reading, font, 7, width, minimum=4.5, field="holder_reading"
    )
    number_size = _fit_size(
        card.registration_number, font, 7.5, geometry.right - geometry.value_x,
        minimum=5, field="registration_number",
    )  # fmt: skip
    note_size = 0.0
    if card.status_note:
        note_size = _fit_size(card.status_note, font, 16, 40 * mm, minimum=7, field="status_note")
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


def _measure_static(layouts: Iterable[_CardLayout], font: _Font) -> dict[_FormKey, _CardStatic]:
    """Fit the shared texts once per form, before anything is drawn."""
    statics: dict[_FormKey, _CardStatic] = {}
    for layout in layouts:
        if layout.form_key in statics:
            continue
        card, geometry = layout.card, _GEOMETRY[layout.design.layout]
        title_width = 86 * mm - geometry.left
        issuer_size, issuer_lines = _fit_lines(
            card.issuer_name, font, 7, geometry.right - geometry.value_x,
            max_lines=2, minimum=5, field="issuer_name", where="サポーター証",
        )  # fmt: skip
        statics[layout.form_key] = _CardStatic(
            program_size=_fit_size(
                card.program_public_name,
                font,
                7.5,
                title_width,
                minimum=4.5,
                field="program_public_name",
            ),
            title_size=_fit_size(card.title, font, 12.5, title_width, minimum=6, field="title"),
            issuer_size=issuer_size,
            issuer_lines=issuer_lines,
        )
    return statics


class _CardPainter:
    """Draws cards on a canvas; what every card of a program shares is one form XObject."""

    def __init__(self, canvas: Canvas, font: _Font, *, with_qr: bool, best_mask: bool) -> None:
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
            program_color, title_color = primary, _INK
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
        c.setFillColor(_INK)
        c.setFont(font.name, size)
        y = issuer_y
        for line in lines:
            c.drawString(geometry.value_x, y, line)
            y -= size * 1.25

        if layout.form_key[5]:  # with QR
            c.setFillColor(_MUTED)
            c.setFont(font.name, 5.5)
            c.drawCentredString(_QR_X + _QR_SIZE / 2, 10 * mm, "登録確認")

    def draw(self, layout: _CardLayout, x: float, y: float) -> None:
        c, font, card = self.canvas, self.font, layout.card
        geometry = _GEOMETRY[layout.design.layout]
        c.saveState()
        c.translate(x, y)
        c.doForm(self.forms[layout.form_key])
        c.setFillColor(_MUTED)
        c.setFont(font.name, layout.reading_size)
        c.drawString(geometry.left, 35.6 * mm, card.holder_reading)
        c.setFillColor(_INK)
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
        width = _width(note, self.font, size) + 6 * mm
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
    font = _font(font_path)
    layout = _layout_card(data, font, with_qr=True)
    statics = _measure_static([layout], font)
    buffer = io.BytesIO()
    canvas = _new_canvas(
        buffer, (_CARD_W, _CARD_H), f"{data.title} {data.registration_number}", font
    )
    canvas.setAuthor(data.issuer_name)
    painter = _CardPainter(canvas, font, with_qr=True, best_mask=True)
    painter.prepare([layout], statics)
    painter.draw(layout, 0, 0)
    canvas.showPage()
    return _finish(canvas, buffer)


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
    font = _font(font_path)
    layouts = [_layout_card(card, font, with_qr=with_qr) for card in cards]
    statics = _measure_static(layouts, font)

    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, A4, "サポーター証（名刺サイズ 10面）", font)
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
    return _finish(canvas, buffer)


def _ruler(canvas: Canvas, font: _Font, x: float, y: float, length_mm: int) -> None:
    """A horizontal ruler with millimetre ticks, numbered every 10 mm, from (x, y) rightwards."""
    canvas.setStrokeColor(_INK)
    canvas.setFillColor(_INK)
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
    font = _font(font_path)
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, A4, "サポーター証 印刷位置の確認", font)
    slots = list(grid.origins())
    canvas.setStrokeColor(HexColor("#777777"))
    canvas.setLineWidth(0.3)
    for number, (x, y) in enumerate(slots, start=1):
        canvas.rect(x, y, _CARD_W, _CARD_H, stroke=1, fill=0)
        if number > 3:  # the first three slots hold the instructions, rulers and settings
            cx, cy = x + _CARD_W / 2, y + _CARD_H / 2
            canvas.line(cx - 3 * mm, cy, cx + 3 * mm, cy)
            canvas.line(cx, cy - 3 * mm, cx, cy + 3 * mm)
        canvas.setFillColor(_MUTED)
        canvas.setFont(font.name, 7)
        canvas.drawString(x + 2.5 * mm, y + _CARD_H - 4.5 * mm, f"{number}")

    x, y = slots[0]
    canvas.setFillColor(_INK)
    canvas.setFont(font.name, 10)
    canvas.drawString(x + 7 * mm, y + _CARD_H - 10 * mm, "印刷位置の確認用ページ")
    text = (
        "拡大・縮小せずに（実際のサイズ・100%）印刷し、名刺用紙と重ねて枠線がミシン目に"
        "合っているか確認してください。定規の10mmの目盛りが実際に10mmになっているかも"
        "確かめてください。ずれている場合は余白の設定を調整してください。"
    )
    paragraph = _paragraph(text, font, 7.5, leading=11)  # one sentence after another
    _, height = paragraph.wrap(_CARD_W - 12 * mm, _CARD_H)
    paragraph.drawOn(canvas, x + 7 * mm, y + _CARD_H - 14 * mm - height)

    x, y = slots[1]
    canvas.setFillColor(_INK)
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
    return _finish(canvas, buffer)


# ---------------------------------------------------------------------------------------------
# Completion certificates


def _hours(hours: float) -> str:
    return f"{hours:g}" if hours != int(hours) else f"{int(hours)}"


# A course title takes at most this many lines on a completion certificate (then "…").
CERTIFICATE_TITLE_LINES = 3


def _seal(image: bytes) -> ImageReader:
    try:
        reader = ImageReader(io.BytesIO(image))
        width, height = reader.getSize()
    except Exception as error:  # PIL raises many kinds of errors for broken images
        raise PdfInputError(
            "seal_image", "印影の画像を読み込めません。PNG または JPEG の画像を登録してください。"
        ) from error
    if width <= 0 or height <= 0:
        raise PdfInputError("seal_image", "印影の画像が空です。")
    if max(width, height) > SEAL_MAX_SIDE:  # a seal stored before the limit: never decoded
        raise PdfInputError(
            "seal_image",
            f"印影の画像が大きすぎます（{width} × {height} ピクセル）。"
            f"{SEAL_MAX_SIDE} × {SEAL_MAX_SIDE} ピクセル以内の画像を登録し直してください。",
        )
    return reader


def render_completion_certificate(
    data: CompletionData, *, font_path: FontPath | None = None
) -> bytes:
    """An A4 portrait 修了証 with room for the organiser's seal (or the seal image)."""
    font = _font(font_path)
    _require(
        [
            ("completion_number", data.completion_number),
            ("holder_name", data.holder_name),
            ("course_title", data.course_title),
            ("organiser_name", data.organiser_name),
        ]
    )
    _check_fields(
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
    seal = _seal(data.seal_image) if data.seal_image else None
    page_w, page_h = A4
    name_text = f"{data.holder_name}　殿"
    name_size = _fit_size(name_text, font, 24, 140 * mm, minimum=12, field="holder_name")
    sessions = f"全{data.session_count}回"
    if data.total_hours is not None:
        sessions += f"（計{_hours(data.total_hours)}時間）"
    if data.first_date == data.last_date:
        period = format_date(data.first_date)
    else:
        period = f"{format_date(data.first_date)} から\n{format_date(data.last_date)} まで"
    items = [("研 修 名", data.course_title), ("受講回数", sessions), ("受講期間", period)]
    value_width = 112 * mm
    item_style = ParagraphStyle(
        "item", fontName=font.name, fontSize=12.5, leading=19, wordWrap="CJK", textColor=_INK
    )
    paragraphs = [
        (
            label,
            Paragraph(
                "<br/>".join(
                    escape(line)
                    for part in value.split("\n")
                    for line in _clamp_lines(
                        _lines(part, font, 12.5, value_width),
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
        raise _too_long("course_title", "修了証")
    organiser = _paragraph(data.organiser_name, font, 15, leading=21, align=2, width=100 * mm)
    _, organiser_h = organiser.wrap(100 * mm, page_h)
    if organiser_h > 45:
        raise _too_long("organiser_name", "修了証")

    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, A4, f"修了証 {data.completion_number}", font)
    canvas.setAuthor(data.organiser_name)
    navy = HexColor("#1F3A5F")
    canvas.setStrokeColor(navy)
    canvas.setLineWidth(2.2)
    canvas.rect(12 * mm, 12 * mm, page_w - 24 * mm, page_h - 24 * mm, stroke=1, fill=0)
    canvas.setLineWidth(0.6)
    canvas.rect(15 * mm, 15 * mm, page_w - 30 * mm, page_h - 30 * mm, stroke=1, fill=0)

    canvas.setFillColor(_INK)
    canvas.setFont(font.name, 11)
    canvas.drawRightString(page_w - 30 * mm, page_h - 32 * mm, f"第 {data.completion_number} 号")

    canvas.setFillColor(navy)
    canvas.setFont(font.name, 40)
    title = "修了証"
    spacing = 18.0
    title_w = _width(title, font, 40) + spacing * (len(title) - 1)
    canvas.drawString((page_w - title_w) / 2, page_h - 75 * mm, title, charSpace=spacing)

    canvas.setFillColor(_INK)
    canvas.setFont(font.name, name_size)
    canvas.drawCentredString(page_w / 2, page_h - 108 * mm, name_text)
    canvas.setStrokeColor(_MUTED)
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
        canvas.setFillColor(_MUTED)
        canvas.drawString(36 * mm, y - 12, label)
        paragraph.drawOn(canvas, 64 * mm, y - height)
        y -= height + 6 * mm

    canvas.setFillColor(_INK)
    canvas.setFont(font.name, 13)
    canvas.drawString(36 * mm, 78 * mm, japanese_era(data.issue_date))
    canvas.setFillColor(_MUTED)
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
    return _finish(canvas, buffer)


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
    font = _font(font_path)
    if not data.rows:
        raise EmptySelectionError(
            "この回の受講者がいません。受講者を登録してから印刷してください。"
        )
    _require([("course_title", data.course_title)])
    _check_fields(
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
        _check(name, "name", font)
        _check(reading, "reading", font)
        sizes.append(
            (
                _fit_size(name, font, 11, 47 * mm, minimum=6, field="name"),
                _fit_size(reading, font, 9, 41 * mm, minimum=5, field="reading"),
            )
        )

    page_w, page_h = A4
    content_w = page_w - 2 * _SIGN_MARGIN
    title_para = _paragraph(data.course_title, font, 12, leading=16, width=content_w)
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
    details_para = _paragraph(details, font, 10, leading=14, width=content_w)
    _, details_h = details_para.wrap(content_w, page_h)
    header_h = 9 * mm + title_h + 2 * mm + details_h + 5 * mm
    if header_h > 80 * mm:
        raise _too_long("course_title", "名簿の見出し")
    table_top = page_h - _SIGN_MARGIN - header_h
    per_page = int((table_top - _SIGN_MARGIN - 8 * mm - _SIGN_HEADER_ROW_H) // _SIGN_ROW_H)
    pages = max(1, math.ceil(len(rows) / per_page))

    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, A4, "受講者名簿（署名欄）", font)
    for page in range(pages):
        top = page_h - _SIGN_MARGIN
        canvas.setFillColor(_INK)
        canvas.setFont(font.name, 16)
        canvas.drawString(_SIGN_MARGIN, top - 6 * mm, "受講者名簿（署名欄）")
        title_para.drawOn(canvas, _SIGN_MARGIN, top - 9 * mm - title_h)
        details_para.drawOn(canvas, _SIGN_MARGIN, top - 11 * mm - title_h - details_h)

        y = table_top
        canvas.setFillColor(HexColor("#E8EEF4"))
        canvas.rect(_SIGN_MARGIN, y - _SIGN_HEADER_ROW_H, content_w, _SIGN_HEADER_ROW_H, 0, 1)
        canvas.setFillColor(_INK)
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
        canvas.setStrokeColor(_MUTED)
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

        canvas.setFillColor(_MUTED)
        canvas.setFont(font.name, 9)
        canvas.drawCentredString(page_w / 2, 9 * mm, f"{page + 1} / {pages} ページ")
        canvas.showPage()
    return _finish(canvas, buffer)


@dataclass(frozen=True)
class DispatchNoticeData:
    """派遣依頼書: a printed notice for a supporter who does not use a smartphone."""

    supporter_name: str
    event_title: str
    when: str  # e.g. 令和8年12月11日（金） 13:00〜16:00
    place: str  # municipality and public venue; never a private home
    activity: str
    bring: str
    notes: str
    issuer_name: str
    issued_on: date


def render_dispatch_notice(data: DispatchNoticeData, *, font_path: FontPath | None = None) -> bytes:
    font = _font(font_path)
    _require([("name", data.supporter_name), ("event_title", data.event_title)])
    _check_fields(
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
    canvas = _new_canvas(buffer, A4, "派遣依頼書", font)
    canvas.setFillColor(_INK)
    canvas.setFont(font.name, 10.5)
    canvas.drawRightString(page_w - margin, page_h - margin, japanese_era(data.issued_on))
    canvas.setFont(font.name, 22)
    canvas.drawCentredString(page_w / 2, page_h - margin - 18 * mm, "派遣依頼書")
    y = page_h - margin - 36 * mm
    canvas.setFont(font.name, 14)
    canvas.drawString(margin, y, f"{data.supporter_name} 様")
    y -= 12 * mm
    intro = _paragraph(
        "いつもご協力いただき、ありがとうございます。次のとおり、サポーターとしての"
        "ご参加をお願いいたします。",
        font,
        11,
        width=width,
    )
    _, h = intro.wrap(width, page_h)
    intro.drawOn(canvas, margin, y - h)
    y -= h + 8 * mm
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
        para = _paragraph(value, font, 11.5, width=width - label_w - 4 * mm)
        _, h = para.wrap(width - label_w - 4 * mm, page_h)
        row_h = max(h, 6 * mm) + 5 * mm
        canvas.setStrokeColor(_INK)
        canvas.setLineWidth(0.4)
        canvas.rect(margin, y - row_h, width, row_h)
        canvas.line(margin + label_w, y, margin + label_w, y - row_h)
        canvas.setFont(font.name, 11)
        canvas.drawString(margin + 3 * mm, y - 2.5 * mm - 11, label)
        para.drawOn(canvas, margin + label_w + 2 * mm, y - 2.5 * mm - h)
        y -= row_h
    y -= 10 * mm
    closing = _paragraph(
        "ご都合が悪くなった場合は、お早めに事業担当者までご連絡ください。"
        "相談に来られた方のお名前やお話の内容は、記録したり持ち帰ったりしないでください。",
        font,
        10.5,
        width=width,
    )
    _, h = closing.wrap(width, page_h)
    closing.drawOn(canvas, margin, y - h)
    canvas.setFont(font.name, 12)
    canvas.drawRightString(page_w - margin, margin + 10 * mm, data.issuer_name)
    return _finish(canvas, buffer)
