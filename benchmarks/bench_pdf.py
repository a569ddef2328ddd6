"""Time the PDF layer against plain reportlab drawing the same layouts, in the same run.

    python benchmarks/bench_pdf.py [--cards 1000] [--repeat 3]

Cases: one supporter card, one completion certificate, and a sheet of ``--cards`` cards with
and without QR codes. "ours" is ``supporters.certificates.pdf`` and
``supporters.training.pdf`` on the base layer ``supporters.pdf`` (printable-text checks, fitted
text, shared form XObjects, QR codes as one path from the fast encoder). "plain" is what one
would write with reportlab directly: the same font file and positions, plain canvas calls per
card, reportlab's ``QrCodeWidget`` for the QR code, no checks. Times are the best of
``--repeat`` runs (one run for a case slower than 5 s); bytes are the PDF's size. Both sides
run with the same reportlab settings (importing the PDF layer turns ASCII85 off).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import date
from io import BytesIO
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.qr import QrCodeWidget
from reportlab.graphics.shapes import Drawing
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Paragraph

from supporters.certificates.pdf import CardData, render_card, render_card_sheet
from supporters.core.eras import format_date, japanese_era
from supporters.pdf.fonts import default_font_path
from supporters.training.pdf import CompletionData, render_completion_certificate

PLAIN_FONT = "BenchPlainFont"
CARD_W, CARD_H = 91 * mm, 55 * mm


def sample_cards(count: int) -> list[CardData]:
    surnames = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤"]
    given = ["一郎", "花子", "誠", "桜", "大輔", "美咲", "翔太", "陽菜", "健", "葵"]
    readings = [
        "サトウ",
        "スズキ",
        "タカハシ",
        "タナカ",
        "イトウ",
        "ワタナベ",
        "ヤマモト",
        "ナカムラ",
    ]
    return [
        CardData(
            program_public_name="千葉県ひきこもりサポーター",
            holder_name=f"{surnames[i % 10]} {given[i // 10 % 10]}",
            holder_reading=f"{readings[i % 8]} タロウ",
            registration_number=f"CHB-2023-{i:04d}",
            registration_date=date(2023, 11, 30),
            valid_until=date(2026, 11, 29),
            issuer_name="千葉県ひきこもり地域支援センター",
            verify_url=f"https://supporters.example.jp/verify/{i:06d}k3J9xQ2mP7vT4wZ8",
        )
        for i in range(count)
    ]


CERTIFICATE = CompletionData(
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


# --- plain reportlab: the same layouts, drawn the obvious way -----------------------------------


def plain_card(canvas: Canvas, card: CardData, x: float, y: float, *, qr: bool) -> None:
    canvas.saveState()
    canvas.translate(x, y)
    canvas.setFillColor(HexColor("#1F4E79"))
    canvas.roundRect(2.5 * mm, 41.5 * mm, 86 * mm, 11 * mm, 1.5 * mm, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#6FA8DC"))
    canvas.rect(2.5 * mm, 41.5 * mm, 86 * mm, 0.6 * mm, stroke=0, fill=1)
    canvas.setFillColor(HexColor("#FFFFFF"))
    canvas.setFont(PLAIN_FONT, 7.5)
    canvas.drawString(5.5 * mm, 48.4 * mm, card.program_public_name)
    canvas.setFont(PLAIN_FONT, 12.5)
    canvas.drawString(5.5 * mm, 43.6 * mm, "サポーター証", charSpace=1.2)
    canvas.setStrokeColor(HexColor("#6FA8DC"))
    canvas.setLineWidth(0.6)
    canvas.line(5.5 * mm, 27.3 * mm, 65.5 * mm, 27.3 * mm)
    canvas.setFillColor(HexColor("#1F4E79"))
    canvas.setFont(PLAIN_FONT, 6)
    for label, label_y in (("登録番号", 22.5), ("登録日", 18.5), ("有効期限", 14.5), ("発行", 6.2)):
        canvas.drawString(5.5 * mm, label_y * mm, label)
    canvas.setFillColor(HexColor("#5F6368"))
    canvas.setFont(PLAIN_FONT, 7)
    canvas.drawString(5.5 * mm, 35.6 * mm, card.holder_reading)
    canvas.setFillColor(HexColor("#222222"))
    canvas.setFont(PLAIN_FONT, 15)
    canvas.drawString(5.5 * mm, 29.4 * mm, card.holder_name)
    canvas.setFont(PLAIN_FONT, 7.5)
    canvas.drawString(17.5 * mm, 22.5 * mm, card.registration_number)
    canvas.drawString(17.5 * mm, 18.5 * mm, format_date(card.registration_date))
    if card.valid_until is not None:
        canvas.drawString(17.5 * mm, 14.5 * mm, format_date(card.valid_until))
    canvas.setFont(PLAIN_FONT, 7)
    canvas.drawString(17.5 * mm, 6.2 * mm, card.issuer_name)
    if qr:
        widget = QrCodeWidget(card.verify_url, barLevel="M", barBorder=0)
        left, bottom, right, top = widget.getBounds()
        drawing = Drawing(
            17 * mm,
            17 * mm,
            transform=[17 * mm / (right - left), 0, 0, 17 * mm / (top - bottom), 0, 0],
        )
        drawing.add(widget)
        renderPDF.draw(drawing, canvas, 69.5 * mm, 14 * mm)
        canvas.setFillColor(HexColor("#5F6368"))
        canvas.setFont(PLAIN_FONT, 5.5)
        canvas.drawCentredString(78 * mm, 10 * mm, "登録確認")
    canvas.restoreState()


def plain_render_card(card: CardData) -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=(CARD_W, CARD_H), initialFontName=PLAIN_FONT)
    plain_card(canvas, card, 0, 0, qr=True)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def plain_render_sheet(cards: list[CardData], *, qr: bool) -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=PLAIN_FONT)
    for start in range(0, len(cards), 10):
        for index, card in enumerate(cards[start : start + 10]):
            column, row = index % 2, index // 2
            x = (14 + column * 91) * mm
            y = A4[1] - (11 + (row + 1) * 55) * mm
            plain_card(canvas, card, x, y, qr=qr)
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def plain_render_certificate(data: CompletionData) -> bytes:
    buffer = BytesIO()
    canvas = Canvas(buffer, pagesize=A4, initialFontName=PLAIN_FONT)
    page_w, page_h = A4
    navy = HexColor("#1F3A5F")
    canvas.setStrokeColor(navy)
    canvas.setLineWidth(2.2)
    canvas.rect(12 * mm, 12 * mm, page_w - 24 * mm, page_h - 24 * mm)
    canvas.setLineWidth(0.6)
    canvas.rect(15 * mm, 15 * mm, page_w - 30 * mm, page_h - 30 * mm)
    canvas.setFont(PLAIN_FONT, 11)
    canvas.drawRightString(page_w - 30 * mm, page_h - 32 * mm, f"第 {data.completion_number} 号")
    canvas.setFillColor(navy)
    canvas.setFont(PLAIN_FONT, 40)
    canvas.drawCentredString(page_w / 2, page_h - 75 * mm, "修　了　証")
    canvas.setFillColor(HexColor("#222222"))
    canvas.setFont(PLAIN_FONT, 24)
    canvas.drawCentredString(page_w / 2, page_h - 108 * mm, f"{data.holder_name}　殿")
    canvas.line(40 * mm, page_h - 111 * mm, page_w - 40 * mm, page_h - 111 * mm)
    canvas.setFont(PLAIN_FONT, 13)
    canvas.drawCentredString(
        page_w / 2, page_h - 132 * mm, "あなたは下記の研修を修了したことを証します。"
    )
    canvas.drawCentredString(page_w / 2, page_h - 147 * mm, "記")
    style = ParagraphStyle("p", fontName=PLAIN_FONT, fontSize=12.5, leading=19, wordWrap="CJK")
    sessions = f"全{data.session_count}回（計{data.total_hours:g}時間）"
    period = f"{format_date(data.first_date)} から<br/>{format_date(data.last_date)} まで"
    y = page_h - 158 * mm
    for label, value in (
        ("研 修 名", data.course_title),
        ("受講回数", sessions),
        ("受講期間", period),
    ):
        canvas.setFont(PLAIN_FONT, 12)
        canvas.drawString(36 * mm, y - 12, label)
        paragraph = Paragraph(value, style)
        _, height = paragraph.wrap(112 * mm, page_h)
        paragraph.drawOn(canvas, 64 * mm, y - height)
        y -= height + 6 * mm
    canvas.setFont(PLAIN_FONT, 13)
    canvas.drawString(36 * mm, 78 * mm, japanese_era(data.issue_date))
    canvas.setFont(PLAIN_FONT, 9)
    canvas.drawString(36 * mm, 72.5 * mm, f"({data.issue_date.isoformat()})")
    organiser_style = ParagraphStyle(
        "o", fontName=PLAIN_FONT, fontSize=15, leading=21, wordWrap="CJK", alignment=2
    )
    organiser = Paragraph(data.organiser_name, organiser_style)
    _, height = organiser.wrap(100 * mm, page_h)
    organiser.drawOn(canvas, page_w - 158 * mm, 50 * mm - height / 2)
    canvas.setDash(1.5, 2)
    canvas.rect(page_w - 54 * mm, 38 * mm, 24 * mm, 24 * mm)
    canvas.setDash()
    canvas.setFont(PLAIN_FONT, 16)
    canvas.drawCentredString(page_w - 42 * mm, 48 * mm, "印")
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- timing -------------------------------------------------------------------------------------


def measure(function: Callable[[], bytes], repeat: int) -> tuple[float, int]:
    best = float("inf")
    size = 0
    for _ in range(repeat):
        start = time.perf_counter()
        content = function()
        elapsed = time.perf_counter() - start
        best = min(best, elapsed)
        size = len(content)
        if elapsed > 5:
            break
    return best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=1000, help="cards on the sheet")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case (best is shown)")
    args = parser.parse_args()

    pdfmetrics.registerFont(TTFont(PLAIN_FONT, default_font_path()))
    cards = sample_cards(args.cards)
    # warm up: font registration and parsing, the QR templates, reportlab's caches
    render_card(cards[0])
    plain_render_card(cards[0])

    sheet = f"{args.cards:,}-card sheet"
    cases: list[tuple[str, Callable[[], bytes], Callable[[], bytes]]] = [
        ("one card", lambda: render_card(cards[0]), lambda: plain_render_card(cards[0])),
        (
            "one certificate",
            lambda: render_completion_certificate(CERTIFICATE),
            lambda: plain_render_certificate(CERTIFICATE),
        ),
        (
            f"{sheet}, no QR",
            lambda: render_card_sheet(cards, with_qr=False),
            lambda: plain_render_sheet(cards, qr=False),
        ),
        (
            f"{sheet}, QR",
            lambda: render_card_sheet(cards),
            lambda: plain_render_sheet(cards, qr=True),
        ),
    ]
    header = (
        f"{'case':<28}{'ours s':>10}{'ours bytes':>12}{'plain s':>10}{'plain bytes':>13}"
        f"{'time ours/plain':>17}{'bytes ours/plain':>18}"
    )
    print(header)
    print("-" * len(header))
    results: dict[str, tuple[float, int, float, int]] = {}
    for name, ours, plain in cases:
        ours_s, ours_b = measure(ours, args.repeat)
        plain_s, plain_b = measure(plain, args.repeat)
        results[name] = (ours_s, ours_b, plain_s, plain_b)
        print(
            f"{name:<28}{ours_s:>10.4f}{ours_b:>12,}{plain_s:>10.4f}{plain_b:>13,}"
            f"{ours_s / plain_s:>16.2f}x{ours_b / plain_b:>17.2f}x",
            flush=True,
        )
    with_qr, without_qr = results[f"{sheet}, QR"], results[f"{sheet}, no QR"]
    print()
    print(
        f"sheet with QR / without QR: ours {with_qr[0] / without_qr[0]:.2f}x (target <= 3x), "
        f"plain {with_qr[2] / without_qr[2]:.2f}x"
    )
    print(
        f"sheet with QR: {with_qr[1]:,} bytes (target < 1,000,000); "
        f"one card: {results['one card'][1]:,} bytes (target < 50,000)"
    )


if __name__ == "__main__":
    main()
