from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from supporters.db import ServiceError
from supporters.people.services import (
    normalise_name,
    normalise_phone,
    normalise_reading,
    parse_attribute,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("やまだ　はなこ", "ヤマダ ハナコ"),
        ("ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダ ハナコ"),
        ("  ヤマダ   ハナコ ", "ヤマダ ハナコ"),
        ("すずき いちろう", "スズキ イチロウ"),
        ("ヴァージニア・ウルフ", "ヴァージニア・ウルフ"),
        ("さとう ゆうこ", "サトウ ユウコ"),
    ],
)
def test_reading_becomes_full_width_katakana(raw: str, expected: str) -> None:
    assert normalise_reading(raw) == expected


@pytest.mark.usefixtures("japanese")
@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("山田 花子", "フリガナはカタカナ（またはひらがな）で入力してください"),
        ("Yamada Hanako", "フリガナはカタカナ（またはひらがな）で入力してください"),
        ("ヤマダ1", "フリガナはカタカナ（またはひらがな）で入力してください"),
        ("", "フリガナをカタカナで入力してください"),
    ],
)
def test_reading_that_is_not_kana_is_refused(raw: str, message: str) -> None:
    with pytest.raises(ServiceError, match=message) as info:
        normalise_reading(raw)
    assert info.value.field == "name_reading"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("０３－１２３４－５６７８", "03-1234-5678"),
        ("090ー1234ー5678", "090-1234-5678"),
        ("09012345678", "09012345678"),
        (" (087) 812-3456 ", "087812-3456"),
        ("", None),
    ],
)
def test_phone_is_normalised(raw: str, expected: str | None) -> None:
    assert normalise_phone(raw) == expected


@pytest.mark.usefixtures("japanese")
@pytest.mark.parametrize("raw", ["12345", "03-1234-56789-0", "電話なし", "1234567890"])
def test_bad_phone_is_refused(raw: str) -> None:
    with pytest.raises(ServiceError, match="電話番号は10桁または11桁で入力してください") as info:
        normalise_phone(raw)
    assert (info.value.field, info.value.code) == ("phone", "invalid_phone")


def test_name_keeps_kanji_and_collapses_spaces() -> None:
    assert normalise_name("　山田　　花子 ") == "山田 花子"
    assert normalise_name("髙橋 﨑") == "髙橋 﨑"  # variant kanji are kept as typed
    assert normalise_name("ｽｽﾞｷ") == "スズキ"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("家族", "family"),
        (" 当事者 ", "lived_experience"),
        ("福祉専門職", "welfare_professional"),
        ("Family member", "family"),
        ("", None),
    ],
)
def test_attribute_labels(raw: str, expected: str | None) -> None:
    parsed = parse_attribute(raw)
    assert (parsed.value if parsed else None) == expected


@pytest.mark.usefixtures("japanese")
def test_unknown_attribute_names_the_choices() -> None:
    with pytest.raises(
        ServiceError,
        match="ボランティアという属性はありません。次のいずれかを入力してください：福祉専門職、",
    ):
        parse_attribute("ボランティア")


HIRAGANA = (
    "ぁあぃいぅうぇえぉおかがきぎくぐけげこごさざしじすずせぜそぞただちぢっつづてでとどなにぬねの"
    "はばぱひびぴふぶぷへべぺほぼぽまみむめもゃやゅゆょよらりるれろゎわゐゑをんー 　"
)


@given(st.text(alphabet=HIRAGANA, min_size=1).filter(lambda s: s.strip()))
def test_any_hiragana_reading_becomes_katakana(raw: str) -> None:
    reading = normalise_reading(raw)
    assert all("\u30a0" <= ch <= "\u30ff" or ch == " " for ch in reading)
    assert "  " not in reading and reading == reading.strip()
