from __future__ import annotations

from typing import Any

import pytest

from supporters.db import ServiceError
from supporters.programs.services import find_municipality, municipality_rows


def test_data_file_has_every_municipality() -> None:
    rows = list(municipality_rows())
    assert len(rows) == 1741
    names = {(r["prefecture"], r["name"]) for r in rows}
    for place in [
        ("千葉県", "習志野市"),
        ("千葉県", "佐倉市"),
        ("栃木県", "那須町"),
        ("栃木県", "那須塩原市"),
        ("栃木県", "佐野市"),
        ("香川県", "高松市"),
    ]:
        assert place in names
    assert all(20 < float(r["latitude"]) < 46 and 122 < float(r["longitude"]) < 154 for r in rows)


@pytest.mark.parametrize("text", ["佐野市", " 佐野市　", "栃木県佐野市", "栃木県 佐野市"])
def test_find_municipality_normalises(db_session: Any, text: str) -> None:
    assert find_municipality(db_session, text, prefecture="栃木県").name == "佐野市"
    assert find_municipality(db_session, text).prefecture == "栃木県"


def test_find_municipality_refuses_clearly(db_session: Any) -> None:
    with pytest.raises(ServiceError, match="栃木県に高松市という市町村はありません") as info:
        find_municipality(db_session, "高松市", prefecture="栃木県")
    assert info.value.code == "municipality_unknown"
    with pytest.raises(ServiceError, match="市町村を入力してください"):
        find_municipality(db_session, "")
    # 府中市 exists in Tokyo and Hiroshima: the prefecture is needed.
    with pytest.raises(ServiceError, match="府中市という市町村は複数あります") as info:
        find_municipality(db_session, "府中市")
    assert info.value.code == "municipality_ambiguous"
    assert find_municipality(db_session, "東京都府中市").prefecture == "東京都"
