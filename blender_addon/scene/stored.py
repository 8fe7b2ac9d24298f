"""An answer belongs to its part: kept as custom properties of the part's object, so that
deleting the part drops it, Ctrl+Z takes it back with the part's other state, a saved .blend
keeps it, and the panel shows the active part's own answer (or none)."""

from __future__ import annotations

import functools
import json
import uuid
from dataclasses import asdict, dataclass, field

import bpy
import numpy as np

from .._shared import classes, plans, setups, toolplan
from ..inference import client

ANSWER = "milling_answer"
"""The answer as JSON (Answer below)."""
FACES = "milling_faces"
"""One character per triangle of the part (part_mesh's order): the setup that mills it
('0'-'5'), unreached 'u', a design finding's kind ('a'-'e', toolplan.KINDS) or '.' (not
machined: not drawn)."""
UNREACHED = "u"
NOT_MACHINED = "."
FINDING_CODES = dict(zip(toolplan.KINDS, "abcde", strict=True))
"""Each design finding's character in FACES."""


@dataclass
class Setup:
    direction: str
    confidence: float
    share: float | None
    tools: list[str]


@dataclass
class Finding:
    kind: str
    share: float
    message: str
    faces: str
    """The part's polygon indices it concerns, space-separated."""


@dataclass
class Answer:
    """What the panel and the viewport show of one part's answer."""

    label: str
    probabilities: list[float]
    """The five classes' probabilities (classes.CLASSES order): the primary setup's."""
    setups: list[Setup]
    model: str
    warning: str = ""
    unreached: float = 0.0
    """Share of the machined area no tool of the plan reaches (the analysis')."""
    findings: list[Finding] = field(default_factory=list)
    mesh: list[int] = field(default_factory=list)
    """(vertices, polygons) of the mesh it answered: another count means the part changed."""
    token: str = ""
    """Tells this answer from any other (the viewport's cache key)."""

    @property
    def plan(self) -> tuple[str, ...]:
        return tuple(s.direction for s in self.setups) or (self.label,)

    @property
    def summary(self) -> str:
        """`3 setups: +Z, -Z, -Y`, or `1 setup: +Z`."""
        n = len(self.plan)
        return f"{n} setup{'s' if n > 1 else ''}: {', '.join(self.plan)}"


def signature(obj: bpy.types.Object) -> list[int]:
    return [len(obj.data.vertices), len(obj.data.polygons)]


def make(
    obj: bpy.types.Object,
    answer: client.Prediction,
    found: toolplan.ToolAnalysis | None,
    polygons: np.ndarray,
    model: str,
    warning: str = "",
) -> Answer:
    """The answer to keep: each setup with its confidence (the primary's: the five-class
    answer's), its share and tools; the findings with their mesh polygons."""
    steps = list(answer.plan) or [plans.Step(answer.label, answer.confidence)]
    listed = found.tools_for(tuple(s.direction for s in steps)) if found else [[] for _ in steps]
    kept = [
        Setup(
            s.direction, answer.confidence if k == 0 else s.probability, s.share, [n for n, _ in t]
        )
        for k, (s, t) in enumerate(zip(steps, listed, strict=True))
    ]
    findings = []
    for f in found.findings if found else []:
        faces = np.unique(polygons[np.asarray(f.faces, dtype=np.int64)]) if f.faces else []
        findings.append(Finding(f.kind, f.share, f.message, " ".join(str(int(p)) for p in faces)))
    return Answer(
        answer.label,
        [answer.probabilities[c] for c in classes.CLASSES],
        kept,
        model,
        warning,
        found.unreached if found else 0.0,
        findings,
        signature(obj),
        uuid.uuid4().hex,
    )


def face_codes(found: toolplan.ToolAnalysis, plan: tuple[str, ...], triangles: np.ndarray) -> str:
    """FACES for the plan: each triangle's setup, unreached or finding (every triangle off the
    stock's surface has points of the analysis: setups.samples)."""
    if found.detail is None:  # nothing to machine: a plain box
        return NOT_MACHINED * len(triangles)
    faces = found.faces_for(plan)
    codes = np.array([*"012345"[: len(plan)], UNREACHED, NOT_MACHINED])
    which = np.where(faces == setups.UNDERCUT_FACE, len(plan), faces)
    which = np.where(faces == setups.STOCK_FACE, len(plan) + 1, which)
    out = codes[which]
    for f in found.findings:
        if f.faces:
            out[np.asarray(f.faces, dtype=np.int64)] = FINDING_CODES[f.kind]
    return "".join(out.tolist())


def save(obj: bpy.types.Object, answer: Answer, faces: str = "") -> None:
    obj[ANSWER] = json.dumps(asdict(answer))
    obj[FACES] = faces


def drop(obj: bpy.types.Object | None) -> None:
    """Forget the part's answer (a failed Predict: the old one is not this part's any more)."""
    if obj is not None:
        for key in (ANSWER, FACES):
            if key in obj:
                del obj[key]


def load(obj: bpy.types.Object | None) -> Answer | None:
    """The part's answer; None if it has none, or if its mesh changed since (see `stale`)."""
    answer = _read(obj)
    return answer if answer is not None and answer.mesh == signature(obj) else None


def stale(obj: bpy.types.Object | None) -> bool:
    """The part has an answer, but its mesh changed since: it needs Predict again."""
    answer = _read(obj)
    return answer is not None and answer.mesh != signature(obj)


def faces(obj: bpy.types.Object) -> str:
    return str(obj.get(FACES, ""))


def _read(obj: bpy.types.Object | None) -> Answer | None:
    if obj is None or obj.type != "MESH" or ANSWER not in obj:
        return None
    return _parse(str(obj[ANSWER]))


@functools.lru_cache(maxsize=64)
def _parse(text: str) -> Answer | None:
    """The answer of its JSON text, parsed once (the viewport reads it at every redraw);
    None for text another version wrote. Callers do not change what it returns."""
    try:
        raw = json.loads(text)
        raw["setups"] = [Setup(**s) for s in raw["setups"]]
        raw["findings"] = [Finding(**f) for f in raw["findings"]]
        return Answer(**raw)
    except (TypeError, KeyError, ValueError):
        return None
