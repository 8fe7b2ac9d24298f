"""Synthetic parts that need several setups: blind features cut from 1 to 4 sides of a block.

Each chosen side is turned up, given one to three blind features on its face (the same
upward-closed cuts as one-setup parts), and turned back. The setup analysis then checks the
part: the chosen sides must be its only smallest plan, with nothing undercut and every side
adding a clear share; otherwise the part is built again with fresh random choices. The plan is
the analysis's order of those sides (the primary reaches the most area). Last, the part is
turned so that its primary setup comes from its label, in one of the four poses about it.
"""

from __future__ import annotations

import manifold3d as m3
import numpy as np

from shared import classes, plans, rotations, setups
from trainer.synth.machining import BLIND, CHORD, FEATURES, Face, stock

SIDES = (1, 4)
"""The fewest and most sides a part's features are cut from."""
MIN_SHARE = 0.02
"""Every setup of the plan must add at least this share of the machined area."""
CHECK_SAMPLES = 3000


def _up(direction: str) -> np.ndarray:
    """A cube rotation that turns `direction` to +Z."""
    target = classes.direction(direction)
    for m in rotations.cube_rotations().values():
        if (m @ target == (0, 0, 1)).all():
            return m
    raise AssertionError(direction)  # every axis direction has one


def _turned(solid: m3.Manifold, rotation: np.ndarray) -> m3.Manifold:
    """The solid turned and moved back to the positive octant."""
    solid = solid.transform(np.hstack([rotation, np.zeros((3, 1))]).astype(float))
    lo = np.array(solid.bounding_box()[:3])
    return solid.translate(list(-lo))


def _triangles(solid: m3.Manifold) -> np.ndarray:
    mesh = solid.to_mesh()
    return np.asarray(mesh.vert_properties, dtype=np.float64)[:, :3][np.asarray(mesh.tri_verts)]


def build(
    rng: np.random.Generator, label: str, sides: int
) -> tuple[np.ndarray, tuple[str, ...], str]:
    """(triangles in the label frame, the plan, the pose's cube rotation) of a block with
    features cut from `sides` sides, whose primary setup comes from `label`."""
    classes.check_label(label)
    for _ in range(40):
        token = CHORD.set(float(rng.uniform(0.5, 4.0)))
        try:
            solid = stock(rng, "block")[0]
            others = [d for d in setups.TIE_ORDER if d != "+Z"]
            chosen = ["+Z", *rng.choice(others, size=sides - 1, replace=False)]
            for side in chosen:
                up = _up(side)
                solid = _turned(solid, up)
                w, d, h = np.array(solid.bounding_box()[3:])
                face = Face(0, float(w), 0, float(d), float(h))
                names = rng.choice(BLIND, size=int(rng.integers(1, 4)))
                cuts = [FEATURES[str(n)](rng, face) for n in names]
                solid -= m3.Manifold.batch_boolean(cuts, m3.OpType.Add)
                solid = _turned(solid, up.T)
        finally:
            CHORD.reset(token)
        triangles = _triangles(solid)
        if not len(triangles):
            continue
        found = setups.analyse(triangles, count=CHECK_SAMPLES)
        clear = all(s.share >= MIN_SHARE for s in found.setups)
        clear = clear and found.undercut <= setups.TOLERANCE and len(found.alternatives) == 1
        if clear and set(found.directions) == set(chosen):
            return _posed(rng, triangles, found.directions, label)
    raise RuntimeError("could not build a valid multi-side part in 40 tries")  # a safety net


def _posed(rng, triangles: np.ndarray, plan: tuple[str, ...], label: str):
    """The part and its plan turned so that the primary setup comes from `label`."""
    target, first = classes.direction(label), classes.direction(plan[0])
    poses = [n for n, m in rotations.cube_rotations().items() if (m @ first == target).all()]
    pose = poses[int(rng.integers(len(poses)))]
    turn = rotations.parse_rotation(pose)
    return triangles @ turn.T, plans.rotate(plan, turn), pose


def sides_for(rng: np.random.Generator, low: int, high: int) -> int:
    """How many sides one part gets, drawn evenly from low..high."""
    return int(rng.integers(low, high + 1))
