"""Stock and machining features as manifold3d solids, in the canonical frame of a part: clamped
on z = 0, the tool coming from +Z. Every feature is *upward closed* (a 2D outline swept from its
floor to above the part, or the half-space above a chamfer plane), so a cut also removes
everything above what it removes and never makes an undercut."""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from dataclasses import dataclass

import manifold3d as m3
import numpy as np

FAMILIES = ("plate", "block", "disc", "ring", "l_section", "t_section", "stepped_block")
"""Part families, by their stock."""
BLIND = (
    "blind_hole",
    "counterbore",
    "hole_pattern",
    "closed_pocket",
    "round_pocket",
    "obround_pocket",
    "boss",
    "ribs",
)
"""Features whose floor faces the tool inside the part: every part has at least one."""
OPEN = ("open_pocket", "slot", "step", "through_hole")
"""Features that may add to a part but never make one on their own (a through-hole looks the
same from both sides; the others are open to a side)."""
EDGES = ("chamfer", "fillet")
"""Edge treatments of a plate's or block's top edges (faces up and out)."""
CHORD = contextvars.ContextVar("chord", default=2.0)
"""Chord length (mm) of the facets that approximate circles: the part's tessellation density."""
ABOVE = 1000.0
"""Cuts reach this far above the part (mm): far enough to be 'to infinity' for any stock."""


@dataclass(frozen=True)
class Face:
    """An up-facing rectangle of the stock at height z, where features may be cut."""

    x0: float
    x1: float
    y0: float
    y1: float
    z: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def depth(self) -> float:
        return self.y1 - self.y0


# -- stock --------------------------------------------------------------------------------------


def _box(x0, x1, y0, y1, z0, z1) -> m3.Manifold:
    return m3.Manifold.cube([x1 - x0, y1 - y0, z1 - z0]).translate([x0, y0, z0])


def stock(rng: np.random.Generator, family: str) -> tuple[m3.Manifold, list[Face], tuple]:
    """A stock shape, its feature faces and its size (W, D, H) in mm."""
    if family == "plate":
        w, d = rng.uniform(40, 300, size=2)
        h = rng.uniform(5, max(6.0, 0.2 * min(w, d)))
        return _box(0, w, 0, d, 0, h), [Face(0, w, 0, d, h)], (w, d, h)
    if family in ("disc", "ring"):
        r = rng.uniform(10, 150)
        h = max(5.0, rng.uniform(0.15, 0.8) * r)
        disc = m3.Manifold.cylinder(h, r, circular_segments=_segments(r)).translate([r, r, 0])
        if family == "disc":
            inset = r * (1 - math.sqrt(0.5))
            return disc, [Face(inset, 2 * r - inset, inset, 2 * r - inset, h)], (2 * r, 2 * r, h)
        bore = r * rng.uniform(0.3, 0.6)  # through: it does not decide the label
        disc -= m3.Manifold.cylinder(3 * h, bore, circular_segments=_segments(bore)).translate(
            [r, r, -h]
        )
        return disc, _ring_faces(r, bore, h), (2 * r, 2 * r, h)
    w, d = rng.uniform(15, 150, size=2)
    h = rng.uniform(0.4, 1.2) * min(w, d)
    block = _box(0, w, 0, d, 0, h)
    if family == "block":
        return block, [Face(0, w, 0, d, h)], (w, d, h)
    if family == "l_section":
        a, b = rng.uniform(0.3, 0.7, size=2)
        cut = _box(-1, w + 1, a * d, d + 1, b * h, ABOVE)
        return block - cut, [Face(0, w, 0, a * d, h), Face(0, w, a * d, d, b * h)], (w, d, h)
    if family == "t_section":  # an inverted T: a web standing on a wider flange
        y0, y1 = np.sort(rng.uniform(0.2, 0.8, size=2)) * d
        y1 = max(y1, y0 + 0.2 * d)
        b = rng.uniform(0.25, 0.6) * h
        block -= _box(-1, w + 1, -1, y0, b, ABOVE) + _box(-1, w + 1, y1, d + 1, b, ABOVE)
        faces = [Face(0, w, 0, y0, b), Face(0, w, y0, y1, h), Face(0, w, y1, d, b)]
        return block, faces, (w, d, h)
    if family == "stepped_block":
        steps = int(rng.integers(2, 4))
        xs = np.sort(rng.uniform(0.25, 0.85, size=steps)) * w
        zs = np.sort(rng.uniform(0.3, 0.85, size=steps))[::-1] * h
        faces, x_prev, z_prev = [], 0.0, h
        for x, z in zip(xs, zs, strict=True):
            block -= _box(x, w + 1, -1, d + 1, z, ABOVE)
            faces.append(Face(x_prev, x, 0, d, z_prev))
            x_prev, z_prev = x, z
        faces.append(Face(x_prev, w, 0, d, z_prev))
        return block, faces, (w, d, h)
    raise ValueError(f"unknown family {family!r}")


def _ring_faces(r: float, bore: float, h: float) -> list[Face]:
    """Four rectangles of the ring's annulus, one on each side of the bore."""
    half = 0.25 * (r - bore)
    near, far = bore + 0.1 * (r - bore), math.sqrt(r**2 - half**2) - 0.05 * (r - bore)
    return [
        Face(r + near, r + far, r - half, r + half, h),
        Face(r - far, r - near, r - half, r + half, h),
        Face(r - half, r + half, r + near, r + far, h),
        Face(r - half, r + half, r - far, r - near, h),
    ]


def _segments(radius: float) -> int:
    """Facets for a circle: chords of about CHORD mm, between 12 and 128."""
    return int(np.clip(2 * math.pi * radius / CHORD.get(), 12, 128))


# -- features (each returns an upward-closed solid to subtract) ---------------------------------


def _prism(section: m3.CrossSection, floor: float) -> m3.Manifold:
    return m3.Manifold.extrude(section, ABOVE - floor).translate([0, 0, floor])


def _floor(rng: np.random.Generator, face: Face, lo=0.15, hi=0.7) -> float:
    """A floor height below the face, leaving at least 30% of the face's height as material."""
    return face.z * (1 - rng.uniform(lo, hi))


def _rect(x0, x1, y0, y1, radius: float = 0.0) -> m3.CrossSection:
    rect = m3.CrossSection.square([x1 - x0, y1 - y0]).translate([x0, y0])
    if radius > 0:
        rect = rect.offset(-radius, m3.JoinType.Miter).offset(
            radius, m3.JoinType.Round, circular_segments=_segments(radius)
        )
    return rect


def _circle(x: float, y: float, r: float) -> m3.CrossSection:
    return m3.CrossSection.circle(r, _segments(r)).translate([x, y])


def _spot(rng, face: Face, margin: float) -> tuple[float, float]:
    return (
        rng.uniform(face.x0 + margin, face.x1 - margin),
        rng.uniform(face.y0 + margin, face.y1 - margin),
    )


def _blind_hole(rng, face: Face) -> m3.Manifold:
    r = rng.uniform(0.04, 0.18) * min(face.width, face.depth)
    return _prism(_circle(*_spot(rng, face, 1.5 * r), r), _floor(rng, face))


def _counterbore(rng, face: Face) -> m3.Manifold:
    r = rng.uniform(0.03, 0.1) * min(face.width, face.depth)
    big = r * rng.uniform(1.5, 2.0)
    x, y = _spot(rng, face, 1.5 * big)
    deep = _floor(rng, face, 0.4, 0.7)
    shallow = face.z - (face.z - deep) * rng.uniform(0.2, 0.45)
    return _prism(_circle(x, y, r), deep) + _prism(_circle(x, y, big), shallow)


def _hole_pattern(rng, face: Face) -> m3.Manifold:
    nx, ny = (int(n) for n in rng.integers(2, 5, size=2))
    pitch = min(face.width / (nx + 1), face.depth / (ny + 1))
    r = pitch * rng.uniform(0.15, 0.35)
    floor = _floor(rng, face)
    x0 = face.x0 + (face.width - pitch * (nx - 1)) / 2
    y0 = face.y0 + (face.depth - pitch * (ny - 1)) / 2
    holes = [_circle(x0 + i * pitch, y0 + j * pitch, r) for i in range(nx) for j in range(ny)]
    return _prism(m3.CrossSection.batch_boolean(holes, m3.OpType.Add), floor)


def _pocket_outline(rng, face: Face) -> tuple[float, float, float, float]:
    w = face.width * rng.uniform(0.3, 0.75)
    d = face.depth * rng.uniform(0.3, 0.75)
    x0 = rng.uniform(face.x0 + 0.1 * face.width, face.x1 - 0.1 * face.width - w)
    y0 = rng.uniform(face.y0 + 0.1 * face.depth, face.y1 - 0.1 * face.depth - d)
    return x0, x0 + w, y0, y0 + d


def _closed_pocket(rng, face: Face) -> m3.Manifold:
    x0, x1, y0, y1 = _pocket_outline(rng, face)
    radius = rng.uniform(0, 0.3) * min(x1 - x0, y1 - y0)
    return _prism(_rect(x0, x1, y0, y1, radius), _floor(rng, face))


def _boss(rng, face: Face) -> m3.Manifold:
    """A pocket around an island left standing: the island is the boss."""
    x0, x1, y0, y1 = _pocket_outline(rng, face)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    half = min(x1 - x0, y1 - y0) * rng.uniform(0.15, 0.35)
    if rng.random() < 0.5:
        island = _circle(cx, cy, half)
    else:
        island = _rect(cx - half, cx + half, cy - half, cy + half)
    return _prism(_rect(x0, x1, y0, y1) - island, _floor(rng, face))


def _round_pocket(rng, face: Face) -> m3.Manifold:
    r = rng.uniform(0.12, 0.35) * min(face.width, face.depth)
    return _prism(_circle(*_spot(rng, face, 1.2 * r), r), _floor(rng, face))


def _obround_pocket(rng, face: Face) -> m3.Manifold:
    """A pocket with full-radius ends (a milled slot that does not reach an edge)."""
    x0, x1, y0, y1 = _pocket_outline(rng, face)
    return _prism(_rect(x0, x1, y0, y1, 0.499 * min(x1 - x0, y1 - y0)), _floor(rng, face))


def _ribs(rng, face: Face) -> m3.Manifold:
    """A pocket with thin ribs left standing across it, at the face's full height."""
    x0, x1, y0, y1 = _pocket_outline(rng, face)
    count = int(rng.integers(1, 4))
    along_x = rng.random() < 0.5
    span = (x1 - x0) if along_x else (y1 - y0)
    thick = span * rng.uniform(0.04, 0.1)
    pocket = _rect(x0, x1, y0, y1)
    for k in range(1, count + 1):
        at = (x0 if along_x else y0) + k * span / (count + 1) - thick / 2
        rib = (
            _rect(at, at + thick, y0 - 1, y1 + 1)
            if along_x
            else _rect(x0 - 1, x1 + 1, at, at + thick)
        )
        pocket -= rib
    return _prism(pocket, _floor(rng, face))


def _open_pocket(rng, face: Face) -> m3.Manifold:
    x0, x1, y0, y1 = _pocket_outline(rng, face)
    side = int(rng.integers(4))
    if side == 0:
        x0 = face.x0 - 1
    elif side == 1:
        x1 = face.x1 + 1
    elif side == 2:
        y0 = face.y0 - 1
    else:
        y1 = face.y1 + 1
    return _prism(_rect(x0, x1, y0, y1), _floor(rng, face))


def _slot(rng, face: Face) -> m3.Manifold:
    floor = _floor(rng, face, 0.1, 0.5)
    if rng.random() < 0.5:
        width = face.depth * rng.uniform(0.08, 0.3)
        y = rng.uniform(face.y0 + width, face.y1 - 2 * width)
        return _prism(_rect(face.x0 - 1, face.x1 + 1, y, y + width), floor)
    width = face.width * rng.uniform(0.08, 0.3)
    x = rng.uniform(face.x0 + width, face.x1 - 2 * width)
    return _prism(_rect(x, x + width, face.y0 - 1, face.y1 + 1), floor)


def _step(rng, face: Face) -> m3.Manifold:
    """A shoulder: material removed along one edge of the face, down to a floor."""
    floor = _floor(rng, face)
    side = int(rng.integers(4))
    s = rng.uniform(0.1, 0.35)
    x0, x1, y0, y1 = face.x0 - 1, face.x1 + 1, face.y0 - 1, face.y1 + 1
    if side == 0:
        x1 = face.x0 + s * face.width
    elif side == 1:
        x0 = face.x1 - s * face.width
    elif side == 2:
        y1 = face.y0 + s * face.depth
    else:
        y0 = face.y1 - s * face.depth
    return _prism(_rect(x0, x1, y0, y1), floor)


def _through_hole(rng, face: Face) -> m3.Manifold:
    r = rng.uniform(0.03, 0.12) * min(face.width, face.depth)
    return _prism(_circle(*_spot(rng, face, 1.5 * r), r), -1.0)


FEATURES: dict[str, Callable[[np.random.Generator, Face], m3.Manifold]] = {
    "blind_hole": _blind_hole,
    "counterbore": _counterbore,
    "hole_pattern": _hole_pattern,
    "closed_pocket": _closed_pocket,
    "round_pocket": _round_pocket,
    "obround_pocket": _obround_pocket,
    "boss": _boss,
    "ribs": _ribs,
    "open_pocket": _open_pocket,
    "slot": _slot,
    "step": _step,
    "through_hole": _through_hole,
}


def fillet(rng, part: m3.Manifold, size: tuple) -> m3.Manifold:
    """Round one to four top edges of a plate or block with a faceted quarter circle."""
    w, d, h = size
    radius = rng.uniform(0.05, 0.25) * min(w, d, h)
    steps = max(2, _segments(radius) // 4)
    t = np.linspace(0, math.pi / 2, steps + 1)
    arc = np.stack([radius * (1 - np.cos(t)), h - radius + radius * np.sin(t)], axis=1)
    # The region above the faceted arc, in the (inward, z) plane of an edge: upward closed. The
    # first and last facets run on past the side and top faces, so that they cut them at an
    # angle (a tangent cut would leave sliver triangles).
    (u0, z0), (u1, z1) = arc[0], arc[1]
    start = (-1.0, z0 + (z1 - z0) * (-1.0 - u0) / (u1 - u0))
    (u0, z0), (u1, z1) = arc[-2], arc[-1]
    end = (u0 + (u1 - u0) * (h + 1.0 - z0) / (z1 - z0), h + 1.0)
    points = [start, *map(tuple, arc[1:-1]), end, (end[0], ABOVE), (-1.0, ABOVE)]
    profile = m3.CrossSection([points])
    length = max(w, d) + 2
    cut = m3.Manifold.extrude(profile, length).translate([0, 0, -1])
    along_x = cut.transform([[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])  # edge y = 0
    placed = {
        "y0": along_x,
        "y1": along_x.rotate([0, 0, 180]).translate([w, d, 0]),
        "x0": along_x.rotate([0, 0, -90]).translate([0, d, 0]),
        "x1": along_x.rotate([0, 0, 90]).translate([w, 0, 0]),
    }
    edges = rng.choice(list(placed), size=int(rng.integers(1, 5)), replace=False)
    return part - m3.Manifold.batch_boolean([placed[e] for e in edges], m3.OpType.Add)


def chamfer(rng, part: m3.Manifold, size: tuple) -> m3.Manifold:
    """Bevel one top edge of a plate or block at 45 degrees (faces up and out)."""
    w, d, h = size
    c = rng.uniform(0.05, 0.2) * min(w, d, h)
    axis, sign = int(rng.integers(2)), 1 if rng.random() < 0.5 else -1
    normal = [0.0, 0.0, 1.0]
    normal[axis] = float(sign)
    edge = ((w, d)[axis] if sign > 0 else 0.0) * sign
    offset = (edge + h - c) / math.sqrt(2)  # plane through the edge, c below and c inside it
    return part.trim_by_plane([-v for v in normal], -offset)
