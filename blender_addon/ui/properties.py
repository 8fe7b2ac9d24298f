"""The add-on's scene state: one PropertyGroup at `scene.milling`."""

import tempfile
from pathlib import Path

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    StringProperty,
)

from .._shared import classes, metaimage
from ..scene.overlay import toggled
from .preferences import tool_library

UNLABELLED = "NONE"
LABEL_ITEMS = [(UNLABELLED, "Unlabelled", "No label: for prediction, not for training")] + [
    (c, c, f"Training label: the tool comes from the {c} side") for c in classes.CLASSES
]
TEMP_FOLDER = "milling_meta_images"
"""Where a relative output folder goes while the .blend file is unsaved (in the temp folder)."""


class MillingFinding(bpy.types.PropertyGroup):
    """One design finding of the last answer's tool-aware analysis."""

    kind: StringProperty(options=set())
    share: FloatProperty(options=set())
    message: StringProperty(options=set())
    faces: StringProperty(options=set())
    """The part's polygon indices it concerns, space-separated."""


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
            "Colour the predicted part's machined faces by the setup whose tools mill them "
            "(the tool-aware analysis of the part), faces no tool of the plan reaches in "
            "magenta, and each design finding's faces in its own colour"
        ),
        update=lambda props, context: _overlay_toggled(props, context),
    )
    # Run-time state drawn by the panel (not animatable).
    # Progress of the running job.
    running: BoolProperty(options=set())
    progress: FloatProperty(min=0.0, max=1.0, options=set())
    job_status: StringProperty(options=set())  # progress while it runs, then its report
    job_error: BoolProperty(options=set())
    # The last prediction.
    status: StringProperty(options=set())
    status_error: BoolProperty(options=set())
    predicting: BoolProperty(options=set())
    prediction_part: StringProperty(options=set())
    prediction_label: StringProperty(options=set())
    prediction_plan: StringProperty(options=set())
    """The setup plan, one setup a line (`1. +Z (82 % of the machined area)`); '' for none."""
    prediction_model: StringProperty(options=set())
    """The model that gave the last answer (`builtin:face-normals v1-...`)."""
    prediction_legend: StringProperty(options=set())
    """What the overlay's colours mean (`1. +Z blue  2. -Z orange  undercut magenta`)."""
    prediction_probabilities: FloatVectorProperty(
        size=len(classes.CLASSES), min=0.0, max=1.0, options=set()
    )
    prediction_warning: StringProperty(options=set())
    """A line about the part's size in the scene's units, or the tool library; '' for none."""
    findings: CollectionProperty(type=MillingFinding, options=set())
    findings_index: IntProperty(options=set())


def _overlay_toggled(props, context) -> None:
    toggled(props, context, tool_library(context))


def output_folder(raw: str) -> Path:
    """The output folder a user typed, as an absolute path: relative to the .blend file, or,
    while the file is unsaved, to the system temp folder (never Blender's working folder)."""
    if raw.startswith("//") and not bpy.data.filepath:
        return Path(tempfile.gettempdir()) / TEMP_FOLDER / raw[2:]
    return Path(bpy.path.abspath(raw))
