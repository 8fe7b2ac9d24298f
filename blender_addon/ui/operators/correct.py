"""Correct This Answer: the panel's direction menu after Predict (see batch/feedback.py)."""

from pathlib import Path

import bpy
from bpy.props import EnumProperty

from ..._shared import classes
from ...batch import feedback
from ...scene import answer as predict
from ...scene.selection import object_triangles
from ..preferences import addon_preferences
from . import redraw


class MILLING_OT_correct(bpy.types.Operator):
    """Record the predicted part with the side it should be milled from, in the corrections
    folder (set in the preferences), for the next training run to learn from"""

    bl_idname = "milling.correct"
    bl_label = "Correct This Answer"
    bl_options = {"REGISTER"}

    direction: EnumProperty(
        name="Mill From",
        items=[(c, c, f"The part should be milled from {c}") for c in classes.CLASSES],
    )

    def execute(self, context):
        props = context.scene.milling
        part = context.scene.objects.get(props.prediction_part)
        if not props.prediction_label or part is None:
            self.report({"ERROR"}, "predict a part first: the correction is of its answer")
            return {"CANCELLED"}
        prefs = addon_preferences(context)
        raw = prefs.corrections_dir if prefs is not None else ""
        folder = Path(bpy.path.abspath(raw)) if raw else feedback.default_folder()
        confidence = max(props.prediction_probabilities)
        answered = f"{props.prediction_label} {confidence:.2f} {props.prediction_model}".strip()
        triangles = object_triangles(part, context.evaluated_depsgraph_get())
        try:
            row = feedback.record(
                folder,
                part.name,
                triangles,
                self.direction,
                answered,
                props.size,
                predict.meta_image,
            )
        except (OSError, ValueError) as e:
            props.status, props.status_error = f"{folder}: cannot record the correction ({e})", True
            self.report({"ERROR"}, props.status)
            return {"CANCELLED"}
        props.status = (
            f"Recorded {part.name} as {self.direction} in {folder}: the next run with "
            f"--data YOUR_DATA {folder} learns it"
        )
        props.status_error = False
        self.report({"INFO"}, f"recorded {row.image} as {self.direction} in {folder}")
        redraw(context)
        return {"FINISHED"}
