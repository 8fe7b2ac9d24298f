"""Predict the milling direction of a mesh object or an STL part: render its meta-image in
memory, ask the model, and show the answer as an arrow on the part. The panel's button and
`python -m blender_addon predict` run this same code."""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from ._shared import classes, metaimage, stl
from .engines import open_renderer
from .selection import object_triangles
from .utils import client

ARROW_TAG = "milling_arrow"
"""Custom property that marks the add-on's arrow; the only object prediction adds or removes."""


class PredictError(ValueError):
    """Nothing to predict; the message says what to select."""


def part_triangles(obj: bpy.types.Object | None, depsgraph) -> np.ndarray:
    """The triangles of the object to predict, in its own frame; PredictError if unusable."""
    if obj is None:
        raise PredictError("no active object: click the part to predict first")
    if obj.get(ARROW_TAG):
        raise PredictError(f"{obj.name} is the prediction arrow: select the part instead")
    if obj.type != "MESH":
        raise PredictError(f"{obj.name} is a {obj.type.lower()}, not a mesh")
    triangles = object_triangles(obj, depsgraph)
    area = (
        np.linalg.norm(stl.face_normals(triangles, normalize=False), axis=1)
        if len(triangles)
        else np.zeros(0)
    )
    if not (area > 0).any():
        raise PredictError(f"{obj.name}: the mesh has no faces with an area")
    return triangles[area > 0]


def meta_image(triangles: np.ndarray, size: int = metaimage.DEFAULT_SIZE) -> bytes:
    """The part's meta-image as PNG bytes, rendered in memory (nothing is written for keeps)."""
    with open_renderer("auto", size) as renderer:
        renderer.load(triangles)
        return renderer.render()


def online_access() -> bool:
    """Blender's 'Allow Online Access' preference (always on before Blender 4.2)."""
    return bool(getattr(bpy.app, "online_access", True))


def answer(
    triangles: np.ndarray, settings: client.ModelSettings, online: bool
) -> client.Prediction:
    """Ask the model the settings name (ClientError if it cannot answer): the panel's path."""
    return client.answer(triangles, settings, online, meta_image)


# -- showing the answer ---------------------------------------------------------------------


def remove_arrows() -> None:
    """Remove every arrow the add-on made (and its mesh and material); nothing else."""
    for obj in [o for o in bpy.data.objects if o.get(ARROW_TAG)]:
        mesh = obj.data
        materials = list(mesh.materials) if mesh is not None else []
        bpy.data.objects.remove(obj)
        if mesh is not None and mesh.users == 0:
            bpy.data.meshes.remove(mesh)
        for material in materials:
            if material is not None and material.users == 0:
                bpy.data.materials.remove(material)


def confidence_colour(confidence: float) -> tuple[float, float, float, float]:
    """Red for a guess (1/5, chance), through amber, to green for a sure answer."""
    t = min(max((confidence - 0.2) / 0.8, 0.0), 1.0)
    red, green = np.array([0.9, 0.1, 0.05]), np.array([0.1, 0.75, 0.15])
    return (*map(float, red + (green - red) * t), 1.0)


def show_arrow(
    scene: bpy.types.Scene, part: bpy.types.Object, triangles: np.ndarray, answer: client.Prediction
) -> bpy.types.Object:
    """Replace the arrow: it comes from the predicted side and points at the part."""
    remove_arrows()
    side = np.asarray(classes.direction(answer.label), dtype=float)  # in the part's frame
    points = triangles.reshape(-1, 3)
    lo, hi = points.min(axis=0), points.max(axis=0)
    centre, half = (lo + hi) / 2, (hi - lo) / 2
    radius = float(np.linalg.norm(half))
    tip_local = centre + side * (float(np.abs(side) @ half) + 0.1 * radius)
    tail_local = tip_local + side * 0.8 * radius
    world = part.matrix_world
    tip, tail = world @ Vector(tip_local), world @ Vector(tail_local)
    length = (tip - tail).length
    mesh = bpy.data.meshes.new("Milling Direction")
    verts, faces = _arrow_geometry(length)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    arrow = bpy.data.objects.new("Milling Direction", mesh)
    rotation = Vector((0.0, 0.0, 1.0)).rotation_difference(tip - tail).to_matrix().to_4x4()
    arrow.matrix_world = Matrix.Translation(tail) @ rotation
    arrow[ARROW_TAG] = True
    arrow["milling_part"] = part.name
    arrow["milling_label"] = answer.label
    colour = confidence_colour(answer.confidence)
    # Solid view (the default shading) shows a material's viewport colour, not the object's.
    material = bpy.data.materials.new("Milling Direction")
    material.diffuse_color = colour
    mesh.materials.append(material)
    arrow.color = colour
    arrow.show_in_front = True
    arrow.hide_select = True
    scene.collection.objects.link(arrow)
    return arrow


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
