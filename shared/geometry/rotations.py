"""Cube rotations and how they remap labels (render-time augmentation).

A rotation is named by where it sends the part's x, y and z axes: "+Y-X+Z" is a 90 degree
turn about +Z (x goes to +Y, y goes to -X, z stays). The identity is "+X+Y+Z".
"""

from __future__ import annotations

import itertools

import numpy as np

from ..classes import AXES, CLAMP, label_of

IDENTITY = "+X+Y+Z"


def cube_rotations() -> dict[str, np.ndarray]:
    """All 24 proper rotations of the cube as integer 3x3 matrices, keyed by name."""
    out: dict[str, np.ndarray] = {}
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            m = np.zeros((3, 3), dtype=np.int64)
            for col, (row, s) in enumerate(zip(perm, signs, strict=True)):
                m[row, col] = s
            if round(np.linalg.det(m)) == 1:
                out[rotation_name(m)] = m
    return dict(sorted(out.items(), key=lambda kv: (kv[0] != IDENTITY, kv[0])))


def rotation_name(matrix: np.ndarray) -> str:
    """Name of an axis-permuting rotation: the images of x, y and z."""
    return "".join(label_of(matrix[:, i]) for i in range(3))


def parse_rotation(name: str) -> np.ndarray:
    """Inverse of `rotation_name`; raises ValueError for anything that is not a cube rotation."""
    rotation = cube_rotations().get(name)
    if rotation is None:
        raise ValueError(f"{name!r} is not a cube rotation name such as {IDENTITY!r}")
    return rotation


def rotate_label(label: str, rotation: np.ndarray) -> str:
    """Where the direction `label` points after rotating the part by `rotation`."""
    return label_of(rotation @ np.array(AXES[label]))


def label_preserving(label: str) -> list[tuple[str, np.ndarray, str]]:
    """The 20 rotations that keep `label` inside the five classes, identity first.

    Returns (name, matrix, new label) triples; rotations that would send the tool direction
    to -Z (the clamping face) are left out.
    """
    out = []
    for name, rotation in cube_rotations().items():
        new = rotate_label(label, rotation)
        if new != CLAMP:
            out.append((name, rotation, new))
    return out
