"""Fitting text to the page: widths, the largest size that fits, CJK and natural line
breaking, paragraphs, and the フリガナ sort order of printed lists."""

from __future__ import annotations

import math
import unicodedata
from functools import lru_cache
from xml.sax.saxutils import escape

from reportlab.lib.styles import ParagraphStyle
from reportlab.pdfbase import pdfmetrics
from reportlab.platypus import Paragraph

from supporters.pdf.canvas import INK
from supporters.pdf.errors import too_long
from supporters.pdf.fonts import PdfFont

__all__ = [
    "cjk_lines",
    "clamp_lines",
    "fit_lines",
    "fit_size",
    "format_hours",
    "reading_sort_key",
    "text_lines",
    "text_paragraph",
    "text_width",
]


def text_width(text: str, font: PdfFont, size: float) -> float:
    return float(pdfmetrics.stringWidth(text, font.name, size))


def fit_size(
    text: str, font: PdfFont, size: float, width: float, *, minimum: float, field: str
) -> float:
    """The largest size up to ``size`` at which ``text`` fits on one line of ``width``."""
    natural = text_width(text, font, size)
    if natural <= width:
        return size
    fitted = math.floor(size * width / natural * 10) / 10
    if fitted < minimum:
        raise too_long(field, "1行")
    return fitted


@lru_cache(maxsize=1024)
def cjk_lines(text: str, font_name: str, size: float, width: float) -> tuple[str, ...]:
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


def _natural_lines(text: str, font: PdfFont, size: float, width: float) -> tuple[str, ...] | None:
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
        if text_width(candidate, font, size) <= width:
            current = candidate
            continue
        if text_width(piece, font, size) > width:
            return None
        lines.append(current)
        current = piece
    if current:
        lines.append(current)
    return tuple(lines)


def text_lines(text: str, font: PdfFont, size: float, width: float) -> tuple[str, ...]:
    """``text`` broken into lines: between its parts if that takes no more lines than CJK
    line breaking (``wordWrap="CJK"``), else by CJK line breaking."""
    if text_width(text, font, size) <= width:
        return (text,)
    cjk = cjk_lines(text, font.name, size, width)
    natural = _natural_lines(text, font, size, width)
    return natural if natural is not None and len(natural) <= len(cjk) else cjk


def clamp_lines(
    lines: tuple[str, ...], font: PdfFont, size: float, width: float, max_lines: int
) -> tuple[str, ...]:
    """At most ``max_lines`` lines; a text cut short ends with … (a long course title on a
    certificate shortens, never pushes the other items over the page)."""
    if len(lines) <= max_lines:
        return lines
    last = lines[max_lines - 1]
    while last and text_width(last + "…", font, size) > width:
        last = last[:-1]
    return (*lines[: max_lines - 1], last.rstrip() + "…")


def fit_lines(
    text: str,
    font: PdfFont,
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
        lines = text_lines(text, font, current, width)
        if len(lines) <= max_lines:
            return current, lines
        current -= 0.5
    raise too_long(field, where)


def text_paragraph(
    text: str,
    font: PdfFont,
    size: float,
    *,
    leading: float | None = None,
    align: int = 0,
    width: float | None = None,
) -> Paragraph:
    """A CJK-wrapped paragraph; with ``width``, broken between the text's parts if possible."""
    lines = text_lines(text, font, size, width) if width is not None else (text,)
    style = ParagraphStyle(
        "p",
        fontName=font.name,
        fontSize=size,
        leading=leading if leading is not None else size * 1.45,
        wordWrap="CJK",
        alignment=align,
        textColor=INK,
    )
    return Paragraph("<br/>".join(escape(line) for line in lines), style)


def format_hours(hours: float) -> str:
    """Hours as printed: 3.5, 2 (not 2.0)."""
    return f"{hours:g}" if hours != int(hours) else f"{int(hours)}"


_SMALL_KANA = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")


def reading_sort_key(reading: str) -> tuple[str, str]:
    """Sort key for フリガナ: hiragana and half-width katakana count as katakana, and voiced or
    small kana sort next to their plain form (カトウ, ガトウ, キムラ), as in a Japanese index."""
    text = unicodedata.normalize("NFKC", reading).strip()
    text = "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in text)
    plain = unicodedata.normalize("NFD", text)
    plain = "".join(c for c in plain if c not in "\u3099\u309a").translate(_SMALL_KANA)
    return plain.replace(" ", "").replace("\u3000", ""), text
