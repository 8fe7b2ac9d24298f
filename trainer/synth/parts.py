"""Synthetic workpieces: stock with machining features cut from one side, labelled by that side
(and, with `sides`, blocks cut from several: multiside.py).

A part is built in a canonical frame where the tool comes from +Z and the part is clamped on its
bottom face (z = 0). Every cut is *upward closed*: a 2D outline swept from its floor to above
the part, or the half-space above a chamfer plane, so whatever a cut removes it also removes
everything above it. A stock cut only this way has no undercut: every face is reachable straight
from +Z, only the bottom faces -Z. Each part also gets at least one blind feature, whose floor
faces +Z inside the part, so that the label is never ambiguous. Finally the part is turned so
that +Z goes to its label, in one of the four poses about that axis.

`generate(config)` streams parts to disk (one STL at a time, then labels.csv), so any count
fits in memory.
"""

from __future__ import annotations

import csv
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import manifold3d as m3
import numpy as np

from shared import atomic, classes, plans, rotations, setups, stl
from shared.files.progress import Progress
from trainer.errors import TrainerError
from trainer.synth import multiside
from trainer.synth.machining import (
    BLIND,
    CHORD,
    EDGES,
    FAMILIES,
    FEATURES,
    OPEN,
    chamfer,
    fillet,
    stock,
)

CHECK_SAMPLES = 3000
"""Points of the setup analysis that checks each part (fewer than its default: it is fast)."""
AMBIGUOUS = 0.005
"""A part is refused when a direction other than its own reaches all but this share of it."""
LABELS_FILE = "labels.csv"
LABEL_COLUMNS = (
    "file",
    "label",
    "family",
    "features",
    "size_mm",
    "pose",
    "triangles",
    "seed",
    "index",
    "stock",
    "plan",
)


@dataclass
class Part:
    """One generated part: triangles in the label frame and what it is made of."""

    triangles: np.ndarray
    label: str
    family: str
    features: list[str]
    size: tuple[float, float, float]
    """Stock size W x D x H (mm) in the canonical frame (tool from +Z)."""
    pose: str
    """The cube rotation (see shared.rotations) that took the canonical +Z to the label."""
    stock: str = "box"
    """What it was cut from, as shared.setups.Stock.parse reads it (in the label frame)."""
    plan: tuple[str, ...] = ()
    """Every side it must be milled from, the primary (its label) first."""


# -- a whole part -------------------------------------------------------------------------------


def build(rng: np.random.Generator, label: str, families: tuple[str, ...] = FAMILIES) -> Part:
    """Build one part of one of `families` for `label`; retry with fresh random choices if a
    check fails."""
    classes.check_label(label)
    for _ in range(20):
        family = families[int(rng.integers(len(families)))]
        token = CHORD.set(float(rng.uniform(0.5, 4.0)))  # this part's tessellation density
        try:
            solid, faces, size = stock(rng, family)
            names = [BLIND[int(rng.integers(len(BLIND)))]]
            names += [str(n) for n in rng.choice(BLIND + OPEN, size=int(rng.integers(1, 5)))]
            cuts = [FEATURES[n](rng, faces[int(rng.integers(len(faces)))]) for n in names]
            solid -= m3.Manifold.batch_boolean(cuts, m3.OpType.Add)
            if family in ("plate", "block") and rng.random() < 0.4:
                edge = EDGES[int(rng.integers(len(EDGES)))]
                solid = (chamfer if edge == "chamfer" else fillet)(rng, solid, size)
                names.append(edge)
        finally:
            CHORD.reset(token)
        triangles = _triangles(solid)
        if len(triangles) and _machined_from_top(triangles) and _one_setup(triangles, family, size):
            pose = _pose(rng, label)
            turned = triangles @ rotations.parse_rotation(pose).T
            spec = _stock(family, size, pose).spec()
            return Part(turned, label, family, names, size, pose, spec, (label,))
    raise RuntimeError("could not build a valid part in 20 tries")  # never seen; a safety net


def _triangles(solid: m3.Manifold) -> np.ndarray:
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3][np.asarray(mesh.tri_verts)]


def _machined_from_top(t: np.ndarray) -> bool:
    """Only the bottom faces down, and some floor faces up strictly inside the part."""
    n = stl.face_normals(t)
    z = t[:, :, 2]
    bottom, top = z.min(), z.max()
    down = n[:, 2] < -1e-6
    if not np.allclose(z[down], bottom, atol=1e-6):
        return False
    floor = (n[:, 2] > 1 - 1e-6) & (z.max(axis=1) < top - 1e-6) & (z.min(axis=1) > bottom + 1e-6)
    return bool(floor.any())


def _stock(family: str, size: tuple, pose: str) -> setups.Stock:
    """A disc or ring comes from round bar (along the canonical Z, centred at (r, r)); the rest
    from a box."""
    if family not in ("disc", "ring"):
        return setups.Stock()
    turn = rotations.parse_rotation(pose)
    axis = int(np.flatnonzero(turn[:, 2])[0])
    r = size[0] / 2
    centre = turn @ np.array([r, r, 0.0])
    u, v = [i for i in range(3) if i != axis]
    return setups.Stock("bar", "xyz"[axis], (float(centre[u]), float(centre[v])), r)


def _one_setup(triangles: np.ndarray, family: str, size: tuple) -> bool:
    """The setup analysis agrees: only +Z reaches the whole machined area, and every other
    direction misses a clear share of it (a floor opened to a side by another cut can be
    reached from that side too: such a part has two answers)."""
    stock = _stock(family, size, rotations.IDENTITY)
    reach = setups.analyse(triangles, stock, count=CHECK_SAMPLES).reach
    return (
        reach["+Z"] > 1 - setups.TOLERANCE
        and max(v for d, v in reach.items() if d != "+Z") < 1 - AMBIGUOUS
    )


def _pose(rng: np.random.Generator, label: str) -> str:
    """A cube rotation taking +Z to the label's direction, chosen among the four such poses."""
    target = classes.direction(label)
    poses = [n for n, m in rotations.cube_rotations().items() if (m[:, 2] == target).all()]
    return poses[int(rng.integers(len(poses)))]


# -- a set of parts on disk ---------------------------------------------------------------------


@dataclass
class PartsConfig:
    count: int
    seed: int
    out: Path
    overwrite: bool = False
    progress: bool = True
    families: tuple[str, ...] = FAMILIES
    """The part families to draw from (each part: one of them, by its own random stream)."""
    prefix: str = "part_"
    """File names are PREFIX0000.stl, ...: sets with other prefixes can share a dataset."""
    sides: tuple[int, int] = (1, 1)
    """The fewest and most sides a part's features are cut from; a part of more than one side
    is a block (multiside.py), one of one side is any of `families`."""


@dataclass
class PartsResult:
    files: list[Path] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    triangles: int = 0
    seconds: float = 0.0


class PartsError(TrainerError, ValueError):
    """A request that cannot be carried out (bad count, unusable output folder)."""


def labels_for(count: int, seed: int) -> list[str]:
    """Balanced labels: each block of five holds every class once, in a seeded order."""
    rng = np.random.default_rng([seed, 0x1AB])
    out: list[str] = []
    while len(out) < count:
        out += [classes.CLASSES[i] for i in rng.permutation(len(classes.CLASSES))]
    return out[:count]


def part_rng(seed: int, index: int) -> np.random.Generator:
    """Each part has its own stream, so part i is the same whatever the count."""
    return np.random.default_rng([seed, index])


def build_part(config: PartsConfig, index: int, label: str) -> Part:
    """Part `index` of a set: one side, or as many as its own stream draws from config.sides."""
    low, high = config.sides
    sides = multiside.sides_for(np.random.default_rng([config.seed, index, 0x51DE]), low, high)
    rng = part_rng(config.seed, index)
    if sides == 1:
        return build(rng, label, tuple(config.families))
    triangles, plan, pose = multiside.build(rng, label, sides)
    lo, hi = triangles.reshape(-1, 3).min(axis=0), triangles.reshape(-1, 3).max(axis=0)
    size = tuple(float(v) for v in hi - lo)
    return Part(triangles, label, "block", [f"{sides} sides"], size, pose, "box", plan)


def generate(config: PartsConfig) -> PartsResult:
    """Write config.count parts and labels.csv into config.out."""
    if config.count < 1:
        raise PartsError(f"--count must be at least 1, got {config.count}")
    if not config.prefix or any(c in config.prefix for c in '/\\:*?"<>|'):
        raise PartsError(f"--prefix {config.prefix!r}: use letters, digits, '-' or '_'")
    low, high = config.sides
    if not multiside.SIDES[0] <= low <= high <= multiside.SIDES[1]:
        raise PartsError(f"--sides {low}-{high}: use 1 to 4 sides, the fewest first (e.g. 1-4)")
    unknown = [f for f in config.families if f not in FAMILIES]
    if unknown or not config.families:
        raise PartsError(
            f"--families: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(FAMILIES)}"
        )
    out = _prepare(config.out, config.overwrite)
    labels = labels_for(config.count, config.seed)
    width = max(4, len(str(config.count - 1)))
    result = PartsResult(counts=dict.fromkeys(classes.CLASSES, 0))
    progress = Progress(config.count, enabled=config.progress)
    start = time.monotonic()
    with atomic.replacing(out / LABELS_FILE) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(LABEL_COLUMNS)
        for i, label in enumerate(labels):
            part = build_part(config, i, label)
            name = f"{config.prefix}{i:0{width}d}.stl"
            stl.write_stl(out / name, part.triangles, header=f"milling-directions {label}".encode())
            size = "x".join(f"{v:.1f}" for v in part.size)
            features = ";".join(part.features)
            row = [name, label, part.family, features, size, part.pose, len(part.triangles)]
            writer.writerow([*row, config.seed, i, part.stock, plans.text(part.plan)])
            result.files.append(out / name)
            result.counts[label] += 1
            result.triangles += len(part.triangles)
            progress.update(i + 1, name)
    progress.close()
    result.seconds = time.monotonic() - start
    return result


def _prepare(out: Path, overwrite: bool) -> Path:
    try:
        if out.exists() and not out.is_dir():
            raise PartsError(f"{out}: exists and is not a folder")
        if out.is_dir() and any(out.iterdir()):
            if not overwrite:
                raise PartsError(f"{out}: folder is not empty (use --overwrite to replace it)")
            for child in out.iterdir():
                shutil.rmtree(child) if child.is_dir() else child.unlink()
        atomic.make_writable_folder(out)
    except OSError as e:
        raise PartsError(f"{out}: cannot write to the output folder ({e.strerror or e})") from None
    return out
