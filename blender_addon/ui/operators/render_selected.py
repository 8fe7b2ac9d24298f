"""Render the selected mesh objects' meta-images into the output folder."""

import bpy

from ...scene.selection import SelectionJob
from ..properties import UNLABELLED, output_folder
from .job import JobOperator


class MILLING_OT_render_selected(JobOperator, bpy.types.Operator):
    """Render a 10x10 normal-map meta-image of each selected mesh object"""

    bl_idname = "milling.render_selected"
    bl_label = "Render Selected"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return any(o.type == "MESH" for o in context.selected_objects)

    def make_job(self, context):
        props = context.scene.milling
        if not props.output_dir:
            raise ValueError("choose an output folder first")
        label = "" if props.label == UNLABELLED else props.label
        out = output_folder(props.output_dir)
        return SelectionJob(context.selected_objects, out, label, props.size)
