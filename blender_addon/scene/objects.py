"""Add as Objects: an answer made into scene geometry, for a user who wants it in a render or
an export (the viewport draws answers without it): one arrow per setup, each from its side
towards the part, its number beyond the tail, and the coloured faces, in the setups' colours.
Each is tagged ARROW_TAG and follows its part (answer.follow_parts)."""

from __future__ import annotations

import math

import bpy
import numpy as np
from mathutils import Matrix, Vector

from .answer import ARROW_TAG, remove_arrows
from .marks import anchors, face_colours, setup_colour
from .stored import Answer

FACES_NAME = "Milling Setups"


def add_objects(
    scene: bpy.types.Scene,
    part: bpy.types.Object,
    triangles: np.ndarray,
    answer: Answer,
    codes: str,
) -> list[bpy.types.Object]:
    """Replace the part's earlier objects with the answer's: arrows, numbers and faces."""
    remove_arrows(ARROW_TAG, part.name)
    points = triangles.reshape(-1, 3)
    radius = float(np.linalg.norm(points.max(axis=0) - points.min(axis=0))) / 2
    world = part.matrix_world
    made = []
    for k, (point, side) in enumerate(anchors(triangles, answer.plan)):
        tip_local = point + side * 0.1 * radius
        tip, tail = world @ Vector(tip_local), world @ Vector(tip_local + side * 0.8 * radius)
        colour = setup_colour(k)
        name = f"{part.name}: Setup {k + 1} ({answer.plan[k]})"
        made.append(_arrow(scene, name, tip, tail, colour))
        made[-1]["milling_setup"] = k + 1
        beyond = world @ Vector(tip_local + side * 0.95 * radius)
        size = 0.25 * (tail - tip).length / 0.8
        made.append(_number(scene, k + 1, name, beyond, (tail - tip).normalized(), size, colour))
    if codes:
        made.append(_faces(scene, part, triangles, codes))
    for obj in made:
        obj[ARROW_TAG], obj["milling_part"] = True, part.name
        obj.hide_select = True
    return made


def _material(name: str, colour) -> bpy.types.Material:
    # Solid view (the default shading) shows a material's viewport colour, not the object's.
    material = bpy.data.materials.new(name)
    material.diffuse_color = colour
    return material


def _arrow(scene, name: str, tip: Vector, tail: Vector, colour) -> bpy.types.Object:
    mesh = bpy.data.meshes.new(name)
    verts, faces = _arrow_geometry((tip - tail).length)
    mesh.from_pydata(verts, [], faces)
    mesh.update()
    arrow = bpy.data.objects.new(name, mesh)
    rotation = Vector((0.0, 0.0, 1.0)).rotation_difference(tip - tail).to_matrix().to_4x4()
    arrow.matrix_world = Matrix.Translation(tail) @ rotation
    mesh.materials.append(_material(name, colour))
    arrow.color, arrow.show_in_front = colour, True
    scene.collection.objects.link(arrow)
    return arrow


def _number(scene, number: int, name: str, at: Vector, facing: Vector, size, colour):
    text = bpy.data.curves.new(f"{name} Number", "FONT")
    text.body, text.size, text.align_x, text.align_y = str(number), size, "CENTER", "CENTER"
    text.materials.append(_material(name, colour))
    obj = bpy.data.objects.new(f"{name} Number", text)
    turn = Vector((0.0, 0.0, 1.0)).rotation_difference(facing).to_matrix().to_4x4()
    obj.matrix_world = Matrix.Translation(at) @ turn
    obj.show_in_front, obj.color = True, colour
    scene.collection.objects.link(obj)
    return obj


def _faces(scene, part, triangles: np.ndarray, codes: str) -> bpy.types.Object:
    positions, colours = face_colours(triangles, codes)
    mesh = bpy.data.meshes.new(f"{part.name}: {FACES_NAME}")
    count = len(positions) // 3
    mesh.from_pydata(positions.tolist(), [], np.arange(3 * count).reshape(-1, 3).tolist())
    mesh.update()
    attribute = mesh.color_attributes.new("Setup", "FLOAT_COLOR", "CORNER")
    attribute.data.foreach_set("color", colours.astype(np.float32).ravel())
    obj = bpy.data.objects.new(mesh.name, mesh)
    obj.matrix_world = part.matrix_world.copy()
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
