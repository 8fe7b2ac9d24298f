"""The face-normal model: a small classifier on features of the mesh itself, no rendering.

The features (and the numpy forward pass of the add-on's built-in model) are in
`shared/facenormals.py`; here: reading a manifest row's part and the Keras network.
"""

from __future__ import annotations

import numpy as np

from shared import stl
from shared.facenormals import (
    AXES,
    BINS,
    DEPTH_EDGES,
    DIRECTIONS,
    FEATURES,
    features,
    forward,
    turn,
)

__all__ = [
    "AXES",
    "BINS",
    "DEPTH_EDGES",
    "DIRECTIONS",
    "FEATURES",
    "build",
    "features",
    "forward",
    "turn",
]


def source_triangles(path: str, augmentation: str) -> np.ndarray:
    """A manifest row's part: its STL file, turned as the row's augmentation says."""
    return turn(stl.read_stl(path).triangles, augmentation)


def build(hidden: int = 128, dropout: float = 0.2, plan: bool = True):
    """A small Keras MLP: features -> softmax over the classes [and the plan head]."""
    import keras
    from keras import layers

    from shared import classes

    from . import planhead

    inputs = keras.Input((FEATURES,), name="face_normal_features")
    x = layers.Dense(hidden, activation="relu")(inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden, activation="relu")(x)
    if plan:
        outputs = planhead.head(x)
    else:
        outputs = layers.Dense(len(classes.CLASSES), activation="softmax", name="direction")(x)
    return keras.Model(inputs, outputs, name="milling_face_normals")


def mesh_features(mesh) -> np.ndarray:
    """Features of STL bytes, or of an (N, 3, 3) triangle array."""
    if isinstance(mesh, bytes | bytearray):
        mesh = stl.parse_stl(bytes(mesh)).triangles
    return features(np.asarray(mesh, dtype=np.float64))
