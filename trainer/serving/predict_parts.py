"""Predict the milling direction (and, for a model with a plan head, the setup plan) of
meta-images (.png) or parts (.stl) with a tracked model."""

from __future__ import annotations

from shared import plans
from shared.prediction import Prediction
from trainer.tracking import registry
from trainer.tracking import runs as tracking


def predict(
    inputs: list[str], model_uri: str | None = None
) -> tuple[list[tuple[str, Prediction]], list[str]]:
    """([(input, prediction)]) for the inputs that could be read, and an error line for each
    other one. The model's family decides how inputs are read (families.py)."""
    model, uri, version = registry.load(model_uri)
    items, errors = tracking.family(model).read_inputs(inputs)
    if not items:
        return [], errors
    probabilities, scores = plans.split(
        tracking.predict_output(model, [value for _, value in items])
    )
    answers = []
    for k, (name, _) in enumerate(items):
        answer = Prediction.from_scores(probabilities[k], uri, version)
        answers.append((name, answer if scores is None else answer.with_plan(scores[k])))
    return answers, errors
