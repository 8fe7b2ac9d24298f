"""One rendering task (a source file and its missing variants) and what rendering it did: the
unit of work that this process, a worker process or a Ray actor runs alike."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import step
from .._shared import atomic, metaimage, png, rotations, stl
from . import jobs


@dataclass
class Task:
    """The part of a job one renderer does: one source file, the variants still missing."""

    source: str
    part_id: str
    sha256: str
    variants: list[jobs.Variant]


@dataclass
class Answer:
    """What rendering a task did: the variants written, and an error line if it failed."""

    variants: list[jobs.Variant] = field(default_factory=list)
    error: str = ""


def render_task(
    renderer,
    task: Task,
    out: Path,
    strategy: str,
    stl_data: bytes | None = None,
    keep: Callable[[str, bytes], None] | None = None,
) -> Answer:
    """Read one STL file (or its bytes, `stl_data`) and make its missing meta-images in the
    process holding `renderer`; `keep(image, png)` takes each (default: written into `out`)."""
    try:
        mesh = (
            step.read_part(task.source)
            if stl_data is None
            else step.parse_part(stl_data, task.source)
        )
    except stl.StlError as e:
        return Answer([], str(e))
    keep = keep or (lambda image, data: atomic.write_bytes(out / image, data))
    written: list[jobs.Variant] = []
    try:
        for v in task.variants:
            rotation = rotations.parse_rotation(v.rotation)
            record = metaimage.provenance(
                task.sha256, v.augmentation, renderer.size, renderer.engine
            )
            keep(v.image, meta_image(renderer, mesh.triangles @ rotation.T, record, strategy))
            written.append(v)
    except OSError as e:
        return Answer(written, f"{out}: cannot write meta-image ({e.strerror or e})")
    except (RuntimeError, MemoryError) as e:  # Blender could not render this mesh
        return Answer(written, f"{task.source}: render failed ({e})")
    return Answer(written)


def meta_image(renderer, triangles: np.ndarray, record: dict, strategy: str = "grid") -> bytes:
    """Render part-frame triangles into a tagged PNG."""
    renderer.load(triangles)
    return png.retag(renderer.render(strategy), metaimage.provenance_text(record))


def write_meta_image(
    renderer, triangles: np.ndarray, path: Path, record: dict, strategy: str = "grid"
) -> None:
    """Render part-frame triangles and write the tagged PNG atomically."""
    atomic.write_bytes(path, meta_image(renderer, triangles, record, strategy))
