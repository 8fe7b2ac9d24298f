"""The built-in model: the face-normal model shipped inside the extension (models/), run with
numpy alone, offline, without rendering. `make model` trains it (see its metadata file)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .._shared import classes, facenormals, plans, prediction, setups

FOLDER = Path(__file__).resolve().parents[1] / "models"
WEIGHTS, METADATA = facenormals.WEIGHTS, facenormals.METADATA


class BuiltinError(RuntimeError):
    """The built-in model is missing or damaged; the message names the file."""


@dataclass(frozen=True)
class BuiltinModel:
    layers: list
    metadata: dict

    @property
    def uri(self) -> str:
        return self.metadata.get("model_uri", facenormals.BUILTIN_URI)

    @property
    def version(self) -> str:
        return str(self.metadata.get("model_version", ""))

    @property
    def summary(self) -> str:
        """One line for the preferences: which model, and how it scored, in plain words."""
        m = self.metadata.get("metrics", {})
        scores = []
        if "unseen_accuracy" in m:
            scores.append(f"right on {m['unseen_accuracy']:.1%} of new test parts")
        family = next((k for k in m if k.startswith("held_out_") and k.endswith("_accuracy")), "")
        if family:
            name = family.removeprefix("held_out_").removesuffix("_accuracy").replace("_", " ")
            scores.append(f"{m[family]:.1%} of a kind of part it never saw ({name}s)")
        return f"{self.uri} v{self.version}" + (f": {', '.join(scores)}" if scores else "")

    def predict(
        self,
        triangles: np.ndarray,
        caster: setups.Caster | None = None,
        analysis: setups.Analysis | None = None,
    ) -> prediction.Prediction:
        """The answer for one part's (N, 3, 3) triangles in mm, in the part's own frame (with
        its setup plan where the model has a plan head, each setup's share of the machined area
        from the tool-aware analysis its features read: `analysis`, or run with `caster`)."""
        triangles = np.asarray(triangles, dtype=np.float64)
        if analysis is None:
            analysis = facenormals.analyse(triangles, caster)
        x = facenormals.features(triangles, analysis)[None]
        probabilities, plan = plans.split(facenormals.forward(self.layers, x)[0])
        answer = prediction.Prediction.from_scores(probabilities, self.uri, self.version)
        if plan is None:
            return answer
        answer = answer.with_plan(plan)
        return answer.with_shares(analysis.shares(tuple(s.direction for s in answer.plan)))


@cache
def load(folder: Path = FOLDER) -> BuiltinModel:
    """The model in `folder` (read once); BuiltinError naming the file if it cannot be used."""
    weights, meta = folder / WEIGHTS, folder / METADATA
    try:
        layers = facenormals.read_weights(weights)
        metadata = json.loads(meta.read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise BuiltinError(
            f"{e.filename}: the built-in model is missing; reinstall the extension "
            "(or run `make model` in a checkout)"
        ) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        where = meta if isinstance(e, json.JSONDecodeError) else weights
        raise BuiltinError(f"{where}: not a usable built-in model ({e})") from None
    if metadata.get("classes", list(classes.CLASSES)) != list(classes.CLASSES):
        raise BuiltinError(f"{meta}: the model answers for other classes")
    return BuiltinModel(layers, metadata)
