"""Small generated PNG avatars (identicons) served by the sandbox itself, so no external assets are needed.

``avatar_png(seed)`` draws a symmetric 5x5 pattern in a colour derived from the seed, 80x80 pixels,
written with ``zlib`` + ``struct`` (no imaging library). Deterministic: the same appid, the same picture.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

SIZE, CELLS = 80, 5


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(width: int, height: int, rows: list[bytes]) -> bytes:
    raw = b"".join(b"\x00" + row for row in rows)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b""))


@functools.lru_cache(maxsize=512)
def avatar_png(seed: str) -> bytes:
    digest = hashlib.sha256(seed.encode()).digest()
    colour = bytes((64 + digest[0] % 160, 64 + digest[1] % 160, 64 + digest[2] % 160))
    background = b"\xf4\xf5\xf7"
    cell = SIZE // CELLS
    grid = [[False] * CELLS for _ in range(CELLS)]
    for row in range(CELLS):
        for col in range(3):
            on = bool(digest[3 + row * 3 + col] & 1)
            grid[row][col] = grid[row][CELLS - 1 - col] = on
    rows = []
    for y in range(SIZE):
        line = b"".join((colour if grid[y // cell][x // cell] else background) for x in range(SIZE))
        rows.append(line)
    return encode_png(SIZE, SIZE, rows)
