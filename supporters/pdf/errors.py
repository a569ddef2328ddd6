"""What a PDF refuses to print, with messages in Japanese for the person who asked."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "FIELD_LABELS",
    "EmptySelectionError",
    "FontNotFoundError",
    "PdfInputError",
    "UnprintableTextError",
    "too_long",
]


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


def too_long(field: str, where: str) -> PdfInputError:
    """A text that does not fit ``where`` (1行, 修了証...) even at its smallest size."""
    label = FIELD_LABELS.get(field, field)
    return PdfInputError(field, f"{label}が長すぎて{where}に収まりません。短くしてください。")
