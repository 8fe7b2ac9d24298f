"""`train(config) -> TrainResult`: one tracked image-model run, from manifest to champion
decision; `resume(run_id)` continues a stopped one from its last checkpoint.

Everything that can fail before training (tracking store, weights, data, split) is checked
first, so a mistake costs seconds, not an hour.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import keras
import numpy as np

from trainer.config import EXPERIMENT, TrainConfig
from trainer.console import say
from trainer.data import dataset as data
from trainer.models import image as model
from trainer.models.families import IMAGE
from trainer.tracking import runs as tracking
from trainer.training import checkpoint, parallel
from trainer.training.callbacks import Validation, checkpoint_saver
from trainer.training.run import Fitted, Prepared, TrainResult, finish, log_setup, prepare


def train(config: TrainConfig) -> TrainResult:
    """Train, evaluate, log, register, and let the champion rule decide; see the module doc."""
    layout = parallel.distribute(config.devices, config.batch_size)  # a bad request: before all
    tracking.connect(config.tracking_uri)
    if config.base == "none":
        weights = model.Weights(None, "none (no EfficientNet base: --base none)")
    else:
        weights = model.resolve_weights(config.weights, config.variant)
    say(f"weights: {weights.used}")
    return _train(config, layout, _prepare(config), weights)


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
    layout = parallel.distribute(config.devices, config.batch_size)
    ready = _prepare(config)
    if ready.dataset_fingerprint != start.state.dataset_fingerprint:
        raise data.DataError(
            f"{config.data}: the data changed since run {found} started; resume needs the same "
            "manifest and images"
        )
    used = tracking.run_data(found)[0].get("weights_used", config.weights)
    say(
        f"resuming run {found} after epoch {start.epochs} "
        f"({'phase over' if start.state.phase_done else f'phase {start.state.phase + 1}'}), "
        f"from {start.path}"
    )
    return _train(config, layout, ready, model.Weights(None, used), (found, start))


def _prepare(config: TrainConfig) -> Prepared:
    """The run's data: without multi-setup parts for --multi-setup skip."""
    return prepare(config, one_setup=config.multi_setup == "skip")


def _train(
    config: TrainConfig,
    layout: dict[str, str],
    ready: Prepared,
    weights: model.Weights,
    resuming: tuple[str, checkpoint.Checkpoint] | None = None,
) -> TrainResult:
    start = time.monotonic()
    devices = int(layout["devices"])
    keras.utils.set_random_seed(config.seed)
    tags = dict(IMAGE.tags) | {"family": IMAGE.name}
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
            log_setup(
                config,
                ready,
                scratch,
                weights_used=weights.used,
                weights_sha256=weights.sha256,
                schedule=_schedule(config),
                **layout,
            )
            if config.checkpoints:
                root = config.checkpoint_dir or tracking.checkpoint_root(config.tracking_uri)
                folder = root.resolve() / run_id
                tracking.set_tags({"checkpoint_dir": folder})
        try:
            net, validation = _fit(
                config, ready, weights.arg, folder, resuming[1] if resuming else None, devices
            )
        except KeyboardInterrupt:
            if folder is not None and checkpoint.saved_epochs(folder):
                say(
                    f"stopped; continue from the last epoch with: python -m trainer train "
                    f"--resume {run_id} --tracking-uri {config.tracking_uri}"
                )
            raise
        test = ready.sets["test"]
        test_ds = data.pipeline(test, config.image_size, config.batch_size, False, multiple=devices)
        fitted = Fitted(
            run_id, scratch, net, validation.history, validation.best, weights.used, start
        )
        result = finish(
            config,
            IMAGE,
            ready,
            fitted,
            net.predict(test_ds, verbose=0)[: len(test)],
            image_size=config.image_size,
            variant=config.variant,
            plan=config.multi_setup == "plan",
        )
        if folder is not None:
            checkpoint.remove(folder)
    return result


def _fit(
    config: TrainConfig,
    ready: Prepared,
    weights,
    folder: Path | None,
    start: checkpoint.Checkpoint | None,
    devices: int = 1,
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
        cell_units=config.cell_units,
        drop_connect=config.drop_connect,
        base_kind=config.base,
        view_units=config.view_units,
        plan=config.multi_setup == "plan",
    )
    train_ds = data.pipeline(
        ready.sets["train"],
        config.image_size,
        config.batch_size,
        training=True,
        shuffle_tiles=config.shuffle_tiles,
        half_turns=config.half_turns,
        seed=config.seed,
        cache_bytes=config.cache_limit_gb * 2**30,
        decoded_size=ready.dataset.size,
        multiple=devices,
        plan=config.multi_setup == "plan",
    )
    val = ready.sets["val"]
    val_ds = data.pipeline(val, config.image_size, config.batch_size, False, multiple=devices)
    labels, truth = np.array([e.y for e in val]), [e.plan for e in val]
    plan = config.multi_setup == "plan"
    validation = Validation(
        val_ds, labels, config.patience, config.progress, truth if plan else None
    )
    if start is not None:
        validation.resume(start.state, start.best_weights)
    verbose = (1 if sys.stderr.isatty() else 2) if config.progress else 0
    for phase, (name, epochs, rate, prepare_base) in enumerate(_phases(config)):
        if epochs < 1 or (start is not None and phase < start.state.phase):
            continue
        trainable = prepare_base(base if base is not None else net)
        warmup = min(config.warmup_epochs, epochs - 1) * len(train_ds)
        steps = epochs * len(train_ds) - warmup if config.lr_schedule == "cosine" else 0
        model.compile_model(
            net,
            rate,
            steps,
            warmup,
            config.optimizer,
            config.weight_decay,
            config.label_smoothing,
            plan=config.multi_setup == "plan",
        )
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
            validation.after_epoch = checkpoint_saver(
                folder, net, validation, config, ready.dataset_fingerprint, phase
            )
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
        what = "EfficientNet" if config.base == "efficientnet" else "no base"
        paths = f"{what}{', view colours' if config.view_units else ''}"
        return f"from scratch ({paths}): all layers, {config.epochs} epochs"
    return (
        f"transfer: head {config.epochs} epochs, then last {config.unfreeze} layers "
        f"(BatchNorm frozen) {config.fine_tune_epochs} epochs"
    )
