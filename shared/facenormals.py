"""The face-normal model's features and its numpy forward pass (the add-on's built-in model).

Features (part frame, after centring and scaling as for meta-images):
- the area-weighted histogram of face normals over 26 directions (the cube's 6 faces, 12 edges
  and 8 corners), and
- for each direction, where its faces sit along it: the area-weighted histogram of the faces'
  depth below the part's outermost point in that direction, in 5 bins. A pocket on +X puts
  +X-facing area at a depth; a plain -X side has all its -X area at depth 0. That is what tells
  a feature on one side from the same feature on the other.
- for each of the 6 axis directions, where the part's inner walls sit along it: the
  area-weighted histogram, in the same 5 bins, of the depth below the part's outermost point in
  that direction of the faces that stand parallel to it (normal within 17 degrees of
  perpendicular) and lie inside the part (below its skin along their own normal). A pocket's
  walls stand near the end it is cut from; a through bore's run the whole length. Without this
  block a model trained without rings scored 83 % on rings; with it, 97 %.
- the tool-aware setup analysis (shared/geometry/toolplan.py: the default tool library, the part
  read in mm, its default points, the bounding box as stock), per direction of
  shared.plans.SIDES: the share of the machined area it reaches,
  the share that only it reaches among the analysis' plan (0 outside it), the share it adds
  there, whether the plan has it and whether it is its primary; then the undercut share and the
  machined share of the part's area. These carry the plan head to real parts: without them, a
  plan head trained on generated blocks got 8 % of the real multi-setup plans exact (the
  analysis alone 96 %). The tool-aware analysis, not the zero-radius one, so that the model
  answers the plan a real cutter can follow (its training targets are that plan too:
  trainer/training/baseline.py). This block alone depends on the part's size.

The network is Dense-ReLU layers and a softmax, and beside the softmax the plan head's six
sigmoids (one last layer of 11 units: see shared.plans.split); `forward` runs it from its weight
arrays, so that Blender's own Python answers with numpy alone.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import metaimage, plans
from .classes import CLASSES
from .files import atomic
from .geometry import rotations, setups, stl, toolplan, tools

NORMAL_BINS = np.array(
    [d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)], dtype=np.float64
)
NORMAL_BINS /= np.linalg.norm(NORMAL_BINS, axis=1, keepdims=True)
DEPTH_EDGES = np.array([0.02, 0.25, 0.5, 0.75])
"""Depth bins (fraction of the part's extent along the direction): outer skin, then deeper."""
AXES = np.flatnonzero(np.isclose(np.abs(NORMAL_BINS).max(axis=1), 1.0))
"""The indices of the 6 axis directions (+-X, +-Y, +-Z) in NORMAL_BINS."""
WALL = 0.3
"""A face is a wall along an axis when |normal . axis| is below this (about 17 degrees)."""
BINS = len(DEPTH_EDGES) + 1
SHAPE_FEATURES = len(NORMAL_BINS) * (1 + BINS) + len(AXES) * BINS
PLAN_FEATURES = 5 * len(plans.SIDES) + 2
FEATURES = SHAPE_FEATURES + PLAN_FEATURES
ANALYSIS_SAMPLES = setups.SAMPLES
"""Points of the analysis behind the plan features: the zero-radius analysis' default (4000
missed small features: 90 % of the real multi-setup plans exact against 96 %)."""

PLAN_BLOCK = "tool-aware"
"""What the plan block reads (a model's `plan_block` config); a face-normal model trained on
another (the zero-radius analysis, before) is refused, and a new one replaces it as champion."""
TOLERANCE = toolplan.PLAN_TOLERANCE
CACHE_ENV = "MILLING_ANALYSIS_CACHE"

WEIGHTS = "face_normals.npz"
METADATA = "face_normals.json"
BUILTIN_URI = "builtin:face-normals"
"""The files of the add-on's built-in model, and the model URI it answers with."""


def features(
    triangles: np.ndarray,
    analysis: setups.Analysis | None = None,
    caster: setups.Caster | None = None,
) -> np.ndarray:
    """The feature vector (FEATURES floats) of one part's (N, 3, 3) triangles in mm. The
    analysis (`analyse`) is run with `caster` unless it is given."""
    shape = shape_features(triangles)
    if analysis is None:
        analysis = analyse(triangles, caster)
    return np.concatenate([shape, plan_features(analysis)])


def analyse(triangles: np.ndarray, caster: setups.Caster | None = None) -> setups.Analysis:
    """The analysis behind the plan features: the default tool library's plan of the part (in
    mm), without its findings. Where $MILLING_ANALYSIS_CACHE names a folder, each part's is
    kept there by the SHA-256 of its triangles (bench/real.py: the built-in model and the
    face-normal champion read the same parts in two processes)."""
    triangles = np.ascontiguousarray(triangles, dtype=np.float64)
    folder = os.environ.get(CACHE_ENV)
    kept = None
    if folder:
        digest = hashlib.sha256(triangles.tobytes() + PLAN_BLOCK.encode()).hexdigest()
        kept = Path(folder) / f"{digest}.npy"
        if kept.is_file():
            by_mask, machined, area = np.split(np.load(kept), [64, 65])
            return setups.from_masks(by_mask, float(machined[0]), float(area[0]), TOLERANCE)
    library, count = tools.default_library(), ANALYSIS_SAMPLES
    found = toolplan.analyse(triangles, library, None, caster, count=count, findings=False)
    if kept is not None and found.plan.by_mask is not None:
        buffer = io.BytesIO()
        np.save(
            buffer,
            np.concatenate([found.plan.by_mask, [found.plan.machined_area, found.plan.area]]),
        )
        kept.parent.mkdir(parents=True, exist_ok=True)
        atomic.write_bytes(kept, buffer.getvalue())
    return found.plan


def plan_features(analysis: setups.Analysis) -> np.ndarray:
    """The analysis block of the features (PLAN_FEATURES floats; see the module docstring)."""
    by_mask = analysis.by_mask if analysis.by_mask is not None else np.zeros(64)
    chosen = sum(1 << setups.TIE_ORDER.index(d) for d in analysis.directions)
    reached = np.arange(64) & chosen
    out = []
    for d in plans.SIDES:
        k = 1 << setups.TIE_ORDER.index(d)
        essential = float(by_mask[reached == k].sum()) if chosen & k else 0.0
        share = next((s.share for s in analysis.setups if s.direction == d), 0.0)
        primary = float(d == analysis.primary)
        out += [analysis.reach[d], essential, share, float(bool(chosen & k)), primary]
    out += [analysis.undercut, analysis.machined_area / max(analysis.area, 1e-300)]
    return np.array(out, dtype=np.float32)


def shape_features(triangles: np.ndarray) -> np.ndarray:
    """The mesh block of the features (SHAPE_FEATURES floats: normals, depths, inner walls)."""
    t = metaimage.normalize(triangles)
    n = stl.face_normals(t, normalize=False)
    area = np.linalg.norm(n, axis=1)
    keep = area > 0
    n, area, centroid = n[keep] / area[keep, None], area[keep], t[keep].mean(axis=1)
    area = area / area.sum()
    nearest = (n @ NORMAL_BINS.T).argmax(axis=1)
    points = t.reshape(-1, 3)
    reach = (points @ NORMAL_BINS.T).max(axis=0)  # outermost point along each direction
    extent = reach + (-(points @ NORMAL_BINS.T)).max(axis=0)
    depth = (reach[nearest] - (centroid * NORMAL_BINS[nearest]).sum(axis=1)) / extent[nearest]
    depth_bin = np.searchsorted(DEPTH_EDGES, depth)
    histogram = np.bincount(nearest, weights=area, minlength=len(NORMAL_BINS))
    cells = nearest * BINS + depth_bin
    depths = np.bincount(cells, weights=area, minlength=len(NORMAL_BINS) * BINS)
    inside = depth > DEPTH_EDGES[0]
    walls = []
    for a in AXES:
        wall = inside & (np.abs(n @ NORMAL_BINS[a]) < WALL)
        height = (reach[a] - centroid[wall] @ NORMAL_BINS[a]) / extent[a]
        bins = np.searchsorted(DEPTH_EDGES, height)
        walls.append(np.bincount(bins, weights=area[wall], minlength=BINS))
    return np.concatenate([histogram, depths, *walls]).astype(np.float32)


def turned_features(
    triangles: np.ndarray, analysis: setups.Analysis, augmentation: str
) -> np.ndarray:
    """The features of a part turned as a manifest augmentation says, from the analysis of the
    part as it was (turned with it: no ray is cast again)."""
    return features(*turned(triangles, analysis, augmentation))


def turned(
    triangles: np.ndarray, analysis: setups.Analysis, augmentation: str
) -> tuple[np.ndarray, setups.Analysis]:
    """A part and its `analyse` turned as a manifest augmentation says."""
    if augmentation.startswith("rot:"):
        rotation = rotations.parse_rotation(augmentation[4:])
        return triangles @ rotation.T, setups.turn(analysis, rotation, TOLERANCE)
    return triangles, analysis


def turn(triangles: np.ndarray, augmentation: str) -> np.ndarray:
    """Triangles turned as a manifest augmentation says ('none' or 'rot:<name>')."""
    if augmentation.startswith("rot:"):
        return triangles @ rotations.parse_rotation(augmentation[4:]).T
    return triangles


def forward(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Class probabilities (N, classes) of features x (N, FEATURES), then the plan head's
    sigmoids where the last layer has them: ReLU after every (kernel, bias) layer but the last,
    softmax (and sigmoid) after it (Keras' Dense layers, inference mode)."""
    h = np.asarray(x, dtype=np.float32)
    for i, (kernel, bias) in enumerate(layers):
        h = h @ kernel + bias
        if i < len(layers) - 1:
            h = np.maximum(h, 0)
    c = len(CLASSES)
    logits = h[:, :c] - h[:, :c].max(axis=1, keepdims=True)
    e = np.exp(logits)
    out = e / e.sum(axis=1, keepdims=True)
    if h.shape[1] == c:
        return out
    return np.hstack([out, 0.5 * (1 + np.tanh(0.5 * h[:, c:]))])  # the sigmoid, no overflow


Layers = list[tuple[np.ndarray, np.ndarray]]


def weights_bytes(layers: Layers) -> bytes:
    """The .npz form of the layers: plain arrays kernel_0, bias_0, kernel_1, ... (no pickle)."""
    arrays = {}
    for i, (kernel, bias) in enumerate(layers):
        arrays[f"kernel_{i}"], arrays[f"bias_{i}"] = kernel, bias
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def read_weights(path) -> Layers:
    """The layers of a `weights_bytes` file; ValueError if it is not one that fits."""
    with np.load(path, allow_pickle=False) as z:
        count = len(z.files) // 2
        try:
            layers = [(z[f"kernel_{i}"], z[f"bias_{i}"]) for i in range(count)]
        except KeyError as e:
            raise ValueError(f"no array {e} in the weights") from None
    width = layers[0][0].shape[0] if layers and layers[0][0].ndim == 2 else 0
    if width != FEATURES:
        raise ValueError(f"the weights read {width} features, not {FEATURES}")
    for kernel, bias in layers:
        if kernel.ndim != 2 or kernel.shape[0] != width or bias.shape != (kernel.shape[1],):
            raise ValueError("the weights' layers do not fit together")
        width = kernel.shape[1]
    if not layers or width not in (len(CLASSES), len(CLASSES) + len(plans.SIDES)):
        raise ValueError(f"the weights do not end in {len(CLASSES)} classes (and a plan head)")
    return layers
