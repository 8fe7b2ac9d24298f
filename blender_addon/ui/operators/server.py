"""Start or stop a local model server (`python -m trainer serve`) from the preferences' Python."""

import subprocess
import urllib.parse

import bpy

from ...inference import client
from ..preferences import addon_preferences, model_settings

_server: subprocess.Popen | None = None


def stop_server() -> bool:
    """Stop the server this Blender started, if any; True if one was running."""
    global _server
    running = _server is not None and _server.poll() is None
    if running:
        _server.terminate()
        try:
            _server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _server.kill()
    _server = None
    return running


class MILLING_OT_start_server(bpy.types.Operator):
    """Start a model server with your best trained model (the Python set in the preferences
    and its checkout's models), and let Predict ask it"""

    bl_idname = "milling.start_server"
    bl_label = "Start Local Model Server"

    @classmethod
    def poll(cls, context):
        if model_settings(context).mode == "builtin":
            cls.poll_message_set(
                "The built-in model answers without a server: choose Model Server in the "
                "add-on's preferences to ask a model you trained"
            )
            return False
        return True

    def execute(self, context):
        global _server
        settings = model_settings(context)
        if not settings.python:
            self.report({"ERROR"}, "set the Python with the trainer in the add-on preferences")
            return {"CANCELLED"}
        url = urllib.parse.urlsplit(settings.server_url)
        if not client.is_loopback(settings.server_url):
            self.report({"ERROR"}, f"{settings.server_url} is not on this machine")
            return {"CANCELLED"}
        stop_server()
        command = [
            settings.python,
            "-m",
            "trainer",
            "serve",
            "--host",
            url.hostname,
            "--port",
            str(url.port or 80),
        ]
        store, cwd = client.find_store(settings.python)
        store = settings.tracking_uri or store
        if store:
            command += ["--tracking-uri", store]
        try:
            _server = subprocess.Popen(command, cwd=cwd or None, start_new_session=True)
        except OSError as e:
            self.report({"ERROR"}, f"{settings.python}: cannot start it ({e.strerror or e})")
            return {"CANCELLED"}
        prefs = addon_preferences(context)
        if prefs is not None:  # the user wants the champion now: Predict asks this server
            prefs.backend = "SERVER"
        where = store or "the Python's default store"
        props = context.scene.milling
        props.status = f"Model server starting at {settings.server_url} on {where}..."
        props.status_error = False
        self.report(
            {"INFO"}, f"model server starting at {settings.server_url} on {where} (a few seconds)"
        )
        return {"FINISHED"}


class MILLING_OT_stop_server(bpy.types.Operator):
    """Stop the model server started from this Blender"""

    bl_idname = "milling.stop_server"
    bl_label = "Stop Local Model Server"

    def execute(self, context):
        stopped = stop_server()
        self.report({"INFO"}, "model server stopped" if stopped else "no model server was running")
        return {"FINISHED"}
