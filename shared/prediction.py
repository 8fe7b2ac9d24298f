"""The answer to "from which side?": a probability per class, from a named model, and its JSON
form (`--json` of both command lines, the add-on's model client). The label is always the most
probable class: it is derived here and nowhere else. A model with a plan head also answers
with the setup plan (`plans.Step`s, the label first); readers that know no plan ignore it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from . import plans
from .classes import CLASSES

JSON_KEYS = ("input", "label", "probabilities", "model_uri", "model_version", "plan")


@dataclass(frozen=True)
class Prediction:
    probabilities: dict[str, float]
    """One probability per class of CLASSES, in that order."""
    model_uri: str
    model_version: str = ""
    plan: tuple[plans.Step, ...] = ()
    """The setup plan, primary first (empty for a model without a plan head)."""

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]

    @classmethod
    def from_scores(
        cls, scores: Sequence[float], model_uri: str, model_version: str = ""
    ) -> Prediction:
        """From one row of model output, in CLASSES order."""
        if len(scores) != len(CLASSES):
            raise ValueError(f"{len(scores)} scores for {len(CLASSES)} classes")
        return cls(dict(zip(CLASSES, map(float, scores), strict=True)), model_uri, model_version)

    @classmethod
    def from_probabilities(
        cls, probabilities: Mapping, model_uri: str, model_version: str = ""
    ) -> Prediction:
        """From a class -> probability mapping; ValueError unless it names exactly CLASSES
        with numbers."""
        names = sorted(str(k) for k in probabilities)
        if names != sorted(CLASSES):
            raise ValueError(f"answered for the classes {names}, not {list(CLASSES)}")
        try:
            scores = [float(probabilities[c]) for c in CLASSES]
        except (TypeError, ValueError):
            raise ValueError("sent probabilities that are not numbers") from None
        return cls.from_scores(scores, model_uri, model_version)

    def with_plan(self, plan_scores: Sequence[float]) -> Prediction:
        """This answer with the plan that a plan head's scores (plans.SIDES order) give."""
        scores = [self.probabilities[c] for c in CLASSES]
        return replace(self, plan=plans.from_scores(scores, plan_scores))

    def with_shares(self, shares: Mapping[str, float]) -> Prediction:
        """This answer with each setup's share of the machined area (from the analysis)."""
        steps = tuple(replace(s, share=shares.get(s.direction)) for s in self.plan)
        return replace(self, plan=steps)

    def as_json(self, input: str) -> dict:
        """The `--json` object of DESIGN.md for one input."""
        return {
            "input": input,
            "label": self.label,
            "probabilities": self.probabilities,
            "model_uri": self.model_uri,
            "model_version": self.model_version,
            "plan": [
                {"direction": s.direction, "probability": s.probability, "share": s.share}
                for s in self.plan
            ],
        }

    @classmethod
    def from_json(cls, obj: Mapping) -> tuple[str, Prediction]:
        """(input, prediction) from an `as_json` object; ValueError if it is not one."""
        if not isinstance(obj, Mapping) or not isinstance(obj.get("probabilities"), Mapping):
            raise ValueError("not a prediction object")
        found = cls.from_probabilities(
            obj["probabilities"], str(obj.get("model_uri", "")), str(obj.get("model_version", ""))
        )
        if "label" in obj and obj["label"] != found.label:
            raise ValueError(f"label {obj['label']!r} is not the most probable class")
        try:
            steps = tuple(
                plans.Step(
                    str(s["direction"]),
                    float(s["probability"]),
                    None if s.get("share") is None else float(s["share"]),
                )
                for s in obj.get("plan") or ()
            )
            plans.parse(plans.text(s.direction for s in steps))
        except (TypeError, KeyError, ValueError, AttributeError):
            raise ValueError("sent a plan that is not a list of setups") from None
        if steps and steps[0].direction != found.label:
            raise ValueError(f"plan starts with {steps[0].direction}, not the label {found.label}")
        return str(obj.get("input", "")), replace(found, plan=steps)
