"""What the viewport draws of an answer, as plain numbers (no GPU here: ui/viewport.py draws
them): the colour of each setup, the coloured faces, and each setup's arrow in screen space.

One colour code everywhere: setup k's colour marks its row in the panel (Blender's strip
colour icon of the same tag), its arrow, its number and its faces; red marks what no tool of
the plan reaches."""

from __future__ import annotations

import numpy as np

from .._shared import classes, stl
from .stored import FINDING_CODES, NOT_MACHINED

STRIP_COLOURS = (
    (0.800, 0.353, 0.322),  # 01 red
    (0.800, 0.541, 0.282),  # 02 orange
    (0.702, 0.639, 0.247),  # 03 yellow
    (0.361, 0.600, 0.361),  # 04 green
    (0.318, 0.624, 0.800),  # 05 blue
    (0.553, 0.349, 0.855),  # 06 purple
    (0.776, 0.451, 0.722),  # 07 pink
    (0.600, 0.412, 0.322),  # 08 brown
    (0.502, 0.502, 0.502),  # 09 grey
)
"""Blender's default theme's strip colour tags, whose icons the panel shows beside each row."""
SETUP_TAGS = (4, 1, 3, 5, 2, 6)
"""Setup 1 blue, 2 orange, 3 green, 4 purple, 5 yellow, 6 pink (indices of STRIP_COLOURS)."""
UNREACHED_TAG, THIN_TAG = 0, 8
"""Red: no tool of the plan reaches it; grey: a thin wall."""
LIFT = 1e-3
"""How far the coloured faces stand off the part, as a share of its bounding-box diagonal."""
LIGHT = np.array([0.3, -0.5, 0.8]) / np.linalg.norm([0.3, -0.5, 0.8])


def tag_of(code: str) -> int | None:
    """The strip colour tag of a face code (stored.FACES); None: not drawn."""
    if code == NOT_MACHINED:
        return None
    if code.isdigit():
        return SETUP_TAGS[int(code)]
    return THIN_TAG if code == FINDING_CODES["thin_wall"] else UNREACHED_TAG  # the rest: unreached


def colour(tag: int, alpha: float = 1.0) -> tuple[float, float, float, float]:
    return (*STRIP_COLOURS[tag], alpha)


def setup_colour(k: int) -> tuple[float, float, float, float]:
    """Setup k's colour (k from 0: the primary)."""
    return colour(SETUP_TAGS[k % len(SETUP_TAGS)])


def face_colours(triangles: np.ndarray, codes: str) -> tuple[np.ndarray, np.ndarray]:
    """(positions (M, 3), colours (M, 4)): the coloured triangles' corners in the part's own
    frame, lifted off it along the corners' shared normals (no cracks between the faces of a
    curved surface), each lit by a fixed light so that faces of one colour stay apart."""
    if len(codes) != len(triangles):
        raise ValueError(f"{len(codes)} face codes for {len(triangles)} triangles")
    tags = np.array([-1 if (t := tag_of(c)) is None else t for c in codes], dtype=np.int64)
    keep = tags >= 0
    if not keep.any():
        return np.zeros((0, 3)), np.zeros((0, 4))
    tri = np.asarray(triangles, dtype=np.float64)
    points = tri.reshape(-1, 3)
    size = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))) or 1.0
    corner = np.unique(np.round(points / (1e-6 * size)), axis=0, return_inverse=True)[1]
    normals = stl.face_normals(tri, normalize=False)  # area-weighted
    shared = np.zeros((int(corner.max()) + 1, 3))
    np.add.at(shared, corner, np.repeat(normals, 3, axis=0))
    shared /= np.maximum(np.linalg.norm(shared, axis=1, keepdims=True), 1e-30)
    lifted = (points + LIFT * size * shared[corner]).reshape(-1, 3, 3)[keep]
    unit = normals[keep] / np.maximum(np.linalg.norm(normals[keep], axis=1, keepdims=True), 1e-30)
    light = 0.65 + 0.35 * np.abs(unit @ LIGHT)
    rgb = np.array(STRIP_COLOURS)[tags[keep]] * light[:, None]
    rgba = np.concatenate([rgb, np.ones((len(rgb), 1))], axis=1)
    return lifted.reshape(-1, 3), np.repeat(rgba, 3, axis=0)


def anchors(points: np.ndarray, plan: tuple[str, ...]) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each setup's (point, side) in the part's frame: the centre of the bounding box's face
    on that side, where its arrow points, and the unit vector the tool comes from. `points`:
    any of the part's points that span its box (its triangles, or its box's corners)."""
    points = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    out = []
    for d in plan:
        side = classes.direction(d).astype(np.float64)
        out.append((centre + side * float(np.abs(side) @ half), side))
    return out


ARROW_PX, HEAD_PX, SHAFT_PX, GAP_PX = 72.0, 16.0, 2.5, 10.0
"""An arrow's length, head, half shaft width and gap from the part, in pixels at UI scale 1."""


def arrow_2d(
    tip: np.ndarray, toward: np.ndarray, scale: float = 1.0
) -> tuple[np.ndarray, np.ndarray] | None:
    """An arrow in screen space: (triangles (K, 3, 2), where its number goes (2,)) pointing at
    `tip` from the side `toward` (a screen vector from the part outwards). None when the side
    faces the viewer or points away (it has no screen direction): viewport.py draws a ring."""
    length = float(np.hypot(*toward))
    if length < 1e-6:
        return None
    u = np.asarray(toward, dtype=np.float64) / length
    n = np.array([-u[1], u[0]])
    start = np.asarray(tip, dtype=np.float64) + u * GAP_PX * scale
    neck = start + u * HEAD_PX * scale
    tail = start + u * ARROW_PX * scale
    w, h = SHAFT_PX * scale, 0.5 * HEAD_PX * scale
    head = [start, neck + n * h, neck - n * h]
    shaft = [neck + n * w, tail + n * w, tail - n * w, neck - n * w]
    tris = np.array([head, shaft[:3], [shaft[0], shaft[2], shaft[3]]])
    return tris, tail + u * 12.0 * scale


def ring_2d(centre: np.ndarray, scale: float = 1.0, segments: int = 24) -> np.ndarray:
    """(K, 3, 2): a ring round `centre`, for a setup whose tool comes straight at the viewer
    or from behind the part."""
    r_out, r_in = 11.0 * scale, 7.0 * scale
    a = np.linspace(0, 2 * np.pi, segments + 1)
    ring = np.stack([np.cos(a), np.sin(a)], axis=1)
    outer, inner = centre + r_out * ring, centre + r_in * ring
    tris = []
    for i in range(segments):
        tris += [[outer[i], outer[i + 1], inner[i]], [inner[i], outer[i + 1], inner[i + 1]]]
    return np.array(tris)


def dot_2d(
    centre: np.ndarray, scale: float = 1.0, radius: float = 4.0, segments: int = 16
) -> np.ndarray:
    """(K, 3, 2): a filled dot: inside the ring of a tool that comes straight at the viewer,
    or, larger and dark, behind a ring so that it shows on any colour."""
    a = np.linspace(0, 2 * np.pi, segments + 1)
    rim = centre + radius * scale * np.stack([np.cos(a), np.sin(a)], axis=1)
    return np.array([[centre, rim[i], rim[i + 1]] for i in range(segments)])


def leave_box(at: np.ndarray, toward: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Where the screen ray from `at` along `toward` leaves the box lo-hi (the part's outline
    on screen): an arrow's tip, so that the arrow lies beside the part, not over it."""
    at, u = np.asarray(at, dtype=np.float64), np.asarray(toward, dtype=np.float64)
    u = u / max(float(np.hypot(*u)), 1e-12)
    steps = [
        (hi[i] - at[i]) / u[i] if u[i] > 1e-9 else (lo[i] - at[i]) / u[i]
        for i in range(2)
        if abs(u[i]) > 1e-9
    ]
    return at + u * max(min(steps), 0.0)
