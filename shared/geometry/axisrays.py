"""Axis-aligned ray casting in numpy: does a ray from each point along +-X, +-Y or +-Z leave the
mesh? The setup analysis' caster wherever Embree is not there (inside Blender, for one).

Per axis, the triangles are projected onto the plane across it and binned into a uniform grid of
cells by their projected bounding boxes; a ray only tests the triangles of its own cell. A hit is
a triangle that covers the ray's point in projection (edges included, so rays never slip through
the crack between two triangles) and lies strictly ahead of it. Triangles seen edge-on (walls
along the ray) never block.
"""

from __future__ import annotations

import numpy as np

CHUNK = 2_000_000
"""Point-triangle pairs tested at once: bounds the memory of one call to about 200 MB."""


class Caster:
    """`caster(origins, direction) -> escaped` for one mesh (N, 3, 3)."""

    def __init__(self, triangles: np.ndarray):
        self.triangles = np.asarray(triangles, dtype=np.float64)
        self._grids: dict[int, _Grid] = {}

    def __call__(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        return ~np.isfinite(self.distances(origins, direction))

    def distances(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """(N,) float: how far the ray from each origin goes before it meets the mesh (inf:
        it leaves)."""
        direction = np.asarray(direction, dtype=float)
        axis = int(np.argmax(np.abs(direction)))
        if np.count_nonzero(direction) != 1:
            raise ValueError(f"not an axis direction: {direction}")
        grid = self._grids.get(axis) or self._grids.setdefault(axis, _Grid(self.triangles, axis))
        return grid.nearest(np.asarray(origins, dtype=np.float64), float(np.sign(direction[axis])))


class _Grid:
    def __init__(self, triangles: np.ndarray, axis: int):
        u, v = [i for i in range(3) if i != axis]
        flat = triangles[:, :, [u, v]]
        a, b, c = flat[:, 0], flat[:, 1], flat[:, 2]
        area2 = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
            c[:, 0] - a[:, 0]
        )
        scale = max(float(np.ptp(flat.reshape(-1, 2), axis=0).max()), 1e-12)
        keep = np.abs(area2) > 1e-12 * scale * scale  # edge-on triangles never block
        self.flat, self.depth = flat[keep], triangles[keep][:, :, axis]
        self.area2 = area2[keep]
        self.axis, self.uv = axis, (u, v)
        self.lo = flat.reshape(-1, 2).min(axis=0)
        span = np.maximum(flat.reshape(-1, 2).max(axis=0) - self.lo, 1e-12)
        self.cells = int(np.clip(np.sqrt(len(self.flat)), 4, 256))
        self.size = span / self.cells
        self.tol = 1e-9 * scale
        lo_cell = self._cell(self.flat.min(axis=1) - self.tol)
        hi_cell = self._cell(self.flat.max(axis=1) + self.tol)
        nu, nv = hi_cell[:, 0] - lo_cell[:, 0] + 1, hi_cell[:, 1] - lo_cell[:, 1] + 1
        tri = np.repeat(np.arange(len(self.flat)), nu * nv)
        local = np.arange(len(tri)) - np.repeat(np.cumsum(nu * nv) - nu * nv, nu * nv)
        cell = (lo_cell[tri, 0] + local // nv[tri]) * self.cells + lo_cell[tri, 1] + local % nv[tri]
        order = np.argsort(cell, kind="stable")
        self.members = tri[order]
        self.starts = np.searchsorted(cell[order], np.arange(self.cells * self.cells + 1))

    def _cell(self, points: np.ndarray) -> np.ndarray:
        return np.clip(((points - self.lo) / self.size).astype(np.int64), 0, self.cells - 1)

    def nearest(self, origins: np.ndarray, sign: float) -> np.ndarray:
        p = origins[:, list(self.uv)]
        cell = self._cell(p)
        cell = cell[:, 0] * self.cells + cell[:, 1]
        counts = self.starts[cell + 1] - self.starts[cell]
        out = np.full(len(origins), np.inf)
        bounds = np.cumsum(counts)
        begin = 0
        while begin < len(origins):  # chunks of about CHUNK pairs
            stop = int(
                np.searchsorted(bounds, (bounds[begin - 1] if begin else 0) + CHUNK, "right")
            )
            stop = max(stop, begin + 1)
            out[begin:stop] = self._nearest(
                origins[begin:stop], p[begin:stop], cell[begin:stop], counts[begin:stop], sign
            )
            begin = stop
        return out

    def _nearest(self, origins, p, cell, counts, sign) -> np.ndarray:
        point = np.repeat(np.arange(len(p)), counts)
        local = np.arange(len(point)) - np.repeat(np.cumsum(counts) - counts, counts)
        tri = self.members[self.starts[cell][point] + local]
        q, f = p[point], self.flat[tri]
        # signed areas of q with each edge, as shares of the triangle's: barycentric weights
        w = np.empty((len(q), 3))
        for k in range(3):
            a, b = f[:, (k + 1) % 3], f[:, (k + 2) % 3]
            w[:, k] = (b[:, 0] - a[:, 0]) * (q[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (
                q[:, 0] - a[:, 0]
            )
        w /= self.area2[tri][:, None]
        inside = (w >= -1e-9).all(axis=1)
        depth = (w * self.depth[tri]).sum(axis=1)
        gap = (depth - origins[point, self.axis]) * sign
        hit = inside & (gap > self.tol)
        out = np.full(len(p), np.inf)
        np.minimum.at(out, point[hit], gap[hit])
        return out
