"""Render meta-images by casting one ray per pixel with Embree (the `embreex` package), no bpy.

The same picture as the Cycles grid (cycles.py), drawn without a render pipeline: the part's
triangles go into one Embree scene in the part frame, and each pixel of view (r, c) casts the
ray an orthographic camera would, turned into the part frame by that view's rotation. The pixel
takes the colour of the triangle it hits (the encoded part-frame normal, computed in numpy), or
black. Like Cycles with a 0.01 px box filter, it samples each pixel at its centre, so the two
engines differ only where a pixel centre lies within float rounding of an edge.

Rays that cannot hit are never cast: per view, only pixels inside the projected bounding box of
the part. Embree's single-ray API holds the GIL here, so one renderer uses one core; batches
run one renderer per worker process.
"""

from __future__ import annotations

import itertools
from functools import cache

import numpy as np

from .._shared import metaimage, png, views

try:
    from embreex import mesh_construction, rtcore_scene
except ImportError:  # the fallback engine (Cycles) needs no extra package
    mesh_construction = rtcore_scene = None

START = 2.0
"""Ray origin height in view coordinates: above the unit sphere the part is scaled into."""
LEVEL = 3
"""zlib level of the PNG: half the time of level 6 for flat colours, files about 25 % larger."""


def available() -> bool:
    """True if the `embreex` package (Embree's Python binding) can be imported."""
    return rtcore_scene is not None


class RaycastRenderer:
    """Meta-images of one part at a time, with the interface of render.MetaImageRenderer."""

    engine = "embree"

    def __init__(self, size: int = metaimage.DEFAULT_SIZE, threads: int = 0):
        if not available():
            raise RuntimeError("the embree engine needs the embreex package (pip install embreex)")
        self.size = metaimage.check_size(size)
        self.threads = threads  # unused: one renderer is one core (see the module docstring)
        self._scene = None
        self._colours = np.zeros(1, dtype=np.uint32)
        self._corners = np.zeros((8, 3))

    def load(self, triangles: np.ndarray) -> None:
        """Show these part-frame triangles (N, 3, 3) in every view."""
        points = metaimage.normalize(triangles)
        lo, hi = points.reshape(-1, 3).min(axis=0), points.reshape(-1, 3).max(axis=0)
        self._corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))))
        # RGBA packed in a uint32 per face, one extra black entry: a missed ray's id is -1
        rgba = np.zeros((len(triangles) + 1, 4), dtype=np.uint8)
        rgba[:-1, :3] = metaimage.face_colors(triangles)
        self._colours = rgba.view(np.uint32).ravel()
        self._scene = rtcore_scene.EmbreeScene()
        mesh_construction.TriangleMesh(self._scene, points.astype(np.float32))

    def render_array(self) -> np.ndarray:
        """The loaded part's meta-image as a (size, size, 3) uint8 array."""
        if self._scene is None:
            raise RuntimeError("no part loaded")
        rays = _rays(self.size)
        # per view, the rectangle the part's bounding box covers in view coordinates
        proj = np.einsum("vij,kj->vki", rays.rotations[:, :2], self._corners)
        lo, hi = proj.min(axis=1)[:, None, :], proj.max(axis=1)[:, None, :]
        across = (rays.centres >= lo[..., 0]) & (rays.centres <= hi[..., 0])  # (views, tile)
        down = (-rays.centres >= lo[..., 1]) & (-rays.centres <= hi[..., 1])
        inside = np.flatnonzero(down[:, :, None] & across[:, None, :])
        # np.take: about 3x faster than fancy indexing for these row gathers
        hits = self._scene.run(
            np.take(rays.origins, inside, axis=0), np.take(rays.directions, inside, axis=0)
        )
        packed = np.zeros(self.size * self.size, dtype=np.uint32)  # RGBA bytes, image order
        packed[np.take(rays.pixels, inside)] = np.take(self._colours, hits)
        rgba = packed.view(np.uint8).reshape(self.size, self.size, 4)
        return np.ascontiguousarray(rgba[..., :3])

    def render(self, strategy: str = "grid") -> bytes:
        """Render the loaded part; return the meta-image as PNG bytes (no metadata)."""
        if strategy != "grid":
            raise ValueError(f"the embree engine draws the grid only, not {strategy!r}")
        return png.encode_rgb(self.render_array(), level=LEVEL)

    def close(self) -> None:
        self._scene = None

    def __enter__(self) -> RaycastRenderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _Rays:
    """Every pixel's ray in the part frame, view by view (view-major, then tile rows)."""

    def __init__(self, size: int):
        self.tile = size // views.COLS
        self.centres = (np.arange(self.tile) + 0.5) * (2.0 / self.tile) - 1.0  # -1..1 across
        self.rotations = views.view_rotations().reshape(-1, 3, 3)
        # rows of a rotation: the view's x (right), y (up) and z (towards the viewer), part frame
        r = self.rotations[:, None, None]
        x = self.centres[None, None, :, None]
        y = -self.centres[None, :, None, None]  # image rows run downwards
        origins = x * r[..., 0, :] + y * r[..., 1, :] + START * r[..., 2, :]
        directions = np.broadcast_to(-r[..., 2, :], origins.shape)
        self.origins = origins.reshape(-1, 3).astype(np.float32)
        self.directions = directions.reshape(-1, 3).astype(np.float32)
        image = np.arange(size * size, dtype=np.int32).reshape(size, size, 1)
        self.pixels = metaimage.untile(image).ravel()  # each ray's pixel in the image


@cache
def _rays(size: int) -> _Rays:
    return _Rays(size)
