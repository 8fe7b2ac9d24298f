"""Predict the milling direction of the active object and show it (the panel's main button)."""

import threading

import bpy

from ..._shared import stl, tools
from ...inference import client, toolaware
from ...scene import answer as predict
from ...scene import findings, stored
from .. import viewport
from ..preferences import model_settings, tool_library
from . import redraw


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

    def _failed(self, context, message: str, obj=None):
        """The error in the panel; the part's old answer goes, so that it is not read as an
        answer to the part as it is now."""
        props = context.scene.milling
        stored.drop(obj if obj is not None else context.active_object)
        props.status, props.status_error = message, True
        self.report({"ERROR"}, message)
        redraw(context)
        return {"CANCELLED"}

    def _show(self, context, obj, triangles, answer):
        if obj.name not in context.scene.objects:  # deleted while we waited
            return self._failed(context, "the part was removed before the answer came", obj)
        props = context.scene.milling
        setting = findings.settings(context.scene, tool_library(context))
        warning = ""
        try:
            found = toolaware.analyse(triangles, setting, predict.BVHCaster)
        except tools.LibraryError as e:
            found, warning = None, f"Tool library: {e}"
        if found is None:
            answer = predict.with_shares(triangles, answer)
        else:
            answer = answer.with_shares(found.plan.shares(tuple(s.direction for s in answer.plan)))
            warning = toolaware.scale_warning(triangles, setting, obj.name) or ""
        source = describe_model(answer.model_uri, answer.model_version)
        kept = stored.make(obj, answer, found, self._polygons, source, warning)
        codes = stored.face_codes(found, kept.plan, triangles) if found is not None else ""
        stored.save(obj, kept, codes)
        viewport.forget(obj.name)
        props.status, props.status_error = "", False  # the Answer panel shows it
        self.report({"INFO"}, f"{obj.name}: {kept.summary}")  # and the status bar
        redraw(context)
        return {"FINISHED"}


def describe_model(uri: str, version: str) -> str:
    """`Built-in model (v1-bac79059)`, or the model's URI and version: plain words."""
    if uri.startswith("builtin:"):
        return f"built-in model (v{version})" if version else "built-in model"
    return uri + (f" v{version}" if version else "")
