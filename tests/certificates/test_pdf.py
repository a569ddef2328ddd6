"""The PDF layer, read back with the tools a person's computer has (poppler, qpdf, zbar)."""

from __future__ import annotations

import io
import os
import random
import re
import shutil
import string
import subprocess
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from reportlab.graphics.barcode import qrencoder

from supporters.certificates.pdf import (
    CardData,
    render_calibration_page,
    render_card,
    render_card_sheet,
)
from supporters.certificates.qr import qr_pdf_operators, qr_rectangles, qr_symbol
from supporters.core.eras import format_date
from supporters.pdf.errors import (
    EmptySelectionError,
    FontNotFoundError,
    PdfInputError,
    UnprintableTextError,
)
from supporters.pdf.fonts import check_printable, default_font_path
from supporters.pdf.text import reading_sort_key
from supporters.training.pdf import (
    CompletionData,
    SignInSheetData,
    render_completion_certificate,
    render_sign_in_sheet,
)

VERIFY_URL = "https://supporters.example.jp/verify/k3J9xQ2mP7vT4wZ8"


def tool(name: str) -> str:
    """The path of a command-line tool; skipped if missing, except under CI=true."""
    path = shutil.which(name)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{name} is not installed (CI=true)")
        pytest.skip(f"{name} is not installed")
    return path


def run(*args: str | Path) -> str:
    result = subprocess.run(
        [tool(str(args[0])), *map(str, args[1:])], capture_output=True, text=True, check=True
    )
    return result.stdout


def write(tmp_path: Path, name: str, content: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def pdf_text(path: Path) -> str:
    return run("pdftotext", "-layout", "-enc", "UTF-8", path, "-")


def page_count(path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)$", run("pdfinfo", path), re.MULTILINE)
    assert match is not None
    return int(match.group(1))


def decode_qr(path: Path, resolution: int) -> list[str]:
    """Render the first page with pdftoppm and read every QR code on it with zbarimg."""
    prefix = path.with_suffix("")
    run(
        "pdftoppm", "-r", str(resolution), "-png", "-f", "1", "-l", "1", "-singlefile", path, prefix
    )
    result = subprocess.run(
        [tool("zbarimg"), "--raw", "-q", f"{prefix}.png"], capture_output=True, text=True
    )
    return result.stdout.splitlines()


def card(**changes: object) -> CardData:
    base = CardData(
        program_public_name="千葉県ひきこもりサポーター",
        holder_name="千葉 太郎",
        holder_reading="チバ タロウ",
        registration_number="CHB-2023-0001",
        registration_date=date(2023, 11, 30),
        valid_until=date(2026, 11, 29),
        issuer_name="千葉県ひきこもり地域支援センター",
        verify_url=VERIFY_URL,
    )
    return replace(base, **changes)


def completion(**changes: object) -> CompletionData:
    base = CompletionData(
        completion_number="K2023-0012",
        holder_name="香川 次郎",
        course_title="令和5年度 香川県ひきこもりサポーター養成研修（基礎編・家族支援編）",
        session_count=6,
        total_hours=12.5,
        first_date=date(2023, 9, 1),
        last_date=date(2023, 11, 30),
        organiser_name="香川県 ひきこもりサポーター養成事業 受託者 hito.toco",
        issue_date=date(2023, 12, 1),
        seal_image=None,
    )
    return replace(base, **changes)


# --- dates and sorting ------------------------------------------------------------------------


def test_format_date_shows_era_and_weekday() -> None:
    assert format_date(date(2023, 11, 30)) == "令和5年11月30日（木）"


def test_reading_sort_key_orders_kana_like_a_japanese_index() -> None:
    readings = [
        "ｻﾄｳ ｲﾁﾛｳ",
        "ごとう まこと",
        "カトウ ハナ",
        "アベ サクラ",
        "ガトウ ケン",
        "キムラ ユイ",
    ]
    ordered = sorted(readings, key=reading_sort_key)
    assert ordered == [
        "アベ サクラ",
        "ガトウ ケン",
        "カトウ ハナ",
        "キムラ ユイ",
        "ごとう まこと",
        "ｻﾄｳ ｲﾁﾛｳ",
    ]


# --- supporter card ---------------------------------------------------------------------------


def test_card_text_font_and_structure(tmp_path: Path) -> None:
    path = write(tmp_path, "card.pdf", render_card(card()))
    text = pdf_text(path)
    for expected in (
        "千葉 太郎",
        "チバ タロウ",
        "CHB-2023-0001",
        "サポーター証",
        "令和5年11月30日",
    ):
        assert expected in text
    assert "令和8年11月29日（日）" in text

    fonts = run("pdffonts", path).splitlines()[2:]
    assert fonts, "no font in the PDF"
    for line in fonts:
        assert "IPAexGothic" in line
        assert re.search(r"\byes\s+yes\b", line), line  # embedded, subset
    assert "Helvetica" not in run("pdffonts", path)

    run("qpdf", "--check", path)
    assert re.search(r"Page size:\s+257\.9\d* x 155\.9\d* pts", run("pdfinfo", path))


def test_card_qr_code_decodes_to_the_verify_url(tmp_path: Path) -> None:
    path = write(tmp_path, "card.pdf", render_card(card()))
    assert decode_qr(path, 600) == [VERIFY_URL]


def test_card_is_small() -> None:
    assert len(render_card(card())) < 50_000


def test_card_without_validity_and_with_status_note(tmp_path: Path) -> None:
    data = card(valid_until=None, status_note="失効", design="tochigi")
    path = write(tmp_path, "card.pdf", render_card(data))
    text = pdf_text(path)
    assert "失効" in text
    assert "有効期限" not in text
    run("qpdf", "--check", path)


def test_long_issuer_name_breaks_between_its_parts(tmp_path: Path) -> None:
    data = card(design="tochigi", issuer_name="一般社団法人栃木県若年者支援機構（ポラリスとちぎ）")
    text = pdf_text(write(tmp_path, "card.pdf", render_card(data)))
    assert "一般社団法人栃木県若年者支援機構" in text
    assert "（ポラリスとちぎ）" in text


def test_unknown_design_is_refused() -> None:
    with pytest.raises(PdfInputError, match="デザイン「nonexistent」はありません") as error:
        render_card(card(design="nonexistent"))
    assert error.value.field == "design"


# --- printable text ---------------------------------------------------------------------------


def test_name_the_font_cannot_draw_is_refused_with_a_clear_message() -> None:
    with pytest.raises(UnprintableTextError, match="氏名の「𠮷」は印刷できません") as error:
        render_card(card(holder_name="𠮷田 花子"))
    assert error.value.field == "holder_name"
    assert error.value.char == "𠮷"
    assert "印字用氏名" in error.value.message
    assert "「𠮷」" in error.value.message
    assert "吉" in error.value.message  # the printable form as an example


def test_check_printable_for_form_validation() -> None:
    check_printable("髙橋 﨑子", "holder_name")  # IBM extension kanji are in IPAexGothic
    with pytest.raises(UnprintableTextError, match="研修名の「😀」は印刷できません") as error:
        check_printable("研修😀", "course_title")
    assert error.value.message.startswith("研修名の「😀」は印刷できません")
    with pytest.raises(UnprintableTextError, match=r"氏名の「U\+200B」は印刷できません") as error:
        check_printable("山田\u200b太郎", "name")
    assert "U+200B" in error.value.message


def test_unprintable_card_on_a_sheet_is_found_before_anything_is_drawn() -> None:
    cards = [card(registration_number=f"CHB-{index:04d}") for index in range(30)]
    cards.append(card(holder_name="𠮷野 一"))
    with pytest.raises(UnprintableTextError, match="氏名の「𠮷」は印刷できません"):
        render_card_sheet(cards)


def test_explicit_font_path_and_missing_font() -> None:
    assert render_card(card(), font_path=default_font_path()).startswith(b"%PDF")
    with pytest.raises(
        FontNotFoundError, match=r"フォントファイル /nonexistent/font\.ttf が見つかりません"
    ):
        render_card(card(), font_path="/nonexistent/font.ttf")


# --- card sheets ------------------------------------------------------------------------------


def test_ten_cards_make_one_page_eleven_make_two(tmp_path: Path) -> None:
    cards = [card(registration_number=f"CHB-2023-{index:04d}") for index in range(11)]
    assert page_count(write(tmp_path, "ten.pdf", render_card_sheet(cards[:10]))) == 1
    assert page_count(write(tmp_path, "eleven.pdf", render_card_sheet(cards))) == 2


def test_every_qr_code_on_a_sheet_decodes(tmp_path: Path) -> None:
    urls = [
        f"https://supporters.example.jp/verify/{index:02d}Xq8LmN0pRt5sWx2" for index in range(10)
    ]
    cards = [card(verify_url=url, registration_number=f"N-{i}") for i, url in enumerate(urls)]
    path = write(tmp_path, "sheet.pdf", render_card_sheet(cards, cut_marks=True))
    run("qpdf", "--check", path)
    assert sorted(decode_qr(path, 300)) == sorted(urls)


def test_sheet_of_a_thousand_cards_stays_under_a_megabyte() -> None:
    cards = [
        card(
            holder_name=f"千葉 太郎{index % 10}",
            registration_number=f"CHB-2023-{index:04d}",
            verify_url=f"https://supporters.example.jp/verify/{index:06d}k3J9xQ2mP7vT",
        )
        for index in range(1000)
    ]
    pages: list[tuple[int, int]] = []
    content = render_card_sheet(cards, progress=lambda done, total: pages.append((done, total)))
    assert len(content) < 1_000_000
    assert len(pages) == 100
    assert pages[-1] == (1000, 1000)


def test_empty_selection_is_refused() -> None:
    with pytest.raises(EmptySelectionError, match="印刷するサポーター証がありません") as error:
        render_card_sheet([])
    assert "ありません" in error.value.message


def test_margins_that_push_cards_off_the_page_are_refused() -> None:
    with pytest.raises(PdfInputError, match="カードがA4用紙の幅に収まりません") as error:
        render_card_sheet([card()], margin_left_mm=30)
    assert error.value.field == "margin_left_mm"
    with pytest.raises(PdfInputError, match="カードがA4用紙の高さに収まりません"):
        render_card_sheet([card()], gap_mm=6)  # 5 rows of 55 mm and 4 gaps of 6 mm: 299 mm


def test_calibration_page(tmp_path: Path) -> None:
    path = write(tmp_path, "calibration.pdf", render_calibration_page(gap_mm=1))
    assert page_count(path) == 1
    text = pdf_text(path)
    assert "印刷位置の確認用ページ" in text
    assert "左余白 13.5 mm" in text  # centred: (210 - 2 * 91 - 1) / 2
    run("qpdf", "--check", path)


# --- completion certificate -------------------------------------------------------------------


def test_completion_certificate(tmp_path: Path) -> None:
    path = write(tmp_path, "certificate.pdf", render_completion_certificate(completion()))
    text = pdf_text(path)
    flat = re.sub(r"\s+", "", text)
    assert "K2023-0012" in text
    assert "香川県ひきこもりサポーター養成研修" in flat
    assert "修了証" in flat
    assert "全6回（計12.5時間）" in flat
    assert "令和5年12月1日" in text
    assert re.search(r"Page size:\s+595\.2\d* x 841\.8\d* pts", run("pdfinfo", path))
    run("qpdf", "--check", path)


def test_completion_certificate_with_a_seal_image(tmp_path: Path) -> None:
    seal = Image.new("RGBA", (120, 120), (0, 0, 0, 0))
    for x in range(10, 110):
        for y in (10, 11, 108, 109):
            seal.putpixel((x, y), (200, 30, 30, 255))
            seal.putpixel((y, x), (200, 30, 30, 255))
    buffer = io.BytesIO()
    seal.save(buffer, format="PNG")
    content = render_completion_certificate(completion(seal_image=buffer.getvalue()))
    run("qpdf", "--check", write(tmp_path, "certificate.pdf", content))


def test_broken_seal_image_is_refused() -> None:
    with pytest.raises(PdfInputError, match="印影の画像を読み込めません") as error:
        render_completion_certificate(completion(seal_image=b"not an image"))
    assert error.value.field == "seal_image"


def test_unprintable_course_title_is_refused() -> None:
    with pytest.raises(UnprintableTextError, match="研修名の「🌸」は印刷できません") as error:
        render_completion_certificate(completion(course_title="養成研修🌸"))
    assert error.value.field == "course_title"


# --- sign-in sheet ----------------------------------------------------------------------------


def test_sign_in_sheet_is_sorted_by_reading_with_header_and_page_numbers(tmp_path: Path) -> None:
    rows = [
        ("佐藤 一郎", "サトウ イチロウ"),
        ("後藤 誠", "ごとう まこと"),
        ("阿部 桜", "アベ サクラ"),
        ("加藤 花", "ｶﾄｳ ﾊﾅ"),
        ("渡辺 葵", "ワタナベ アオイ"),
    ] + [(f"山田 {index:02d}", f"ヤマダ {index:02d}") for index in range(25)]
    data = SignInSheetData(
        course_title="令和5年度 千葉県ひきこもりサポーター養成研修",
        session_label="第3回",
        session_date=date(2023, 10, 12),
        venue="千葉市 きぼーる 13階 会議室",
        rows=rows,
    )
    path = write(tmp_path, "sign-in.pdf", render_sign_in_sheet(data))
    pages = page_count(path)
    assert pages == 2
    text = pdf_text(path)
    positions = [text.index(name) for name in ("阿部 桜", "加藤 花", "後藤 誠", "佐藤 一郎")]
    assert positions == sorted(positions)
    assert text.index("山田 24") < text.index("渡辺 葵")
    assert text.count("受講者名簿（署名欄）") == pages  # the header on every page
    assert text.count("第3回") == pages
    assert "1 / 2 ページ" in text
    assert "2 / 2 ページ" in text
    run("qpdf", "--check", path)


def test_sign_in_sheet_without_trainees_is_refused() -> None:
    data = SignInSheetData("研修", "第1回", date(2023, 10, 12), "会場", rows=[])
    with pytest.raises(EmptySelectionError, match="この回の受講者がいません"):
        render_sign_in_sheet(data)


def test_sign_in_sheet_refuses_an_unprintable_name() -> None:
    data = SignInSheetData(
        "研修", "第1回", date(2023, 10, 12), "会場", rows=[("𠮷川 司", "ヨシカワ ツカサ")]
    )
    with pytest.raises(UnprintableTextError, match="氏名の「𠮷」は印刷できません") as error:
        render_sign_in_sheet(data)
    assert "印字用氏名" in error.value.message


# --- QR codes ---------------------------------------------------------------------------------


def test_fast_qr_encoder_matches_reportlab_module_for_module() -> None:
    """The fixed-mask encoder against reportlab's encoder, for versions 1 to 10."""
    rng = random.Random(7)
    alphabet = string.ascii_letters + string.digits + "/:.-_?=&"
    lengths = [1, 13, 14, 15, 61, 62, 63, 121, 122, 123, 179, 180, 181, 212, 213]
    lengths += [rng.randint(1, 213) for _ in range(40)]
    for length in lengths:
        data = "".join(rng.choice(alphabet) for _ in range(length))
        symbol = qr_symbol(data, best_mask=False)
        version = (symbol.size - 17) // 4
        reference = qrencoder.QRCode(version, qrencoder.QRErrorCorrectLevel.M)
        reference.addData(qrencoder.QR8bitByte(data))
        reference.makeImpl(False, 0)  # mask pattern 0, as the fast encoder
        expected = tuple(
            tuple(bool(reference.isDark(row, column)) for column in range(symbol.size))
            for row in range(symbol.size)
        )
        assert symbol.matrix() == expected, (length, version)


def test_qr_rectangles_and_operators_cover_exactly_the_dark_modules() -> None:
    for data, best_mask in ((VERIFY_URL, True), (VERIFY_URL, False), ("x" * 300, False)):
        symbol = qr_symbol(data, best_mask=best_mask)
        for rectangles in (
            qr_rectangles(symbol),
            [
                tuple(map(int, match.groups()))
                for match in re.finditer(
                    r"(\d+) (\d+) (\d+) (\d+) re", qr_pdf_operators(symbol, 0, 0, 10)
                )
            ],
        ):
            covered = [[False] * symbol.size for _ in range(symbol.size)]
            for column, row, width, height in rectangles:
                for y in range(row, row + height):
                    for x in range(column, column + width):
                        assert not covered[y][x]
                        covered[y][x] = True
            assert tuple(map(tuple, covered)) == symbol.matrix()


def test_texts_too_long_for_the_card_are_refused() -> None:
    with pytest.raises(PdfInputError, match="発行者名が長すぎて") as error:
        render_card_sheet([card(), card(issuer_name="ひきこもり地域支援センター" * 6)])
    assert error.value.field == "issuer_name"
    assert "収まりません" in error.value.message
    with pytest.raises(PdfInputError, match="氏名が長すぎて") as error:
        render_card(card(holder_name="寿限無寿限無五劫の擦り切れ海砂利水魚の水行末雲来末風来末"))
    assert error.value.field == "holder_name"
