"""Add-on preferences: which model answers (the built-in one, or your champion) and how."""

import bpy
from bpy.props import EnumProperty, FloatProperty, StringProperty

from ..inference import builtin, client

ADDON = __package__.rpartition(".")[0]
"""The add-on's own package (preferences are the add-on's, keyed by it; this module is in ui/)."""


class MillingPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    backend: EnumProperty(
        name="Ask the Model",
        items=[
            (
                "BUILTIN",
                "Built-in Model",
                "The face-normal model shipped with the add-on: answers offline in well under "
                "a second, nothing to install",
            ),
            (
                "SERVER",
                "Model Server",
                "Send the part's meta-image to a model server (MLflow's scoring server) running "
                "a model you trained: fast once it runs",
            ),
            (
                "PYTHON",
                "Python Subprocess",
                "Ask a model you trained by running the trainer with the Python below (slow: "
                "it loads the model every time)",
            ),
        ],
        default="BUILTIN",
    )
    server_url: StringProperty(
        name="Server URL",
        default=client.DEFAULT_SERVER,
        description="Address of the model server (Start Local Model Server in the panel starts "
        "one here)",
    )
    python: StringProperty(
        name="Python",
        subtype="FILE_PATH",
        description="A Python with the trainer installed (e.g. the project's .venv/bin/python); "
        "Start Local Model Server runs it too",
    )
    tracking_uri: StringProperty(
        name="Model Store",
        description="Where your trained models are kept (an MLflow tracking URI such as "
        "sqlite:///path/mlflow.db). Empty: the store of the checkout the Python belongs to "
        "(build/demo/mlflow.db, else mlflow.db)",
    )
    timeout: FloatProperty(
        name="Timeout (s)",
        default=client.DEFAULT_TIMEOUT,
        min=1.0,
        max=600.0,
        description="How long Predict waits for your model's answer before it gives up",
    )

    corrections_dir: StringProperty(
        name="Corrections Folder",
        subtype="DIR_PATH",
        description="Where Correct the Plan records parts with the plan you give (a "
        "dataset folder: train with it beside your own data). Empty: milling_corrections in "
        "your home folder",
    )

    tool_library: StringProperty(
        name="Tool Library",
        subtype="FILE_PATH",
        description="A TOML file of your shop's end mills (see the docs: Tool libraries), for "
        "the tools of each setup and the design findings. Empty: a common set of flat and "
        "ball end mills from 1 to 16 mm",
    )

    def draw(self, context):
        layout = self.layout
        layout.prop(self, "tool_library")
        layout.prop(self, "corrections_dir")
        layout.prop(self, "backend", expand=True)
        if self.backend == "BUILTIN":
            try:
                model = builtin.load()
                layout.label(text=model.summary, icon="CHECKMARK")
            except builtin.BuiltinError as e:
                layout.label(text=str(e), icon="ERROR")
            return
        layout.label(text="Your best trained model (see the README: training):")
        if self.backend == "SERVER":
            layout.prop(self, "server_url")
        layout.prop(self, "python")
        layout.prop(self, "tracking_uri")
        layout.prop(self, "timeout")
        if self.backend == "SERVER" and not (
            bpy.app.online_access or client.is_loopback(self.server_url)
        ):
            layout.label(
                text="Online access is off: only a server on this machine is used", icon="ERROR"
            )


def addon_preferences(context) -> MillingPreferences | None:
    """The add-on's preferences (None if it is not registered as an add-on)."""
    addon = context.preferences.addons.get(ADDON)
    return None if addon is None else addon.preferences


def model_settings(context) -> client.ModelSettings:
    """The preferences as plain settings (defaults if the add-on is not registered as such)."""
    p = addon_preferences(context)
    if p is None:
        return client.ModelSettings()
    return client.ModelSettings(
        mode=p.backend.lower(),  # the enum's identifiers are ModelSettings' modes
        server_url=p.server_url,
        python=bpy.path.abspath(p.python) if p.python else "",
        tracking_uri=p.tracking_uri,
        timeout=p.timeout,
    )


def tool_library(context) -> str:
    """The tool library file of the preferences ('' for the default library)."""
    p = addon_preferences(context)
    return bpy.path.abspath(p.tool_library) if p is not None and p.tool_library else ""
