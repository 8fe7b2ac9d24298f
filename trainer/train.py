"""`train(config) -> TrainResult`: one tracked training run, from manifest to champion decision.

Everything that can fail before training (tracking store, weights, data, split) is checked
first, so a mistake costs seconds, not an hour.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import keras
import numpy as np

from shared import classes

from . import checkpoint, data, evaluate, model, preprocess, tracking
from .config import EXPERIMENT, MODEL_NAME, TrainConfig


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
    model: keras.Model | None = None
    test_examples: list[data.Example] = field(default_factory=list)


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class Validation(keras.callbacks.Callback):
    """After each epoch: validation metrics, MLflow logging, early stopping, best weights, and
    `after_epoch(epochs done in the phase, phase over)` (the checkpoint)."""

    def __init__(self, val, labels: np.ndarray, patience: int, show: bool = False):
        super().__init__()
        self.val, self.labels, self.patience, self.show = val, labels, patience, show
        self.history: list[dict[str, float]] = []
        self.best_loss = np.inf
        self.best_weights: list | None = None
        self.best: dict[str, float] = {}
        """The metrics of the best epoch (lowest validation loss): the weights kept."""
        self.wait = 0
        self.after_epoch = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs if logs is not None else {}
        probabilities = self.model.predict(self.val, verbose=0)
        row = {
            "train_loss": float(logs.get("loss", np.nan)),
            "train_accuracy": float(logs.get("accuracy", np.nan)),
        }
        row |= evaluate.metrics(self.labels, probabilities, prefix="val_")
        self.history.append(row)
        tracking.log_metrics(row, step=len(self.history))
        better = row["val_loss"] < self.best_loss
        if self.show:
            say(
                f"epoch {len(self.history)}: validation accuracy {row['val_accuracy']:.4f}, "
                f"loss {row['val_loss']:.4f}{' (best so far: kept)' if better else ''}"
            )
        if better:
            self.best = row
            self.best_loss, self.best_weights, self.wait = (
                row["val_loss"],
                self.model.get_weights(),
                0,
            )
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.model.stop_training = True
        if self.after_epoch is not None:
            over = self.model.stop_training or epoch + 1 >= self.params["epochs"]
            self.after_epoch(epoch + 1, over)

    def resume(self, state: checkpoint.State, best_weights: list | None) -> None:
        self.history, self.best, self.best_loss = state.history, state.best, state.best_loss
        self.best_weights = best_weights

    def restore_best(self) -> None:
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


@dataclass
class Prepared:
    """The checked dataset, its split by part, and the fingerprints that identify them."""

    dataset: data.Dataset
    assignment: dict[str, str]
    sets: dict[str, list[data.Example]]
    counts: dict[str, int]
    dataset_fingerprint: str
    test_fingerprint: str


def prepare(config: TrainConfig) -> Prepared:
    """Load and check the manifest, split by part, fingerprint: all before any run starts."""
    dataset = data.load(config.data, progress=config.progress)
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


def train(config: TrainConfig) -> TrainResult:
    """Train, evaluate, log, register, and let the champion rule decide; see the module doc."""
    tracking.connect(config.tracking_uri)
    weights_arg, weights_used = model.resolve_weights(config.weights, config.variant)
    say(f"weights: {weights_used}")
    return _train(config, prepare(config), weights_arg, weights_used)


def resume(
    run_id: str | None, tracking_uri: str, experiment: str = EXPERIMENT, progress: bool = True
) -> TrainResult:
    """Continue a stopped run (`run_id`, or the newest stopped one of `experiment`) from its
    last checkpoint, in the same MLflow run, with the settings it started with."""
    tracking.connect(tracking_uri)
    candidates = (
        (found, checkpoint.latest(Path(tags["checkpoint_dir"])))
        for found, tags in tracking.stopped_runs(experiment, run_id)
    )
    found, start = next(((f, c) for f, c in candidates if c is not None), (None, None))
    if start is None:
        where = f"run {run_id}" if run_id else f"experiment {experiment!r}"
        raise checkpoint.CheckpointError(
            f"{where}: no stopped run with a checkpoint to resume (checkpoints are written after "
            "each epoch and removed when a run finishes)"
        )
    config = TrainConfig(
        **start.state.config | {"tracking_uri": tracking_uri, "progress": progress}
    )
    ready = prepare(config)
    if ready.dataset_fingerprint != start.state.dataset_fingerprint:
        raise data.DataError(
            f"{config.data}: the data changed since run {found} started; resume needs the same "
            "manifest and images"
        )
    weights_used = tracking.run_data(found)[0].get("weights_used", config.weights)
    say(
        f"resuming run {found} after epoch {start.epochs} "
        f"({'phase over' if start.state.phase_done else f'phase {start.state.phase + 1}'}), "
        f"from {start.path}"
    )
    return _train(config, ready, None, weights_used, (found, start))


def _train(
    config: TrainConfig,
    ready: Prepared,
    weights_arg: str | None,
    weights_used: str,
    resuming: tuple[str, checkpoint.Checkpoint] | None = None,
) -> TrainResult:
    start = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    test = ready.sets["test"]
    tags = {"family": "image", "model": "efficientnet"}
    with (
        tracking.run(
            config.experiment, tags=tags, resume=resuming[0] if resuming else None
        ) as run_id,
        tracking.scratch_dir() as tmp,
    ):
        scratch = Path(tmp)
        folder = None
        if resuming:
            folder = resuming[1].path.parent
            tracking.set_tags({"resumed_after_epoch": resuming[1].epochs})
        else:
            _log_setup(config, ready, weights_used, scratch)
            if config.checkpoints:
                root = config.checkpoint_dir or tracking.checkpoint_root(config.tracking_uri)
                folder = root.resolve() / run_id
                tracking.set_tags({"checkpoint_dir": folder})
        try:
            net, validation = _fit(
                config, ready, weights_arg, folder, resuming[1] if resuming else None
            )
        except KeyboardInterrupt:
            if folder is not None and checkpoint.saved_epochs(folder):
                say(
                    f"stopped; continue from the last epoch with: python -m trainer train "
                    f"--resume {run_id} --tracking-uri {config.tracking_uri}"
                )
            raise
        probabilities = net.predict(
            data.pipeline(test, config.image_size, config.batch_size, False), verbose=0
        )
        test_metrics = log_test(scratch, validation.history, test, probabilities)
        net.save(scratch / "model.keras")
        model_uri = tracking.log_model(
            scratch / "model.keras",
            test[0].path.read_bytes(),
            "image",
            image_size=config.image_size,
            variant=config.variant,
        )
        version, moved, decision = register_and_decide(
            config,
            run_id,
            model_uri,
            test_metrics,
            ready,
            MODEL_NAME,
            {"variant": config.variant, "weights": weights_used, "family": "image"},
        )
        if folder is not None:
            checkpoint.remove(folder)
    return TrainResult(
        run_id=run_id,
        model_uri=model_uri,
        version=version,
        champion=moved,
        decision=decision,
        weights=weights_used,
        test_metrics=test_metrics,
        history=validation.history,
        val_metrics=validation.best,
        counts=ready.counts,
        seconds=time.monotonic() - start,
        model=net,
        test_examples=test,
    )


def log_test(
    scratch: Path, history: list[dict], test: list[data.Example], probabilities: np.ndarray
) -> dict[str, float]:
    """Test metrics and pictures of a finished model, logged to the active run."""
    y_test = np.array([e.y for e in test])
    test_metrics = evaluate.metrics(y_test, probabilities, prefix="test_")
    tracking.log_metrics(test_metrics)
    _log_pictures(scratch, history, test, y_test, probabilities)
    return test_metrics


def register_and_decide(
    config: TrainConfig,
    run_id: str,
    model_uri: str,
    test_metrics: dict,
    ready: Prepared,
    name: str,
    tags: dict,
) -> tuple[str | None, bool, str]:
    """Register the run's model under `name` and let the champion rule decide; tag the run."""
    score = tracking.Score(test_metrics["test_accuracy"], test_metrics["test_macro_f1"])
    version, moved, decision = None, False, "not registered (--no-register)"
    if config.register:
        version = tracking.register(
            model_uri,
            tags
            | {
                "run_id": run_id,
                "test_accuracy": score.accuracy,
                "test_macro_f1": score.macro_f1,
                "test_fingerprint": ready.test_fingerprint,
                "dataset_fingerprint": ready.dataset_fingerprint,
            },
            name,
        )
        test = ready.sets["test"]
        moved, decision = tracking.decide_champion(
            version, score, ready.test_fingerprint, lambda uri: score_model(uri, test), name
        )
    tracking.set_tags(
        {"registered_version": version or "", "champion_decision": decision, "champion": moved}
    )
    say(f"test: {score}; {decision}")
    return version, moved, decision


def _log_setup(config: TrainConfig, ready: Prepared, weights_used: str, scratch: Path) -> None:
    """The whole configuration, what the run is made of, and the split."""
    tracking.log_params(
        config.as_params()
        | ready.counts
        | {
            "weights_used": weights_used,
            "dataset_fingerprint": ready.dataset_fingerprint,
            "test_fingerprint": ready.test_fingerprint,
            "skipped_rows": data.skipped_summary(ready.dataset),
            "meta_image_size": ready.dataset.size,
            "schedule": _schedule(config),
            "keras_backend": keras.backend.backend(),
        }
        | _versions()
    )
    resolved = asdict(config) | {"data": str(config.data), "weights_used": weights_used}
    tracking.log_dict(resolved, "config.json")
    data.write_split(scratch / "split.csv", ready.assignment)
    tracking.log_artifact(scratch / "split.csv")


def _fit(
    config: TrainConfig,
    ready: Prepared,
    weights,
    folder: Path | None,
    start: checkpoint.Checkpoint | None,
) -> tuple[keras.Model, Validation]:
    """Build the model and run the training phases (from `start` if given), checkpointing
    into `folder` after each epoch; the best weights are in the model after."""
    net, base = model.build(
        config.variant,
        config.image_size,
        weights,
        config.dropout,
        config.bn_momentum,
        config.pooling,
        config.head_units,
        pretrained=config.pretrained,
    )
    train_ds = data.pipeline(
        ready.sets["train"],
        config.image_size,
        config.batch_size,
        training=True,
        shuffle_tiles=config.shuffle_tiles,
        seed=config.seed,
        cache_bytes=config.cache_limit_gb * 2**30,
        decoded_size=ready.dataset.size,
    )
    val = ready.sets["val"]
    val_ds = data.pipeline(val, config.image_size, config.batch_size, training=False)
    validation = Validation(val_ds, np.array([e.y for e in val]), config.patience, config.progress)
    if start is not None:
        validation.resume(start.state, start.best_weights)
    verbose = (1 if sys.stderr.isatty() else 2) if config.progress else 0
    for phase, (name, epochs, rate, prepare_base) in enumerate(_phases(config)):
        if epochs < 1 or (start is not None and phase < start.state.phase):
            continue
        trainable = prepare_base(base)
        steps = epochs * len(train_ds) if config.lr_schedule == "cosine" else 0
        model.compile_model(net, rate, steps)
        done, validation.wait = 0, 0  # each phase gets its own patience
        if start is not None and phase == start.state.phase:
            checkpoint.restore(net, start)
            done, validation.wait = start.state.phase_epochs, start.state.wait
            if start.state.phase_done:
                validation.restore_best()
                continue
        say(
            f"phase '{name}': {trainable} trainable layers, {epochs} epochs"
            f"{f' (from epoch {done + 1})' if done else ''}, learning rate {rate:g}"
        )
        if folder is not None:
            validation.after_epoch = _saver(folder, net, validation, config, ready, phase)
        net.fit(
            train_ds,
            epochs=epochs,
            initial_epoch=done,
            callbacks=[validation],
            verbose=verbose,
            shuffle=False,
        )
        validation.restore_best()
    return net, validation


def _saver(
    folder: Path, net: keras.Model, validation: Validation, config, ready: Prepared, phase: int
):
    """The end-of-epoch hook that writes a checkpoint of this phase."""
    settings = asdict(config) | {
        "data": str(config.data.resolve()),
        "checkpoint_dir": str(folder.parent),
    }

    def save(phase_epochs: int, over: bool) -> None:
        state = checkpoint.State(
            config=settings,
            dataset_fingerprint=ready.dataset_fingerprint,
            phase=phase,
            phase_epochs=phase_epochs,
            phase_done=over,
            wait=validation.wait,
            best_loss=float(validation.best_loss),
            best=validation.best,
            history=validation.history,
        )
        checkpoint.save(folder, net, validation.best_weights, state)

    return save


def _phases(config: TrainConfig):
    """(name, epochs, learning rate, function preparing the base and returning trainable count)."""
    if not config.pretrained:
        return [("from scratch", config.epochs, config.learning_rate, _all_trainable)]
    return [
        ("head", config.epochs, config.learning_rate, _frozen),
        (
            "fine-tune",
            config.fine_tune_epochs,
            config.fine_tune_learning_rate,
            lambda base: model.unfreeze_top(base, config.unfreeze),
        ),
    ]


def _all_trainable(base: keras.Model) -> int:
    base.trainable = True
    return sum(layer.trainable for layer in base.layers)


def _frozen(base: keras.Model) -> int:
    model.freeze_base(base)
    return 0


def _schedule(config: TrainConfig) -> str:
    if not config.pretrained:
        return f"from scratch: all layers, {config.epochs} epochs"
    return (
        f"transfer: head {config.epochs} epochs, then last {config.unfreeze} layers "
        f"(BatchNorm frozen) {config.fine_tune_epochs} epochs"
    )


def _versions() -> dict[str, str]:
    out = {"version_python": platform.python_version()}
    for package in ("keras", "tensorflow", "mlflow", "numpy"):
        out[f"version_{package}"] = metadata.version(package)
    return out


def score_model(uri: str, examples: list[data.Example]) -> tracking.Score:
    """Accuracy and macro-F1 of a registered model on these examples (the champion check)."""
    loaded, _, _ = tracking.load(uri)
    p = tracking.predict_probabilities(loaded, evaluate.model_inputs(loaded, examples))
    m = evaluate.metrics(np.array([e.y for e in examples]), p)
    return tracking.Score(m["accuracy"], m["macro_f1"])


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
