"""The plan head: one sigmoid per direction (shared.plans.SIDES) beside the 5-class softmax.

A model with it has one output of 11 columns: the softmax over the classes, then the six
sigmoids. One output keeps every reader of class probabilities as it was (they take the first
five columns), and the two Dense layers behind it are one Dense layer in the numpy export. The
training target is 7 columns: the class index, then the plan's 0/1 per direction.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from shared import classes, plans

CLASSES = len(classes.CLASSES)


def head(x, name: str = "direction"):
    """The 11-column output on features x."""
    softmax = layers.Dense(CLASSES, activation="softmax", name=f"{name}_classes")(x)
    sigmoid = layers.Dense(len(plans.SIDES), activation="sigmoid", name=f"{name}_plan")(x)
    return layers.Concatenate(name=name)([softmax, sigmoid])


@keras.saving.register_keras_serializable(package="milling")
class PlanLoss(keras.losses.Loss):
    """Cross-entropy of the class (optionally smoothed) plus the binary cross-entropies of the
    six plan sigmoids, summed (their mean trained a weaker head: 72 % exact plans against
    77 % on 320 parts)."""

    def __init__(self, label_smoothing: float = 0.0, name: str = "plan_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        label = ops.one_hot(ops.cast(y_true[:, 0], "int32"), CLASSES)
        if self.label_smoothing:
            label = label * (1 - self.label_smoothing) + self.label_smoothing / CLASSES
        direction = keras.losses.categorical_crossentropy(label, y_pred[:, :CLASSES])
        needed = keras.losses.binary_crossentropy(y_true[:, 1:], y_pred[:, CLASSES:])
        return direction + len(plans.SIDES) * needed

    def get_config(self) -> dict:
        return super().get_config() | {"label_smoothing": self.label_smoothing}


@keras.saving.register_keras_serializable(package="milling")
def accuracy(y_true, y_pred):
    """The class accuracy of an 11-column output (logged as the training `accuracy`)."""
    predicted = ops.argmax(y_pred[:, :CLASSES], axis=-1)
    return ops.cast(ops.equal(predicted, ops.cast(y_true[:, 0], "int64")), "float32")


SHAPE_DROPOUT = 0.5
"""Share of the face-normal model's training rows that keep only the analysis' plan bits."""


@keras.saving.register_keras_serializable(package="milling")
class ShapeDropout(layers.Layer):
    """Training only: in a share `rate` of the rows, zero every column but `kept` (the
    face-normal model's analysis plan bits: in the plan, primary). The plan must then be read
    from the setup analysis alone, so the model leans on it on parts unlike the generated ones
    (without it: 85-90 % of the real multi-setup plans exact, with it 92 %; README).
    Inference: the identity (the numpy export has Dense layers only)."""

    def __init__(self, rate: float, kept: list[int], **kwargs):
        super().__init__(**kwargs)
        self.rate, self.kept = rate, list(kept)
        self.seed = keras.random.SeedGenerator(0)

    def call(self, x, training=None):
        if not training or not self.rate:
            return x
        shape = (ops.shape(x)[0], 1)
        drop = ops.cast(keras.random.uniform(shape, seed=self.seed) < self.rate, x.dtype)
        return x * (1 - drop * (1 - self.mask))

    def build(self, input_shape):
        mask = np.isin(np.arange(input_shape[-1]), self.kept).astype("float32")[None, :]
        self.mask = ops.convert_to_tensor(mask)

    def get_config(self) -> dict:
        return super().get_config() | {"rate": self.rate, "kept": self.kept}
