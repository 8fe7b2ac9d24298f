"""Plan a batch render: find the STL files, name their outputs, read labels, skip finished work."""

from __future__ import annotations

import csv
import hashlib
import os
import random
import re
from dataclasses import dataclass
from pathlib import Path

from .._shared import classes, metaimage, plans, rotations
from ..step import PART_SUFFIXES as PARTS


class UsageError(ValueError):
    """A problem with the request as a whole (exit code 2), not with one input file."""


@dataclass(frozen=True)
class Problem:
    """Why one input (a file, or a folder) cannot be rendered."""

    input: str
    message: str
    """One line, beginning with the input's path."""

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class Variant:
    """One meta-image of a part: the part as it is, or rotated by a cube rotation."""

    image: str
    rotation: str
    label: str
    plan: tuple[str, ...] = ()
    """Every side the part is milled from, turned with it (empty where none was given)."""

    @property
    def augmentation(self) -> str:
        return "none" if self.rotation == rotations.IDENTITY else f"rot:{self.rotation}"


@dataclass(frozen=True)
class Part:
    """One STL file and the meta-images to make of it."""

    source: str
    part_id: str
    label: str
    variants: tuple[Variant, ...]
    relative: str = ""
    """`source` relative to the batch's input root, as the manifest records it."""


def find_inputs(paths: list[str]) -> tuple[list[Path], list[Problem]]:
    """Expand folders to their STL and STEP files (not recursive); return (files, problems)."""
    files: list[Path] = []
    errors: list[Problem] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.suffix.lower() in PARTS and p.is_file())
            if not found:
                errors.append(Problem(str(path), f"{path}: folder holds no .stl or .step files"))
            files += found
        elif path.exists():
            files.append(path)
        else:
            errors.append(Problem(str(path), f"{path}: file not found"))
    unique: dict[Path, Path] = {}
    for f in files:
        unique.setdefault(f.resolve(), f)
    return list(unique.values()), errors


def read_labels(path: Path) -> dict[Path, str]:
    """Read a `file,label` CSV; file paths are relative to the CSV's folder."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if not {"file", "label"} <= set(reader.fieldnames or []):
                raise UsageError(f"{path}: a labels CSV needs the columns 'file' and 'label'")
            labels: dict[Path, str] = {}
            for line, row in enumerate(reader, start=2):
                label = (row["label"] or "").strip()
                if label not in classes.CLASSES:
                    raise UsageError(
                        f"{path}: line {line}: unknown label {label!r}; "
                        f"expected one of {' '.join(classes.CLASSES)}"
                    )
                labels[(path.parent / row["file"]).resolve()] = label
            return labels
    except FileNotFoundError:
        raise UsageError(f"{path}: labels file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{path}: cannot read labels ({e})") from None


def read_plans(path: Path, labels: dict[Path, str]) -> dict[Path, tuple[str, ...]]:
    """The optional `plan` column of a labels CSV (`trainer parts` writes it): every side a
    part is milled from, its label first. Empty if the CSV has no such column."""
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            if "plan" not in (reader.fieldnames or []):
                return {}
            found: dict[Path, tuple[str, ...]] = {}
            for line, row in enumerate(reader, start=2):
                file = (path.parent / row["file"]).resolve()
                try:
                    steps = plans.parse(row["plan"] or labels.get(file, ""))
                except ValueError as e:
                    raise UsageError(f"{path}: line {line}: {e}") from None
                if steps[:1] != (labels.get(file),):
                    raise UsageError(f"{path}: line {line}: the plan does not start with the label")
                found[file] = steps
            return found
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise UsageError(f"{path}: cannot read labels ({e})") from None


def input_root(paths: list[str], labels: Path | None) -> Path:
    """The folder that manifest `source` paths are relative to: the labels CSV's folder (its
    `file` column is relative to it too), else the deepest folder holding every input."""
    if labels is not None:
        return labels.resolve().parent
    folders = [str(p if p.is_dir() else p.parent) for p in (Path(x).resolve() for x in paths)]
    try:
        return Path(os.path.commonpath(folders)) if folders else Path.cwd()
    except ValueError:  # Windows: inputs on different drives have no common folder
        return Path(folders[0])


def relative_to(path: Path, root: Path) -> str:
    """`path` relative to `root`, with / separators, the same on every machine (absolute if
    it has no path from `root`, as on another Windows drive)."""
    try:
        return Path(os.path.relpath(path.resolve(), root)).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def plan(
    files: list[Path],
    labels: dict[Path, str] | None,
    turns: int = 0,
    root: Path | None = None,
    setup_plans: dict[Path, tuple[str, ...]] | None = None,
) -> tuple[list[Part], list[Problem]]:
    """Name every part and its meta-images; return (parts, problems).

    part_id is the file's stem, made unique with a short hash of its path relative to `root`
    (default: the current folder) where two inputs share a stem. With `turns`, a labelled part
    gets the 20 cube rotations that keep its label one of the five classes instead of itself as
    it is; `choose_variants` keeps `turns` of them once the part's bytes are read. A part's
    setup plan (from `setup_plans`) is turned with each variant.
    """
    stems: dict[str, int] = {}
    for f in files:
        stems[f.stem] = stems.get(f.stem, 0) + 1
    by_name: dict[str, list[str]] = {}
    if labels:
        for p, label in labels.items():
            by_name.setdefault(p.name, []).append(label)
    parts, errors = [], []
    root = root or Path.cwd()
    for f in files:
        part_id, relative = f.stem, relative_to(f, root)
        if stems[f.stem] > 1:
            part_id += "-" + hashlib.sha1(relative.encode()).hexdigest()[:8]
        label = ""
        if labels is not None:
            label = labels.get(f.resolve(), "")
            if not label and len(by_name.get(f.name, [])) == 1:
                label = by_name[f.name][0]
            if not label:
                errors.append(Problem(str(f), f"{f}: no label for this file in the labels CSV"))
                continue
        poses = [(rotations.IDENTITY, label)]
        if turns and label:
            poses = [(name, new) for name, _, new in rotations.label_preserving(label)]
        steps = (setup_plans or {}).get(f.resolve(), ())
        variants = tuple(
            Variant(
                image_name(part_id, name),
                name,
                new_label,
                plans.rotate(steps, rotations.parse_rotation(name)),
            )
            for name, new_label in poses
        )
        parts.append(Part(str(f), part_id, label, variants, relative))
    return parts, errors


def choose_variants(part: Part, digest: str, count: int, seed: int) -> tuple[Variant, ...]:
    """The part's variants to render: `count` of its 20 rotations (see `pick_rotations`),
    keyed by its content hash `digest`, so that neither its name nor where it is mounted
    matters; all of them for 0, 20 or an unrotated part."""
    if not count or len(part.variants) <= count:
        return part.variants
    picked = {name for name, _ in pick_rotations(part.label, digest, count, seed)}
    return tuple(v for v in part.variants if v.rotation in picked)


def pick_rotations(label: str, key: str, count: int, seed: int) -> list[tuple[str, str]]:
    """(rotation, new label) for `count` of the 20 label-keeping rotations of a part, spread
    evenly over the classes they give (5: one pose per class), chosen by (seed, key) alone (key:
    the part's content hash), so that every machine and every shard picks the same ones. 20 or
    more: all of them."""
    turns = [(name, new) for name, _, new in rotations.label_preserving(label)]
    if count >= len(turns):
        return turns
    rng = random.Random(f"{seed}:{key}")
    by_class: dict[str, list[str]] = {}
    for name, new in turns:
        by_class.setdefault(new, []).append(name)
    order = sorted(by_class)
    rng.shuffle(order)
    for names in by_class.values():
        rng.shuffle(names)
    picked = {by_class[order[i % len(order)]][i // len(order)] for i in range(count)}
    return [(name, new) for name, new in turns if name in picked]


def parse_shard(text: str, env: dict[str, str] | None = None) -> tuple[int, int]:
    """'I/N' -> (I, N): shard I (counted from 0) of N.

    'auto' and 'auto/N' take I from the batch scheduler: a Slurm array task
    (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN, N = SLURM_ARRAY_TASK_COUNT) or a Kubernetes
    Indexed Job (JOB_COMPLETION_INDEX; it does not publish N, so give it as auto/N).
    """
    head, _, tail = text.partition("/")
    try:
        if head == "auto":
            given = int(tail) if tail else None
        else:
            index, count = int(head), int(tail)
    except ValueError:
        raise UsageError(f"--shard {text!r}: expected I/N (e.g. 0/4), auto or auto/N") from None
    if head == "auto":
        index, count = _scheduler_shard(text, os.environ if env is None else env, given)
    if count < 1 or not 0 <= index < count:
        raise UsageError(f"--shard {text!r}: need 0 <= I < N, got {index}/{count}")
    return index, count


def _scheduler_shard(text: str, env, count: int | None) -> tuple[int, int]:
    def number(name: str, default: str | None = None) -> int | None:
        value = env.get(name, default)
        try:
            return None if value is None else int(value)
        except ValueError:
            raise UsageError(f"--shard {text!r}: {name}={value!r} is not a number") from None

    if "SLURM_ARRAY_TASK_ID" in env:
        index = number("SLURM_ARRAY_TASK_ID") - number("SLURM_ARRAY_TASK_MIN", "0")
        slurm = number("SLURM_ARRAY_TASK_COUNT")
        if count is not None and slurm is not None and count != slurm:
            raise UsageError(
                f"--shard {text!r}: the Slurm array has {slurm} tasks (SLURM_ARRAY_TASK_COUNT)"
            )
        count = count if count is not None else slurm
    elif "JOB_COMPLETION_INDEX" in env:
        index = number("JOB_COMPLETION_INDEX")
    else:
        raise UsageError(
            f"--shard {text!r}: neither SLURM_ARRAY_TASK_ID (a Slurm array task) nor "
            "JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) is set; give --shard I/N"
        )
    if count is None:
        raise UsageError(f"--shard {text!r}: the shard count is unknown here; give --shard auto/N")
    return index, count


def shard(parts: list[Part], index: int, count: int) -> list[Part]:
    """The parts of shard `index` of `count`: every count-th part in part_id order.

    Depends only on the set of part_ids, so every machine given the same inputs agrees, and
    the shards are disjoint, cover every part and differ in size by at most one.
    """
    order = {pid: i for i, pid in enumerate(sorted(p.part_id for p in parts))}
    return [p for p in parts if order[p.part_id] % count == index]


def part_file_id(name: str) -> str:
    """An object's name as a part id and file name, as Render Folder names a part by its STL
    file's stem: only characters no file name may hold become `_` (`Part 1(4)` stays)."""
    return re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", name).strip(" .") or "part"


def image_name(part_id: str, rotation: str) -> str:
    """Output file name of a part's meta-image (the unrotated one is just `<part_id>.png`)."""
    if rotation == rotations.IDENTITY:
        return f"{part_id}.png"
    return f"{part_id}__r{rotation}.png"


def sha256_file(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def is_current(image: Path, expected: dict) -> bool:
    """True if `image` is a complete meta-image made from the same source with the same settings."""
    return metaimage.read_provenance(image) == expected
