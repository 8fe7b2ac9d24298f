"""Just enough PNG for meta-images: write 8-bit RGB, and read/add text metadata chunks.

Blender's bundled Python has no Pillow, so the add-on writes and tags PNGs with this.
"""

from __future__ import annotations

import struct
import zlib

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_rgb(image: np.ndarray, text: dict[str, str] | None = None, level: int = 6) -> bytes:
    """Encode an (H, W, 3) uint8 array as PNG bytes, with optional tEXt entries."""
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"expected an (H, W, 3) uint8 array, got {image.shape} {image.dtype}")
    h, w, _ = image.shape
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 2  # filter "Up": cheap, vectorised, and good for flat colour regions
    flat = image.reshape(h, 3 * w)
    rows[0, 1:] = flat[0]
    rows[1:, 1:] = flat[1:] - flat[:-1]  # uint8 arithmetic wraps modulo 256, as PNG wants
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    out = [SIGNATURE, _chunk(b"IHDR", header)]
    out += [_text_chunk(k, v) for k, v in (text or {}).items()]
    out += [_chunk(b"IDAT", zlib.compress(rows.tobytes(), level)), _chunk(b"IEND", b"")]
    return b"".join(out)


def _text_chunk(key: str, value: str) -> bytes:
    return _chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))


def retag(png: bytes, text: dict[str, str]) -> bytes:
    """Keep only the image chunks of `png` (no gamma, profile, time or other text) and add `text`.

    Blender writes its render stamp (date, render time...) as text, which would make two
    renders of the same part differ; colour chunks could make viewers alter the data.
    """
    if not png.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    kept, pos, ended = [], len(SIGNATURE), False
    while pos + 12 <= len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos : pos + 12 + length]
        if len(chunk) < 12 + length:
            break
        if kind in (b"IHDR", b"PLTE", b"IDAT"):
            kept.append(chunk)
        ended = kind == b"IEND"
        if ended:
            break
        pos += 12 + length
    if not ended or not kept or not kept[0][4:8] == b"IHDR":
        raise ValueError("not a complete PNG file")
    extra = [_text_chunk(k, v) for k, v in text.items()]
    return b"".join([SIGNATURE, kept[0], *extra, *kept[1:], _chunk(b"IEND", b"")])


def read_header(data: bytes) -> tuple[int, int, int, int]:
    """(width, height, bit depth, colour type) from the first 33 bytes of a PNG file.

    Colour type 2 is RGB, 6 RGBA, 0 grey, 3 palette.
    """
    if not data.startswith(SIGNATURE) or data[12:16] != b"IHDR" or len(data) < 29:
        raise ValueError("not a PNG file")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    return width, height, depth, colour


def read_text(data: bytes) -> dict[str, str]:
    """The tEXt entries of PNG bytes (or of its first bytes: chunks are read until cut off)."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file")
    out: dict[str, str] = {}
    pos = len(SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if len(body) < length or kind == b"IEND":
            break
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            out[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return out
