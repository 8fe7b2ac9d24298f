"""The meta-image contract: colour encoding, part normalisation, tiling, provenance.

A meta-image is ROWS x COLS views (see `views`) of one part, each tile `size // 10` pixels.
Colour = the face normal in the part's own frame, encoded per channel as
round(255 * (n * 0.5 + 0.5)) (ties round up); the background is pure black.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .files import png
from .geometry.stl import face_normals
from .views import COLS, ROWS, SCHEDULE

DEFAULT_SIZE = 600
MIN_SIZE = 20
MAX_SIZE = 8000
FORMAT = 1
"""Version of the meta-image format; part of every image's provenance."""
TEXT_KEY = "milling-directions"
"""PNG tEXt key under which a meta-image carries its provenance as JSON."""


def check_size(size: int) -> int:
    """Return `size` if it is a valid meta-image edge length, else raise ValueError."""
    if not (MIN_SIZE <= size <= MAX_SIZE) or size % COLS or size % ROWS:
        raise ValueError(
            f"size must be a multiple of {COLS} between {MIN_SIZE} and {MAX_SIZE}, got {size}"
        )
    return size


def encode_normals(normals: np.ndarray) -> np.ndarray:
    """(..., 3) unit normals -> (..., 3) uint8 colours, round(255 * (n * 0.5 + 0.5))."""
    return np.clip(np.floor(255.0 * (normals * 0.5 + 0.5) + 0.5), 0, 255).astype(np.uint8)


def decode_colors(colors: np.ndarray) -> np.ndarray:
    """Approximate unit normals back from uint8 colours (inverse of `encode_normals`)."""
    n = colors.astype(np.float64) / 255.0 * 2.0 - 1.0
    return n / np.maximum(np.linalg.norm(n, axis=-1, keepdims=True), 1e-12)


def face_colors(triangles: np.ndarray) -> np.ndarray:
    """(N, 3) uint8 colour of every face of (N, 3, 3) part-frame triangles."""
    return encode_normals(face_normals(np.asarray(triangles, dtype=np.float64)))


def normalize(triangles: np.ndarray) -> np.ndarray:
    """Centre on the bounding-box centre and scale so the part fits the unit sphere.

    The radius is the largest distance of a vertex from the bounding-box centre, so every
    view of the part fits its tile whatever the rotation, at the same scale in every tile.
    """
    t = np.asarray(triangles, dtype=np.float64)
    points = t.reshape(-1, 3)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2.0
    radius = float(np.sqrt(((points - centre) ** 2).sum(axis=1).max()))
    if radius == 0.0:
        raise ValueError("the part has no extent")
    return (t - centre) / radius


def tile(views: np.ndarray) -> np.ndarray:
    """(ROWS, COLS, t, t, C) views -> (ROWS*t, COLS*t, C) meta-image."""
    r, c, h, w, ch = views.shape
    return views.transpose(0, 2, 1, 3, 4).reshape(r * h, c * w, ch)


def untile(image: np.ndarray) -> np.ndarray:
    """(H, W, C) meta-image -> (ROWS, COLS, H/ROWS, W/COLS, C) views."""
    h, w, ch = image.shape
    if h % ROWS or w % COLS:
        raise ValueError(f"a {w}x{h} image does not split into {COLS}x{ROWS} tiles")
    return image.reshape(ROWS, h // ROWS, COLS, w // COLS, ch).transpose(0, 2, 1, 3, 4)


def provenance(
    source_sha256: str, augmentation: str, size: int, engine: str
) -> dict[str, str | int]:
    """What a meta-image was made from and how: equal provenance means an identical image.

    `engine` names the renderer: engines agree except on edge pixels, so it is part of it.
    """
    return {
        "engine": engine,
        "format": FORMAT,
        "schedule": SCHEDULE,
        "size": size,
        "augmentation": augmentation,
        "source_sha256": source_sha256,
    }


def provenance_text(record: dict) -> dict[str, str]:
    """PNG tEXt entries carrying a provenance record."""
    return {TEXT_KEY: json.dumps(record, sort_keys=True)}


def read_provenance(path: str | Path) -> dict | None:
    """The provenance a meta-image PNG carries, or None if it is missing, unreadable or cut off."""
    try:
        data = Path(path).read_bytes()
        if not data.endswith(b"IEND\xaeB`\x82"):
            return None
        text = png.read_text(data).get(TEXT_KEY)
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None
