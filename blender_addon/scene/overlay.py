"""The setup overlay: the part's machined faces coloured by the setup of the plan whose tools
mill them (the tool-aware analysis), faces no tool of the plan reaches in magenta, and each
design finding's faces in its own colour. A copy of those faces, lifted a hair off the part,
tagged like the arrows: removed with them, undone with them, never selectable."""

from __future__ import annotations

import bpy
import numpy as np

from .._shared import setups, stl, toolplan
from ..inference import toolaware
from .answer import ARROW_TAG, BVHCaster, part_triangles, remove_arrows
from .findings import settings

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
"""Magenta: no tool of the plan reaches the face (the arrows' red means a low confidence)."""
COLOUR_NAMES = ("blue", "orange", "green", "purple", "cyan", "yellow")
FINDING_COLOURS = {
    "undercut": ((0.60, 0.00, 0.45, 1.0), "plum"),
    "too_deep": ((0.85, 0.05, 0.05, 1.0), "red"),
    "too_narrow": ((0.40, 0.10, 0.02, 1.0), "brown"),
    "sharp_internal_corner": ((1.00, 0.55, 0.70, 1.0), "pink"),
    "thin_wall": ((0.97, 0.97, 0.97, 1.0), "white"),
}
"""Each design finding's faces (toolplan.KINDS), over the colour of their setup."""
LIFT = 2e-3
"""How far the overlay stands off the part, as a share of its bounding-box diagonal."""


def legend(plan: tuple[str, ...], kinds: tuple[str, ...] = ()) -> str:
    """`1. +Z blue  2. -Z orange  unreached magenta  too deep red`: what the colours mean."""
    named = [f"{k}. {d} {COLOUR_NAMES[k - 1]}" for k, d in enumerate(plan, start=1)]
    found = [f"{k.replace('_', ' ')} {FINDING_COLOURS[k][1]}" for k in kinds]
    return "  ".join([*named, "unreached magenta", *found])


def show_overlay(
    scene: bpy.types.Scene,
    part: bpy.types.Object,
    triangles: np.ndarray,
    plan: tuple[str, ...],
    found: toolplan.ToolAnalysis,
) -> tuple[str, ...] | None:
    """Colour the part's machined faces by setup (a new tagged object) and return the kinds of
    finding shown; None when the part has no machined face. Call after show_arrow, which
    removes the previous overlay."""
    faces = found.faces_for(plan)
    keep = faces != setups.STOCK_FACE
    if not keep.any():
        return None
    which = np.where(faces == setups.UNDERCUT_FACE, len(plan), faces)
    colours = [*SETUP_COLOURS[: len(plan)], UNDERCUT_COLOUR]
    names = [*plan, "unreached"]
    kinds = []
    for f in found.findings:
        if f.faces and f.kind not in kinds:
            kinds.append(f.kind)
            colours.append(FINDING_COLOURS[f.kind][0])
            names.append(f.kind)
        which[np.asarray(f.faces, dtype=np.int64)] = names.index(f.kind)
    points = triangles.reshape(-1, 3)
    lift = LIFT * float(np.linalg.norm(points.max(axis=0) - points.min(axis=0)))
    shown = triangles[keep] + lift * stl.face_normals(triangles[keep])[:, None, :]
    mesh = bpy.data.meshes.new(OVERLAY_NAME)
    mesh.from_pydata(
        [tuple(p) for p in shown.reshape(-1, 3)],
        [],
        [(3 * i, 3 * i + 1, 3 * i + 2) for i in range(len(shown))],
    )
    for name, colour in zip(names, colours, strict=True):
        material = bpy.data.materials.new(f"{OVERLAY_NAME}: {name}")
        material.diffuse_color = colour  # what Solid view shows
        mesh.materials.append(material)
    mesh.polygons.foreach_set("material_index", which[keep].astype(np.int32))
    mesh.update()
    overlay = bpy.data.objects.new(OVERLAY_NAME, mesh)
    overlay.matrix_world = part.matrix_world.copy()
    overlay[ARROW_TAG], overlay[OVERLAY_TAG], overlay["milling_part"] = True, True, part.name
    overlay.hide_select = True
    scene.collection.objects.link(overlay)
    return tuple(kinds)


def toggled(props, context, library: str = "") -> None:
    """The panel's checkbox: show the overlay of the part last predicted, or remove it."""
    remove_arrows(OVERLAY_TAG)
    props.prediction_legend = ""
    part = context.scene.objects.get(props.prediction_part)
    if not props.show_setups or part is None or not props.prediction_label:
        return
    plan = tuple(line.split()[1] for line in props.prediction_plan.splitlines())
    plan = plan or (props.prediction_label,)
    try:
        triangles = part_triangles(part, context.evaluated_depsgraph_get())
        found = toolaware.analyse(triangles, settings(context.scene, library), BVHCaster)
    except ValueError:  # a tool library broken since the answer, or a part with no faces
        return
    kinds = show_overlay(context.scene, part, triangles, plan, found)
    if kinds is not None:
        props.prediction_legend = legend(plan, kinds)
