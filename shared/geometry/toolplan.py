"""The tool-aware setup plan: which sides, with which tools, and what no tool can cut.

A machined point is reached from side d by tool T when T, coming along d, touches it with
neither its cutter, its shank up to `reach`, nor its holder cutting into the part
(heightmap.py), and a ray from it along d leaves the part. The plan is setups.py's rule on
these reach sets: the fewest sides that reach all the area some tool reaches, with its tie
rules. Each setup lists its tools, largest first, each with the share of the machined area it
adds. Design findings name what no tool reaches, and thin walls:

- `undercut`: no axis direction reaches the point even with a zero-radius tool;
- `too_deep`: a tool fits but none reaches (its reach or holder stops it);
- `sharp_internal_corner`: a tool gets down beside the point but cannot turn into it;
- `too_narrow`: no tool of the library fits;
- `thin_wall`: the material behind an axis-facing face is thinner than `min_wall`.

All lengths are in mm (the caller scales a part in inches); `units` only says what the
part's own numbers were.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import classes
from . import axisrays, heightmap, setups, stl
from .tools import Tool

KINDS = ("undercut", "too_deep", "sharp_internal_corner", "too_narrow", "thin_wall")
MIN_SHARE = 0.005
"""A finding under this share of the machined area is within the noise of the grid and the
sampling: not reported."""
PLAN_TOLERANCE = 1e-3
"""Share of the reachable area a set of setups may leave: the grid's noise at corners."""
FACE_SHARE = 0.02
"""A face belongs to a finding when at least this share of its points do (a corner's strip
is a small part of a large wall)."""
MIN_WALL = 0.8
SAMPLES = 40_000
"""Points over the machined area: finer than the zero-radius analysis', so that a strip as
wide as the smallest tool's radius along a corner gets its share."""
MOST = 96
"""Subdivisions of one triangle's side, at most (a large face gets its share of the points)."""


@dataclass
class Finding:
    kind: str
    share: float
    message: str
    faces: list[int] = field(default_factory=list)

    def as_json(self) -> dict:
        share = round(self.share, 4)
        return {"kind": self.kind, "share": share, "message": self.message, "faces": self.faces}


@dataclass
class ToolAnalysis:
    """The tool-aware plan: `plan` is a setups.Analysis over tool reach (a corner a tool gets
    beside counts as reached from that side: it is a finding, not a reason for a setup);
    `tools[i]` the (tool name, share added) of setup i."""

    plan: setups.Analysis
    tools: list[list[tuple[str, float]]]
    unreached: float
    """Share no tool reaches from the plan's sides: the findings' area, less thin walls."""
    undercut: float
    """Share no axis direction reaches even with a zero-radius tool."""
    findings: list[Finding]
    units: str = "mm"
    detail: Reach | None = field(default=None, compare=False, repr=False)
    """Which tool reaches which point from which side: for another plan's tools and faces."""

    def tools_for(self, plan: tuple[str, ...]) -> list[list[tuple[str, float]]]:
        """Each setup's tools for `plan` (a learned one, say), largest first, each with the
        share of the machined area it adds."""
        return self.detail.tools_for(plan) if self.detail else [[] for _ in plan]

    def faces_for(self, plan: tuple[str, ...]) -> np.ndarray:
        """(N triangles,) int: the index in `plan` of the setup whose tools mill most of each
        triangle (each point by the first setup whose tools reach it), setups.STOCK_FACE, or
        setups.UNDERCUT_FACE where most of it is reached by none: what Blender colours."""
        if self.detail is None:
            raise ValueError("an analysis read from JSON has no faces")
        return self.detail.faces_for(plan)

    def as_json(self) -> dict:
        out = self.plan.as_json()
        for setup, tools in zip(out["setups"], self.tools, strict=True):
            setup["tools"] = [{"name": n, "share": round(s, 4)} for n, s in tools]
        out["undercut"] = round(self.undercut, 4)
        out["unreached"] = round(self.unreached, 4)
        out["findings"] = [f.as_json() for f in self.findings]
        out["units"], out["lengths"] = self.units, "mm"
        return out


def analyse(
    triangles: np.ndarray,
    tools: tuple[Tool, ...],
    stock: setups.Stock | None = None,
    caster: setups.Caster | None = None,
    min_wall: float = MIN_WALL,
    count: int = SAMPLES,
    findings: bool = True,
) -> ToolAnalysis:
    """The tool-aware plan of a part (triangles in mm, the caster built on them); without
    `findings`, the plan and its tools alone (a third faster: the learned models' features)."""
    triangles = np.asarray(triangles, dtype=np.float64)
    caster = caster or axisrays.Caster(triangles)
    machined = setups.machined_samples(triangles, stock or setups.Stock(), count, MOST)
    if machined is None:
        return ToolAnalysis(setups.nothing_to_machine(triangles), [], 0.0, 0.0, [])
    points, owners, weights, total = machined
    ray = setups.reachable(triangles, points, owners, caster)
    sides = Sides(triangles, tools)
    reach = np.zeros((len(points), len(setups.TIE_ORDER), len(tools)), dtype=bool)
    for k in range(len(setups.TIE_ORDER)):
        left = np.flatnonzero(ray[:, k])
        for t in _order(tools):  # largest first: a point one tool reaches needs no smaller one
            if not len(left):
                break
            found = sides[k].reached(points[left], tools[t])
            reach[left[found], k, t] = True
            left = left[~found]
    anyreach = reach.any(axis=2)
    # a corner the tools get down beside but cannot turn into is a finding, not a new setup
    cover = anyreach.copy()
    for k in range(len(setups.TIE_ORDER)):
        pending = np.flatnonzero(ray[:, k] & ~anyreach[:, k])
        for t in _order(tools):
            if not len(pending):
                break
            found = sides[k].near(points[pending], tools[t])
            cover[pending[found], k] = True
            pending = pending[~found]
    area = float(setups.face_areas(triangles).sum())
    plan = setups.from_masks(setups.mask_shares(cover, weights), total, area, PLAN_TOLERANCE)
    used = [setups.TIE_ORDER.index(d) for d in plan.directions]
    missed = ~anyreach[:, used].any(axis=1)
    found = []
    if findings:
        walls = caster_for_walls(caster, triangles)
        look = _Findings(triangles, tools, sides, points, owners, weights, ray, missed, walls)
        found = look.unreached() + look.thin_walls(min_wall)
    detail = Reach(reach, weights, owners, tools, len(triangles))
    unreached, undercut = float(weights[missed].sum()), float(weights[~ray.any(axis=1)].sum())
    tools_used = detail.tools_for(plan.directions)
    return ToolAnalysis(plan, tools_used, unreached, undercut, found, detail=detail)


@dataclass
class Reach:
    """reach[point, side, tool]: the tool touches the point from that side (TIE_ORDER)."""

    reach: np.ndarray
    weights: np.ndarray
    owners: np.ndarray
    tools: tuple[Tool, ...]
    triangles: int

    def tools_for(self, plan: tuple[str, ...]) -> list[list[tuple[str, float]]]:
        out, done = [], np.zeros(len(self.weights), dtype=bool)
        for direction in plan:
            k = setups.TIE_ORDER.index(direction)
            listed = []
            for t in _order(self.tools):
                adds = self.reach[:, k, t] & ~done
                share = float(self.weights[adds].sum())
                if share > setups.TOLERANCE:
                    listed.append((self.tools[t].name, share))
                done |= adds
            out.append(listed)
        return out

    def faces_for(self, plan: tuple[str, ...]) -> np.ndarray:
        by_setup = self.reach.any(axis=2)[:, [setups.TIE_ORDER.index(d) for d in plan]]
        return setups.vote_faces(self.triangles, self.owners, by_setup)


def caster_for_walls(caster, triangles) -> axisrays.Caster:
    """A caster that measures distances (the numpy one: Embree's answers only escape)."""
    return caster if hasattr(caster, "distances") else axisrays.Caster(triangles)


class Sides:
    """The six SideMaps of a part on one grid, each made when first asked for."""

    def __init__(self, triangles: np.ndarray, tools: tuple[Tool, ...]):
        self.triangles = triangles
        self.margin = max(t.radius for t in tools) + 1.0
        self.cell = heightmap.base_cell(triangles, tools, self.margin)
        self.made: dict[int, heightmap.SideMap] = {}

    def __getitem__(self, k: int) -> heightmap.SideMap:
        if k not in self.made:
            d = classes.AXES[setups.TIE_ORDER[k]]
            axis = int(np.argmax(np.abs(d)))
            sign = float(np.sign(d[axis]))
            self.made[k] = heightmap.SideMap(self.triangles, axis, sign, self.cell, self.margin)
        return self.made[k]


def _order(tools: tuple[Tool, ...]) -> list[int]:
    """Largest first; at one diameter flat, bull, then ball."""
    rank = {"flat": 0, "bull": 1, "ball": 2}
    return sorted(range(len(tools)), key=lambda t: (-tools[t].diameter, rank[tools[t].kind]))


class _Findings:
    def __init__(self, triangles, tools, sides, points, owners, weights, ray, missed, walls):
        self.triangles, self.tools, self.sides = triangles, tools, sides
        self.points, self.owners, self.weights = points, owners, weights
        self.ray, self.missed = ray, missed
        self.walls = walls
        """The caster that measures across gaps and through walls (it has `distances`)."""

    def unreached(self) -> list[Finding]:
        seen = self.ray.any(axis=1)
        kind = np.full(len(self.points), "", dtype=object)
        kind[self.missed & ~seen] = "undercut"
        todo = self.missed & seen
        fits, near = self._fits_and_near(todo)
        kind[todo & fits] = "too_deep"
        kind[todo & ~fits & near] = "sharp_internal_corner"
        kind[todo & ~fits & ~near] = "too_narrow"
        out = []
        for name in KINDS[:4]:
            chosen = kind == name
            share = float(self.weights[chosen].sum())
            if share >= MIN_SHARE:
                out.append(Finding(name, share, self._message(name, chosen), self._faces(chosen)))
        return out

    def _fits_and_near(self, todo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """fits: some tool reaches the point were its reach unlimited; near: the smallest tool
        (its reach unlimited) gets down to the point's height beside it (SideMap.near)."""
        fits = np.zeros(len(self.points), dtype=bool)
        near = np.zeros(len(self.points), dtype=bool)
        self.fitting = np.full(len(self.points), -1)  # the largest tool that fits each point
        order = _order(self.tools)
        for k in range(len(setups.TIE_ORDER)):
            idx = np.flatnonzero(todo & self.ray[:, k])
            if not len(idx):
                continue
            side = self.sides[k]
            for t in order:
                left = idx[~fits[idx]]
                if len(left):
                    found = side.reached(self.points[left], self.tools[t], holder=False)
                    fits[left[found]] = True
                    self.fitting[left[found]] = t
            near[idx] |= side.near(self.points[idx], self.tools[order[-1]], holder=False)
        return fits, near

    def _message(self, kind: str, chosen: np.ndarray) -> str:
        smallest = min(self.tools, key=lambda t: t.diameter)
        share = f"{100 * float(self.weights[chosen].sum()):.1f} % of the machined area"
        if kind == "undercut":
            return f"undercut: no axis direction reaches {share}"
        if kind == "too_deep":
            fits = int(np.bincount(self.fitting[chosen & (self.fitting >= 0)]).argmax())
            return (
                f"too deep: {self._depth(chosen):.1f} mm below the top of its side; the tools "
                f"that fit there (up to {self.tools[fits].name}) reach "
                f"{self.tools[fits].reach:g} mm; {share}"
            )
        if kind == "sharp_internal_corner":
            return (
                f"sharp internal corner: a radius under {smallest.radius:g} mm (the smallest "
                f"tool, {smallest.name}) is left in it; {share}"
            )
        gap = self._gap(chosen)
        width = f"{gap:.2f} mm wide" if gap is not None else "narrower than any tool"
        return f"too narrow: {width}: the smallest tool is {smallest.diameter:g} mm; {share}"

    def _depth(self, chosen: np.ndarray) -> float:
        depths = []
        for k in range(len(setups.TIE_ORDER)):
            idx = np.flatnonzero(chosen & self.ray[:, k])
            if len(idx):
                side = self.sides[k]
                top = float(side.heights(self.triangles.reshape(-1, 3)).max())
                depths.append(float(np.median(top - side.heights(self.points[idx]))))
        return min(depths) if depths else 0.0

    def _gap(self, chosen: np.ndarray) -> float | None:
        """The median width across the chosen points' walls (axis-facing faces only)."""
        gaps = self._across(chosen, outward=True)
        gaps = gaps[np.isfinite(gaps)]
        return float(np.median(gaps)) if len(gaps) else None

    def _across(self, chosen: np.ndarray, outward: bool) -> np.ndarray:
        """For the chosen points on axis-facing faces: how far it is along the face's normal
        (outward: across the gap in front; else through the material behind) to the next
        surface; inf where nothing is met. Other points are left out."""
        normals = stl.face_normals(self.triangles)[self.owners]
        idx = np.flatnonzero(chosen & (np.abs(normals).max(axis=1) > 0.999))
        out = np.full(len(idx), np.inf)
        if not len(idx):
            return out
        n = np.round(normals[idx]) * (1 if outward else -1)
        points = self.triangles.reshape(-1, 3)
        offset = setups.OFFSET * float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
        for d in np.unique(n, axis=0):
            rows = (n == d).all(axis=1)
            origins = self.points[idx[rows]] + offset * d
            out[rows] = self.walls.distances(origins, d) + offset
        return out

    def thin_walls(self, min_wall: float) -> list[Finding]:
        normals = stl.face_normals(self.triangles)[self.owners]
        axis = np.abs(normals).max(axis=1) > 0.999
        thickness = np.full(len(self.points), np.inf)
        thickness[axis] = self._across(axis, outward=False)
        chosen = thickness < min_wall
        share = float(self.weights[chosen].sum())
        if share < MIN_SHARE:
            return []
        message = (
            f"thin wall: {float(np.min(thickness[chosen])):.2f} mm thick, under the "
            f"{min_wall:g} mm minimum; {100 * share:.1f} % of the machined area"
        )
        return [Finding("thin_wall", share, message, self._faces(chosen))]

    def _faces(self, chosen: np.ndarray) -> list[int]:
        total = np.bincount(self.owners, minlength=len(self.triangles))
        hits = np.bincount(self.owners[chosen], minlength=len(self.triangles))
        faces = np.flatnonzero((hits > 0) & (hits >= FACE_SHARE * total))
        return [int(f) for f in faces]
