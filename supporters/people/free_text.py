"""Free text that could identify a client (a person in hikikomori or their family).

One detector for every free-text field that may describe a client: activity-report notes,
event notes and titles, dispatch-request descriptions. Phone numbers and e-mail addresses are
refused outright; postal codes, street addresses, ages, school names and a name followed by
さん/くん/ちゃん/様 are a warning the writer confirms. Text is normalised with NFKC first, so
full-width digits, ＠ and long dashes are caught too."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from supporters.db import ServiceError

PHONE = "phone"
EMAIL = "email"
POSTAL_CODE = "postal_code"
ADDRESS = "address"
AGE = "age"
SCHOOL = "school"
NAME = "name"

REFUSED = frozenset({PHONE, EMAIL})

KIND_LABELS = {
    PHONE: _l("a phone number"),
    EMAIL: _l("an e-mail address"),
    POSTAL_CODE: _l("a postal code"),
    ADDRESS: _l("an address"),
    AGE: _l("an age"),
    SCHOOL: _l("a school name"),
    NAME: _l("a name (さん/くん/ちゃん)"),
}

_DASHES = str.maketrans(dict.fromkeys("‐‑‒–—―−－﹣─━", "-"))
# The long-vowel mark is a dash only between digits (０９０ー１２３４), not in サポーター.
_LONG_VOWEL_BETWEEN_DIGITS = re.compile(r"(?<=\d)\s*[ーｰ]\s*(?=\d)")
_KANJI_DIGITS = "〇一二三四五六七八九十百"

_EMAIL = re.compile(r"[\w.+-]+\s*@\s*[\w-]+(?:\s*\.\s*[\w-]+)+", re.ASCII)
# A run of digits with separators that might be a phone number; checked by digit count.
_PHONE_CANDIDATE = re.compile(r"(?<![\d.])(?:\+\s?81|0)[\d\s().-]{7,16}\d(?![\d])")
_POSTAL = re.compile(r"〒\s*\d{3}-?\d{4}|(?<![\d-])\d{3}-\d{4}(?![\d-])")
_ADDRESS = re.compile(
    r"[\u4e00-\u9fff\u30a0-\u30ff\u3040-\u309f]{1,12}(?:都|道|府|県|市|区|町|村|郡)"
    r"[\u4e00-\u9fff\u30a0-\u30ff\u3040-\u309f]{0,10}\s*\d+\s*(?:丁目|番地|番|号|-\s*\d+)"
    r"|\d+\s*丁目|\d+\s*番地|(?<![\d-])\d{1,3}-\d{1,4}-\d{1,4}(?![\d-])"
)
_AGE = re.compile(
    rf"(?:\d{{1,3}}|[{_KANJI_DIGITS}]{{1,4}})\s*(?:歳|才)|(?:aged?|age)\s*\d{{1,3}}"
    r"|\d{1,3}\s*(?:years?|yrs?)[\s-]*old",
    re.IGNORECASE,
)
_SCHOOL = re.compile(
    r"([\u4e00-\u9fff\u30a0-\u30ff]{1,12})"
    r"(?:小学校|中学校|高等学校|高校(?!生)|中学(?!生)|小学(?!生)|大学(?!生)|高専|"
    r"特別支援学校|支援学校|学園|学院)"
)
# Words before 高校 etc. that name no particular school.
_GENERIC_SCHOOL = {
    "県立", "市立", "町立", "村立", "都立", "府立", "道立", "私立", "公立", "国立",
    "通信制", "定時制", "全日制", "近くの", "地元", "同じ", "別の", "小", "中", "高",
}  # fmt: skip
_HONORIFIC = re.compile(r"([\u4e00-\u9fff\u30a0-\u30ff]{1,8})\s*(?:さん|くん|君|ちゃん|様|さま|氏)")
# Words before さん/くん etc. that are roles or relations, not names.
_NOT_NAMES = {
    "母", "父", "お母", "お父", "息子", "娘", "家族", "ご家族", "皆", "奥", "旦那", "兄",
    "姉", "弟", "妹", "祖母", "祖父", "子", "お子", "本人", "ご本人", "相談者", "当事者",
    "利用者", "支援者", "職員", "担当", "担当者", "先生", "保健師", "サポーター", "親御",
    "ご両親", "両親", "お兄", "お姉", "相手", "参加者", "来所者", "市民", "町民", "村民",
    "区民", "県民", "皆様", "方", "一人", "二人", "先輩", "後輩", "友達", "友人", "近所",
    "大家", "店員", "医師", "看護師", "社協", "事務局", "スタッフ", "ボランティア",
    "コーディネーター", "カウンセラー", "ワーカー", "ケースワーカー", "管理人",
}  # fmt: skip


@dataclass(frozen=True)
class Finding:
    kind: str
    text: str

    @property
    def refused(self) -> bool:
        return self.kind in REFUSED


def normalise_free_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").translate(_DASHES)
    return _LONG_VOWEL_BETWEEN_DIGITS.sub("-", text)


def _phone_like(candidate: str) -> bool:
    digits = re.sub(r"\D", "", candidate)
    if candidate.lstrip().startswith("+"):
        return 10 <= len(digits) <= 13
    return 10 <= len(digits) <= 11


def find_identifying(text: str) -> list[Finding]:
    """What in `text` could identify a client, in the order found; empty if nothing."""
    rest = normalise_free_text(text)
    findings: list[Finding] = []

    def take(kind: str, pattern: re.Pattern[str], keep: object = None) -> None:
        nonlocal rest
        for match in list(pattern.finditer(rest)):
            if keep is not None and not keep(match):  # type: ignore[operator]
                continue
            findings.append(Finding(kind, match.group(0).strip()))
            # Blank it out so that a later pattern does not report the same text again.
            rest = rest.replace(match.group(0), " " * len(match.group(0)), 1)

    take(EMAIL, _EMAIL)
    take(PHONE, _PHONE_CANDIDATE, lambda m: _phone_like(m.group(0)))
    take(POSTAL_CODE, _POSTAL)
    take(ADDRESS, _ADDRESS)
    take(AGE, _AGE)
    take(SCHOOL, _SCHOOL, lambda m: m.group(1) not in _GENERIC_SCHOOL)
    take(NAME, _HONORIFIC, lambda m: _is_name(m.group(1)))
    return findings


def _is_name(word: str) -> bool:
    if word in _NOT_NAMES:
        return False
    # 「お母さん」「ご本人様」: an honorific prefix on a role word.
    return word.lstrip("おご御") not in _NOT_NAMES


class IdentifyingText(ServiceError):
    """Free text that could identify a client. `refused`: it cannot be saved at all;
    otherwise it can, once the writer confirms it identifies no one."""

    def __init__(self, field: str, message: str, *, refused: bool) -> None:
        code = "identifying_text_refused" if refused else "identifying_text_unconfirmed"
        super().__init__(field, message, code=code)
        self.refused = refused


def asks_confirmation(error: Exception) -> bool:
    """For views: show the "identifies no one" box after this error."""
    return isinstance(error, IdentifyingText) and not error.refused


def _listed(findings: list[Finding]) -> str:
    seen: list[str] = []
    for finding in findings:
        item = f"{KIND_LABELS[finding.kind]}「{finding.text}」"
        if item not in seen:
            seen.append(item)
    return "、".join(seen)


def check_free_text(text: str, *, field: str, confirmed: bool = False) -> None:
    """Raise IdentifyingText when `text` could identify a client: always for phone numbers
    and e-mail addresses, otherwise unless the writer has confirmed."""
    findings = find_identifying(text)
    refused = [f for f in findings if f.refused]
    if refused:
        raise IdentifyingText(
            field,
            str(
                _l(
                    "Please remove %(found)s. Phone numbers and e-mail addresses cannot be "
                    "saved here: this text must never let anyone identify or contact the "
                    "person or family you support.",
                    found=_listed(refused),
                )
            ),
            refused=True,
        )
    if findings and not confirmed:
        raise IdentifyingText(
            field,
            str(
                _l(
                    "This may identify the person or family you support: %(found)s. Please "
                    "rewrite it without names, ages, schools or addresses. If it identifies "
                    "no one, tick the box below and save again.",
                    found=_listed(findings),
                )
            ),
            refused=False,
        )
