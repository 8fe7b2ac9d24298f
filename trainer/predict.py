"""Predict the milling direction of meta-images (.png) or parts (.stl) with a tracked model."""

from __future__ import annotations

from shared.prediction import Prediction

from . import registry, tracking


def predict(
    inputs: list[str], model_uri: str | None = None
) -> tuple[list[tuple[str, Prediction]], list[str]]:
    """([(input, prediction)]) for the inputs that could be read, and an error line for each
    other one. The model's family decides how inputs are read (families.py)."""
    model, uri, version = registry.load(model_uri)
    items, errors = tracking.family(model).read_inputs(inputs)
    if not items:
        return [], errors
    probabilities = tracking.predict_probabilities(model, [value for _, value in items])
    answers = [
        (name, Prediction.from_scores(p, uri, version))
        for (name, _), p in zip(items, probabilities, strict=True)
    ]
    return answers, errors
