"""The face-normal model: a small classifier on features of the mesh itself, no rendering.

The features (and the numpy forward pass of the add-on's built-in model) are in
`shared/facenormals.py`; here: reading a manifest row's part and the Keras network.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from shared import classes, setups, stl
from shared.facenormals import (
    AXES,
    BINS,
    DEPTH_EDGES,
    FEATURES,
    NORMAL_BINS,
    PLAN_BLOCK,
    PLAN_FEATURES,
    SHAPE_FEATURES,
    analyse,
    features,
    forward,
    turn,
    turned,
    turned_features,
)

__all__ = [
    "AXES",
    "BINS",
    "DEPTH_EDGES",
    "FEATURES",
    "NORMAL_BINS",
    "PLAN_BLOCK",
    "PLAN_FEATURES",
    "SHAPE_FEATURES",
    "build",
    "features",
    "forward",
    "turn",
    "turned",
    "turned_features",
]
PARALLEL_FROM = 8
"""Parts from which the analyses run in a thread per core (each takes about 0.4 s)."""


def source_triangles(path: str, augmentation: str) -> np.ndarray:
    """A manifest row's part: its STL file, turned as the row's augmentation says."""
    return turn(stl.read_stl(path).triangles, augmentation)


PLAN_BITS = [SHAPE_FEATURES + 5 * i + j for i in range(6) for j in (3, 4)]
"""The analysis' own plan in the features: per direction, whether its plan has it and whether
it is its primary setup."""


def build(hidden: int = 128, dropout: float = 0.2, plan: bool = True):
    """A small Keras MLP: features -> softmax over the classes [and the plan head]."""
    import keras  # the features are numpy; Keras only where a network is built
    from keras import layers

    from trainer.models import planhead

    inputs = keras.Input((FEATURES,), name="face_normal_features")
    x = planhead.ShapeDropout(planhead.SHAPE_DROPOUT, PLAN_BITS)(inputs)
    x = layers.Dense(hidden, activation="relu")(x)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden, activation="relu")(x)
    if plan:
        outputs = planhead.head(x)
    else:
        outputs = layers.Dense(len(classes.CLASSES), activation="softmax", name="direction")(x)
    return keras.Model(inputs, outputs, name="milling_face_normals")


def caster(triangles: np.ndarray) -> setups.Caster | None:
    """Embree's ray caster for the analysis where embreex imports (25x faster than numpy's),
    else None: the analysis' numpy caster."""
    try:
        from embreex import mesh_construction, rtcore_scene
    except ImportError:
        return None
    points = triangles.reshape(-1, 3)
    centre = (points.min(axis=0) + points.max(axis=0)) / 2  # float32 rays: centred for precision
    scene = rtcore_scene.EmbreeScene()
    mesh_construction.TriangleMesh(scene, (triangles - centre).astype(np.float32))

    def cast(origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        o = np.ascontiguousarray((origins - centre).astype(np.float32))
        d = np.ascontiguousarray(np.broadcast_to(np.float32(direction), o.shape))
        return scene.run(o, d) == -1

    return cast


def analysis(triangles: np.ndarray) -> setups.Analysis:
    """The tool-aware analysis behind the plan features (shared.facenormals.analyse), its rays
    cast by Embree where it imports."""
    return analyse(triangles, caster(triangles))


def analyses(meshes: list[np.ndarray]) -> list[setups.Analysis]:
    """`analysis` of each part, in a thread per core where there are PARALLEL_FROM or more
    (numpy and Embree let go of the GIL: 1.45 x on 2 cores; processes would have to import
    the caller's main module, which a script without a main guard does not survive)."""
    workers = min(os.cpu_count() or 1, 8)
    if len(meshes) < PARALLEL_FROM or workers < 2:
        return [analysis(m) for m in meshes]
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(analysis, meshes))


def described(examples: list) -> list[tuple[np.ndarray, setups.Analysis]]:
    """Each dataset example's part turned as its augmentation says, with its analysis: each
    source part analysed once (its turns turn the analysis), in threads."""
    sources = list(dict.fromkeys(e.source for e in examples))
    parts = {s: source_triangles(s, "none") for s in sources}
    found = dict(zip(sources, analyses(list(parts.values())), strict=True))
    return [turned(parts[e.source], found[e.source], e.augmentation) for e in examples]


def mesh_features(meshes: list) -> np.ndarray:
    """(N, FEATURES) of STL bytes or (N, 3, 3) triangle arrays."""
    parts = [
        stl.parse_stl(bytes(m)).triangles if isinstance(m, bytes | bytearray) else m for m in meshes
    ]
    parts = [np.asarray(p, dtype=np.float64) for p in parts]
    return np.stack([features(p, a) for p, a in zip(parts, analyses(parts), strict=True)])
