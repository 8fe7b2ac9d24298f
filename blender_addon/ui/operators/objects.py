"""Add as Objects: the active part's answer as scene geometry (see scene/objects.py)."""

import bpy

from ...scene import objects, stored
from ...scene.answer import part_triangles


class MILLING_OT_add_objects(bpy.types.Operator):
    """Add the active part's arrows, setup numbers and coloured faces to the scene as objects
    (for a render or an export; the viewport shows them without this)"""

    bl_idname = "milling.add_objects"
    bl_label = "Add as Objects"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return stored.load(context.active_object) is not None

    def execute(self, context):
        part = context.active_object
        answer = stored.load(part)
        triangles = part_triangles(part, context.evaluated_depsgraph_get())
        codes = stored.faces(part)
        made = objects.add_objects(context.scene, part, triangles, answer, codes)
        self.report({"INFO"}, f"{part.name}: {len(made)} object(s) added")
        return {"FINISHED"}
