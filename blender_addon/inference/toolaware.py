"""The tool-aware analysis behind the panel (no bpy): the part in mm by the scene's units, the
tool library of the preferences, the caller's ray caster (Blender's BVH tree in the panel:
Blender's Python has no Embree) and fewer points than the command line (it is a display). The
last part's analysis is kept, so that the overlay's checkbox and a second look do not run it
again."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .._shared import axisrays, toolplan, tools

PANEL_SAMPLES = 6000
"""Points of the panel's analysis (the command line's: toolplan.SAMPLES)."""


@dataclass(frozen=True)
class ToolSettings:
    library: str = ""
    """A TOML tool library; '' for the default one."""
    mm_per_unit: float = 1.0
    """What one unit of the part's numbers is in mm (the scene's unit scale x 1000)."""


def library(settings: ToolSettings) -> tuple[tools.Tool, ...]:
    """The tools (tools.LibraryError naming the file if the library cannot be used)."""
    return tools.read_library(settings.library) if settings.library else tools.default_library()


_last: dict[tuple, toolplan.ToolAnalysis] = {}


def forget() -> None:
    """Drop the kept analysis (a benchmark's cold run)."""
    _last.clear()


def analyse(
    triangles: np.ndarray, settings: ToolSettings, caster: Callable = axisrays.Caster
) -> toolplan.ToolAnalysis:
    """The tool-aware analysis of a part's triangles (in the scene's units); `caster` makes
    the ray caster of the triangles in mm (one with `distances` measures thin walls too)."""
    key = (hashlib.sha256(np.ascontiguousarray(triangles).tobytes()).hexdigest(), settings)
    if key not in _last:
        mm = np.asarray(triangles, dtype=np.float64) * settings.mm_per_unit
        found = toolplan.analyse(mm, library(settings), caster=caster(mm), count=PANEL_SAMPLES)
        _last.clear()
        _last[key] = found
    return _last[key]


def scale_warning(triangles: np.ndarray, settings: ToolSettings, name: str) -> str | None:
    """A line for a part implausibly small or large in the scene's units."""
    longest = tools.implausible_mm(triangles, settings.mm_per_unit)
    if longest is None:
        return None
    size = f"{longest / 1000:.3g} m" if longest >= 1000 else f"{longest:.3g} mm"
    return (
        f"{name} is {size} across in this scene's units: if its numbers are millimetres, set "
        "Scene Properties > Units > Unit Scale to 0.001 (tool sizes are in mm)"
    )
