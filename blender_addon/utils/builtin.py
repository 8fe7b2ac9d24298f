"""The built-in model: the face-normal model shipped inside the extension (models/), run with
numpy alone, offline, without rendering. `make model` trains it (see its metadata file)."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from .._shared import classes, facenormals, plans, prediction

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
        """One line for the preferences: which model, and how it scored."""
        m = self.metadata.get("metrics", {})
        scores = [
            f"{m[k]:.1%} {k.removesuffix('_accuracy').replace('_', ' ')}"
            for k in m
            if k.endswith("_accuracy") and not k.startswith("test")
        ]
        return f"{self.uri} v{self.version}" + (f": {', '.join(scores)}" if scores else "")

    def predict(self, triangles: np.ndarray) -> prediction.Prediction:
        """The answer for one part's (N, 3, 3) triangles, in the part's own frame (with its
        setup plan where the model has a plan head)."""
        x = facenormals.features(np.asarray(triangles, dtype=np.float64))[None]
        probabilities, plan = plans.split(facenormals.forward(self.layers, x)[0])
        answer = prediction.Prediction.from_scores(probabilities, self.uri, self.version)
        return answer if plan is None else answer.with_plan(plan)


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
