"""The classifier: a Keras EfficientNet base, global max pooling, dropout, one Dense per class.

Transfer learning follows the Keras fine-tuning guide: train the head on a frozen base, then
unfreeze the last `unfreeze` layers, BatchNormalization kept frozen, at a lower learning rate.
From scratch (weights 'none') the whole network trains in one phase.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import keras
from keras import layers

from shared import classes

BASES = {f"B{i}": getattr(keras.applications, f"EfficientNetB{i}") for i in range(8)}
WEIGHTS_URL = "https://storage.googleapis.com/keras-applications/"


class WeightsError(ValueError):
    """Weights that cannot be had; the message says what to use instead."""


def resolve_weights(weights: str, variant: str) -> tuple[str | None, str]:
    """(argument for keras.applications, description logged with the run)."""
    if weights.lower() == "none":
        return None, "none (random initialisation)"
    if weights.lower() == "imagenet":
        _fetch_imagenet(variant)
        return "imagenet", "imagenet (Keras EfficientNet ImageNet weights, no top)"
    path = Path(weights)
    if not path.is_file():
        raise WeightsError(
            f"{path}: weights file not found (use --weights imagenet, none, or a local file)"
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return str(path), f"file {path.resolve()} (sha256 {digest})"


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


def build(
    variant: str, image_size: int, weights: str | None, dropout: float, bn_momentum: float
) -> tuple[keras.Model, keras.Model]:
    """(model, its EfficientNet base). Inputs: float32 images in [0, 255], size image_size."""
    try:
        base = BASES[variant](
            include_top=False, weights=weights, input_shape=(image_size, image_size, 3)
        )
    except ValueError as e:
        raise WeightsError(f"weights do not fit EfficientNet{variant}: {e}") from None
    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = bn_momentum
    inputs = keras.Input((image_size, image_size, 3), name="meta_image")
    # A pretrained base runs in inference mode even once unfrozen (the fine-tuning guide).
    x = base(inputs, training=False if weights else None)
    x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    outputs = layers.Dense(len(classes.CLASSES), activation="softmax", name="direction")(x)
    return keras.Model(inputs, outputs, name=f"milling_efficientnet_{variant.lower()}"), base


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


def compile_model(model: keras.Model, learning_rate: float) -> None:
    # No XLA: its fused kernels round differently, and the model loaded back from the registry
    # (which runs without XLA) must predict exactly what the trained model predicted.
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
        jit_compile=False,
    )
