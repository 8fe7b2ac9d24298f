"""What every tracked training run does around its fitting, whatever the model family: check
and split the data before the run starts, log the setup, test the finished model with its
pictures, register it and let the champion rule decide, and report the result."""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from shared import classes, plans
from trainer.config import RunConfig
from trainer.console import say
from trainer.data import dataset as data
from trainer.data import preprocess
from trainer.evaluation import evaluate
from trainer.models.families import Family
from trainer.tracking import best, registry
from trainer.tracking import runs as tracking


@dataclass
class Prepared:
    """The checked dataset, its split by part, and the fingerprints that identify them."""

    dataset: data.Dataset
    assignment: dict[str, str]
    sets: dict[str, list[data.Example]]
    counts: dict[str, int]
    dataset_fingerprint: str
    test_fingerprint: str

    @property
    def fingerprints(self) -> dict[str, str]:
        return {
            "dataset_fingerprint": self.dataset_fingerprint,
            "test_fingerprint": self.test_fingerprint,
        }


@dataclass
class Fitted:
    """A trained network in its run, and how it got there."""

    run_id: str
    scratch: Path
    """The run's temporary folder for artifacts."""
    net: Any
    history: list[dict[str, float]]
    best: dict[str, float]
    weights: str
    """The initial weights actually used (logged and reported)."""
    start: float
    """time.monotonic() when the run began."""


@dataclass
class TrainResult:
    run_id: str
    model_uri: str
    version: str | None
    champion: bool
    decision: str
    weights: str
    test_metrics: dict[str, float]
    history: list[dict[str, float]] = field(default_factory=list)
    val_metrics: dict[str, float] = field(default_factory=dict)
    """Validation metrics of the epoch whose weights were kept (what tuning optimises)."""
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    model: Any = None
    """The trained keras.Model."""
    test_examples: list[data.Example] = field(default_factory=list)


def prepare(config: RunConfig, one_setup: bool = False) -> Prepared:
    """Load and check the manifest (`one_setup`: without the images of parts that need several
    setups), split by part, fingerprint: all before any run starts."""
    dataset = data.load_all([config.data, *config.more_data], progress=config.progress)
    if one_setup:
        dataset = data.one_setup(dataset)
    assignment = data.split(
        dataset.examples, config.val_fraction, config.test_fraction, config.split_seed
    )
    sets = {s: [e for e in dataset.examples if assignment[e.part_id] == s] for s in data.SPLITS}
    counts = {f"{s}_images": len(v) for s, v in sets.items()}
    counts |= {f"{s}_parts": sum(1 for p in assignment.values() if p == s) for s in data.SPLITS}
    say(
        f"data: {len(dataset.examples)} images of {len(assignment)} parts "
        f"({', '.join(f'{k} {v}' for k, v in counts.items())}); "
        f"skipped: {data.skipped_summary(dataset)}"
    )
    for problem in dataset.first_problems:
        say(f"  skipped {problem}")
    return Prepared(
        dataset,
        assignment,
        sets,
        counts,
        data.fingerprint(dataset.examples, dataset.manifest_path.read_bytes()),
        data.fingerprint(sets["test"]),
    )


def log_setup(config: RunConfig, ready: Prepared, scratch: Path, **params: Any) -> None:
    """The whole configuration (params and config.json), what the run is made of, the split."""
    import keras

    tracking.log_params(
        config.as_params()
        | ready.counts
        | ready.fingerprints
        | {
            "skipped_rows": data.skipped_summary(ready.dataset),
            "meta_image_size": ready.dataset.size,
            "keras_backend": keras.backend.backend(),
        }
        | params
        | versions()
    )
    tracking.log_dict(config.as_params() | params, "config.json")
    if config.recipe is not None:
        tracking.log_artifact(config.recipe, "recipe")
    data.write_split(scratch / "split.csv", ready.assignment)
    tracking.log_artifact(scratch / "split.csv")


def versions() -> dict[str, str]:
    out = {"version_python": platform.python_version()}
    import keras

    for package in ("keras", "tensorflow", "mlflow", "numpy"):
        out[f"version_{package}"] = metadata.version(package)
    if keras.backend.backend() == "jax":
        out["version_jax"] = metadata.version("jax")
    return out


def finish(
    config: RunConfig,
    family: Family,
    ready: Prepared,
    fitted: Fitted,
    probabilities: np.ndarray,
    **model_config: Any,
) -> TrainResult:
    """Test metrics and pictures, the logged model, registration and the champion decision,
    in the active run; `probabilities` are the model's on the test split."""
    test = ready.sets["test"]
    y = np.array([e.y for e in test])
    test_metrics = evaluate.metrics(y, probabilities, "test_", [e.plan for e in test])
    tracking.log_metrics(test_metrics)
    probabilities = plans.split(probabilities)[0]
    _log_pictures(fitted.scratch, fitted.history, test, y, probabilities)
    fitted.net.save(fitted.scratch / "model.keras")
    model_uri = tracking.log_model(
        fitted.scratch / "model.keras", family.logged_example(test[0]), family, **model_config
    )
    m = test_metrics
    score = registry.Score(m["test_accuracy"], m["test_macro_f1"], m["test_plan_exact"])
    version, moved, decision = None, False, "not registered (--no-register)"
    if config.register:
        tags = dict(family.tags) | {"family": family.name, "weights": fitted.weights}
        tags |= model_config
        version, moved, decision = registry.register_and_decide(
            fitted.run_id,
            model_uri,
            family.registered_name,
            score,
            ready.fingerprints,
            lambda uri: evaluate.score_model(uri, test),
            tags,
        )
        best.decide_best(
            lambda uri: evaluate.score_model(uri, test), ready.fingerprints["test_fingerprint"]
        )
    say(f"test: {score}; {decision}")
    return TrainResult(
        run_id=fitted.run_id,
        model_uri=model_uri,
        version=version,
        champion=moved,
        decision=decision,
        weights=fitted.weights,
        test_metrics=test_metrics,
        history=fitted.history,
        val_metrics=fitted.best,
        counts=ready.counts,
        seconds=time.monotonic() - fitted.start,
        model=fitted.net,
        test_examples=test,
    )


def _log_pictures(
    scratch: Path, history, test: list[data.Example], y: np.ndarray, probabilities: np.ndarray
) -> None:
    cm = evaluate.confusion(y, probabilities.argmax(axis=1))
    (scratch / "confusion_matrix.json").write_text(
        json.dumps({"classes": list(classes.CLASSES), "counts": cm.tolist()})
    )
    pictures = [
        evaluate.plot_confusion(cm, scratch / "confusion_matrix.png", "test split"),
        evaluate.plot_curves(history, scratch / "training_curves.png"),
        evaluate.plot_samples(
            [preprocess.decode(e.path.read_bytes()).numpy() for e in test[:8]],
            list(y[:8]),
            probabilities[:8],
            scratch / "test_samples.png",
        ),
        scratch / "confusion_matrix.json",
    ]
    for path in pictures:
        tracking.log_artifact(path)
