"""The five tool approach directions: the one place the class list lives."""

from __future__ import annotations

import numpy as np

CLASSES: tuple[str, ...] = ("+X", "-X", "+Y", "-Y", "+Z")
"""Class names in model output order. `-Z` is the clamping face and never a class."""

CLAMP = "-Z"

AXES: dict[str, tuple[int, int, int]] = {
    "+X": (1, 0, 0),
    "-X": (-1, 0, 0),
    "+Y": (0, 1, 0),
    "-Y": (0, -1, 0),
    "+Z": (0, 0, 1),
    "-Z": (0, 0, -1),
}
"""Unit vector (part frame) of the side the tool comes from, for every signed axis."""


def direction(label: str) -> np.ndarray:
    """Unit vector of a class (or of `-Z`) in the part frame."""
    try:
        return np.array(AXES[label], dtype=np.int64)
    except KeyError:
        raise ValueError(
            f"unknown direction {label!r}; expected one of {', '.join(CLASSES)}"
        ) from None


def label_of(vector: np.ndarray) -> str:
    """The signed-axis name of an axis-aligned unit vector (may be `-Z`)."""
    key = tuple(round(float(v)) for v in vector)
    for name, axis in AXES.items():
        if axis == key:
            return name
    raise ValueError(f"{vector!r} is not an axis direction")


def check_label(label: str) -> str:
    """Return `label` if it is one of CLASSES, else raise ValueError naming the choices."""
    if label not in CLASSES:
        raise ValueError(f"unknown label {label!r}; expected one of {', '.join(CLASSES)}")
    return label
