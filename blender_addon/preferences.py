"""Add-on preferences: how to reach the model."""

import bpy
from bpy.props import EnumProperty, FloatProperty, StringProperty

from .utils import client


class MillingPreferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    backend: EnumProperty(
        name="Ask the Model",
        items=[
            ("SERVER", "Model Server", "POST the meta-image to an MLflow scoring server (fast)"),
            (
                "PYTHON",
                "Python Subprocess",
                "Run `python -m trainer predict --json` with the Python below (slow: it loads "
                "the model every time)",
            ),
        ],
        default="SERVER",
    )
    server_url: StringProperty(
        name="Server URL",
        default=client.DEFAULT_SERVER,
        description="MLflow scoring server of the model (python -m trainer serve)",
    )
    python: StringProperty(
        name="Python",
        subtype="FILE_PATH",
        description="Python interpreter with the trainer installed (e.g. the project's "
        ".venv/bin/python); also starts the local model server",
    )
    tracking_uri: StringProperty(
        name="Tracking URI",
        description="MLflow store holding the champion model (empty: the Python's own default, "
        "sqlite:///mlflow.db in its working folder, or $MLFLOW_TRACKING_URI)",
    )
    timeout: FloatProperty(name="Timeout (s)", default=client.DEFAULT_TIMEOUT, min=1.0, max=600.0)

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "backend", expand=True)
        layout.prop(self, "server_url")
        layout.prop(self, "python")
        layout.prop(self, "tracking_uri")
        layout.prop(self, "timeout")
        if not bpy.app.online_access and not client.is_loopback(self.server_url):
            layout.label(
                text="Online access is off: only a server on this machine is used", icon="ERROR"
            )


def model_settings(context) -> client.ModelSettings:
    """The preferences as plain settings (defaults if the add-on is not registered as such)."""
    addon = context.preferences.addons.get(__package__)
    if addon is None:
        return client.ModelSettings()
    p = addon.preferences
    return client.ModelSettings(
        mode="python" if p.backend == "PYTHON" else "server",
        server_url=p.server_url,
        python=bpy.path.abspath(p.python) if p.python else "",
        tracking_uri=p.tracking_uri,
        timeout=p.timeout,
    )
