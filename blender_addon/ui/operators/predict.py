"""Predict the milling direction of the active object and show it (the panel's main button)."""

import threading

import bpy

from ..._shared import classes, plans, stl, tools
from ...inference import client, toolaware
from ...scene import answer as predict
from ...scene import findings, overlay
from ..preferences import model_settings, tool_library
from . import redraw


def clear_answer(props) -> None:
    """Forget the last answer: the panel's lines, and the arrows and overlay in the scene."""
    predict.remove_arrows()
    props.prediction_part = props.prediction_label = props.prediction_plan = ""
    props.prediction_legend = props.prediction_model = props.prediction_warning = ""
    props.findings.clear()


class MILLING_OT_predict(bpy.types.Operator):
    """Ask the model chosen in the add-on's preferences from which sides the active part is
    milled"""

    bl_idname = "milling.predict"
    bl_label = "Predict Milling Direction"
    bl_options = {"REGISTER", "UNDO"}

    def _start(self, context):
        """Check the selection: (object, triangles) or None after a report."""
        obj = context.active_object
        try:
            triangles, self._polygons = predict.part_mesh(obj, context.evaluated_depsgraph_get())
        except predict.PredictError as e:
            self._failed(context, str(e))
            return None
        return obj, triangles

    def execute(self, context):  # scripts, background mode and the built-in model: at once
        started = self._start(context)
        if started is None:
            return {"CANCELLED"}
        obj, triangles = started
        setting = findings.settings(context.scene, tool_library(context))
        try:  # the built-in model reads the tool-aware analysis that the panel shows
            analysis = toolaware.analyse(triangles, setting, predict.BVHCaster).plan
        except tools.LibraryError:
            analysis = None  # _show says why; the model runs the default library's
        mm = triangles * setting.mm_per_unit
        try:
            answer = predict.answer(mm, model_settings(context), predict.online_access(), analysis)
        except client.ClientError as e:
            return self._failed(context, str(e))
        return self._show(context, obj, triangles, answer)

    def invoke(self, context, event):  # the UI: a champion's request runs in a thread
        settings = model_settings(context)
        if settings.mode == "builtin":  # numpy, well under a second: no thread needed
            return self.execute(context)
        started = self._start(context)
        if started is None:
            return {"CANCELLED"}
        self._obj, self._triangles = started
        png = predict.meta_image(self._triangles)  # bpy: here, not in the thread
        mm = self._triangles * findings.mm_per_unit(context.scene)
        mesh = stl.stl_bytes(mm)  # a face-normal model reads the part in mm
        self._outcome = {}
        online = predict.online_access()

        def request():
            try:
                self._outcome["answer"] = client.ask(png, settings, online, mesh)
            except client.ClientError as e:
                self._outcome["error"] = str(e)

        self._thread = threading.Thread(target=request, daemon=True)
        self._thread.start()
        props = context.scene.milling
        props.predicting, props.status = True, f"Asking {settings.where}... (Esc to cancel)"
        props.status_error = False
        self._timer = context.window_manager.event_timer_add(0.05, window=context.window)
        context.window_manager.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        if event.type == "ESC":
            self._stop(context)
            context.scene.milling.status = "Prediction cancelled"
            return {"CANCELLED"}
        if event.type != "TIMER" or self._thread.is_alive():
            return {"PASS_THROUGH"}
        self._stop(context)
        if "error" in self._outcome:
            return self._failed(context, self._outcome["error"])
        return self._show(context, self._obj, self._triangles, self._outcome["answer"])

    def _stop(self, context) -> None:
        context.window_manager.event_timer_remove(self._timer)
        context.scene.milling.predicting = False
        redraw(context)

    def _failed(self, context, message: str):
        """The error in the panel, where the answer was: the last answer (its lines, arrows
        and overlay) goes, so that it is not read as this part's."""
        props = context.scene.milling
        clear_answer(props)
        props.status, props.status_error = message, True
        self.report({"ERROR"}, message)
        redraw(context)
        return {"CANCELLED"}

    def _show(self, context, obj, triangles, answer):
        if obj.name not in context.scene.objects:  # deleted while we waited
            return self._failed(context, "the part was removed before the answer came")
        props = context.scene.milling
        setting = findings.settings(context.scene, tool_library(context))
        try:
            found = toolaware.analyse(triangles, setting, predict.BVHCaster)
        except tools.LibraryError as e:
            found, props.prediction_warning = None, f"Tool library: {e}"
        if found is None:
            answer = predict.with_shares(triangles, answer)
            props.prediction_plan = "\n".join(plans.describe(answer.plan).split("  "))
        else:
            directions = tuple(s.direction for s in answer.plan)
            answer = answer.with_shares(found.plan.shares(directions))
            props.prediction_plan = "\n".join(toolaware.plan_lines(list(answer.plan), found))
            props.prediction_warning = toolaware.scale_warning(triangles, setting, obj.name) or ""
        predict.show_arrow(context.scene, obj, triangles, answer)
        props.prediction_part = obj.name
        props.prediction_label = answer.label
        props.prediction_probabilities = [answer.probabilities[c] for c in classes.CLASSES]
        props.findings.clear()
        if found is not None:
            findings.store(props, found, self._polygons)
        props.prediction_legend = ""
        if props.show_setups and found is not None:
            plan = tuple(s.direction for s in answer.plan) or (answer.label,)
            kinds = overlay.show_overlay(context.scene, obj, triangles, plan, found)
            if kinds is not None:
                props.prediction_legend = overlay.legend(plan, kinds)
        source = answer.model_uri + (f" v{answer.model_version}" if answer.model_version else "")
        props.status = f"Answered by {source}"  # the answer itself is the line below it
        props.prediction_model = source
        props.status_error = False
        self.report(
            {"INFO"},
            f"{obj.name}: mill from {answer.label} ({answer.confidence:.0%})",
        )
        redraw(context)
        return {"FINISHED"}
