"""From which sides must a part be milled? The geometric setup analysis, the project's reference.

- **Stock.** The part's bounding box, a round bar along an axis, or a stock mesh; triangles
  that lie on the stock's surface (and face out of it) need no cut. The rest is the *machined
  area*.
- **Reachability.** A point on a machined face is reachable from an axis direction d when its
  face does not look away from d (walls count) and a ray from just off the surface along d
  leaves the part. Points are spread evenly over each triangle, weighted by area.
- **The answer.** The smallest sets of directions that reach the machined area (all of it but
  TOLERANCE, the noise of sampling), every such set listed as an alternative. The tie rule: the
  set that leaves the least area unreached, then the one whose primary setup reaches the most,
  then by the order of TIE_ORDER (+Z first). Within the set, setups are ordered greedily:
  the primary reaches the most area, each next one the most of what is left; each setup's
  share is the area it adds. The undercut share is the area that no direction reaches.

Rays are cast by a `Caster` (origins, direction) -> escaped: Embree on the command line, the
numpy one in axisrays.py anywhere else.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .. import classes
from . import axisrays, rotations, stl

TIE_ORDER = ("+Z", "-Z", "+X", "-X", "+Y", "-Y")
"""Every axis direction a tool can come from, in the tie order."""
TOLERANCE = 1e-4
"""Share of the machined area a set of setups may leave unreached: sampling noise, not a face."""
FACING = 1e-4
"""A face looks away from d when n . d is below -FACING (tessellated walls are not exact)."""
OFFSET = 1e-4
"""Rays start this far off the surface, as a share of the part's bounding-box diagonal."""
SAMPLES = 20_000
"""About how many points the analysis spreads over the part."""

Caster = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""(origins (N, 3), direction (3,)) -> (N,) bool: the ray from each origin leaves the part."""


@dataclass(frozen=True)
class Stock:
    """What the part is cut from: `box` (its bounding box), `bar` (a round bar along `axis`,
    centred at `centre` with `radius`, or fitted to the part where those are None), or `mesh`
    (the stock's own triangles)."""

    kind: str = "box"
    axis: str = ""
    centre: tuple[float, float] | None = None
    radius: float | None = None
    triangles: np.ndarray | None = field(default=None, compare=False, repr=False)

    @classmethod
    def parse(cls, text: str) -> Stock:
        """`box`, `bar:AXIS` or `bar:AXIS:U,V,R` (AXIS x, y or z; U, V the centre in the two
        other axes, in order; R the radius)."""
        kind, _, rest = text.strip().lower().partition(":")
        if kind == "box" and not rest:
            return cls()
        axis, _, numbers = rest.partition(":")
        if kind != "bar" or axis not in ("x", "y", "z"):
            raise ValueError(f"stock {text!r}: expected box, bar:x|y|z or bar:AXIS:U,V,R")
        if not numbers:
            return cls("bar", axis)
        try:
            u, v, r = (float(n) for n in numbers.split(","))
        except ValueError:
            raise ValueError(f"stock {text!r}: expected bar:AXIS:U,V,R (three numbers)") from None
        return cls("bar", axis, (u, v), r)

    def spec(self) -> str:
        """The text `parse` reads back (a mesh stock has none: it is a file)."""
        if self.kind == "bar" and self.centre is not None:
            u, v = self.centre  # 9 digits: far inside on_stock's tolerance
            return f"bar:{self.axis}:{u:.9g},{v:.9g},{self.radius:.9g}"
        return f"bar:{self.axis}" if self.kind == "bar" else self.kind


@dataclass(frozen=True)
class Setup:
    direction: str
    share: float
    """Share of the machined area this setup adds to the ones before it."""


@dataclass
class Analysis:
    """The setup plan of one part (see the module docstring)."""

    setups: list[Setup]
    alternatives: list[tuple[str, ...]]
    """Every smallest set of directions that reaches the machined area; the chosen one first."""
    undercut: float
    """Share of the machined area that no axis direction reaches."""
    reach: dict[str, float]
    """Share of the machined area each direction reaches on its own."""
    machined_area: float
    area: float
    by_mask: np.ndarray | None = field(default=None, compare=False, repr=False)
    """Share of the machined area reached by exactly each set of directions (bit k: the k-th
    of TIE_ORDER); not in the JSON form."""

    def shares(self, plan: tuple[str, ...]) -> dict[str, float]:
        """The share of the machined area each setup of `plan` adds to the ones before it, in
        the plan's order (a learned plan's shares; empty without `by_mask`)."""
        if self.by_mask is None:
            return {}
        out, left = {}, set(range(1, 64))
        for d in plan:
            k = TIE_ORDER.index(d)
            out[d] = float(sum(self.by_mask[m] for m in left if m >> k & 1))
            left = {m for m in left if not m >> k & 1}
        return out

    @property
    def directions(self) -> tuple[str, ...]:
        return tuple(s.direction for s in self.setups)

    @property
    def primary(self) -> str | None:
        return self.setups[0].direction if self.setups else None

    def as_json(self) -> dict:
        return {
            "setups": [{"direction": s.direction, "share": round(s.share, 4)} for s in self.setups],
            "primary": self.primary,
            "alternatives": [list(a) for a in self.alternatives],
            "undercut": round(self.undercut, 4),
            "reach": {d: round(v, 4) for d, v in self.reach.items()},
            "machined_area": self.machined_area,
            "area": self.area,
        }


def from_json(data: dict) -> Analysis:
    """The Analysis that `Analysis.as_json` wrote (`setups --json`'s lines)."""
    return Analysis(
        [Setup(s["direction"], float(s["share"])) for s in data["setups"]],
        [tuple(a) for a in data["alternatives"]],
        float(data["undercut"]),
        {d: float(v) for d, v in data["reach"].items()},
        float(data["machined_area"]),
        float(data["area"]),
    )


def samples(
    triangles: np.ndarray, count: int = SAMPLES, most: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Points spread evenly over each triangle (the centres of an m x m subdivision, m by the
    triangle's share of the area, at most `most`) and the index of the triangle each lies on."""
    area = 0.5 * np.linalg.norm(stl.face_normals(triangles, normalize=False), axis=1)
    m = np.clip(np.sqrt(count * area / max(area.sum(), 1e-300)), 1, most).astype(int)
    points, owners = [], []
    for k in np.unique(m):
        idx = np.flatnonzero(m == k)
        i, j = np.meshgrid(np.arange(k), np.arange(k), indexing="ij")
        keep = i + j < k  # upward sub-triangles; their centres, then the downward ones'
        up = np.stack([i[keep] + 1 / 3, j[keep] + 1 / 3], axis=1)
        keep = i + j < k - 1
        down = np.stack([i[keep] + 2 / 3, j[keep] + 2 / 3], axis=1)
        bary = np.concatenate([up, down]) / k  # (k*k, 2): weights of vertices 1 and 2
        t = triangles[idx]
        p = (
            t[:, None, 0]
            + bary[None, :, :1] * (t[:, None, 1] - t[:, None, 0])
            + bary[None, :, 1:] * (t[:, None, 2] - t[:, None, 0])
        )
        points.append(p.reshape(-1, 3))
        owners.append(np.repeat(idx, len(bary)))
    return np.concatenate(points), np.concatenate(owners)


def on_stock(triangles: np.ndarray, stock: Stock) -> np.ndarray:
    """(N,) bool: the triangles that lie on the stock's surface, facing out of it."""
    normals = stl.face_normals(triangles)
    lo, hi = triangles.reshape(-1, 3).min(axis=0), triangles.reshape(-1, 3).max(axis=0)
    tol = 1e-5 * max(float(np.linalg.norm(hi - lo)), 1e-12)
    if stock.kind == "mesh":
        return _on_mesh(triangles, normals, np.asarray(stock.triangles, dtype=float), tol)
    axes = range(3) if stock.kind == "box" else ["xyz".index(stock.axis)]
    found = np.zeros(len(triangles), dtype=bool)
    for a in axes:
        for side, bound in ((1, hi[a]), (-1, lo[a])):
            flat = np.abs(triangles[:, :, a] - bound).max(axis=1) <= tol
            found |= flat & (normals[:, a] * side > 1 - 1e-6)
    if stock.kind == "bar":
        found |= _on_bar(triangles, normals, stock, "xyz".index(stock.axis), lo, hi)
    return found


def _on_bar(triangles, normals, stock: Stock, a: int, lo, hi) -> np.ndarray:
    u, v = [i for i in range(3) if i != a]
    if stock.centre is None:  # fitted: the bounding-box centre and the farthest vertex
        centre = np.array([(lo[u] + hi[u]) / 2, (lo[v] + hi[v]) / 2])
        radial = triangles[:, :, [u, v]] - centre
        radius = float(np.linalg.norm(radial, axis=2).max())
        tol = 0.02 * radius  # a faceted circle's box centre is off by up to its sagitta
    else:
        centre, radius = np.asarray(stock.centre, dtype=float), float(stock.radius)
        radial = triangles[:, :, [u, v]] - centre
        tol = 1e-5 * radius
    distance = np.linalg.norm(radial, axis=2)
    outward = radial.mean(axis=1)
    outward /= np.maximum(np.linalg.norm(outward, axis=1, keepdims=True), 1e-300)
    facing = (normals[:, [u, v]] * outward).sum(axis=1)
    return (
        (np.abs(distance - radius).max(axis=1) <= tol)
        & (facing > 0.9)
        & (np.abs(normals[:, a]) < 1e-3)
    )


def _on_mesh(triangles, normals, stock: np.ndarray, tol: float) -> np.ndarray:
    """Coplanar with a stock triangle, facing the same way, its centre inside that triangle."""
    sn = stl.face_normals(stock)
    found = np.zeros(len(triangles), dtype=bool)
    centres = triangles.mean(axis=1)
    for s, n in zip(stock, sn, strict=True):
        same = (normals @ n > 1 - 1e-6) & (np.abs((triangles - s[0]) @ n).max(axis=1) <= tol)
        if not same.any():
            continue
        idx = np.flatnonzero(same & ~found)
        found[idx[_inside(centres[idx], s, n, tol)]] = True
    return found


def _inside(points: np.ndarray, tri: np.ndarray, n: np.ndarray, tol: float) -> np.ndarray:
    edges = np.roll(tri, -1, axis=0) - tri
    rel = points[:, None, :] - tri[None, :, :]
    side = np.einsum("pkj,j->pk", np.cross(edges[None], rel), n)
    lengths = np.linalg.norm(edges, axis=1)
    return (side >= -tol * lengths).all(axis=1)


def reachable(
    triangles: np.ndarray, points: np.ndarray, owners: np.ndarray, caster: Caster
) -> np.ndarray:
    """(N points, 6 directions) bool: which directions reach each point."""
    normals = stl.face_normals(triangles)[owners]
    lo, hi = triangles.reshape(-1, 3).min(axis=0), triangles.reshape(-1, 3).max(axis=0)
    origins = points + OFFSET * float(np.linalg.norm(hi - lo)) * normals
    reach = np.zeros((len(points), len(TIE_ORDER)), dtype=bool)
    for k, name in enumerate(TIE_ORDER):
        d = np.array(classes.AXES[name], dtype=float)
        facing = np.flatnonzero(normals @ d >= -FACING)
        if len(facing):
            reach[facing, k] = caster(origins[facing], d)
    return reach


def analyse(
    triangles: np.ndarray,
    stock: Stock | None = None,
    caster: Caster | None = None,
    count: int = SAMPLES,
) -> Analysis:
    """The setup plan of a part (triangles (N, 3, 3) in its own frame)."""
    triangles = np.asarray(triangles, dtype=np.float64)
    machined = machined_samples(triangles, stock or Stock(), count)
    if machined is None:
        return nothing_to_machine(triangles)
    points, owners, weights, total = machined
    reach = reachable(triangles, points, owners, caster or axisrays.Caster(triangles))
    return from_masks(mask_shares(reach, weights), total, float(face_areas(triangles).sum()))


def face_areas(triangles: np.ndarray) -> np.ndarray:
    return 0.5 * np.linalg.norm(stl.face_normals(triangles, normalize=False), axis=1)


def nothing_to_machine(triangles: np.ndarray) -> Analysis:
    return Analysis(
        [], [()], 0.0, dict.fromkeys(TIE_ORDER, 0.0), 0.0, float(face_areas(triangles).sum())
    )


def machined_samples(
    triangles: np.ndarray, stock: Stock, count: int = SAMPLES, most: int = 12
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float] | None:
    """Points spread over the machined area: (points, the triangle of each, each one's share
    of the machined area, the machined area); None when every face lies on the stock."""
    area = face_areas(triangles)
    machined = ~on_stock(triangles, stock)
    total = float(area[machined].sum())
    if total <= 1e-12 * max(float(area.sum()), 1e-300):
        return None
    points, owners = samples(triangles[machined], count, most)
    owners = np.flatnonzero(machined)[owners]
    weights = area[owners] / np.bincount(owners, minlength=len(triangles))[owners]
    return points, owners, weights / weights.sum(), total


def mask_shares(reach: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(64,) the share of the machined area reached by exactly each set of directions."""
    bits = reach @ (1 << np.arange(len(TIE_ORDER)))
    return np.bincount(bits, weights=weights, minlength=64)


def from_masks(
    by_mask: np.ndarray, machined_area: float, area: float, tolerance: float = TOLERANCE
) -> Analysis:
    """The Analysis of the area shares of each reach mask (see `Analysis.by_mask`); a set of
    directions that leaves at most `tolerance` of the reachable area counts as reaching it."""
    chosen, alternatives = _smallest_sets(by_mask, tolerance)
    plan, left = [], set(range(1, 64))
    for _ in chosen:
        gains = {d: sum(by_mask[m] for m in left if m >> TIE_ORDER.index(d) & 1) for d in chosen}
        best = max(
            (d for d in chosen if d not in {s.direction for s in plan}),
            key=lambda d: (gains[d], -TIE_ORDER.index(d)),
        )
        plan.append(Setup(best, float(gains[best])))
        left = {m for m in left if not m >> TIE_ORDER.index(best) & 1}
    masks = np.arange(64)
    alone = {d: float(by_mask[masks >> k & 1 == 1].sum()) for k, d in enumerate(TIE_ORDER)}
    undercut = float(by_mask[0])
    return Analysis(plan, alternatives, undercut, alone, machined_area, area, by_mask)


def turn(analysis: Analysis, rotation: np.ndarray, tolerance: float = TOLERANCE) -> Analysis:
    """The analysis of the part turned by a cube rotation (its reach masks' bits permuted),
    without casting a ray again (`tolerance`: the one it was made with, see `from_masks`)."""
    if analysis.by_mask is None:  # nothing to machine (or read from JSON): nothing to turn
        return analysis
    to = [TIE_ORDER.index(rotations.rotate_label(d, rotation)) for d in TIE_ORDER]
    moved = np.zeros(64)
    for m in range(64):
        moved[sum(1 << to[k] for k in range(len(TIE_ORDER)) if m >> k & 1)] += analysis.by_mask[m]
    return from_masks(moved, analysis.machined_area, analysis.area, tolerance)


STOCK_FACE, UNDERCUT_FACE = -1, -2
"""`face_setups` of a face on the stock (no cut), and of one no setup of the plan reaches."""


def face_setups(
    triangles: np.ndarray,
    plan: tuple[str, ...],
    stock: Stock | None = None,
    caster: Caster | None = None,
    count: int = SAMPLES,
) -> np.ndarray:
    """(N,) int: for each triangle, the index in `plan` of the setup that mills most of it
    (each point by the first setup of the plan that reaches it), STOCK_FACE or UNDERCUT_FACE.
    What the overlay in Blender colours."""
    triangles = np.asarray(triangles, dtype=np.float64)
    machined = ~on_stock(triangles, stock or Stock())
    if not machined.any():
        return np.full(len(triangles), STOCK_FACE)
    points, owners = samples(triangles[machined], count)
    owners = np.flatnonzero(machined)[owners]
    reach = reachable(triangles, points, owners, caster or axisrays.Caster(triangles))
    return vote_faces(len(triangles), owners, reach[:, [TIE_ORDER.index(d) for d in plan]])


def vote_faces(count: int, owners: np.ndarray, by_setup: np.ndarray) -> np.ndarray:
    """(count,) int: each triangle's setup by its points' vote, each point going to the first
    setup (column of `by_setup`, points x setups) that reaches it; UNDERCUT_FACE where most
    points are reached by none; STOCK_FACE for a triangle without points."""
    n = by_setup.shape[1]
    by = np.concatenate([by_setup, np.ones((len(owners), 1), dtype=bool)], axis=1)
    first = np.argmax(by, axis=1)  # n: no setup reaches the point
    votes = np.bincount(owners * (n + 1) + first, minlength=count * (n + 1)).reshape(count, n + 1)
    winner = votes.argmax(axis=1)
    out = np.full(count, STOCK_FACE)
    sampled = votes.sum(axis=1) > 0
    out[sampled] = np.where(winner[sampled] == n, UNDERCUT_FACE, winner[sampled])
    return out


def _smallest_sets(
    by_mask: np.ndarray, tolerance: float = TOLERANCE
) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """The chosen smallest set of directions and every alternative of its size (tie rule in
    the module docstring)."""
    for size in range(1, len(TIE_ORDER) + 1):
        found = []
        for combo in itertools.combinations(range(len(TIE_ORDER)), size):
            bits = sum(1 << k for k in combo)
            missed = float(sum(by_mask[m] for m in range(1, 64) if not m & bits))
            if missed <= tolerance:
                best = max(float(sum(by_mask[m] for m in range(64) if m >> k & 1)) for k in combo)
                found.append((round(missed, 3), -round(best, 3), combo))
        if found:
            found.sort()
            sets = [tuple(TIE_ORDER[k] for k in combo) for _, _, combo in found]
            return sets[0], sets
    return (), [()]  # nothing reachable at all: every machined point is undercut
