"""The embedded font and the checks of text against it, before anything is drawn."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

from supporters.pdf.errors import (
    FIELD_LABELS,
    FontNotFoundError,
    PdfInputError,
    UnprintableTextError,
)

__all__ = [
    "FontPath",
    "PdfFont",
    "check_fields",
    "check_printable",
    "check_text",
    "default_font_path",
    "load_font",
    "require_fields",
]

FontPath = str | os.PathLike[str]


@dataclass(frozen=True, slots=True)
class PdfFont:
    """A registered TrueType font: its reportlab name, file and the code points it can draw."""

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


def load_font(font_path: FontPath | None = None) -> PdfFont:
    """The PDF font (embedded as a subset); None: the default font."""
    path = os.path.abspath(os.fspath(font_path) if font_path is not None else default_font_path())
    return _load_font(path)


@lru_cache(maxsize=8)
def _load_font(path: str) -> PdfFont:
    if not os.path.isfile(path):
        raise FontNotFoundError(
            f"フォントファイル {path} が見つかりません。SUPPORTERS_PDF_FONT を確認してください。"
        )
    digest = hashlib.sha1(path.encode(), usedforsecurity=False).hexdigest()[:10]
    name = f"SupportersFont-{digest}"
    ttf = TTFont(name, path)  # reportlab embeds TTFonts as subsets
    pdfmetrics.registerFont(ttf)
    cmap = frozenset(code for code, glyph in ttf.face.charToGlyph.items() if glyph)
    return PdfFont(name=name, path=path, cmap=cmap)


def check_text(text: str, field: str, font: PdfFont) -> None:
    """Raise UnprintableTextError before drawing anything the font cannot draw."""
    cmap = font.cmap
    for char in text:
        if ord(char) not in cmap:
            raise UnprintableTextError(field, char)


def check_printable(text: str, field: str, font_path: FontPath | None = None) -> None:
    """Raise :class:`UnprintableTextError` if the PDF font cannot draw a character of ``text``.

    ``field`` is the input's name (``"holder_name"``, ``"name"``, ``"course_title"``...); it picks
    the label in the Japanese message, and a name field asks for the 印字用氏名.
    """
    check_text(text, field, load_font(font_path))


def check_fields(font: PdfFont, fields: Iterable[tuple[str, str | None]]) -> None:
    """Check every given text (an empty or missing one needs no glyph)."""
    for field, value in fields:
        if value:
            check_text(value, field, font)


def require_fields(fields: Iterable[tuple[str, str]]) -> None:
    """Refuse an empty required text, naming it."""
    for field, value in fields:
        if not value.strip():
            label = FIELD_LABELS.get(field, field)
            raise PdfInputError(field, f"{label}が入力されていません。")
