"""The setup overlay: the part's machined faces coloured by the setup of the plan that mills
them (the geometric analysis, shared.setups.face_setups), undercut faces in a warning colour.
A copy of those faces, lifted a hair off the part, tagged like the arrows: removed with them,
undone with them, never selectable."""

from __future__ import annotations

import bpy
import numpy as np

from .._shared import setups, stl
from .answer import ARROW_TAG, SHARE_SAMPLES, BVHCaster, remove_arrows
from .selection import object_triangles

OVERLAY_NAME = "Milling Setups"
OVERLAY_TAG = "milling_overlay"
SETUP_COLOURS = (
    (0.10, 0.35, 0.90, 1.0),  # 1 blue
    (0.95, 0.55, 0.05, 1.0),  # 2 orange
    (0.15, 0.70, 0.30, 1.0),  # 3 green
    (0.55, 0.25, 0.80, 1.0),  # 4 purple
    (0.10, 0.75, 0.80, 1.0),  # 5 cyan
    (0.85, 0.80, 0.10, 1.0),  # 6 yellow
)
UNDERCUT_COLOUR = (0.95, 0.05, 0.75, 1.0)
"""Magenta: no setup of the plan reaches the face (the arrows' red means a low confidence)."""
COLOUR_NAMES = ("blue", "orange", "green", "purple", "cyan", "yellow")
LIFT = 2e-3
"""How far the overlay stands off the part, as a share of its bounding-box diagonal."""


def legend(plan: tuple[str, ...]) -> str:
    """`1. +Z blue  2. -Z orange  undercut magenta`: what the overlay's colours mean."""
    named = [f"{k}. {d} {COLOUR_NAMES[k - 1]}" for k, d in enumerate(plan, start=1)]
    return "  ".join([*named, "undercut magenta"])


def show_overlay(
    scene: bpy.types.Scene, part: bpy.types.Object, triangles: np.ndarray, plan: tuple[str, ...]
) -> bpy.types.Object | None:
    """Colour the part's machined faces by setup (a new tagged object); None when the part has
    no machined face. Call after show_arrow, which removes the previous overlay."""
    faces = setups.face_setups(triangles, plan, caster=BVHCaster(triangles), count=SHARE_SAMPLES)
    keep = faces != setups.STOCK_FACE
    if not keep.any():
        return None
    points = triangles.reshape(-1, 3)
    lift = LIFT * float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
    shown = triangles[keep] + lift * stl.face_normals(triangles[keep])[:, None, :]
    mesh = bpy.data.meshes.new(OVERLAY_NAME)
    mesh.from_pydata(
        [tuple(p) for p in shown.reshape(-1, 3)],
        [],
        [(3 * i, 3 * i + 1, 3 * i + 2) for i in range(len(shown))],
    )
    colours = [*SETUP_COLOURS[: len(plan)], UNDERCUT_COLOUR]
    for k, colour in enumerate(colours):
        name = f"{OVERLAY_NAME}: {plan[k]}" if k < len(plan) else f"{OVERLAY_NAME}: undercut"
        material = bpy.data.materials.new(name)
        material.diffuse_color = colour  # what Solid view shows
        mesh.materials.append(material)
    which = np.where(faces[keep] == setups.UNDERCUT_FACE, len(plan), faces[keep])
    mesh.polygons.foreach_set("material_index", which.astype(np.int32))
    mesh.update()
    overlay = bpy.data.objects.new(OVERLAY_NAME, mesh)
    overlay.matrix_world = part.matrix_world.copy()
    overlay[ARROW_TAG], overlay[OVERLAY_TAG], overlay["milling_part"] = True, True, part.name
    overlay.hide_select = True
    scene.collection.objects.link(overlay)
    return overlay


def toggled(props, context) -> None:
    """The panel's checkbox: show the overlay of the part last predicted, or remove it."""
    remove_arrows(OVERLAY_TAG)
    props.prediction_legend = ""
    part = context.scene.objects.get(props.prediction_part)
    if not props.show_setups or part is None or not props.prediction_label:
        return
    plan = tuple(line.split()[1] for line in props.prediction_plan.splitlines())
    plan = plan or (props.prediction_label,)
    triangles = object_triangles(part, context.evaluated_depsgraph_get())
    if show_overlay(context.scene, part, triangles, plan) is not None:
        props.prediction_legend = legend(plan)
