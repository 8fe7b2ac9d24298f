"""Correct This Answer: record a predicted part with the side the user says is right, in a
corrections folder that is a dataset like any other (meta-images, STL copies, manifest.csv), so
that `python -m trainer train --data YOUR_DATA CORRECTIONS` learns from both."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from .._shared import atomic, manifest, stl
from .jobs import part_file_id, sha256_file

FEEDBACK = "feedback"
"""The manifest's `origin` of a corrected part."""


def default_folder() -> Path:
    """Where corrections go when the preferences name no folder."""
    return Path.home() / "milling_corrections"


def record(
    folder: Path,
    name: str,
    triangles: np.ndarray,
    label: str,
    answered: str,
    size: int,
    render: Callable[[np.ndarray, int], bytes],
) -> manifest.Row:
    """Write the part's STL copy (parts/ID.stl), its meta-image (ID.png, `render(triangles,
    size)`) and its manifest row (label, origin feedback, the answer it corrects) into `folder`;
    a part corrected again keeps only its last correction. Each file is written whole."""
    pid = part_file_id(name)  # as Render Folder and Render Selected name it
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    with atomic.replacing(folder / "parts" / f"{pid}.stl") as tmp:
        stl.write_stl(tmp, triangles)
        digest = sha256_file(tmp)
    atomic.write_bytes(folder / f"{pid}.png", render(triangles, size))
    row = manifest.Row(
        f"{pid}.png", label, pid, f"parts/{pid}.stl", "none", size, digest, "", FEEDBACK, answered
    )
    path = folder / manifest.FILENAME
    rows = manifest.read(path) if path.is_file() else []
    manifest.write(path, [r for r in rows if r.image != row.image] + [row])
    return row
