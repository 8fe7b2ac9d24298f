"""The add-on's scene state: one PropertyGroup at `scene.milling`."""

import tempfile
from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    StringProperty,
)

from .._shared import classes, metaimage

UNLABELLED = "NONE"
LABEL_ITEMS = [(UNLABELLED, "Unlabelled", "No label: for prediction, not for training")] + [
    (c, c, f"Training label: the tool comes from the {c} side") for c in classes.CLASSES
]
TEMP_FOLDER = "milling_meta_images"
"""Where a relative output folder goes while the .blend file is unsaved (in the temp folder)."""


class MillingSceneProperties(bpy.types.PropertyGroup):
    output_dir: StringProperty(
        name="Output Folder",
        description="Folder for meta-images and manifest.csv (relative to the .blend file; "
        "while it is unsaved, inside the system temp folder)",
        subtype="DIR_PATH",
        default="//meta_images/",
    )
    label: EnumProperty(
        name="Label",
        description="Training label written to manifest.csv for the selected parts "
        "(Unlabelled unless you pick one)",
        items=LABEL_ITEMS,
        default=UNLABELLED,
    )
    size: IntProperty(
        name="Size",
        description="Meta-image edge in pixels (a multiple of 10)",
        default=metaimage.DEFAULT_SIZE,
        min=metaimage.MIN_SIZE,
        max=metaimage.MAX_SIZE,
        step=10,
    )
    input_dir: StringProperty(
        name="STL Folder", description="Folder of STL files to render", subtype="DIR_PATH"
    )
    labels_csv: StringProperty(
        name="Labels CSV",
        description="Optional CSV with columns file,label for the folder's STL files",
        subtype="FILE_PATH",
    )
    rotations: BoolProperty(
        name="Rotations",
        description="Also render the label-preserving cube rotations (needs a labels CSV)",
    )
    show_setups: BoolProperty(
        name="Colour Faces by Setup",
        description=(
            "Colour each answered part's machined faces in the colour of the setup whose "
            "tools mill them, and in red what no tool of the plan reaches (drawn over the "
            "viewport: nothing is added to the scene)"
        ),
        default=True,
        update=lambda props, context: _overlay_toggled(props, context),
    )
    # Run-time state drawn by the panel (not animatable).
    # Progress of the running job.
    running: BoolProperty(options=set())
    progress: FloatProperty(min=0.0, max=1.0, options=set())
    job_status: StringProperty(options=set())  # progress while it runs, then its report
    job_error: BoolProperty(options=set())
    # The last Predict's line (the answers themselves are kept on their parts: scene/stored.py).
    status: StringProperty(options=set())
    status_error: BoolProperty(options=set())
    predicting: BoolProperty(options=set())
    finding_index: IntProperty(min=0, options=set())
    """The finding whose message the Findings panel shows (the last one selected)."""


def _overlay_toggled(props, context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def output_folder(raw: str) -> Path:
    """The output folder a user typed, as an absolute path: relative to the .blend file, or,
    while the file is unsaved, to the system temp folder (never Blender's working folder)."""
    if raw.startswith("//") and not bpy.data.filepath:
        return Path(tempfile.gettempdir()) / TEMP_FOLDER / raw[2:]
    return Path(bpy.path.abspath(raw))
