"""The face-normal model: a small classifier on features of the mesh itself, no rendering.

Features (part frame, after centring and scaling as for meta-images):
- the area-weighted histogram of face normals over 26 directions (the cube's 6 faces, 12 edges
  and 8 corners), and
- for each direction, where its faces sit along it: the area-weighted histogram of the faces'
  depth below the part's outermost point in that direction, in 5 bins. A pocket on +X puts
  +X-facing area at a depth; a plain -X side has all its -X area at depth 0. That is what tells
  a feature on one side from the same feature on the other.
"""

from __future__ import annotations

import itertools

import numpy as np

from shared import metaimage, rotations, stl

DIRECTIONS = np.array(
    [d for d in itertools.product((-1, 0, 1), repeat=3) if any(d)], dtype=np.float64
)
DIRECTIONS /= np.linalg.norm(DIRECTIONS, axis=1, keepdims=True)
DEPTH_EDGES = np.array([0.02, 0.25, 0.5, 0.75])
"""Depth bins (fraction of the part's extent along the direction): outer skin, then deeper."""
FEATURES = len(DIRECTIONS) * (1 + len(DEPTH_EDGES) + 1)


def features(triangles: np.ndarray) -> np.ndarray:
    """The feature vector (FEATURES floats) of one part's (N, 3, 3) triangles."""
    t = metaimage.normalize(triangles)
    n = stl.face_normals(t, normalize=False)
    area = np.linalg.norm(n, axis=1)
    keep = area > 0
    n, area, centroid = n[keep] / area[keep, None], area[keep], t[keep].mean(axis=1)
    area = area / area.sum()
    nearest = (n @ DIRECTIONS.T).argmax(axis=1)
    points = t.reshape(-1, 3)
    reach = (points @ DIRECTIONS.T).max(axis=0)  # outermost point along each direction
    extent = reach + (-(points @ DIRECTIONS.T)).max(axis=0)
    depth = (reach[nearest] - (centroid * DIRECTIONS[nearest]).sum(axis=1)) / extent[nearest]
    depth_bin = np.searchsorted(DEPTH_EDGES, depth)
    histogram = np.bincount(nearest, weights=area, minlength=len(DIRECTIONS))
    cells = nearest * (len(DEPTH_EDGES) + 1) + depth_bin
    depths = np.bincount(cells, weights=area, minlength=len(DIRECTIONS) * (len(DEPTH_EDGES) + 1))
    return np.concatenate([histogram, depths]).astype(np.float32)


def turn(triangles: np.ndarray, augmentation: str) -> np.ndarray:
    """Triangles turned as a manifest augmentation says ('none' or 'rot:<name>')."""
    if augmentation.startswith("rot:"):
        return triangles @ rotations.parse_rotation(augmentation[4:]).T
    return triangles


def source_triangles(path: str, augmentation: str) -> np.ndarray:
    """A manifest row's part: its STL file, turned as the row's augmentation says."""
    return turn(stl.read_stl(path).triangles, augmentation)


def build(hidden: int = 128, dropout: float = 0.2):
    """A small Keras MLP: features -> softmax over the classes."""
    import keras
    from keras import layers

    from shared import classes

    inputs = keras.Input((FEATURES,), name="face_normal_features")
    x = layers.Dense(hidden, activation="relu")(inputs)
    x = layers.Dropout(dropout)(x)
    x = layers.Dense(hidden, activation="relu")(x)
    outputs = layers.Dense(len(classes.CLASSES), activation="softmax", name="direction")(x)
    return keras.Model(inputs, outputs, name="milling_face_normals")


def mesh_features(mesh) -> np.ndarray:
    """Features of STL bytes, or of an (N, 3, 3) triangle array."""
    if isinstance(mesh, bytes | bytearray):
        mesh = stl.parse_stl(bytes(mesh)).triangles
    return features(np.asarray(mesh, dtype=np.float64))
