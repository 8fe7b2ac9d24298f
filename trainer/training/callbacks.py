"""Keras callbacks of a training run: validation with early stopping, and the checkpoint."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import keras
import numpy as np

from trainer.config import TrainConfig
from trainer.console import say
from trainer.evaluation import evaluate
from trainer.tracking import runs as tracking
from trainer.training import checkpoint


class Validation(keras.callbacks.Callback):
    """After each epoch: validation metrics, MLflow logging, early stopping, best weights, and
    `after_epoch(epochs done in the phase, phase over)` (the checkpoint)."""

    def __init__(
        self, val, labels: np.ndarray, patience: int, show: bool = False, plans: list | None = None
    ):
        super().__init__()
        self.val, self.labels, self.patience, self.show = val, labels, patience, show
        self.plans = plans
        """The validation parts' true plans: their metrics are logged too, and a plan head's
        loss counts in which epoch is best."""
        self.history: list[dict[str, float]] = []
        self.best_loss = np.inf
        self.best_weights: list | None = None
        self.best: dict[str, float] = {}
        """The metrics of the best epoch (lowest validation loss): the weights kept."""
        self.wait = 0
        self.after_epoch = None

    def on_epoch_end(self, epoch: int, logs=None) -> None:
        logs = logs if logs is not None else {}
        probabilities = self.model.predict(self.val, verbose=0)[: len(self.labels)]
        row = {
            "train_loss": float(logs.get("loss", np.nan)),
            "train_accuracy": float(logs.get("accuracy", np.nan)),
        }
        row |= evaluate.metrics(self.labels, probabilities, "val_", self.plans)
        self.history.append(row)
        tracking.log_metrics(row, step=len(self.history))
        loss = row["val_loss"] + row.get("val_plan_loss", 0.0)
        better = loss < self.best_loss
        if self.show:
            say(
                f"epoch {len(self.history)}: validation accuracy {row['val_accuracy']:.4f}, "
                f"loss {loss:.4f}{' (best so far: kept)' if better else ''}"
            )
        if better:
            self.best = row
            self.best_loss, self.best_weights, self.wait = (
                loss,
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


def checkpoint_saver(
    folder: Path,
    net: keras.Model,
    validation: Validation,
    config: TrainConfig,
    dataset_fingerprint: str,
    phase: int,
):
    """The end-of-epoch hook (Validation.after_epoch) that writes a checkpoint of this phase."""
    settings = asdict(config) | {
        "data": str(config.data.resolve()),
        "more_data": [str(p.resolve()) for p in config.more_data],
        "checkpoint_dir": str(folder.parent),
        "recipe": None if config.recipe is None else str(config.recipe.resolve()),
    }

    def save(phase_epochs: int, over: bool) -> None:
        state = checkpoint.State(
            config=settings,
            dataset_fingerprint=dataset_fingerprint,
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
