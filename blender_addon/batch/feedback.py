"""Correct the Plan: record a predicted part with the plan the user says is right (its sides
in order), in a corrections folder that is a dataset like any other (meta-images, STL copies,
manifest.csv with its `plan` column), so that a training run given both folders learns from
both. A plan that starts from -Z (never a class: the clamping side) is recorded with the part
turned over, so that it starts from +Z."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._shared import atomic, classes, manifest, plans, stl
from .jobs import part_file_id, sha256_file

FEEDBACK = manifest.FEEDBACK
TURN_OVER = np.diag([1.0, -1.0, -1.0])
"""Half a turn about X: a plan that starts from -Z starts from +Z on the part turned so."""


def default_folder() -> Path:
    """Where corrections go when the preferences name no folder."""
    return Path.home() / "milling_corrections"


def record(
    folder: Path,
    name: str,
    triangles: np.ndarray,
    plan: tuple[str, ...],
    answered: str,
    size: int,
    render: Callable[[np.ndarray, int], bytes],
) -> manifest.Row:
    """Write the part's STL copy (parts/ID.stl), its meta-image (ID.png, `render(triangles,
    size)`) and its manifest row (label and plan, origin feedback, the answer it corrects)
    into `folder`; a part corrected again keeps only its last correction. Each file is
    written whole. ValueError for a plan that is empty or repeats a side."""
    plan = plans.parse(" ".join(plan))
    if not plan:
        raise ValueError("the plan has no setup: pick the side of setup 1")
    if plan[0] == classes.CLAMP:  # turned over about X: -Z becomes +Z
        plan = plans.rotate(plan, TURN_OVER)
        triangles = np.asarray(triangles) @ TURN_OVER.T
    label = plan[0]
    pid = part_file_id(name)  # as Render Folder and Render Selected name it
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    with atomic.replacing(folder / "parts" / f"{pid}.stl") as tmp:
        stl.write_stl(tmp, triangles)
        digest = sha256_file(tmp)
    atomic.write_bytes(folder / f"{pid}.png", render(triangles, size))
    row = manifest.Row(
        f"{pid}.png",
        label,
        pid,
        f"parts/{pid}.stl",
        "none",
        size,
        digest,
        plans.text(plan),
        FEEDBACK,
        answered,
    )
    path = folder / manifest.FILENAME
    rows = manifest.read(path) if path.is_file() else []
    manifest.write(path, [r for r in rows if r.image != row.image] + [row])
    return row
