"""`manifest.csv`: the source of truth for a dataset of meta-images.

One row per meta-image. All augmented variants of one source part share `part_id`, and every
train/validation/test split is made by `part_id`, never by image.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from . import plans
from .classes import CLASSES
from .files import atomic

FILENAME = "manifest.csv"
ROOTS_FILE = "sources.json"
"""Beside the manifest: {"roots": [...]}, the absolute input roots of the batches rendered into
the folder, where relative `source` paths are looked up. Machine-specific, unlike the rows."""


@dataclass(frozen=True)
class Row:
    image: str
    """File name of the meta-image, relative to the manifest's folder."""
    label: str
    """One of CLASSES, or '' for an unlabelled part."""
    part_id: str
    """The source part; shared by all its augmented variants."""
    source: str
    """The STL file the image was rendered from, relative to the batch's input root (POSIX
    separators; see `resolve_source`). Manifests before that hold absolute paths."""
    augmentation: str
    """'none', or 'rot:<name>' for a cube rotation (see `rotations`)."""
    size: int
    """Edge length of the meta-image in pixels."""
    source_sha256: str
    """SHA-256 of the source STL file's bytes."""
    plan: str = ""
    """Every side the part (as imaged) is milled from, the label first, space-separated (see
    `plans`); '' where the labels gave none (a one-setup part: its label alone)."""
    origin: str = ""
    """'feedback' for a part a user corrected in Blender (Correct the Plan); '' otherwise."""
    answered: str = ""
    """For a correction: the model's answer it corrects (`-Y 0.62 builtin:face-normals v1-...`)."""


FEEDBACK = "feedback"
"""The `origin` of a part a user corrected in Blender."""
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(Row))
REQUIRED: tuple[str, ...] = ("image", "label", "part_id", "source", "augmentation")


class ManifestError(ValueError):
    """A manifest that cannot be used. `str()` is '<path>: <reason>'."""


def read(path: str | os.PathLike) -> list[Row]:
    """Read and check a manifest; raise ManifestError with the file and line at fault."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ManifestError(f"{path}: missing column(s) {', '.join(missing)}")
            rows = []
            for line, record in enumerate(reader, start=2):
                label = record["label"] or ""
                if label and label not in CLASSES:
                    raise ManifestError(f"{path}: line {line}: unknown label {label!r}")
                try:
                    size = int(record.get("size") or 0)
                except ValueError:
                    raise ManifestError(f"{path}: line {line}: size is not an integer") from None
                rows.append(
                    Row(
                        image=record["image"],
                        label=label,
                        part_id=record["part_id"],
                        source=record["source"],
                        augmentation=record["augmentation"],
                        size=size,
                        source_sha256=record.get("source_sha256") or "",
                        plan=_plan(path, line, label, record.get("plan") or ""),
                        origin=record.get("origin") or "",
                        answered=record.get("answered") or "",
                    )
                )
            return rows
    except FileNotFoundError:
        raise ManifestError(f"{path}: file not found") from None
    except (UnicodeDecodeError, csv.Error) as e:
        raise ManifestError(f"{path}: not a readable CSV file ({e})") from None


def _plan(path: Path, line: int, label: str, text: str) -> str:
    try:
        steps = plans.parse(text)
    except ValueError as e:
        raise ManifestError(f"{path}: line {line}: {e}") from None
    if steps and steps[0] != label:
        raise ManifestError(f"{path}: line {line}: the plan does not start with the label")
    return text


def write(path: str | os.PathLike, rows: list[Row]) -> None:
    """Write rows sorted by image name, atomically (a reader never sees half a file)."""
    with atomic.replacing(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in sorted(rows, key=lambda r: r.image):
            writer.writerow(asdict(row))


def read_roots(folder: str | os.PathLike) -> list[str]:
    """The input roots recorded in `folder`'s ROOTS_FILE (none if it is missing or unreadable)."""
    try:
        roots = json.loads((Path(folder) / ROOTS_FILE).read_text(encoding="utf-8"))["roots"]
    except (OSError, ValueError, KeyError, TypeError):
        return []
    return [r for r in roots if isinstance(r, str)]


def add_roots(folder: str | os.PathLike, roots: list[str]) -> None:
    """Record input roots in `folder`'s ROOTS_FILE, after the ones it has (atomically)."""
    merged = list(dict.fromkeys(read_roots(folder) + roots))
    text = json.dumps({"roots": merged}, indent=1) + "\n"
    atomic.write_bytes(Path(folder) / ROOTS_FILE, text.encode())


def resolve_source(folder: str | os.PathLike, source: str, roots: list[str]) -> Path:
    """Where a row's STL file is on this machine: an absolute `source` as it is; a relative one
    under the first of `roots`, else of the dataset `folder`, where it exists (else the first
    candidate, so that a missing file is named where it was looked for)."""
    if Path(source).is_absolute():
        return Path(source)
    candidates = [Path(root) / source for root in roots] + [Path(folder) / source]
    return next((c for c in candidates if c.is_file()), candidates[0])
