"""Setup plans: every side a part must be milled from, the primary first.

A plan is an ordered tuple of directions out of all six (`-Z` counts: the part may be flipped
for a second setup). Its text form, in labels CSVs and manifests, is the directions joined by
spaces (`+Z -Z`). A one-setup part's plan is its label alone. A learned plan comes from two
heads: the 5-class softmax names the primary setup, and one sigmoid per direction says which
other sides are needed too (probability >= THRESHOLD).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .classes import AXES, CLAMP, CLASSES
from .geometry import rotations

SIDES: tuple[str, ...] = (*CLASSES, CLAMP)
"""The plan head's output order: the five classes, then -Z."""
THRESHOLD = 0.5
"""A direction other than the primary joins the plan when its sigmoid is at least this."""


@dataclass(frozen=True)
class Step:
    """One setup of a plan: where the tool comes from, how likely the model thinks it is
    needed, and the share of the machined area it adds (None where no analysis gave it)."""

    direction: str
    probability: float
    share: float | None = None


def describe(steps: Sequence[Step]) -> str:
    """`1. +Z (82 % of the machined area)  2. -Z (18 %)`, or with each setup's probability
    where no share is known: `1. +Z (p 0.97)  2. -Z (p 0.88)`."""
    parts = []
    for k, s in enumerate(steps, start=1):
        if s.share is not None:
            what = "<1 %" if 0 < s.share < 0.005 else f"{s.share:.0%}".replace("%", " %")
            what += " of the machined area" if k == 1 else ""
        else:
            what = f"p {s.probability:.2f}"
        parts.append(f"{k}. {s.direction} ({what})")
    return "  ".join(parts)


def parse(text: str) -> tuple[str, ...]:
    """`+Z -Z` -> ('+Z', '-Z'); ValueError for an unknown or repeated direction."""
    plan = tuple(text.split())
    for d in plan:
        if d not in AXES:
            raise ValueError(f"plan {text!r}: unknown direction {d!r}")
    if len(set(plan)) != len(plan):
        raise ValueError(f"plan {text!r}: a direction is repeated")
    return plan


def text(plan: Iterable[str]) -> str:
    return " ".join(plan)


def rotate(plan: Sequence[str], rotation: np.ndarray) -> tuple[str, ...]:
    """The plan of the part turned by a cube rotation."""
    return tuple(rotations.rotate_label(d, rotation) for d in plan)


def targets(plan: Sequence[str]) -> np.ndarray:
    """The plan head's target: 1.0 for every direction of the plan, in SIDES order."""
    return np.array([float(d in plan) for d in SIDES], dtype=np.float32)


def from_scores(
    label_probabilities: Sequence[float], plan_scores: Sequence[float]
) -> tuple[Step, ...]:
    """A plan from one row of each head: the most probable class first, then every other
    direction at or above THRESHOLD, most probable first."""
    scores = dict(zip(SIDES, map(float, plan_scores), strict=True))
    primary = CLASSES[int(np.argmax(label_probabilities))]
    rest = sorted((d for d in SIDES if d != primary), key=lambda d: -scores[d])
    return (
        Step(primary, scores[primary]),
        *(Step(d, scores[d]) for d in rest if scores[d] >= THRESHOLD),
    )


def split(output: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(class probabilities, plan scores or None) of a model's output: a model with a plan
    head answers 11 columns, the classes' softmax then the six sigmoids."""
    output = np.asarray(output)
    if output.shape[-1] == len(CLASSES) + len(SIDES):
        return output[..., : len(CLASSES)], output[..., len(CLASSES) :]
    return output, None


def answered(probabilities: np.ndarray, scores: np.ndarray | None) -> list[tuple[str, ...]]:
    """Each row's plan: from the plan head, or the label alone for a model without one."""
    if scores is None:
        return [(CLASSES[int(i)],) for i in np.argmax(probabilities, axis=1)]
    rows = zip(probabilities, scores, strict=True)
    return [tuple(s.direction for s in from_scores(p, q)) for p, q in rows]


def metrics(true: Sequence[Sequence[str]], predicted: Sequence[Sequence[str]]) -> dict:
    """Exact-plan accuracy (the same set of directions), primary-setup accuracy and each
    direction's precision, recall and F1 (1.0 where it is never needed nor answered)."""
    if len(true) != len(predicted) or not true:
        raise ValueError("metrics need as many predicted plans as true ones, and at least one")
    pairs = list(zip(true, predicted, strict=True))
    out = {
        "plan_exact": float(np.mean([set(t) == set(p) for t, p in pairs])),
        "plan_primary": float(np.mean([t[0] == p[0] for t, p in pairs])),
    }
    for d in SIDES:
        hit = sum(d in t and d in p for t, p in pairs)
        said = sum(d in p for p in predicted)
        needed = sum(d in t for t in true)
        precision = hit / said if said else 1.0
        recall = hit / needed if needed else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        key = ("plus_" if d[0] == "+" else "minus_") + d[1:].lower()
        out |= {f"plan_precision_{key}": precision, f"plan_recall_{key}": recall}
        out[f"plan_f1_{key}"] = f1
    return out
