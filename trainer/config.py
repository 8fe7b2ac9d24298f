"""The configuration of a run: every setting in one dataclass, with its help text, logged whole
to MLflow. The command line's options are generated from these fields (options.py)."""

from __future__ import annotations

import os
from dataclasses import MISSING, asdict, dataclass, field
from pathlib import Path
from typing import Any

from trainer.errors import TrainerError

VARIANTS: dict[str, int] = {
    "B0": 224,
    "B1": 240,
    "B2": 260,
    "B3": 300,
    "B4": 380,
    "B5": 456,
    "B6": 528,
    "B7": 600,
    "LITE0": 224,
    "LITE1": 240,
    "LITE2": 260,
}
"""EfficientNet variant -> input resolution (the table in the Keras documentation; Lite: the
EfficientNet-Lite paper's). Lite's ImageNet weights come with the trainer (lite.py)."""

DEFAULT_VARIANT = "B0"
POOLINGS = ("max", "avg", "cells")
BASES = ("auto", "efficientnet", "none")
VIEW_IMAGE_SIZE = 100
"""Input resolution of a model without a base: a multiple of the 10 x 10 grid."""
MODEL_NAME = "milling-directions"
CHAMPION = "champion"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
EXPERIMENT = "milling-directions"


class ConfigError(TrainerError, ValueError):
    """A setting out of range; the message names the option."""


def resolve_tracking_uri(explicit: str | None = None) -> str:
    """--tracking-uri, else MLFLOW_TRACKING_URI, else sqlite:///mlflow.db in the working folder."""
    return explicit or os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def option(
    default: Any = MISSING,
    help: str = "",
    *,
    flag: str | None = None,
    choices: tuple | None = None,
    metavar: str | None = None,
    type: Any = None,
    factory: Any = None,
    show_default: bool = True,
    nargs: str | None = None,
) -> Any:
    """A config field with what its command-line option needs; no `help`: not an option."""
    metadata = {
        "help": help,
        "flag": flag,
        "choices": choices,
        "metavar": metavar,
        "type": type,
        "show_default": show_default,
        "nargs": nargs,
    }
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


def _again(cls: type, name: str, default: Any) -> Any:
    """The field `name` of `cls` with another default (its help text stays in one place)."""
    return field(default=default, metadata=cls.__dataclass_fields__[name].metadata)


@dataclass
class RunConfig:
    """What every training run has: data, split, optimisation basics, tracking."""

    data: Path = option(
        help="folder with manifest.csv and the meta-images; several folders are learned from "
        "together (say your generated parts and the corrections made in Blender)",
        metavar="DIR",
        nargs="+",
    )
    more_data: tuple[Path, ...] = ()
    """The folders after the first of --data."""
    recipe: Path | None = option(
        None,
        "read the settings from a recipe (option names as keys, at its top level or in a table "
        "named after the command; e.g. trainer/recipes/demo.toml); options given here override "
        "it. The run logs the file as an artifact",
        flag="--config",
        metavar="RECIPE.toml",
    )
    epochs: int = option(
        10,
        "epochs of the head phase, or of all training from scratch (the face-normal model: "
        "all training)",
    )
    learning_rate: float = option(1e-3, "learning rate (Adam)")
    batch_size: int = option(16, "images per batch")
    dropout: float = option(0.2, "dropout before the output layer")
    patience: int = option(
        3, "early stopping: epochs without a better validation loss (the best weights are kept)"
    )
    val_fraction: float = option(0.15, "share of the parts held out for validation")
    test_fraction: float = option(0.15, "share of the parts held out for the test")
    split_seed: int = option(0, "seed of the split by part")
    seed: int = option(0, "seed of the weights and of the shuffling")
    experiment: str = option(EXPERIMENT, "MLflow experiment")
    register: bool = option(
        True, "log the run and model but do not register a version", flag="--no-register"
    )
    tracking_uri: str = option(
        help="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)",
        metavar="URI",
        factory=resolve_tracking_uri,
        show_default=False,
    )
    progress: bool = option(True, "no progress output", flag="--quiet")

    def __post_init__(self) -> None:
        if isinstance(self.data, list | tuple):  # --data A B ...
            first, *rest = self.data
            self.data, self.more_data = first, (*self.more_data, *rest)
        self.data = Path(self.data)
        self.more_data = tuple(Path(p) for p in self.more_data)
        self.recipe = None if self.recipe is None else Path(self.recipe)
        if (
            not 0 < self.val_fraction < 1
            or not 0 < self.test_fraction < 1
            or (self.val_fraction + self.test_fraction >= 1)
        ):
            raise ConfigError("validation and test fractions must be in (0, 1) and sum below 1")
        for name in ("epochs", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be at least 1")

    def as_params(self) -> dict[str, str]:
        """Every setting as a flat string dict (MLflow params)."""
        out = {k: str(v) for k, v in asdict(self).items() if k not in ("progress", "more_data")}
        if self.more_data:  # the folders after the first of --data
            out["more_data"] = " ".join(map(str, self.more_data))
        return out


@dataclass
class TrainConfig(RunConfig):
    """An image-model run (`train`, and each trial of `tune`)."""

    base: str = option(
        "auto",
        "efficientnet: EfficientNet --variant, beside the view-colour path if --view-units; "
        "none: the view-colour path alone (it generalised to unseen part families and to real "
        "parts better than EfficientNet, pretrained or not: README); auto: efficientnet when "
        "--variant or a weights file is given, else none",
        choices=BASES,
    )
    view_units: int = option(
        64,
        "channels of the view-colour path (per-pixel features of the normal colours, averaged "
        "over each view's tile: which view sees which normals); 0 = no such path",
    )
    variant: str | None = option(
        None,
        f"EfficientNet variant (default: {DEFAULT_VARIANT}); LITE0..LITE2: EfficientNet-Lite, "
        "whose ImageNet weights come with the trainer and work offline",
        choices=tuple(VARIANTS),
        type=str.upper,
        metavar="B0..B7|LITE0..LITE2",
    )
    image_size: int | None = option(
        None,
        "input resolution (default: the variant's, 224 for B0 ... 600 for B7; with --base none "
        f"{VIEW_IMAGE_SIZE}, {VIEW_IMAGE_SIZE // 10} px per view)",
        metavar="PX",
    )
    weights: str = option(
        "imagenet",
        "initial weights of the base: ImageNet (B0..B7: downloaded once by Keras; LITE0..LITE2: "
        "installed with the trainer), none (from scratch) or a local weights file",
        metavar="imagenet|none|PATH",
    )
    fine_tune_epochs: int = option(
        10, "epochs with the last --unfreeze layers trainable (pretrained weights only)"
    )
    unfreeze: int = option(20, "layers of the base to fine-tune")
    fine_tune_learning_rate: float = option(1e-5, "learning rate of the fine-tune phase")
    lr_schedule: str = option(
        "cosine",
        "cosine: each phase's learning rate decays to 1% by its last epoch",
        choices=("cosine", "constant"),
    )
    pooling: str = option(
        "cells",
        "how the base's final feature map becomes the head's input: cells, a 1x1 convolution "
        "per cell of the map, then flatten, so that the head knows which cell (which views) saw "
        "what; or global max (the seed's) or avg pooling",
        choices=POOLINGS,
    )
    cell_units: int = option(16, "channels of the 1x1 convolution of --pooling cells")
    head_units: int = option(0, "hidden Dense layer (ReLU) before the output, 0 = none")
    bn_momentum: float = option(
        0.9,
        "momentum of trainable BatchNorm layers (from scratch, 0.9 generalised and Keras' 0.99 "
        "did not)",
    )
    half_turns: bool = option(
        True,
        "do not turn training meta-images 180 degrees about Z (by default each is, with "
        "probability 1/2: azimuth columns rolled by 5, X and Y normals negated, label remapped, "
        "an exact augmentation)",
        flag="--no-half-turns",
    )
    optimizer: str = option("adam", "optimizer", choices=("adam", "adamw"))
    weight_decay: float = option(0.05, "weight decay of --optimizer adamw")
    warmup_epochs: int = option(
        0, "epochs of linear learning-rate warm-up from zero, before the schedule"
    )
    label_smoothing: float = option(0.0, "label smoothing of the cross-entropy loss")
    drop_connect: float = option(
        0.2, "EfficientNet's drop-connect (stochastic depth) rate of its last block (Keras: 0.2)"
    )
    shuffle_tiles: bool = option(
        False,
        "shuffle the tile positions of training images each epoch (the seed's augmentation: it "
        "keeps the label but hides which view each tile is, and measured worse: 53% against "
        "88% on unseen parts)",
    )
    multi_setup: str = option(
        "skip",
        "images of parts that need several setups (a manifest plan of 2+ sides): skip them "
        "(a one-direction model; measured on the real parts: 96.0% against 88.0% with them "
        "as primary), learn their primary setup as the label, or learn their whole plan "
        "with a plan head (one sigmoid per side beside the softmax)",
        choices=("skip", "primary", "plan"),
    )
    devices: int = option(
        1,
        "train data-parallel on N devices (Keras' DataParallel; needs the JAX backend, which "
        "it selects unless KERAS_BACKEND says otherwise); 0 = all visible devices. "
        "--batch-size is the global batch, split evenly over them",
        metavar="N",
    )
    cache_limit_gb: float = option(4.0, "keep decoded training images in memory up to this size")
    checkpoints: bool = option(
        True, "write no checkpoints (the run cannot be resumed)", flag="--no-checkpoints"
    )
    checkpoint_dir: Path | None = option(
        None,
        "where checkpoints go, one folder per run (default: checkpoints/ beside a sqlite store, "
        "else in the working folder); removed when the run finishes",
        metavar="DIR",
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.devices < 0:
            raise ConfigError("--devices must be 0 (all visible) or more")
        if self.checkpoint_dir is not None:
            self.checkpoint_dir = Path(self.checkpoint_dir)
        if self.base not in BASES:
            raise ConfigError(f"base must be one of {', '.join(BASES)}, got {self.base!r}")
        if self.base == "auto":  # by measurement (README, pretrained EfficientNet)
            asked = self.variant is not None or self.weights.lower() not in ("imagenet", "none")
            self.base = "efficientnet" if asked else "none"
        self.variant = (self.variant or DEFAULT_VARIANT).upper()
        if self.variant not in VARIANTS:
            raise ConfigError(
                f"unknown variant {self.variant!r}; expected one of {', '.join(VARIANTS)}"
            )
        if self.view_units < 0 or (self.base == "none" and not self.view_units):
            raise ConfigError("--view-units must be at least 1 with --base none (0: no path)")
        if self.image_size is None:
            self.image_size = VARIANTS[self.variant] if self.base != "none" else VIEW_IMAGE_SIZE
        if self.lr_schedule not in ("cosine", "constant"):
            raise ConfigError(
                f"lr-schedule must be 'cosine' or 'constant', got {self.lr_schedule!r}"
            )
        if self.pooling not in POOLINGS:
            raise ConfigError(f"pooling must be one of {', '.join(POOLINGS)}, got {self.pooling!r}")
        if not 0 <= self.label_smoothing < 1 or not 0 <= self.drop_connect < 1:
            raise ConfigError("--label-smoothing and --drop-connect must be in [0, 1)")
        if self.optimizer not in ("adam", "adamw"):
            raise ConfigError(f"optimizer must be 'adam' or 'adamw', got {self.optimizer!r}")
        if self.image_size < 32:
            raise ConfigError(f"image size must be at least 32 px, got {self.image_size}")

    @property
    def pretrained(self) -> bool:
        return self.base == "efficientnet" and self.weights.lower() != "none"


@dataclass
class BaselineConfig(RunConfig):
    """A face-normal model run (`baseline`): a small MLP on mesh features, no rendering."""

    epochs: int = _again(RunConfig, "epochs", 300)
    patience: int = _again(RunConfig, "patience", 30)
    batch_size: int = _again(RunConfig, "batch_size", 32)
    hidden: int = option(128, "units of each of the two hidden layers")
