"""Per-epoch checkpoints of a training run, so that `train --resume` continues a stopped run.

A checkpoint is a folder `epoch-NNNN` (NNNN: epochs trained so far, all phases together) with
the model's weights and its optimizer's state (`last.weights.h5`: Adam's moments and step count,
so a cosine schedule goes on where it was), the weights of the best epoch so far (`best.npz`)
and `state.json` (the run's settings, the phase, the history, early stopping). It is written
under a temporary name and renamed into place, so a kill leaves the previous checkpoint whole;
only the newest is kept.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np

from shared import atomic
from trainer.errors import TrainerError

PREFIX = "epoch-"
MODEL = "last.weights.h5"
BEST = "best.npz"
STATE = "state.json"


class CheckpointError(TrainerError, ValueError):
    """A checkpoint that cannot be used; the message names it and says why."""


@dataclass
class State:
    """Where training stood when the checkpoint was written."""

    config: dict
    """The run's TrainConfig as a dict (paths as strings)."""
    dataset_fingerprint: str
    phase: int
    """Index of the phase being trained (0: head or from scratch, 1: fine-tune)."""
    phase_epochs: int
    """Epochs of that phase done."""
    phase_done: bool
    """The phase ended here (last epoch, or early stopping)."""
    wait: int
    best_loss: float
    best: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass
class Checkpoint:
    path: Path
    state: State
    best_weights: list[np.ndarray] | None

    @property
    def epochs(self) -> int:
        return len(self.state.history)


def save(folder: Path, net: keras.Model, best_weights: list | None, state: State) -> Path:
    """Write a checkpoint of `net` (compiled, after an epoch) into `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{PREFIX}{len(state.history):04d}"
    tmp = atomic.temporary_name(final)
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        net.save_weights(tmp / MODEL)
        if best_weights is not None:
            with (tmp / BEST).open("wb") as f:
                np.savez(f, *best_weights)
        (tmp / STATE).write_text(json.dumps(asdict(state), indent=1))
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for old in _complete(folder):
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def _complete(folder: Path) -> list[Path]:
    """The checkpoints in `folder`, oldest first (temporary folders are not checkpoints)."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.is_dir()]
    return sorted(found, key=lambda p: p.name)


def saved_epochs(folder: Path) -> int:
    """Epochs trained at the newest checkpoint in `folder` (0: none), without reading it."""
    found = _complete(folder)
    return int(found[-1].name[len(PREFIX) :]) if found else 0


def latest(folder: Path) -> Checkpoint | None:
    """The newest checkpoint in `folder`, or None if there is none."""
    found = _complete(folder)
    if not found:
        return None
    path = found[-1]
    try:
        raw = json.loads((path / STATE).read_text())
        state = State(**raw)
        best = None
        if (path / BEST).is_file():
            with np.load(path / BEST, allow_pickle=False) as saved:
                best = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    except (OSError, ValueError, TypeError, KeyError) as e:
        raise CheckpointError(f"{path}: unreadable checkpoint ({e})") from None
    if not (path / MODEL).is_file():
        raise CheckpointError(f"{path}: no {MODEL} in the checkpoint")
    return Checkpoint(path, state, best)


def restore(net: keras.Model, checkpoint: Checkpoint) -> None:
    """Load the checkpoint's weights and optimizer state into `net`, compiled as it was."""
    net.optimizer.build(net.trainable_variables)
    try:
        net.load_weights(checkpoint.path / MODEL)
    except (OSError, ValueError) as e:
        raise CheckpointError(f"{checkpoint.path / MODEL}: does not fit this model ({e})") from None


def remove(folder: Path) -> None:
    """Delete a run's checkpoints (the run finished), and their root folder once empty."""
    shutil.rmtree(folder, ignore_errors=True)
    with contextlib.suppress(OSError):
        folder.parent.rmdir()
