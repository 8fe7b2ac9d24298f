"""The classifier: a Keras EfficientNet base and/or the view-colour path (viewpath.py), then
dropout and one Dense per class.

Transfer learning follows the Keras fine-tuning guide: train the head on a frozen base, then
unfreeze the last `unfreeze` layers, BatchNormalization kept frozen, at a lower learning rate.
From scratch (weights 'none') the whole network trains in one phase.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import NamedTuple

import keras
from keras import layers

from shared import classes
from trainer.errors import TrainerError
from trainer.models import lite, planhead, torchfile
from trainer.models import viewpath as views

BASES = {f"B{i}": getattr(keras.applications, f"EfficientNetB{i}") for i in range(8)}
DROP_CONNECT = 0.2
"""The drop-connect rate Keras builds EfficientNet with (for its last block)."""
WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"


class WeightsError(TrainerError, ValueError):
    """Weights that cannot be had; the message says what to use instead."""


class Weights(NamedTuple):
    """What a base starts from: the argument for its builder, the description logged with the
    run, and the SHA-256 of the file it loads ('' for none, and for Keras' own download)."""

    arg: str | None
    used: str
    sha256: str = ""


def resolve_weights(weights: str, variant: str) -> Weights:
    """The weights `--weights` names for `variant`, found (or converted, or downloaded) now."""
    if weights.lower() == "none":
        return Weights(None, "none (random initialisation)")
    if weights.lower() == "imagenet" and variant in lite.LITE:
        try:
            path, digest, used = lite.cached(variant)
        except (FileNotFoundError, torchfile.TorchFileError) as e:
            raise WeightsError(str(e)) from None
        return Weights(str(path), used, digest)
    if weights.lower() == "imagenet":
        _fetch_imagenet(variant)
        return Weights("imagenet", "imagenet (Keras EfficientNet ImageNet weights, no top)")
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(
            f"{path}: weights file not found (use --weights imagenet, none, or a local file)"
        )
    digest = lite.sha256(path)
    return Weights(str(path), f"file {path.resolve()} (sha256 {digest})", digest)


def _fetch_imagenet(variant: str) -> None:
    """Download (or find cached) the ImageNet weights now, so a missing network fails early."""
    name = f"efficientnet{variant.lower()}_notop.h5"
    try:
        keras.utils.get_file(name, WEIGHTS_URL + name, cache_subdir="models")
    except Exception as e:  # Keras raises a bare Exception when the download fails
        raise WeightsError(
            f"cannot download ImageNet weights for EfficientNet{variant} ({type(e).__name__}); "
            "without network use --weights none, or --weights PATH to a local weights file"
        ) from None


def _lite(variant: str, include_top: bool, weights: str | None, input_shape) -> keras.Model:
    """EfficientNet-Lite called as keras.applications' builders are (lite.py)."""
    net = lite.base(variant, input_shape[0], include_top)
    if weights is not None:
        net.load_weights(weights)
    return net


BASES |= {v: functools.partial(_lite, v) for v in lite.LITE}


def build(
    variant: str,
    image_size: int,
    weights: str | None,
    dropout: float,
    bn_momentum: float,
    pooling: str = "max",
    head_units: int = 0,
    pretrained: bool | None = None,
    cell_units: int = 16,
    drop_connect: float = DROP_CONNECT,
    base_kind: str = "efficientnet",
    view_units: int = 0,
    plan: bool = False,
) -> tuple[keras.Model, keras.Model | None]:
    """(model, its EfficientNet base or None). Inputs: float32 images in [0, 255], image_size.

    `base_kind` 'none' leaves EfficientNet out; `view_units` > 0 adds the view-colour path
    (viewpath.py) beside the base, its features joined to the base's before the head.

    The head: global `pooling` ('max' or 'avg'), or 'cells' (a 1x1 convolution of `cell_units`
    channels on every cell of the final map, flattened: the position of a cell is which views
    it saw), then [Dense(head_units, relu)], dropout, softmax [and `plan`: the plan head's
    sigmoids beside it, planhead.py]. `drop_connect` scales the base's
    stochastic depth (Keras builds it with 0.2 for the last block, less for earlier ones).
    `pretrained` (default: whether `weights` are given) builds the graph of a pretrained model
    without loading its weights, for weights about to come from a checkpoint.
    """
    inputs = keras.Input((image_size, image_size, 3), name="meta_image")
    paths, base = [], None
    if base_kind == "efficientnet":
        base, features = _efficientnet(
            inputs, variant, weights, bn_momentum, pooling, pretrained, cell_units, drop_connect
        )
        paths.append(features)
    if view_units:
        paths.append(views.view_colours(inputs, view_units))
    if not paths:
        raise ValueError("a model needs a base or the view-colour path")
    x = paths[0] if len(paths) == 1 else layers.Concatenate(name="joined")(paths)
    if head_units:
        x = layers.Dense(head_units, activation="relu", name="head")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    if plan:
        outputs = planhead.head(x)
    else:
        outputs = layers.Dense(len(classes.CLASSES), activation="softmax", name="direction")(x)
    name = f"efficientnet_{variant.lower()}" if base is not None else "view_colours"
    return keras.Model(inputs, outputs, name=f"milling_{name}"), base


def _efficientnet(inputs, variant, weights, bn_momentum, pooling, pretrained, cell_units, rate):
    """(base, its pooled features) on `inputs`."""
    image_size = inputs.shape[1]
    pretrained = bool(weights) if pretrained is None else pretrained
    try:
        base = BASES[variant](
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
        )
    except ValueError as e:
        raise WeightsError(f"weights do not fit EfficientNet{variant}: {e}") from None
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = bn_momentum
        elif isinstance(layer, layers.Dropout) and layer.name.endswith("drop"):
            layer.rate = layer.rate * rate / DROP_CONNECT  # read when training traces
    # A pretrained base runs in inference mode even once unfrozen (the fine-tuning guide).
    x = base(inputs, training=False if pretrained else None)
    if pooling == "cells":
        x = layers.Conv2D(cell_units, 1, activation="relu", name="cells")(x)
        x = layers.Flatten(name="cells_flat")(x)
    else:
        pool = layers.GlobalMaxPooling2D if pooling == "max" else layers.GlobalAveragePooling2D
        x = pool(name=f"{pooling}_pool")(x)
    return base, x


def freeze_base(base: keras.Model) -> None:
    base.trainable = False


def unfreeze_top(base: keras.Model, count: int) -> int:
    """Make the last `count` layers of the base trainable, BatchNormalization excepted."""
    base.trainable = True
    trainable = 0
    for i, layer in enumerate(base.layers):
        last = i >= len(base.layers) - count
        layer.trainable = last and not isinstance(layer, layers.BatchNormalization)
        trainable += layer.trainable
    return trainable


@keras.saving.register_keras_serializable(package="milling")
class SmoothedCrossentropy(keras.losses.Loss):
    """Cross-entropy of integer labels with label smoothing (Keras' sparse loss has none)."""

    def __init__(self, smoothing: float = 0.0, name: str = "smoothed_crossentropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.smoothing = smoothing

    def call(self, y_true, y_pred):
        classes_ = keras.ops.shape(y_pred)[-1]
        one_hot = keras.ops.one_hot(
            keras.ops.cast(keras.ops.reshape(y_true, [-1]), "int32"), classes_
        )
        return keras.losses.categorical_crossentropy(
            one_hot, y_pred, label_smoothing=self.smoothing
        )

    def get_config(self) -> dict:
        return super().get_config() | {"smoothing": self.smoothing}


def compile_model(
    model: keras.Model,
    learning_rate: float,
    decay_steps: int = 0,
    warmup_steps: int = 0,
    optimizer: str = "adam",
    weight_decay: float = 0.0,
    label_smoothing: float = 0.0,
    plan: bool = False,
) -> None:
    """Adam (or AdamW with `weight_decay`) at `learning_rate`, reached by a linear warm-up over
    `warmup_steps`, then decayed along a cosine to 1% over `decay_steps` (0: constant). A
    model with the plan head (`plan`) takes planhead's targets and loss."""
    # TensorFlow: no XLA. On the CPU it trained 4-7 times slower, and the model loaded back from
    # the registry (which runs without XLA) must predict what the trained model predicted.
    # JAX compiles everything anyway.
    rate = learning_rate
    if decay_steps > 0 or warmup_steps > 0:
        rate = keras.optimizers.schedules.CosineDecay(
            0.0 if warmup_steps else learning_rate,
            max(decay_steps, 1),
            alpha=0.01 if decay_steps > 0 else 1.0,
            warmup_target=learning_rate if warmup_steps else None,
            warmup_steps=warmup_steps,
        )
    if optimizer == "adamw":
        chosen = keras.optimizers.AdamW(rate, weight_decay=weight_decay)
    else:
        chosen = keras.optimizers.Adam(rate)
    loss = (
        SmoothedCrossentropy(label_smoothing)
        if label_smoothing
        else "sparse_categorical_crossentropy"
    )
    metric = "accuracy"
    if plan:
        loss, metric = planhead.PlanLoss(label_smoothing), planhead.accuracy
    model.compile(
        optimizer=chosen,
        loss=loss,
        metrics=[metric],
        jit_compile=False if keras.backend.backend() == "tensorflow" else "auto",
    )
