"""The add-on's scene state: one PropertyGroup at `scene.milling`."""

import bpy
from bpy.props import (
    BoolProperty,
    EnumProperty,
    FloatProperty,
    FloatVectorProperty,
    IntProperty,
    StringProperty,
)

from ._shared import classes, metaimage

UNLABELLED = "NONE"
LABEL_ITEMS = [(c, c, f"The tool comes from the {c} side") for c in classes.CLASSES] + [
    (UNLABELLED, "Unlabelled", "No label: for prediction, not for training")
]


class MillingSceneProperties(bpy.types.PropertyGroup):
    output_dir: StringProperty(
        name="Output Folder",
        description="Folder for meta-images and manifest.csv",
        subtype="DIR_PATH",
        default="//meta_images/",
    )
    label: EnumProperty(
        name="Label", description="Milling direction of the selected parts", items=LABEL_ITEMS
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
    # Run-time state drawn by the panel (not animatable).
    # Progress of the running job.
    running: BoolProperty(options=set())
    progress: FloatProperty(min=0.0, max=1.0, options=set())
    status: StringProperty(options=set())
    # The last prediction.
    predicting: BoolProperty(options=set())
    prediction_part: StringProperty(options=set())
    prediction_label: StringProperty(options=set())
    prediction_probabilities: FloatVectorProperty(
        size=len(classes.CLASSES), min=0.0, max=1.0, options=set()
    )
