"""`train_baseline(config) -> TrainResult`: the face-normal model (see facenormals.py), trained
on the same parts with the same split by part as the image model, tracked with the same metrics
and registered the same way, as its own model so that Blender keeps asking the image model."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from shared import progress, stl

from . import data, facenormals, model, tracking
from .config import TrainConfig
from .train import Prepared, TrainResult, Validation, log_test, prepare, register_and_decide, say

NAME = "milling-directions-face-normals"
FAMILY = "face-normals"


def features_of(examples: list[data.Example], show: bool) -> np.ndarray:
    """(N, FEATURES): each example's source part, turned as its augmentation says."""
    parts: dict[str, np.ndarray] = {}
    out = np.empty((len(examples), facenormals.FEATURES), dtype=np.float32)
    bar = progress.Progress(len(examples), unit="parts described", enabled=show)
    for i, e in enumerate(examples):
        if e.source not in parts:
            try:
                parts[e.source] = facenormals.source_triangles(e.source, "none")
            except stl.StlError as err:
                raise data.DataError(str(err)) from None
        out[i] = facenormals.features(facenormals.turn(parts[e.source], e.augmentation))
        bar.update(i + 1)
    bar.close()
    return out


def train_baseline(config: TrainConfig, hidden: int = 128) -> TrainResult:
    """Train, test, log and register the face-normal model."""
    start = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    tracking.connect(config.tracking_uri)
    ready = prepare(config)
    missing = sorted({e.source for e in ready.dataset.examples if not Path(e.source).is_file()})
    if missing:
        raise data.DataError(
            f"{missing[0] or config.data / 'manifest.csv'}: the face-normal model needs the source "
            f"STL files named in the manifest's 'source' column ({len(missing)} missing)"
        )
    x = {s: features_of(ready.sets[s], config.progress) for s in data.SPLITS}
    y = {s: np.array([e.y for e in ready.sets[s]]) for s in data.SPLITS}
    test = ready.sets["test"]
    tags = {"family": FAMILY, "model": "mlp"}
    with tracking.run(config.experiment, tags=tags) as run_id, tracking.scratch_dir() as tmp:
        scratch = Path(tmp)
        _log_setup(config, ready, hidden, scratch)
        net = facenormals.build(hidden, config.dropout)
        model.compile_model(net, config.learning_rate)
        validation = Validation(x["val"], y["val"], config.patience)
        net.fit(
            x["train"],
            y["train"],
            batch_size=config.batch_size,
            epochs=config.epochs,
            callbacks=[validation],
            verbose=0,
        )
        validation.restore_best()
        say(f"face-normal model: {len(validation.history)} epochs")
        test_metrics = log_test(
            scratch, validation.history, test, net.predict(x["test"], verbose=0)
        )
        net.save(scratch / "model.keras")
        model_uri = tracking.log_model(
            scratch / "model.keras", Path(test[0].source).read_bytes(), FAMILY, hidden=hidden
        )
        version, moved, decision = register_and_decide(
            config, run_id, model_uri, test_metrics, ready, NAME, {"family": FAMILY}
        )
    return TrainResult(
        run_id=run_id,
        model_uri=model_uri,
        version=version,
        champion=moved,
        decision=decision,
        weights="none (random initialisation)",
        test_metrics=test_metrics,
        history=validation.history,
        val_metrics=validation.best,
        counts=ready.counts,
        seconds=time.monotonic() - start,
        model=net,
        test_examples=test,
    )


def _log_setup(config: TrainConfig, ready: Prepared, hidden: int, scratch: Path) -> None:
    tracking.log_params(
        ready.counts
        | {
            "family": FAMILY,
            "data": str(config.data),
            "hidden_units": hidden,
            "dropout": config.dropout,
            "epochs": config.epochs,
            "learning_rate": config.learning_rate,
            "batch_size": config.batch_size,
            "patience": config.patience,
            "seed": config.seed,
            "split_seed": config.split_seed,
            "val_fraction": config.val_fraction,
            "test_fraction": config.test_fraction,
            "dataset_fingerprint": ready.dataset_fingerprint,
            "test_fingerprint": ready.test_fingerprint,
            "features": (
                f"{len(facenormals.DIRECTIONS)} normal directions x (area + "
                f"{len(facenormals.DEPTH_EDGES) + 1} depth bins) = {facenormals.FEATURES}"
            ),
            "skipped_rows": data.skipped_summary(ready.dataset),
            "keras_backend": keras.backend.backend(),
        }
    )
    data.write_split(scratch / "split.csv", ready.assignment)
    tracking.log_artifact(scratch / "split.csv")
