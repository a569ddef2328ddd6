"""QR codes for cards: the module matrix, then the dark modules as one filled path.

reportlab's ``QrCodeWidget`` builds a drawing with one rectangle object per dark module and
evaluates all eight mask patterns, which costs about 25 ms per card. Here a symbol is a tuple of
row bit masks and becomes a handful of PDF path operators: horizontal runs of dark modules are
rectangles, and identical runs in consecutive rows merge into one taller rectangle. Coordinates
are whole module numbers inside a ``cm`` transform, so the operators are short.

Two encoders make the symbol (byte mode, error correction level M, no quiet zone):

* ``best_mask=True`` (one card): segno, which picks the mask pattern with the lowest penalty
  score as ISO/IEC 18004 recommends (about 4 ms, most of it scoring the eight masks).
* ``best_mask=False`` (sheets of many cards): a small encoder here for versions 1-10 (up to
  213 bytes) with the fixed mask pattern :data:`FAST_MASK`. Every mask pattern is valid and
  readers decode any of them; the function patterns, the module order and the mask of a
  version are computed once, so a symbol takes about 0.1 ms. Longer data falls back to segno
  with the same fixed mask. The tests check this encoder module by module against segno.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from itertools import accumulate, chain
from operator import itemgetter

import segno

__all__ = ["FAST_MASK", "QrSymbol", "qr_pdf_operators", "qr_rectangles", "qr_symbol"]

#: The mask pattern of the fast encoder: 0, dark where (row + column) is even.
FAST_MASK = 0

Rectangle = tuple[int, int, int, int]  # column, row, width, height in modules, rows downwards


@dataclass(frozen=True, slots=True)
class QrSymbol:
    """A QR symbol without its quiet zone: ``rows[r]`` has bit ``c`` set for a dark module."""

    size: int
    rows: tuple[int, ...]

    def matrix(self) -> tuple[tuple[bool, ...], ...]:
        return tuple(
            tuple(bool(row >> column & 1) for column in range(self.size)) for row in self.rows
        )


def qr_symbol(data: str, *, best_mask: bool = True) -> QrSymbol:
    """The QR symbol for ``data``: UTF-8 bytes, byte mode, error correction level M."""
    if not data:
        raise ValueError("QR data must not be empty")
    raw = data.encode("utf-8")
    if not best_mask and len(raw) <= _MAX_FAST_BYTES:
        return _fast_symbol(raw)
    symbol = segno.make_qr(
        raw, mode="byte", error="m", boost_error=False, mask=None if best_mask else FAST_MASK
    )
    rows = tuple(
        sum(1 << column for column, module in enumerate(row) if module) for row in symbol.matrix
    )
    return QrSymbol(len(rows), rows)


_RUNS = re.compile("1+|0+")


def _row_runs(symbol: QrSymbol) -> Iterator[tuple[int, list[int], list[int]]]:
    """Per row: the row number, the first columns and the widths of its runs of dark modules.

    Built from C-level string operations (no Python code per module or per run), since a
    sheet of 1,000 cards has about 300,000 runs.
    """
    width = symbol.size
    for row_index, bits in enumerate(symbol.rows):
        if not bits:
            continue
        text = format(bits, f"0{width}b")[::-1]  # index = column
        lengths = list(map(len, _RUNS.findall(text)))
        starts = list(accumulate(lengths[:-1], initial=0))
        first_dark = 0 if text[0] == "1" else 1
        yield row_index, starts[first_dark::2], lengths[first_dark::2]


def qr_rectangles(symbol: QrSymbol) -> list[Rectangle]:
    """Cover the dark modules with rectangles, one per horizontal run of dark modules."""
    return [
        (start, row, length, 1)
        for row, starts, lengths in _row_runs(symbol)
        for start, length in zip(starts, lengths, strict=True)
    ]


@cache
def _chunk_operators(chunk: int) -> tuple[str, ...]:
    """For each value of the 8 columns ``8 * chunk`` to ``8 * chunk + 7`` of a row: the
    rectangles of its dark runs, with ``@`` standing for the row number."""
    table = []
    for value in range(256):
        text = format(value, "08b")[::-1]
        operators = []
        column = 0
        for run in _RUNS.findall(text):
            if run[0] == "1":
                operators.append(f"{8 * chunk + column} @ {len(run)} 1 re\n")
            column += len(run)
        table.append("".join(operators))
    return tuple(table)


def qr_pdf_operators(symbol: QrSymbol, x: float, y: float, size: float) -> str:
    """PDF content-stream operators that fill the symbol's dark modules in black, one path.

    ``x``, ``y`` is the lower-left corner and ``size`` the side of the symbol (without quiet
    zone) in points, in the current user space. The operators are wrapped in ``q``/``Q`` and
    leave the graphics state unchanged. Each row's runs come from precomputed strings for
    8 columns at a time (a run across such a boundary is two touching rectangles), which keeps
    Python work per symbol to a few dozen operations: a sheet of 1,000 cards has about 300,000
    runs.
    """
    module = size / symbol.size
    tables = [_chunk_operators(chunk) for chunk in range((symbol.size + 7) // 8)]
    # Rows run downwards from the top edge: scale y by -module and start at the top.
    parts = [f"q 0 g {module:.5f} 0 0 {-module:.5f} {x:.3f} {y + size:.3f} cm\n"]
    for row, bits in enumerate(symbol.rows):
        row_operators = "".join(
            [table[bits >> (8 * chunk) & 0xFF] for chunk, table in enumerate(tables)]
        )
        parts.append(row_operators.replace("@", str(row)))
    parts.append("f Q")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# The fast encoder (ISO/IEC 18004, model 2, level M, versions 1-10, byte mode, fixed mask)

# Level M: (error correction codewords per block, ((blocks, data codewords per block), ...))
_LEVEL_M_BLOCKS: dict[int, tuple[int, tuple[tuple[int, int], ...]]] = {
    1: (10, ((1, 16),)),
    2: (16, ((1, 28),)),
    3: (26, ((1, 44),)),
    4: (18, ((2, 32),)),
    5: (24, ((2, 43),)),
    6: (16, ((4, 27),)),
    7: (18, ((4, 31),)),
    8: (22, ((2, 38), (2, 39))),
    9: (22, ((3, 36), (2, 37))),
    10: (26, ((4, 43), (1, 44))),
}
_ALIGNMENT: dict[int, tuple[int, ...]] = {
    1: (),
    2: (6, 18),
    3: (6, 22),
    4: (6, 26),
    5: (6, 30),
    6: (6, 34),
    7: (6, 22, 38),
    8: (6, 24, 42),
    9: (6, 26, 46),
    10: (6, 28, 50),
}
_LEVEL_M_FORMAT_BITS = 0b00


def _data_codewords(version: int) -> int:
    return sum(count * length for count, length in _LEVEL_M_BLOCKS[version][1])


def _count_bits(version: int) -> int:
    return 8 if version < 10 else 16


# the most bytes each version holds in byte mode at level M (version 10: 213)
_MAX_BYTES = tuple((_data_codewords(v) * 8 - 4 - _count_bits(v)) // 8 for v in range(1, 11))
_MAX_FAST_BYTES = _MAX_BYTES[-1]

# GF(256) with the QR polynomial x^8 + x^4 + x^3 + x^2 + 1
_EXP = [0] * 512
_LOG = [0] * 256
_value = 1
for _power in range(255):
    _EXP[_power] = _value
    _LOG[_value] = _power
    _value <<= 1
    if _value & 0x100:
        _value ^= 0x11D
for _power in range(255, 512):
    _EXP[_power] = _EXP[_power - 255]


def _multiply(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else _EXP[_LOG[a] + _LOG[b]]


@cache
def _generator_table(degree: int) -> tuple[int, ...]:
    """For every byte f: f times the generator polynomial (without its leading 1), as an int."""
    generator = [1]  # coefficients, highest degree first
    for index in range(degree):
        root = _EXP[index]
        product = [0] * (len(generator) + 1)
        for position, coefficient in enumerate(generator):
            product[position] ^= coefficient
            product[position + 1] ^= _multiply(coefficient, root)
        generator = product
    tail = generator[1:]
    return tuple(
        int.from_bytes(bytes(_multiply(factor, c) for c in tail), "big") for factor in range(256)
    )


def _error_correction(block: bytes, degree: int) -> bytes:
    table = _generator_table(degree)
    shift = 8 * (degree - 1)
    full = (1 << (8 * degree)) - 1
    remainder = 0
    for byte in block:
        factor = (remainder >> shift) ^ byte
        remainder = ((remainder << 8) & full) ^ table[factor]
    return remainder.to_bytes(degree, "big")


def _bch(value: int, generator: int, degree: int) -> int:
    remainder = value << degree
    top = generator.bit_length() - 1
    while remainder.bit_length() > degree:
        remainder ^= generator << (remainder.bit_length() - 1 - top)
    return (value << degree) | remainder


@dataclass(frozen=True, slots=True)
class _Template:
    size: int
    dark: tuple[int, ...]  # function modules that are dark (incl. format and version info)
    bits: int  # data bits the symbol holds (codewords x 8, without remainder bits)
    # per row: picks, for every column, that module's character from the codeword bit string
    # (with a "0" appended, which function modules and remainder bits pick)
    pickers: tuple[Callable[[str], tuple[str, ...]], ...]
    mask: tuple[int, ...]  # the mask pattern on the data region (non-function modules)


@cache
def _template(version: int) -> _Template:
    size = 17 + 4 * version
    function = [[False] * size for _ in range(size)]
    dark = [[False] * size for _ in range(size)]

    def put(column: int, row: int, is_dark: bool) -> None:
        function[row][column] = True
        dark[row][column] = is_dark

    for index in range(size):  # timing patterns
        put(6, index, index % 2 == 0)
        put(index, 6, index % 2 == 0)
    for cx, cy in ((3, 3), (size - 4, 3), (3, size - 4)):  # finders with their separators
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                if 0 <= cx + dx < size and 0 <= cy + dy < size:
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) not in (2, 4))
    centres = _ALIGNMENT[version]
    last = len(centres) - 1
    for i, cx in enumerate(centres):
        for j, cy in enumerate(centres):
            if (i, j) in ((0, 0), (0, last), (last, 0)):
                continue
            for dy in range(-2, 3):
                for dx in range(-2, 3):
                    put(cx + dx, cy + dy, max(abs(dx), abs(dy)) != 1)

    format_bits = _bch(_LEVEL_M_FORMAT_BITS << 3 | FAST_MASK, 0x537, 10) ^ 0x5412
    bit = [(format_bits >> index) & 1 == 1 for index in range(15)]
    for index in range(6):
        put(8, index, bit[index])
    put(8, 7, bit[6])
    put(8, 8, bit[7])
    put(7, 8, bit[8])
    for index in range(9, 15):
        put(14 - index, 8, bit[index])
    for index in range(8):
        put(size - 1 - index, 8, bit[index])
    for index in range(8, 15):
        put(8, size - 15 + index, bit[index])
    put(8, size - 8, True)  # the dark module
    if version >= 7:
        version_bits = _bch(version, 0x1F25, 12)
        for index in range(18):
            is_dark = (version_bits >> index) & 1 == 1
            a, b = size - 11 + index % 3, index // 3
            put(a, b, is_dark)
            put(b, a, is_dark)

    degree, groups = _LEVEL_M_BLOCKS[version]
    total_bits = 8 * sum(count * (length + degree) for count, length in groups)
    source = [[total_bits] * size for _ in range(size)]  # index into the bit string
    index = 0
    for right in range(size - 1, 0, -2):
        if right <= 6:
            right -= 1  # skip the vertical timing pattern
        upward = (right + 1) & 2 == 0
        for vertical in range(size):
            row = size - 1 - vertical if upward else vertical
            for column in (right, right - 1):
                if not function[row][column] and index < total_bits:
                    source[row][column] = index
                    index += 1
    pickers = tuple(itemgetter(*row) for row in source)

    def bits(matrix_row: list[bool]) -> int:
        return sum(1 << column for column, value in enumerate(matrix_row) if value)

    mask = tuple(
        sum(
            1 << column
            for column in range(size)
            if not function[row][column] and (row + column) % 2 == 0
        )
        for row in range(size)
    )
    return _Template(size, tuple(bits(row) for row in dark), total_bits, pickers, mask)


def _fast_symbol(raw: bytes) -> QrSymbol:
    length = len(raw)
    version = next(v for v, most in enumerate(_MAX_BYTES, start=1) if length <= most)
    capacity = _data_codewords(version)
    count_bits = _count_bits(version)
    used = 4 + count_bits + 8 * length
    stream = ((0b0100 << count_bits | length) << 8 * length) | int.from_bytes(raw, "big")
    terminator = min(4, capacity * 8 - used)
    padding = -(used + terminator) % 8
    stream <<= terminator + padding
    data = stream.to_bytes((used + terminator + padding) // 8, "big")
    data += (b"\xec\x11" * capacity)[: capacity - len(data)]

    degree, groups = _LEVEL_M_BLOCKS[version]
    blocks: list[bytes] = []
    offset = 0
    for count, block_length in groups:
        for _ in range(count):
            blocks.append(data[offset : offset + block_length])
            offset += block_length
    corrections = [_error_correction(block, degree) for block in blocks]
    # interleave: the first codeword of every block, then the second...; blocks of the second
    # group are one codeword longer than the first group's
    shortest = len(blocks[0])
    codewords = bytes(
        chain.from_iterable(zip(*(block[:shortest] for block in blocks), strict=True))
    )
    codewords += bytes(block[-1] for block in blocks if len(block) > shortest)
    codewords += bytes(chain.from_iterable(zip(*corrections, strict=True)))

    template = _template(version)
    bit_string = format(int.from_bytes(codewords, "big"), f"0{template.bits}b") + "0"
    return QrSymbol(
        template.size,
        tuple(
            dark | (int("".join(picker(bit_string))[::-1], 2) ^ mask)
            for dark, picker, mask in zip(
                template.dark, template.pickers, template.mask, strict=True
            )
        ),
    )
