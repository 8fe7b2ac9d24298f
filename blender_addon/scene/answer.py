"""Predict the milling directions of a mesh object or an STL part: its triangles, its
meta-image rendered in memory, and the model's answer. The panel's button and
`python -m blender_addon predict` run this same code (the viewport draws the answer:
ui/viewport.py; Add as Objects makes it geometry: objects.py)."""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Vector
from mathutils.bvhtree import BVHTree

from .._shared import metaimage, setups, stl
from ..inference import client
from ..render.engines import open_renderer
from .selection import object_mesh

ARROW_TAG = "milling_arrow"
"""Custom property that marks what Add as Objects made (arrows, numbers, coloured faces)."""


class PredictError(ValueError):
    """Nothing to predict; the message says what to select."""


def part_triangles(obj: bpy.types.Object | None, depsgraph) -> np.ndarray:
    """The triangles of the object to predict, in its own frame; PredictError if unusable."""
    return part_mesh(obj, depsgraph)[0]


def part_mesh(obj: bpy.types.Object | None, depsgraph) -> tuple[np.ndarray, np.ndarray]:
    """part_triangles, and the mesh polygon each comes from."""
    if obj is None:
        raise PredictError("no active object: click the part to predict first")
    if obj.get(ARROW_TAG):
        raise PredictError(f"{obj.name} is the prediction arrow: select the part instead")
    if obj.type != "MESH":
        raise PredictError(f"{obj.name} is a {obj.type.lower()}, not a mesh")
    triangles, polygons = object_mesh(obj, depsgraph)
    area = (
        np.linalg.norm(stl.face_normals(triangles, normalize=False), axis=1)
        if len(triangles)
        else np.zeros(0)
    )
    if not (area > 0).any():
        raise PredictError(f"{obj.name}: the mesh has no faces with an area")
    return triangles[area > 0], polygons[area > 0]


def meta_image(triangles: np.ndarray, size: int = metaimage.DEFAULT_SIZE) -> bytes:
    """The part's meta-image as PNG bytes, rendered in memory (nothing is written for keeps)."""
    with open_renderer("auto", size) as renderer:
        renderer.load(triangles)
        return renderer.render()


def online_access() -> bool:
    """Blender's 'Allow Online Access' preference (always on before Blender 4.2)."""
    return bool(getattr(bpy.app, "online_access", True))


def answer(
    triangles: np.ndarray, settings: client.ModelSettings, online: bool, analysis=None
) -> client.Prediction:
    """Ask the model the settings name (ClientError if it cannot answer): the panel's path.
    The built-in model reads the part's tool-aware `analysis` (triangles in mm) where given."""
    return client.answer(triangles, settings, online, meta_image, BVHCaster, analysis)


# -- showing the answer ---------------------------------------------------------------------


def remove_arrows(tag: str = ARROW_TAG, part: str | None = None) -> None:
    """Remove the arrows, numbers and faces Add as Objects made (of `part`, or of every part)
    and their data and materials; nothing else."""
    made = [o for o in bpy.data.objects if o.get(tag)]
    for obj in [o for o in made if part is None or o.get("milling_part") == part]:
        data = obj.data
        materials = list(getattr(data, "materials", None) or [])
        bpy.data.objects.remove(obj)
        if data is not None and data.users == 0:
            (bpy.data.meshes if isinstance(data, bpy.types.Mesh) else bpy.data.curves).remove(data)
        for material in materials:
            if material is not None and material.users == 0:
                bpy.data.materials.remove(material)


@bpy.app.handlers.persistent
def follow_parts(scene: bpy.types.Scene, depsgraph=None) -> None:
    """Hide the arrows, numbers and overlay of a part that is hidden or gone, and show them
    again with it (a depsgraph handler: hiding a part updates the depsgraph)."""
    for obj in scene.objects:
        if obj.get(ARROW_TAG):
            part = scene.objects.get(obj.get("milling_part", ""))
            hidden = part is None or not part.visible_get()
            if obj.hide_get() != hidden:  # only a change: setting it updates the depsgraph
                obj.hide_set(hidden)


def with_shares(triangles: np.ndarray, answer: client.Prediction) -> client.Prediction:
    """The answer with each setup's share of the machined area, from the geometric analysis
    (Blender's own BVH tree casts the rays; the part's bounding box is the stock)."""
    if not answer.plan or answer.plan[0].share is not None:  # none, or shares known
        return answer
    analysis = setups.analyse(triangles, caster=BVHCaster(triangles), count=SHARE_SAMPLES)
    return answer.with_shares(analysis.shares(tuple(s.direction for s in answer.plan)))


SHARE_SAMPLES = 4000
"""Points of the analysis behind the panel's shares (fewer than its default: it is a display)."""


class BVHCaster:
    """The analysis' caster on mathutils' BVH tree: no embreex needed inside Blender."""

    def __init__(self, triangles: np.ndarray):
        points = np.asarray(triangles, dtype=float).reshape(-1, 3)
        faces = np.arange(len(points)).reshape(-1, 3)
        self.tree = BVHTree.FromPolygons(points.tolist(), faces.tolist())

    def __call__(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        # plain tuples, not a Vector each: the loop's cost is per call (about 7 us a ray)
        d, cast = Vector(np.asarray(direction, dtype=float)), self.tree.ray_cast
        return np.array([cast(o, d)[0] is None for o in np.asarray(origins).tolist()], dtype=bool)

    def distances(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """How far each ray goes before it meets the part (inf: it leaves)."""
        d, cast = Vector(np.asarray(direction, dtype=float)), self.tree.ray_cast
        hits = (cast(o, d)[3] for o in np.asarray(origins).tolist())
        return np.array([np.inf if h is None else h for h in hits], dtype=float)
