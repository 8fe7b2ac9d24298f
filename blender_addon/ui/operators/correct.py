"""Correct the Plan: the sides the active part should be milled from, in order (see
batch/feedback.py)."""

from pathlib import Path

import bpy
from bpy.props import EnumProperty, StringProperty

from ..._shared import classes
from ...batch import feedback
from ...scene import answer as predict
from ...scene import stored
from ...scene.selection import object_triangles
from ..preferences import addon_preferences
from . import redraw

NONE = "NONE"
SIDES = [(NONE, "-", "No more setups")] + [
    (d, d, f"The tool comes from the part's {d} side") for d in classes.AXES
]
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def _side(number: int):
    return EnumProperty(
        name=f"Setup {number}",
        description=f"The side of the {ORDINALS[number - 1]} setup ('-' for none)",
        items=SIDES,
        default=NONE,
    )


class MILLING_OT_correct(bpy.types.Operator):
    """Record the active part with the plan it should have (its setups' sides, in order) in
    the corrections folder set in the preferences, for the next training run to learn from"""

    bl_idname = "milling.correct"
    bl_label = "Correct the Plan"
    bl_options = {"REGISTER"}

    setup_1: _side(1)
    setup_2: _side(2)
    setup_3: _side(3)
    setup_4: _side(4)
    setup_5: _side(5)
    setup_6: _side(6)
    plan: StringProperty(
        name="Plan",
        description="The sides in order, space-separated ('+Z -Z -Y'); overrides the six menus",
        options={"SKIP_SAVE"},
    )

    @classmethod
    def poll(cls, context):
        return stored.load(context.active_object) is not None

    def invoke(self, context, event):
        answer = stored.load(context.active_object)
        sides = list(answer.plan) + [NONE] * 6
        for k in range(6):
            setattr(self, f"setup_{k + 1}", sides[k])
        return context.window_manager.invoke_props_dialog(self, width=260)

    def draw(self, context):
        column = self.layout.column(align=True)
        column.label(text="The sides to mill from, in order:")
        for k in range(6):
            column.prop(self, f"setup_{k + 1}")

    def execute(self, context):
        props, part = context.scene.milling, context.active_object
        answer = stored.load(part)
        if answer is None:
            self.report({"ERROR"}, "predict the active part first: the correction is of its plan")
            return {"CANCELLED"}
        chosen = [getattr(self, f"setup_{k + 1}") for k in range(6)]
        plan = tuple(self.plan.split()) or tuple(d for d in chosen if d != NONE)
        prefs = addon_preferences(context)
        raw = prefs.corrections_dir if prefs is not None else ""
        folder = Path(bpy.path.abspath(raw)) if raw else feedback.default_folder()
        confidence = max(answer.probabilities)
        answered = f"{answer.label} {confidence:.2f} {' '.join(answer.plan)} ({answer.model})"
        triangles = object_triangles(part, context.evaluated_depsgraph_get())
        try:
            row = feedback.record(
                folder, part.name, triangles, plan, answered, props.size, predict.meta_image
            )
        except ValueError as e:
            props.status, props.status_error = f"{part.name}: {e}", True
            self.report({"ERROR"}, props.status)
            return {"CANCELLED"}
        except OSError as e:
            props.status, props.status_error = f"{folder}: cannot record the correction ({e})", True
            self.report({"ERROR"}, props.status)
            return {"CANCELLED"}
        turned = " (turned over: it starts from -Z)" if plan[0] == classes.CLAMP else ""
        props.status = (
            f"Recorded {part.name} with the plan {', '.join(plan)}{turned} in {folder}: "
            "a training run that reads this folder learns it"
        )
        props.status_error = False
        self.report({"INFO"}, f"recorded {row.image} ({row.plan}) in {folder}")
        redraw(context)
        return {"FINISHED"}
