"""The tool-aware side of an answer in Blender: the scene's units, the design findings' names,
and selecting a finding's faces (as the 3D-Print Toolbox selects a check's)."""

from __future__ import annotations

import bpy
import numpy as np

from ..inference import toolaware

KIND_NAMES = {
    "undercut": "Undercut",
    "too_deep": "Too deep",
    "sharp_internal_corner": "Sharp internal corner",
    "too_narrow": "Too narrow",
    "thin_wall": "Thin wall",
}


def mm_per_unit(scene: bpy.types.Scene) -> float:
    """What one Blender unit is in mm: the scene's unit scale (no unit system: mm)."""
    units = scene.unit_settings
    return 1.0 if units.system == "NONE" else float(f"{1000.0 * units.scale_length:.6g}")


def settings(scene: bpy.types.Scene, library: str) -> toolaware.ToolSettings:
    return toolaware.ToolSettings(library, mm_per_unit(scene))


def use_millimetres(scene: bpy.types.Scene) -> bool:
    """Set a scene still at Blender's default units (metres, scale 1) to millimetres, the unit
    of an STL file from CAD; True if it was changed."""
    units = scene.unit_settings
    if units.system != "METRIC" or units.scale_length != 1.0 or units.length_unit != "METERS":
        return False
    units.scale_length, units.length_unit = 0.001, "MILLIMETERS"
    return True


def select_faces(obj: bpy.types.Object, faces: str) -> int:
    """Select the finding's polygons of `obj` (nothing else) and show them in Edit Mode where
    there is a window; the count selected."""
    if obj.mode == "EDIT":
        bpy.ops.object.mode_set(mode="OBJECT")
    wanted = np.zeros(len(obj.data.polygons), dtype=bool)
    index = np.array([int(x) for x in faces.split()], dtype=np.int64)
    wanted[index[index < len(wanted)]] = True
    mesh = obj.data
    mesh.polygons.foreach_set("select", wanted)
    # their corners too: Edit Mode builds its selection from the vertices as well
    totals = np.empty(len(mesh.polygons), dtype=np.int64)
    mesh.polygons.foreach_get("loop_total", totals)
    corners = np.empty(len(mesh.loops), dtype=np.int64)
    mesh.loops.foreach_get("vertex_index", corners)
    verts = np.zeros(len(mesh.vertices), dtype=bool)
    verts[corners[np.repeat(wanted, totals)]] = True
    mesh.vertices.foreach_set("select", verts)
    ends = np.empty(2 * len(mesh.edges), dtype=np.int64)
    mesh.edges.foreach_get("vertices", ends)
    mesh.edges.foreach_set("select", verts[ends].reshape(-1, 2).all(axis=1))
    mesh.update()
    if not bpy.app.background:
        bpy.ops.object.mode_set(mode="EDIT")
        bpy.ops.mesh.select_mode(type="FACE")
    return int(wanted.sum())
