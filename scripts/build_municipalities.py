"""Build ``municipalities.csv`` from the JpGeocode package's data file.

This is a one-off, hand-run helper (standard library only). It is *not*
imported by the application and JpGeocode is *not* a project dependency;
the generated CSV is committed and is the project's own data file.
See ``NOTICE.md`` in this directory for provenance and licence.

How to rebuild::

    pip download --no-deps -d /tmp/jpgeo "JpGeocode==0.3.1"
    cd /tmp/jpgeo && python -m zipfile -e JpGeocode-0.3.1-py3-none-any.whl whl
    python scripts/build_municipalities.py \\
        /tmp/jpgeo/whl/JpGeocode/data/jp_geocode.json

By default the CSV is written next to this script; pass ``-o PATH`` to
write it elsewhere. The script prints a per-prefecture summary and exits
non-zero if any consistency check fails.

Source format
-------------
``jp_geocode.json`` is one JSON object mapping ``"<prefecture>,<name>"``
(e.g. ``"栃木県,那須町"``) to ``{"lat": float, "lng": float}``. The keys
are listed in prefecture order (JIS X 0401) and, within a prefecture, in
local government code order (JIS X 0402). There are no codes and no
readings (kana) in the source, so the CSV has no ``name_kana`` column.

Output
------
UTF-8 (no BOM), header row, sorted by ``code``. Columns:

``code``
    A *derived* code ``PP-NNN`` (e.g. ``09-024``): ``PP`` is the real
    JIS X 0401 prefecture code (01 北海道 ... 47 沖縄県); ``NNN`` is the
    1-based position of the municipality within its prefecture in the
    source file (which follows JIS X 0402 order). It is deterministic for
    this source version and sorts in official order, but it is **not** the
    JIS X 0402 local government code (the source does not carry that);
    the hyphen keeps it from being mistaken for one. Treat it as an opaque
    identifier that is stable for as long as the CSV is not rebuilt from
    a different source.
``prefecture``
    e.g. ``栃木県``.
``name``
    Municipality name, e.g. ``那須町``; Tokyo's special wards as
    ``千代田区`` etc.; designated cities as the whole city (``千葉市``).
``latitude``, ``longitude``
    Decimal degrees, 6 decimals (representative point as given by the
    source, typically near the municipal office).

Rules applied (target: the 1,741 municipalities of Japan = 792 市
incl. 20 designated cities, 743 町, 183 村, 23 Tokyo special wards):

* Designated-city administrative wards (any name ending in 区 outside
  東京都, e.g. 千葉市中央区) are dropped. None are present in 0.3.1.
* The five 北方領土 villages with unique names (色丹村, 留夜別村, 留別村,
  紗那村, 蘂取村) are dropped. 国後郡 泊村 shares its name with the real
  後志 泊村 (01403); as JSON keys are unique (checked) the single
  "北海道,泊村" entry is kept as the real one (its coordinates, 43.07 N
  140.50 E, are in 後志). None of the dropped kinds occur in 0.3.1.
* ``RENAMES`` updates names changed after the source was published
  (篠山市 -> 丹波篠山市, 2019-05-01). Coordinates are kept.
* Duplicate keys in the JSON, malformed keys, unknown prefectures or
  out-of-order prefectures are errors.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

# JIS X 0401 order: index + 1 is the prefecture code.
PREFECTURES = (
    "北海道",
    "青森県",
    "岩手県",
    "宮城県",
    "秋田県",
    "山形県",
    "福島県",
    "茨城県",
    "栃木県",
    "群馬県",
    "埼玉県",
    "千葉県",
    "東京都",
    "神奈川県",
    "新潟県",
    "富山県",
    "石川県",
    "福井県",
    "山梨県",
    "長野県",
    "岐阜県",
    "静岡県",
    "愛知県",
    "三重県",
    "滋賀県",
    "京都府",
    "大阪府",
    "兵庫県",
    "奈良県",
    "和歌山県",
    "鳥取県",
    "島根県",
    "岡山県",
    "広島県",
    "山口県",
    "徳島県",
    "香川県",
    "愛媛県",
    "高知県",
    "福岡県",
    "佐賀県",
    "長崎県",
    "熊本県",
    "大分県",
    "宮崎県",
    "鹿児島県",
    "沖縄県",
)

# Official number of municipalities per prefecture (市町村 + Tokyo's 23
# special wards), unchanged since 2014 (total 1,741).
EXPECTED_COUNTS = dict(
    zip(
        PREFECTURES,
        (
            179,
            40,
            33,
            35,
            25,
            35,
            59,
            44,
            25,
            35,
            63,
            54,
            62,
            33,
            30,
            15,
            19,
            17,
            27,
            77,
            42,
            35,
            54,
            29,
            19,
            26,
            43,
            41,
            39,
            30,
            19,
            19,
            27,
            23,
            19,
            24,
            17,
            20,
            34,
            60,
            20,
            21,
            45,
            18,
            26,
            43,
            41,
        ),
        strict=True,
    )
)
EXPECTED_BY_SUFFIX = {"市": 792, "町": 743, "村": 183, "区": 23}
EXPECTED_TOTAL = 1741

NORTHERN_TERRITORIES = {"色丹村", "留夜別村", "留別村", "紗那村", "蘂取村"}

# (prefecture, old name) -> new name
RENAMES = {
    ("兵庫県", "篠山市"): "丹波篠山市",  # renamed 2019-05-01
}

SPOT_CHECKS = (
    ("千葉県", "千葉市"),
    ("千葉県", "習志野市"),
    ("千葉県", "佐倉市"),
    ("栃木県", "宇都宮市"),
    ("栃木県", "佐野市"),
    ("栃木県", "那須町"),
    ("栃木県", "那須塩原市"),
    ("香川県", "高松市"),
    ("香川県", "丸亀市"),
    ("東京都", "千代田区"),
)

FIELDS = ("code", "prefecture", "name", "latitude", "longitude")

DATA_DIR = Path(__file__).resolve().parent.parent / "supporters" / "programs" / "data"


def _no_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key in source: {key!r}")
        seen[key] = value
    return seen


def load_rows(source: Path) -> list[dict]:
    with source.open(encoding="utf-8") as fh:
        data = json.load(fh, object_pairs_hook=_no_duplicates)

    rows, dropped = [], []
    last_pref_index = -1
    seq: Counter[str] = Counter()
    for key, coords in data.items():
        pref, sep, name = key.partition(",")
        pref, name = pref.strip(), name.strip()
        if not sep or not name or "," in name:
            raise ValueError(f"malformed key: {key!r}")
        if pref not in PREFECTURES:
            raise ValueError(f"unknown prefecture in key: {key!r}")
        pref_index = PREFECTURES.index(pref)
        if pref_index < last_pref_index:
            raise ValueError(f"prefectures out of JIS order at {key!r}")
        last_pref_index = pref_index

        if name.endswith("区") and pref != "東京都":
            dropped.append((key, "designated-city ward"))
            continue
        if pref == "北海道" and name in NORTHERN_TERRITORIES:
            dropped.append((key, "北方領土 village"))
            continue

        new_name = RENAMES.get((pref, name))
        if new_name:
            print(f"renamed: {pref} {name} -> {new_name}")
            name = new_name

        lat, lng = float(coords["lat"]), float(coords["lng"])
        if not (20.0 <= lat <= 46.0 and 122.0 <= lng <= 154.0):
            raise ValueError(f"coordinates outside Japan for {key!r}")

        seq[pref] += 1
        rows.append(
            {
                "code": f"{pref_index + 1:02d}-{seq[pref]:03d}",
                "prefecture": pref,
                "name": name,
                "latitude": f"{lat:.6f}",
                "longitude": f"{lng:.6f}",
            }
        )

    for key, reason in dropped:
        print(f"dropped: {key} ({reason})")
    rows.sort(key=lambda r: r["code"])
    return rows


def check(rows: list[dict]) -> list[str]:
    errors = []
    per_pref = Counter(r["prefecture"] for r in rows)
    print(f"rows: {len(rows)}  prefectures: {len(per_pref)}")
    for pref in PREFECTURES:
        got, want = per_pref.get(pref, 0), EXPECTED_COUNTS[pref]
        flag = "" if got == want else f"  <-- expected {want}"
        print(f"  {pref}\t{got}{flag}")
        if got != want:
            errors.append(f"{pref}: {got} rows, expected {want}")
    if len(rows) != EXPECTED_TOTAL:
        errors.append(f"{len(rows)} rows, expected {EXPECTED_TOTAL}")

    by_suffix = Counter(r["name"][-1] for r in rows)
    print("by type: " + ", ".join(f"{k} {v}" for k, v in by_suffix.items()))
    if dict(by_suffix) != EXPECTED_BY_SUFFIX:
        errors.append(f"by type {dict(by_suffix)}, expected {EXPECTED_BY_SUFFIX}")

    names = {(r["prefecture"], r["name"]) for r in rows}
    if len(names) != len(rows):
        errors.append("duplicate (prefecture, name) pairs")
    for pair in SPOT_CHECKS:
        if pair not in names:
            errors.append(f"missing {pair[0]} {pair[1]}")
    return errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="path to jp_geocode.json")
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        default=DATA_DIR / "municipalities.csv",
        help="output CSV (default: the package's supporters/programs/data/municipalities.csv)",
    )
    args = parser.parse_args(argv)

    rows = load_rows(args.source)
    errors = check(rows)
    if errors:
        for err in errors:
            print(f"ERROR: {err}", file=sys.stderr)
        return 1

    with args.output.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
