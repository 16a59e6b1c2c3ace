"""A tiny PNG writer for pass images (no Pillow): a rounded badge in the card's colours."""

from __future__ import annotations

import struct
import zlib
from functools import lru_cache


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode(width: int, height: int, rows: list[bytes]) -> bytes:
    """RGBA rows (``width * 4`` bytes each) → PNG bytes."""
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 6)) + _chunk(b"IEND", b"")
    )


@lru_cache(maxsize=64)
def badge(width: int, height: int, background: tuple[int, int, int], foreground: tuple[int, int, int]) -> bytes:
    """A filled rectangle with a centred disc of the foreground colour; transparent corners."""
    bg = bytes((*background, 255))
    fg = bytes((*foreground, 255))
    clear = b"\x00\x00\x00\x00"
    radius = min(width, height) // 5
    disc = (min(width, height) * 0.3) ** 2
    cx, cy = width / 2, height / 2
    rows = []
    for y in range(height):
        row = bytearray()
        for x in range(width):
            dx = max(radius - x, x - (width - 1 - radius), 0)
            dy = max(radius - y, y - (height - 1 - radius), 0)
            if dx * dx + dy * dy > radius * radius:
                row += clear
            elif (x - cx) ** 2 + (y - cy) ** 2 <= disc:
                row += fg
            else:
                row += bg
        rows.append(bytes(row))
    return encode(width, height, rows)


SIGNATURE = b"\x89PNG\r\n\x1a\n"


def dimensions(content: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk; ValueError when ``content`` is not a PNG."""
    if not content.startswith(SIGNATURE) or len(content) < 33 or content[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    length, width, height = struct.unpack(">I4xII", content[8:24])
    if length != 13 or not width or not height:
        raise ValueError("bad IHDR")
    return width, height
