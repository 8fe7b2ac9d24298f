"""A meta-image dataset: read and check the manifest, split by part, fingerprint, tf.data input.

Rows whose image is missing, cut off, not a PNG, of the wrong size or not 8-bit RGB are skipped
and counted, never trained on; the run fails only if too few remain.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import tensorflow as tf

from shared import classes, manifest, plans, png
from shared.files.progress import Progress
from trainer.data import preprocess
from trainer.errors import TrainerError

SPLITS = ("train", "val", "test")
MIN_PARTS_PER_CLASS = 3
"""A class needs one part in each of train, validation and test."""
MAX_BAD_FRACTION = 0.5
"""Refuse a dataset where more than this share of the rows is unusable."""


class DataError(TrainerError, ValueError):
    """A dataset that cannot be trained on; the message names the file and the problem."""


@dataclass(frozen=True)
class Example:
    path: Path
    label: str
    part_id: str
    source: str = ""
    """The STL file the meta-image was rendered from."""
    augmentation: str = "none"
    setup_plan: tuple[str, ...] = ()
    """Every side the part is milled from, as the manifest gives it (empty: the label alone)."""
    corrected: bool = False
    """A person gave this plan (Correct the Plan in Blender): the face-normal model learns it
    as given, not the analysis' plan."""

    @property
    def y(self) -> int:
        return classes.CLASSES.index(self.label)

    @property
    def plan(self) -> tuple[str, ...]:
        return self.setup_plan or (self.label,)


@dataclass
class Dataset:
    """The usable rows of a manifest, and what was skipped and why."""

    folder: Path
    examples: list[Example]
    size: int
    skipped: Counter = field(default_factory=Counter)
    first_problems: list[str] = field(default_factory=list)

    @property
    def manifest_path(self) -> Path:
        return self.folder / manifest.FILENAME


def load(folder: Path, progress: bool = True) -> Dataset:
    """Read `folder/manifest.csv` and check every image's header; skip the unusable rows."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: data folder not found")
    path = folder / manifest.FILENAME
    if not path.is_file():
        raise DataError(
            f"{path}: no manifest.csv (render meta-images with python -m blender_addon)"
        )
    try:
        rows = manifest.read(path)
    except manifest.ManifestError as e:
        raise DataError(str(e)) from None
    if not rows:
        raise DataError(f"{path}: the manifest lists no images")
    sizes = Counter(r.size for r in rows if r.size)
    size = sizes.most_common(1)[0][0] if sizes else 0
    data = Dataset(folder, [], size)
    roots = manifest.read_roots(folder)
    bar = Progress(len(rows), unit="images checked", enabled=progress)
    for i, row in enumerate(rows):
        problem = "unlabelled" if not row.label else None
        if problem is None:
            problem, found = _check_image(folder / row.image, size)
            if found and not data.size:
                data.size = size = found
        if problem:
            data.skipped[problem] += 1
            if len(data.first_problems) < 5:
                data.first_problems.append(f"{folder / row.image}: {problem}")
        else:
            source = str(manifest.resolve_source(folder, row.source, roots))
            data.examples.append(
                Example(
                    folder / row.image,
                    row.label,
                    row.part_id,
                    source,
                    row.augmentation,
                    plans.parse(row.plan),
                    row.origin == manifest.FEEDBACK,
                )
            )
        bar.update(i + 1)
    bar.close()
    bad = sum(data.skipped.values())
    if bad > MAX_BAD_FRACTION * len(rows) or not data.examples:
        raise DataError(
            f"{path}: {bad} of {len(rows)} rows are unusable ({_summary(data.skipped)}); "
            f"first: {data.first_problems[0]}"
        )
    return data


def load_all(folders: list[Path], progress: bool = True) -> Dataset:
    """`load` of one folder, or of several as one dataset (their meta-images must have one
    size): each part id is prefixed with its folder's name, so that parts of two folders are
    never one part to the split."""
    loaded = [load(f, progress) for f in folders]
    if len(loaded) == 1:
        return loaded[0]
    sizes = {d.size: d.folder for d in loaded}
    if len(sizes) > 1:
        (a, fa), (b, fb) = list(sizes.items())[:2]
        raise DataError(
            f"{fb}: its meta-images are {b} px and those of {fa} {a} px: render them at one "
            "size (--size) to learn from both"
        )
    names = [d.folder.resolve().name or str(i) for i, d in enumerate(loaded)]
    names = [n if names.count(n) == 1 else f"{n}{i}" for i, n in enumerate(names)]
    out = Dataset(loaded[0].folder, [], loaded[0].size)
    for name, d in zip(names, loaded, strict=True):
        out.examples += [replace(e, part_id=f"{name}/{e.part_id}") for e in d.examples]
        out.skipped.update(d.skipped)
        out.first_problems += d.first_problems[: 5 - len(out.first_problems)]
    return out


MULTI_SETUP = "of parts that need several setups (multi_setup: skip)"


def one_setup(data: Dataset) -> Dataset:
    """The dataset without the images of parts that need several setups (a plan of 2+ sides),
    counted among the skipped rows: a model that answers one side cannot be right on them."""
    keep = [e for e in data.examples if len(e.plan) == 1]
    if not keep:
        raise DataError(
            f"{data.manifest_path}: every image is of a part that needs several setups; this "
            "model learns one-setup parts (--multi-setup primary: learn their primary setup)"
        )
    skipped = Counter(data.skipped)
    if len(keep) < len(data.examples):
        skipped[MULTI_SETUP] += len(data.examples) - len(keep)
    return replace(data, examples=keep, skipped=skipped)


def _check_image(path: Path, size: int) -> tuple[str | None, int]:
    """(problem or None, the image's edge length) from the PNG's header and last chunk."""
    try:
        with path.open("rb") as f:
            head = f.read(33)
            f.seek(max(0, os.fstat(f.fileno()).st_size - 12))
            tail = f.read(12)
    except FileNotFoundError:
        return "missing image", 0
    except OSError as e:
        return f"unreadable image ({e.strerror or e})", 0
    try:
        width, height, depth, colour = png.read_header(head)
    except ValueError:
        return "not a PNG image", 0
    if tail[4:8] != b"IEND":
        return "cut-off image (no PNG end chunk)", 0
    if depth != 8 or colour != 2:
        return f"not 8-bit RGB (PNG bit depth {depth}, colour type {colour})", 0
    if width != height or (size and width != size) or width % preprocess.GRID:
        return f"wrong size {width}x{height} (expected {size}x{size})", 0
    return None, width


def _summary(counts: Counter) -> str:
    return ", ".join(f"{n} {why}" for why, n in counts.most_common())


def skipped_summary(data: Dataset) -> str:
    return _summary(data.skipped) if data.skipped else "none"


# -- split by part -----------------------------------------------------------------------------


def split(examples: list[Example], val: float, test: float, seed: int) -> dict[str, str]:
    """Assign every part_id to train, val or test, stratified by the part's label.

    A part's label is that of its first (usually unrotated) image; all images of a part go to
    the same side. Raises DataError naming a class with too few parts to split.
    """
    part_label: dict[str, str] = {}
    for e in examples:
        part_label.setdefault(e.part_id, e.label)
    by_class: dict[str, list[str]] = defaultdict(list)
    for part, label in part_label.items():
        by_class[label].append(part)
    few = {c: len(by_class.get(c, [])) for c in classes.CLASSES}
    few = {c: n for c, n in few.items() if n < MIN_PARTS_PER_CLASS}
    if few:
        detail = ", ".join(f"{c} has {n}" for c, n in few.items())
        raise DataError(
            f"too few parts to split into train/validation/test (at least "
            f"{MIN_PARTS_PER_CLASS} per class needed): {detail}"
        )
    rng = np.random.default_rng(seed)
    assignment: dict[str, str] = {}
    for label in classes.CLASSES:
        parts = sorted(by_class[label])
        rng.shuffle(parts)
        n = len(parts)
        n_test = max(1, round(n * test))
        n_val = max(1, round(n * val))
        n_val = min(n_val, n - n_test - 1)
        for i, part in enumerate(parts):
            assignment[part] = "test" if i < n_test else "val" if i < n_test + n_val else "train"
    return assignment


def write_split(path: Path, assignment: dict[str, str]) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["part_id", "split"])
        w.writerows(sorted(assignment.items()))


# -- fingerprints ------------------------------------------------------------------------------


def fingerprint(examples: list[Example], extra: bytes = b"") -> str:
    """SHA-256 over `extra` and every example's label, plan and image bytes, in a fixed
    order."""
    h = hashlib.sha256(extra)
    for e in sorted(examples, key=lambda e: e.path.name):
        h.update(f"{e.path.name}\0{e.label}\0".encode())
        if e.setup_plan:  # datasets without plans keep the fingerprints they had
            h.update(f"plan\0{plans.text(e.setup_plan)}\0".encode())
        h.update(e.path.read_bytes())
    return h.hexdigest()


# -- tf.data -----------------------------------------------------------------------------------


def _decode(path: tf.Tensor, label: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
    return preprocess.decode(tf.io.read_file(path)), label


def pipeline(
    examples: list[Example],
    image_size: int,
    batch_size: int,
    training: bool,
    shuffle_tiles: bool = False,
    half_turns: bool = False,
    seed: int = 0,
    cache_bytes: float = 0,
    decoded_size: int = 600,
    multiple: int = 1,
    plan: bool = False,
) -> tf.data.Dataset:
    """Batches of (float32 images, int labels, or with `plan` the plan head's (N, 7) targets:
    plan_targets): read, decode, [shuffle tiles], [half turns], resize, prefetch.

    Training data is shuffled every epoch, and kept decoded in memory if it fits `cache_bytes`;
    evaluation data is cached after resizing (it is small and never changes). Every batch holds
    a `multiple` of images (data-parallel devices split it evenly): each training epoch leaves
    out the fewer than `multiple` images left over after its shuffle, and evaluation repeats the
    last image to fill the last batch (predictions past len(examples) are to be dropped).
    """
    paths = [str(e.path) for e in examples]
    labels = np.array([e.y for e in examples], dtype=np.int32)
    if plan:
        labels = plan_targets(examples)
    if not training and len(paths) % multiple:
        fill = multiple - len(paths) % multiple
        paths, labels = (
            paths + paths[-1:] * fill,
            np.concatenate([labels, np.repeat(labels[-1:], fill, axis=0)]),
        )
    ds = tf.data.Dataset.from_tensor_slices((paths, labels))
    ds = ds.map(_decode, num_parallel_calls=tf.data.AUTOTUNE)
    if not training:
        ds = ds.map(lambda x, y: (preprocess.resize(x, image_size), y), tf.data.AUTOTUNE)
        return ds.cache().batch(batch_size).prefetch(tf.data.AUTOTUNE)
    if shuffle_tiles:  # kept as tiles, so that each epoch's shuffle is one gather and one transpose
        ds = ds.map(lambda x, y: (preprocess.to_tiles(x), y), tf.data.AUTOTUNE)
    if len(examples) * decoded_size * decoded_size * 3 <= cache_bytes:
        ds = ds.cache()
    ds = ds.shuffle(len(examples), seed=seed, reshuffle_each_iteration=True)
    if len(examples) % multiple:
        ds = ds.take(len(examples) - len(examples) % multiple)
    # Each batch gets its own stateless seeds: a stateful random op in a parallel map draws in
    # whatever order the threads run, so the same seed would not give the same epoch.
    seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).batch(4)
    ds = tf.data.Dataset.zip(ds.batch(batch_size), seeds)

    def augment_and_resize(batch, s):  # on whole batches: per-image ops cost tf.data more
        x, y = batch
        if shuffle_tiles:
            x = preprocess.from_tiles(x, shuffle=True, seed=s[:2])
        if half_turns:
            x, y = preprocess.random_half_turns(x, y, seed=s[2:])
        return preprocess.resize(x, image_size), y

    return ds.map(augment_and_resize, tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)


def plan_targets(examples: list[Example]) -> np.ndarray:
    """(N, 7) float32: each example's class index, then its plan's targets (the plan head's)."""
    return np.array([[e.y, *plans.targets(e.plan)] for e in examples], dtype=np.float32)
