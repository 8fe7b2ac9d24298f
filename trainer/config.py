"""The configuration of a training run: every knob in one dataclass, logged whole to MLflow."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

VARIANTS: dict[str, int] = {
    "B0": 224,
    "B1": 240,
    "B2": 260,
    "B3": 300,
    "B4": 380,
    "B5": 456,
    "B6": 528,
    "B7": 600,
}
"""EfficientNet variant -> input resolution (the table in the Keras documentation)."""

MODEL_NAME = "milling-directions"
CHAMPION = "champion"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "milling-directions"


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working folder."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


@dataclass
class TrainConfig:
    data: Path
    variant: str = "B0"
    image_size: int | None = None
    """Input resolution; None = the variant's own (VARIANTS)."""
    weights: str = "imagenet"
    """'imagenet', 'none', or the path of a local weights file for the variant's base."""
    epochs: int = 10
    """Epochs of the first phase: the head (pretrained base) or the whole network (from scratch)."""
    fine_tune_epochs: int = 10
    """Epochs of the second phase, pretrained weights only: the last `unfreeze` layers too."""
    unfreeze: int = 20
    learning_rate: float = 1e-3
    fine_tune_learning_rate: float = 1e-5
    batch_size: int = 16
    lr_schedule: str = "cosine"
    """'cosine': each phase's learning rate decays along a cosine to 1% by its last epoch;
    'constant'."""
    pooling: str = "max"
    """Global pooling after the base: 'max' (the seed's choice) or 'avg'."""
    head_units: int = 0
    """A hidden Dense layer (ReLU) of this many units before the output; 0 = none."""
    dropout: float = 0.2
    bn_momentum: float = 0.9
    """Momentum of trainable BatchNorm layers (from scratch, 0.9 generalised and 0.99 did not)."""
    patience: int = 3
    """Early stopping: epochs without a better validation loss; the best weights are restored."""
    shuffle_tiles: bool = False
    """Shuffle tile positions inside each training meta-image, every epoch (the seed's
    augmentation). Off: a tile's position is its view direction, and the model needs it (on
    unseen parts, 53% with the shuffle against 88% without, same data and settings)."""
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    split_seed: int = 0
    seed: int = 0
    cache_limit_gb: float = 4.0
    """Keep decoded training images in memory when they fit in this much."""
    checkpoints: bool = True
    """Write a checkpoint after every epoch so that `train --resume` can continue the run."""
    checkpoint_dir: Path | None = None
    """Where checkpoints go (in a folder per run); None: `checkpoints/` beside a sqlite
    store, else in the working folder. Removed when the run finishes."""
    tracking_uri: str = field(default_factory=resolve_tracking_uri)
    experiment: str = EXPERIMENT
    register: bool = True
    progress: bool = True

    def __post_init__(self) -> None:
        self.data = Path(self.data)
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = Path(self.checkpoint_dir)
        self.variant = self.variant.upper()
        if self.variant not in VARIANTS:
            raise ValueError(
                f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}"
            )
        if self.image_size is None:
            self.image_size = VARIANTS[self.variant]
        if self.lr_schedule not in ("cosine", "constant"):
            raise ValueError(
                f"lr-schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}"
            )
        if self.pooling not in ("max", "avg"):
            raise ValueError(f"pooling must be 'max' or 'avg', got {self.pooling!r}")
        if self.image_size < 32:
            raise ValueError(f"image size must be at least 32 px, got {self.image_size}")
        if (
            not 0 < self.val_fraction < 1
            or not 0 < self.test_fraction < 1
            or (self.val_fraction + self.test_fraction >= 1)
        ):
            raise ValueError("validation and test fractions must be in (0, 1) and sum below 1")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name.replace('_', '-')} must be at least 1")

    @property
    def pretrained(self) -> bool:
        return self.weights.lower() != "none"

    def as_params(self) -> dict[str, str]:
        """Every setting as a flat string dict (MLflow params)."""
        return {k: str(v) for k, v in asdict(self).items() if k != "progress"}
