"""Where a real cutter reaches, from one axis direction: a height map and grey morphology.

Seen from side d, the part is a height map H (the highest surface along d over each cell of a
grid across d; empty cells lie far below). A tool above cell c can go down to its tip height

    tip(c) = max( max over |q - c| <= r of H(q) - drop(|q - c|),     the cutter and its shank
                  max over |q - c| <= R of H(q) - reach )             the holder above `reach`

and the lowest its surface comes over a cell q is the opening E(q) = min over tool positions c
within r of q of tip(c) + drop(|q - c|). A surface point at height s over q is reached when E(q)
<= s: its top faces by the cutter's bottom, its walls by its side (E is taken one cell wider
than r, so a wall's point, which lies between two cells, is seen from its open side).

A round cutter (ball, bull) is a stack of flat rings, each at the drop of its middle.
"""

from __future__ import annotations

import math

import numpy as np

from . import stl
from .tools import Tool

MAX_CELLS = 256
"""Cells across the grid's longest side, at most."""
CELLS_PER_RADIUS = 8
"""The finest grid puts the smallest tool's radius across this many cells (if MAX_CELLS allow)."""
HOLDER_CELLS = 24
"""A holder's radius spans at most this many cells of the grid it is filtered on."""


class SideMap:
    """The height map of a part seen from one axis direction."""

    def __init__(self, triangles: np.ndarray, axis: int, sign: float, cell: float, margin: float):
        self.axis, self.sign = axis, sign
        self.uv = [i for i in range(3) if i != axis]
        flat = triangles[:, :, self.uv]
        heights = sign * triangles[:, :, axis]
        self.lo = flat.reshape(-1, 2).min(axis=0) - margin
        span = flat.reshape(-1, 2).max(axis=0) + margin - self.lo
        self.shape = tuple(np.maximum(np.ceil(span / cell).astype(int), 1))
        self.cell = cell
        self.floor = float(heights.min()) - 1e6 * cell  # far below the part: empty cells
        grid = np.full(self.shape[0] * self.shape[1], self.floor)
        # the top surface of a closed mesh faces this side: walls (seen edge-on) add their tops
        facing = sign * stl.face_normals(triangles)[:, axis]
        _rasterise(grid, self, flat[facing > 1e-6], heights[facing > 1e-6])
        walls = np.abs(facing) <= 1e-6
        inward = -stl.face_normals(triangles[walls])[:, self.uv]
        _edges(grid, self, flat[walls], heights[walls], inward)
        self.grid = grid.reshape(self.shape)
        self._tips: dict[tuple[Tool, bool], tuple[Window, np.ndarray]] = {}
        self._holders: dict[float, np.ndarray] = {}

    def cells(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The cell of each point (N, 3)."""
        ij = ((points[:, self.uv] - self.lo) / self.cell).astype(np.int64)
        return np.clip(ij[:, 0], 0, self.shape[0] - 1), np.clip(ij[:, 1], 0, self.shape[1] - 1)

    def heights(self, points: np.ndarray) -> np.ndarray:
        return self.sign * points[:, self.axis]

    def tip(self, tool: Tool, holder: bool = True, window: Window | None = None) -> np.ndarray:
        """The lowest height of `tool`'s tip over each cell (holder=False: unlimited reach), or
        over the cells of `window` alone (rows i0:i1, columns j0:j1)."""
        n, m = self.shape
        window = window or (0, n, 0, m)
        key = (tool, holder)
        made = self._tips.get(key)
        if made is None or not _inside(window, made[0]):
            wider = window if made is None else _union(window, made[0])
            made = self._tips[key] = wider, self._tip(tool, holder, wider)
        (a0, _, b0, _), tip = made
        i0, i1, j0, j1 = window
        return tip[i0 - a0 : i1 - a0, j0 - b0 : j1 - b0]

    def _tip(self, tool: Tool, holder: bool, window: Window) -> np.ndarray:
        # the dilation of a crop of the grid one cutter wider than the window: the same values
        i0, i1, j0, j1 = window
        rings = _rings(tool, self.cell)
        big = math.floor(max(k for k, _ in rings)) + 1
        c0, d0 = max(i0 - big, 0), max(j0 - big, 0)
        crop = self.grid[c0 : i1 + big, d0 : j1 + big]
        tip = profile_max(crop, rings, self.floor)[i0 - c0 : i1 - c0, j0 - d0 : j1 - d0]
        if holder:
            tip = np.maximum(tip, self.holder(tool.holder_radius)[i0:i1, j0:j1] - tool.reach)
        return tip

    def holder(self, radius: float) -> np.ndarray:
        """The highest part under a holder of `radius` (mm) over each cell, on a max-pooled
        grid where it spans at most HOLDER_CELLS cells (coarser only makes it more cautious)."""
        if radius not in self._holders:
            grid, scale = self.grid, 1
            while radius / (self.cell * scale) > HOLDER_CELLS:
                grid = np.pad(grid, ((0, grid.shape[0] % 2), (0, grid.shape[1] % 2)), "edge")
                grid = grid.reshape(grid.shape[0] // 2, 2, grid.shape[1] // 2, 2).max(axis=(1, 3))
                scale *= 2
            k = radius / (self.cell * scale) + (1 if scale > 1 else 0)
            top = profile_max(grid, [(k, 0.0)], self.floor)
            top = np.repeat(np.repeat(top, scale, axis=0), scale, axis=1)
            self._holders[radius] = top[: self.shape[0], : self.shape[1]]
        return self._holders[radius]

    def reached(self, points: np.ndarray, tool: Tool, holder: bool = True) -> np.ndarray:
        """(N,) bool: `tool` coming along this side touches each point (see the docstring);
        holder=False: as if its reach were unlimited."""
        # the opening: min over rings of (min of tip within the ring's radius) + its drop, each
        # one cell wider (a wall's point lies between two cells; a steep one's height changes
        # by more than the slack within its cell), the outermost at the cutter's full drop
        rings = [(k + 1, d) for k, d in _rings(tool, self.cell)]
        rings[-1] = (rings[-1][0], tool.corner)
        lowest = self._at(points, tool, holder, rings)
        return lowest <= self.heights(points) + _slack(tool, self.cell)

    def near(self, points: np.ndarray, tool: Tool, holder: bool = True) -> np.ndarray:
        """(N,) bool: `tool` gets its tip down to each point's height somewhere within one and
        a half of its radii: it is beside the point (in a corner that it cannot turn into), not
        kept out above it (holder=False: were its reach unlimited)."""
        ring = [(1.5 * tool.radius / self.cell + 1, 0.0)]
        lowest = self._at(points, tool, holder, ring)
        return lowest <= self.heights(points) + _slack(tool, self.cell)

    def _at(self, points: np.ndarray, tool: Tool, holder: bool, rings: list) -> np.ndarray:
        """The opening, -profile_max(-tip, rings), at the points' cells alone: they are a few %
        of the grid, and the tip is made only over their window (a third of it, on average)."""
        if not len(points):
            return np.zeros(0)
        i, j = self.cells(points)
        r, (n, m) = math.floor(max(k for k, _ in rings)) + 1, self.shape
        window = (max(i.min() - r, 0), min(i.max() + r + 1, n))
        window += (max(j.min() - r, 0), min(j.max() + r + 1, m))
        width = window[3] - window[2]
        tip = self.tip(tool, holder, window)
        cells, back = np.unique((i - window[0]) * width + j - window[2], return_inverse=True)
        return -profile_at(-tip, rings, -self.floor, *np.divmod(cells, width))[back]


Window = tuple[int, int, int, int]


def _inside(a: Window, b: Window) -> bool:
    return b[0] <= a[0] and a[1] <= b[1] and b[2] <= a[2] and a[3] <= b[3]


def _union(a: Window, b: Window) -> Window:
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def _rings(tool: Tool, cell: float) -> list[tuple[float, float]]:
    """The cutter as flat rings (radius in cells, drop in mm): its flat centre, then rings
    of equal angle over its corner radius, each at the drop of its middle."""
    inner, c = tool.radius - tool.corner, tool.corner
    rings = [(inner / cell, 0.0)] if inner > 0 else []
    count = _ring_count(c, cell)
    for i in range(1, count + 1):
        theta, middle = math.pi / 2 * i / count, math.pi / 2 * (i - 0.5) / count
        rings.append(((inner + c * math.sin(theta)) / cell, c * (1 - math.cos(middle))))
    return rings


def _ring_count(corner: float, cell: float) -> int:
    return min(8, max(2, math.ceil(corner / cell))) if corner > 0 else 0


def _slack(tool: Tool, cell: float) -> float:
    """How far under a point's height the opening may pass and still count as touching it:
    a quarter cell, and half a ring's rise for a round cutter."""
    count = max(_ring_count(tool.corner, cell), 1)
    return 0.25 * cell + 0.5 * tool.corner * math.sin(math.pi / 2 / count)


def base_cell(triangles: np.ndarray, tools: tuple[Tool, ...], margin: float) -> float:
    """The finest grid's cell: the smallest radius over CELLS_PER_RADIUS cells, or coarser
    where the part would need more than MAX_CELLS across."""
    points = triangles.reshape(-1, 3)
    longest = float((points.max(axis=0) - points.min(axis=0)).max()) + 2 * margin
    smallest = min(t.radius for t in tools)
    return max(smallest / CELLS_PER_RADIUS, longest / MAX_CELLS)


def profile_max(a: np.ndarray, rings: list[tuple[float, float]], fill: float) -> np.ndarray:
    """max over rings (k, d) of [max of `a` within a disc of k cells] - d: grey dilation by a
    cutter made of flat rings. Each disc is rows of running maxima (a sparse table of
    power-of-two windows, shared by all rings), stacked."""
    big = math.floor(max(k for k, _ in rings))
    n, m = a.shape
    table = _table(a, big, fill)
    rows: dict[int, np.ndarray] = {}
    out = np.full((n, m), -np.inf)
    for dy in range(-big, big + 1):
        for k, d in rings:
            if k < abs(dy):
                continue
            w = math.floor(math.sqrt(k * k - dy * dy))
            if w not in rows:
                j = math.floor(math.log2(2 * w + 1))
                t = table[j]
                rows[w] = np.maximum(t[:, big - w : big - w + m], t[:, big + w - 2**j + 1 :][:, :m])
            row = rows[w][big + dy : big + dy + n]
            np.maximum(out, row - d if d else row, out=out)
    return out


def profile_at(
    a: np.ndarray, rings: list[tuple[float, float]], fill: float, i: np.ndarray, j: np.ndarray
) -> np.ndarray:
    """profile_max(a, rings, fill)[i, j], reading the same sparse table at those cells only
    (every row of every ring at once, for a few thousand cells at a time)."""
    big = math.floor(max(k for k, _ in rings))
    table = _table(a, big, fill)
    rows = [
        (dy, w, math.floor(math.log2(2 * w + 1)), d)
        for dy in range(-big, big + 1)
        for k, d in rings
        if k >= abs(dy)
        for w in [math.floor(math.sqrt(k * k - dy * dy))]
    ]
    out = np.full(len(i), -np.inf)
    step = max(1, 2_000_000 // len(rows))
    for level in {r[2] for r in rows}:
        dy, w, _, d = (np.array(x) for x in zip(*[r for r in rows if r[2] == level], strict=True))
        t = table[level]
        for s in range(0, len(i), step):
            r, c = i[s : s + step, None] + big + dy, j[s : s + step, None] + big
            v = np.maximum(t[r, c - w], t[r, c + w - 2**level + 1]) - d
            np.maximum(out[s : s + step], v.max(axis=1), out=out[s : s + step])
    return out


def _table(a: np.ndarray, big: int, fill: float) -> list[np.ndarray]:
    """`a` padded by `big` cells of `fill`, and its rows' running maxima over windows of 2,
    4, 8 ... cells (up to 2 big + 1): table[k][r, c] = max of padded[r, c : c + 2**k]."""
    table = [np.pad(a, big, constant_values=fill)]
    while 2 ** len(table) <= 2 * big + 1:
        prev, step = table[-1], 2 ** (len(table) - 1)
        table.append(np.maximum(prev[:, :-step], prev[:, step:]))
    return table


def _edges(grid: np.ndarray, side: SideMap, flat, heights, inward: np.ndarray) -> None:
    """grid (flat) <- walls (seen edge-on) at the cells their edges cross, sampled every half
    cell half a cell into the material (`inward`): a wall thinner than a cell is not lost,
    and a thick one is no thicker than its cells' centres say."""
    cell, lo, (nu, nv) = side.cell, side.lo, side.shape
    inward = 0.5 * cell * inward / np.maximum(np.linalg.norm(inward, axis=1, keepdims=True), 1e-300)
    for a, b in ((0, 1), (1, 2), (2, 0)):
        length = np.linalg.norm(flat[:, b] - flat[:, a], axis=1)
        count = np.ceil(length / (cell / 2)).astype(int) + 1
        tri = np.repeat(np.arange(len(flat)), count)
        t = (np.arange(len(tri)) - np.repeat(np.cumsum(count) - count, count)) / np.repeat(
            np.maximum(count - 1, 1), count
        )
        p = flat[tri, a] + t[:, None] * (flat[tri, b] - flat[tri, a]) + inward[tri]
        h = heights[tri, a] + t * (heights[tri, b] - heights[tri, a])
        ij = np.clip(((p - lo) / cell).astype(np.int64), 0, [nu - 1, nv - 1])
        _scatter_max(grid, ij[:, 0] * nv + ij[:, 1], h)


def _rasterise(grid: np.ndarray, side: SideMap, flat: np.ndarray, heights: np.ndarray) -> None:
    """grid (flat) <- the highest surface over each cell: each triangle at the cells whose
    centre it covers, row by row (a row's cells between its crossings with the edges)."""
    cell, lo, (nu, nv) = side.cell, side.lo, side.shape
    a, b, c = flat[:, 0], flat[:, 1], flat[:, 2]
    # each triangle's plane: h = h(a) + g . (q - a), g from its two edges from a
    e1, e2 = b - a, c - a
    h1, h2 = heights[:, 1] - heights[:, 0], heights[:, 2] - heights[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    det = np.where(np.abs(det) > 1e-300, det, 1e-300)
    grad = np.stack(
        [(h1 * e2[:, 1] - h2 * e1[:, 1]) / det, (h2 * e1[:, 0] - h1 * e2[:, 0]) / det], 1
    )
    first = np.clip(np.ceil((flat[:, :, 0].min(axis=1) - lo[0]) / cell - 0.5), 0, None)
    last = np.minimum(np.floor((flat[:, :, 0].max(axis=1) - lo[0]) / cell - 0.5), nu - 1)
    rows = np.maximum(last - first + 1, 0).astype(np.int64)
    tri = np.repeat(np.arange(len(flat)), rows)
    i = first.astype(np.int64)[tri] + np.arange(len(tri)) - np.repeat(np.cumsum(rows) - rows, rows)
    u = lo[0] + (i + 0.5) * cell
    vmin, vmax = np.full(len(tri), np.inf), np.full(len(tri), -np.inf)
    for p, q in ((0, 1), (1, 2), (2, 0)):
        pu, pv, qu, qv = flat[tri, p, 0], flat[tri, p, 1], flat[tri, q, 0], flat[tri, q, 1]
        crosses = (np.minimum(pu, qu) <= u) & (u <= np.maximum(pu, qu)) & (pu != qu)
        t = np.where(crosses, (u - pu) / np.where(pu != qu, qu - pu, 1.0), 0.0)
        v = pv + t * (qv - pv)
        vmin = np.where(crosses, np.minimum(vmin, v), vmin)
        vmax = np.where(crosses, np.maximum(vmax, v), vmax)
    j0 = np.clip(np.ceil((vmin - lo[1]) / cell - 0.5), 0, None)
    j1 = np.minimum(np.floor((vmax - lo[1]) / cell - 0.5), nv - 1)
    ok = np.isfinite(vmin) & (j1 >= j0)
    tri, i, j0 = tri[ok], i[ok], j0[ok].astype(np.int64)
    count = (j1[ok] - j0 + 1).astype(np.int64)
    tri, i = np.repeat(tri, count), np.repeat(i, count)
    j = np.repeat(j0, count) + np.arange(len(tri)) - np.repeat(np.cumsum(count) - count, count)
    du = lo[0] + (i + 0.5) * cell - a[tri, 0]
    dv = lo[1] + (j + 0.5) * cell - a[tri, 1]
    h = heights[tri, 0] + grad[tri, 0] * du + grad[tri, 1] * dv
    _scatter_max(grid, i * nv + j, h)


def _scatter_max(grid: np.ndarray, index: np.ndarray, values: np.ndarray) -> None:
    """grid[index] = max(grid[index], values) with repeated indices: np.maximum.at, several
    times faster (sorted by index, then value: each index's last value is its largest)."""
    if not len(index):
        return
    order = np.lexsort((values, index))
    index, values = index[order], values[order]
    last = np.append(index[1:] != index[:-1], True)
    index, values = index[last], values[last]
    grid[index] = np.maximum(grid[index], values)
