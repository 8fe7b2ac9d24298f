"""The answers drawn as viewport overlays, as Blender's own measure tools draw theirs: a
SpaceView3D draw handler (gpu, blf) that adds nothing to the scene, the outliner, the .blend,
renders or exports. Each visible part with an answer gets its setups' arrows and numbers in
screen space (always upright, never mirrored, in view for +-Z too) and, with Colour Faces by
Setup, its machined faces in their setup's colour."""

from __future__ import annotations

import blf
import bpy
import gpu
import numpy as np
from bpy_extras.view3d_utils import location_3d_to_region_2d
from gpu_extras.batch import batch_for_shader
from mathutils import Vector

from ..scene import marks, stored
from ..scene.answer import part_triangles

_handlers: list = []
_faces: dict[str, tuple[str, object]] = {}
"""Object name -> (answer token, its coloured faces' batch): built once per answer."""


def register() -> None:
    if not _handlers:
        space = bpy.types.SpaceView3D
        _handlers.append(space.draw_handler_add(draw_faces, (), "WINDOW", "POST_VIEW"))
        _handlers.append(space.draw_handler_add(draw_arrows, (), "WINDOW", "POST_PIXEL"))


def unregister() -> None:
    for handler in _handlers:
        bpy.types.SpaceView3D.draw_handler_remove(handler, "WINDOW")
    _handlers.clear()
    _faces.clear()


def answered_parts(context) -> list[tuple[bpy.types.Object, stored.Answer]]:
    """The visible parts of the view layer that have a current answer."""
    out = []
    for obj in context.view_layer.objects:
        if obj.type == "MESH" and stored.ANSWER in obj and obj.visible_get():
            answer = stored.load(obj)
            if answer is not None:
                out.append((obj, answer))
    return out


def draw_faces() -> None:
    context = bpy.context
    props = getattr(context.scene, "milling", None)
    if props is None or not props.show_setups:
        return
    shader = gpu.shader.from_builtin("SMOOTH_COLOR")
    gpu.state.depth_test_set("LESS_EQUAL")
    try:
        with gpu.matrix.push_pop_projection():
            gpu.matrix.load_projection_matrix(_nearer(context))
            for obj, answer in answered_parts(context):
                batch = _face_batch(context, obj, answer, shader)
                if batch is not None:
                    with gpu.matrix.push_pop():
                        gpu.matrix.multiply_matrix(obj.matrix_world)
                        batch.draw(shader)
    finally:
        gpu.state.depth_test_set("NONE")


def _nearer(context, dist: float = 1.0):
    """The projection with its depth pulled towards the viewer, as Blender offsets its own
    overlays (ED_view3d_polygon_offset): the colours never fight the part's own faces."""
    projection = gpu.matrix.get_projection_matrix().copy()
    if projection[3][3] > 0.5:  # orthographic
        view = context.region_data
        projection[2][3] -= 1e-5 * dist * (view.view_distance if view else 1.0)
    else:
        projection[2][3] -= projection[2][3] * -0.0025 * dist
    return projection


def _face_batch(context, obj, answer: stored.Answer, shader):
    kept = _faces.get(obj.name)
    if kept is not None and kept[0] == answer.token:
        return kept[1]
    batch = None
    try:
        triangles = part_triangles(obj, context.evaluated_depsgraph_get())
        positions, colours = marks.face_colours(triangles, stored.faces(obj))
        if len(positions):
            batch = batch_for_shader(
                shader,
                "TRIS",
                {"pos": positions.astype(np.float32), "color": colours.astype(np.float32)},
            )
    except ValueError:  # its codes do not match its mesh: nothing to colour
        batch = None
    _faces[obj.name] = (answer.token, batch)
    return batch


def draw_arrows() -> None:
    context = bpy.context
    region, view = context.region, context.region_data
    if region is None or view is None:
        return
    scale = context.preferences.system.ui_scale or 1.0
    shader = gpu.shader.from_builtin("UNIFORM_COLOR")
    gpu.state.blend_set("ALPHA")
    for obj, answer in answered_parts(context):
        _draw_part(context, obj, answer, region, view, shader, scale)
    gpu.state.blend_set("NONE")


def _draw_part(context, obj, answer, region, view, shader, scale: float) -> None:
    bounds = np.array([tuple(c) for c in obj.bound_box], dtype=np.float64)
    radius = 0.5 * float(np.linalg.norm(bounds.max(axis=0) - bounds.min(axis=0))) or 1.0
    world = obj.matrix_world
    to_viewer = view.view_rotation @ Vector((0.0, 0.0, 1.0))
    corners = [location_3d_to_region_2d(region, view, world @ Vector(c)) for c in bounds]
    outline = np.array([tuple(c) for c in corners if c is not None] or [(0.0, 0.0)])
    lo, hi = outline.min(axis=0), outline.max(axis=0)
    placed: list[np.ndarray] = []
    rings: list[np.ndarray] = []
    for k, (point, side) in enumerate(marks.anchors(bounds, answer.plan)):
        at = location_3d_to_region_2d(region, view, world @ Vector(point))
        out = location_3d_to_region_2d(region, view, world @ Vector(point + side * 0.5 * radius))
        if at is None or out is None:
            continue
        at = np.array(at)
        toward = np.array(out) - at
        colour = marks.setup_colour(k)
        if np.hypot(*toward) <= 12 * scale:  # seen end-on: a ring, with a dot if it comes at you
            while any(np.hypot(*(at - r)) < 30 * scale for r in rings):  # +Z and -Z: side by side
                at = at + np.array([32.0, 0.0]) * scale
            rings.append(at)
            _fill(shader, marks.dot_2d(at, scale, radius=14.0), (0.0, 0.0, 0.0, 0.55))
            tris, label_at = marks.ring_2d(at, scale), at + np.array([0.0, 24.0]) * scale
            if (world.to_3x3() @ Vector(side)).dot(to_viewer) > 0:
                tris = np.concatenate([tris, marks.dot_2d(at, scale)])
        else:  # beside the part's outline, pointing at the side's centre
            tris, label_at = marks.arrow_2d(marks.leave_box(at, toward, lo, hi), toward, scale)
        for other in placed:
            if np.hypot(*(label_at - other)) < 14 * scale:
                label_at = label_at + np.array([14.0, 0.0]) * scale
        placed.append(label_at)
        _fill(shader, tris, colour)
        _number(str(k + 1), label_at, colour, scale)


def _fill(shader, tris: np.ndarray, colour) -> None:
    points = np.asarray(tris, dtype=np.float32).reshape(-1, 2)
    points = np.concatenate([points, np.zeros((len(points), 1), np.float32)], axis=1)
    shader.bind()
    shader.uniform_float("color", colour)
    batch_for_shader(shader, "TRIS", {"pos": points}).draw(shader)


def _number(text: str, at: np.ndarray, colour, scale: float) -> None:
    font = 0
    blf.size(font, 18 * scale)
    width, height = blf.dimensions(font, text)
    blf.enable(font, blf.SHADOW)
    blf.shadow(font, 5, 0.0, 0.0, 0.0, 1.0)
    blf.shadow_offset(font, 1, -1)
    blf.position(font, float(at[0] - width / 2), float(at[1] - height / 2), 0)
    blf.color(font, *colour)
    blf.draw(font, text)
    blf.disable(font, blf.SHADOW)


def forget(name: str | None = None) -> None:
    """Drop the kept batches (of one part): its mesh or answer changed."""
    if name is None:
        _faces.clear()
    else:
        _faces.pop(name, None)
