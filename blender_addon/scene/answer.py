"""Predict the milling direction of a mesh object or an STL part: render its meta-image in
memory, ask the model, and show the answer (its setup plan: one numbered arrow per setup) on
the part. The panel's button and
`python -m blender_addon predict` run this same code."""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix, Vector
from mathutils.bvhtree import BVHTree

from .._shared import classes, metaimage, setups, stl
from ..inference import client
from ..render.engines import open_renderer
from .selection import object_mesh

ARROW_TAG = "milling_arrow"
"""Custom property that marks the add-on's arrow; the only object prediction adds or removes."""


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


def remove_arrows(tag: str = ARROW_TAG) -> None:
    """Remove every arrow, setup number and overlay the add-on made (those with `tag`) and
    their data and materials; nothing else."""
    for obj in [o for o in bpy.data.objects if o.get(tag)]:
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


def confidence_colour(confidence: float) -> tuple[float, float, float, float]:
    """Red for a guess (1/5, chance), through amber, to green for a sure answer."""
    t = min(max((confidence - 0.2) / 0.8, 0.0), 1.0)
    red, green = np.array([0.9, 0.1, 0.05]), np.array([0.1, 0.75, 0.15])
    return (*map(float, red + (green - red) * t), 1.0)


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


def show_arrow(
    scene: bpy.types.Scene, part: bpy.types.Object, triangles: np.ndarray, answer: client.Prediction
) -> list[bpy.types.Object]:
    """Replace the arrows: one per setup of the plan (the answer's label alone for a model
    without a plan head), each from its side towards the part, numbered from 1 (the primary),
    coloured by its probability. Returns the arrows, primary first."""
    remove_arrows()
    steps = [(s.direction, s.probability) for s in answer.plan] or [
        (answer.label, answer.confidence)
    ]
    steps[0] = (steps[0][0], answer.confidence)  # the primary: the 5-class answer's confidence
    points = triangles.reshape(-1, 3)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    radius = float(np.linalg.norm(half))
    arrows = []
    for number, (direction, probability) in enumerate(steps, start=1):
        side = np.asarray(classes.direction(direction), dtype=float)  # in the part's frame
        tip_local = centre + side * (float(np.abs(side) @ half) + 0.1 * radius)
        tail_local = tip_local + side * 0.8 * radius
        world = part.matrix_world
        tip, tail = world @ Vector(tip_local), world @ Vector(tail_local)
        colour = confidence_colour(probability)
        name = "Milling Direction" if len(steps) == 1 else f"Milling Setup {number}"
        arrow = _arrow(scene, name, tip, tail, colour)
        arrow["milling_part"], arrow["milling_label"] = part.name, direction
        arrow["milling_setup"] = number
        if len(steps) > 1:
            beyond = world @ Vector(tail_local + side * 0.15 * radius)
            facing = (tail - tip).normalized()
            size = 0.25 * (tail - tip).length / 0.8
            _number(scene, number, beyond, facing, size, colour, part.name)
        arrows.append(arrow)
    return arrows


def _material(name: str, colour) -> bpy.types.Material:
    # Solid view (the default shading) shows a material's viewport colour, not the object's.
    material = bpy.data.materials.new(name)
    material.diffuse_color = colour
    return material


def _arrow(scene, name: str, tip: Vector, tail: Vector, colour) -> bpy.types.Object:
    length = (tip - tail).length
    mesh = bpy.data.meshes.new(name)
    verts, faces = _arrow_geometry(length)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    arrow = bpy.data.objects.new(name, mesh)
    rotation = Vector((0.0, 0.0, 1.0)).rotation_difference(tip - tail).to_matrix().to_4x4()
    arrow.matrix_world = Matrix.Translation(tail) @ rotation
    arrow[ARROW_TAG] = True
    mesh.materials.append(_material(name, colour))
    arrow.color = colour
    arrow.show_in_front = True
    arrow.hide_select = True
    scene.collection.objects.link(arrow)
    return arrow


def _number(
    scene, number: int, at: Vector, facing: Vector, size: float, colour, part: str = ""
) -> bpy.types.Object:
    """The setup's number beyond its arrow's tail, read from the side the tool comes from."""
    text = bpy.data.curves.new(f"Milling Setup {number} Number", "FONT")
    text.body, text.size, text.align_x, text.align_y = str(number), size, "CENTER", "CENTER"
    text.materials.append(_material(f"Milling Setup {number}", colour))
    obj = bpy.data.objects.new(f"Milling Setup {number} Number", text)
    turn = Vector((0.0, 0.0, 1.0)).rotation_difference(facing).to_matrix().to_4x4()
    obj.matrix_world = Matrix.Translation(at) @ turn
    obj[ARROW_TAG] = True
    obj.show_in_front, obj.hide_select, obj.color = True, True, colour
    obj["milling_part"] = part
    scene.collection.objects.link(obj)
    return obj


def _arrow_geometry(length: float, segments: int = 16) -> tuple[list, list]:
    """An arrow along +Z from 0 (tail) to `length` (tip): a shaft and a cone."""
    r, head, shaft = 0.04 * length, 0.1 * length, 0.7 * length
    ring = [
        (math.cos(2 * math.pi * i / segments), math.sin(2 * math.pi * i / segments))
        for i in range(segments)
    ]
    verts = [(r * x, r * y, 0.0) for x, y in ring] + [(r * x, r * y, shaft) for x, y in ring]
    verts += [(head * x, head * y, shaft) for x, y in ring] + [(0.0, 0.0, length), (0.0, 0.0, 0.0)]
    tip, bottom = 3 * segments, 3 * segments + 1
    faces = []
    for i in range(segments):
        j = (i + 1) % segments
        faces.append((i, j, segments + j, segments + i))  # shaft side
        faces.append((2 * segments + i, 2 * segments + j, tip))  # cone
        faces.append((j, i, bottom))  # tail cap
        faces.append((segments + i, segments + j, 2 * segments + j, 2 * segments + i))  # collar
    return verts, faces
