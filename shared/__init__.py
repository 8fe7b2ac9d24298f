"""The contract between the Blender add-on and the trainer: pure Python + numpy.

Modules: `classes` (the five milling directions), `views` (the 10x10 view schedule),
`metaimage` (colour encoding, tiling, PNG provenance), `rotations` (label-preserving cube
rotations), `manifest` (the dataset manifest), `stl` (a strict STL reader/writer), `facenormals`
(the face-normal model's features and numpy forward pass), `png`
(just enough PNG for Blender's bundled Python, which has no Pillow), `atomic` (files that are
complete or absent), `progress` (progress lines for long work), `setups` (the geometric setup
analysis: from which sides a part must be milled), `axisrays` (its numpy ray caster), `tools`
(tool libraries and units), `toolplan` (the tool-aware plan and design findings), `heightmap`
(where a real cutter reaches) and
`plans` (setup plans: their text form, rotation, the plan head's answer and metrics).

The contract's modules are at the top; `files/` and `geometry/` hold the supporting ones, and
all are importable from here (`from shared import stl`). Modules import each other
relatively so that the add-on zip can carry its own copy.
"""

from . import classes, facenormals, manifest, metaimage, plans, prediction, render_outcome, views
from .files import atomic, png, progress
from .geometry import axisrays, heightmap, rotations, setups, stl, toolplan, tools

__all__ = [
    "atomic",
    "axisrays",
    "classes",
    "facenormals",
    "heightmap",
    "manifest",
    "metaimage",
    "plans",
    "png",
    "prediction",
    "progress",
    "render_outcome",
    "rotations",
    "setups",
    "stl",
    "toolplan",
    "tools",
    "views",
]
