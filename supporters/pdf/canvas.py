"""A canvas set up the same way for every document, its colours, and the organiser's seal."""

from __future__ import annotations

import io

from reportlab import rl_config
from reportlab.lib.colors import HexColor
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen.canvas import Canvas

from supporters.pdf.errors import PdfInputError
from supporters.pdf.fonts import PdfFont

__all__ = ["INK", "MUTED", "finish", "new_canvas", "seal_image"]

# reportlab wraps every compressed stream in ASCII85 by default: 25 % larger files and, without
# the optional C accelerator, a pure-Python encoder that costs more than the drawing. Binary
# streams are what every PDF reader expects anyway.
rl_config.useA85 = 0

INK = HexColor("#222222")
MUTED = HexColor("#5F6368")


def new_canvas(
    buffer: io.BytesIO, pagesize: tuple[float, float], title: str, font: PdfFont
) -> Canvas:
    """A canvas writing a reproducible, compressed PDF, with the font as its initial one."""
    canvas = Canvas(
        buffer, pagesize=pagesize, invariant=True, pageCompression=1, initialFontName=font.name
    )
    canvas.setTitle(title)
    canvas.setSubject(title)
    canvas.setCreator("supporters")
    canvas.setProducer("supporters (reportlab)")
    return canvas


def finish(canvas: Canvas, buffer: io.BytesIO) -> bytes:
    """Save the canvas and return the PDF file."""
    canvas.save()
    return buffer.getvalue()


def seal_image(image: bytes, *, max_side: int) -> ImageReader:
    """The organiser's seal, refused with a message if it cannot be read or is larger than
    ``max_side`` pixels (the size is read from the header: a large image is never decoded)."""
    try:
        reader = ImageReader(io.BytesIO(image))
        width, height = reader.getSize()
    except Exception as error:  # PIL raises many kinds of errors for broken images
        raise PdfInputError(
            "seal_image", "印影の画像を読み込めません。PNG または JPEG の画像を登録してください。"
        ) from error
    if width <= 0 or height <= 0:
        raise PdfInputError("seal_image", "印影の画像が空です。")
    if max(width, height) > max_side:  # a seal stored before the limit: never decoded
        raise PdfInputError(
            "seal_image",
            f"印影の画像が大きすぎます（{width} × {height} ピクセル）。"
            f"{max_side} × {max_side} ピクセル以内の画像を登録し直してください。",
        )
    return reader
