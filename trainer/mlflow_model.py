"""The logged model, as MLflow 'model from code': a meta-image in, class probabilities out.

Input: a DataFrame with an `image` column holding PNG bytes, base64 text of PNG bytes (what
the JSON scoring server receives) or (H, W, 3) uint8 arrays, of any size. Output: a `label`
column and one probability column per class. The model resizes to its own input size, so
callers need to know neither the EfficientNet variant nor TensorFlow.
"""

from __future__ import annotations

import base64

import mlflow
import numpy as np
import pandas as pd


class MillingDirectionsModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        import keras

        self.model = keras.saving.load_model(context.artifacts["keras_model"], compile=False)
        self.model.jit_compile = False  # as in training: the same kernels, the same numbers
        self.classes = list(context.model_config["classes"])
        self.image_size = int(context.model_config["image_size"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from trainer import preprocess

        images = [_image(value) for value in model_input["image"]]
        batch = preprocess.prepare(images, self.image_size)
        # predict_on_batch: one call, without predict()'s per-call set-up (latency matters here)
        probabilities = np.asarray(self.model.predict_on_batch(batch), dtype=np.float64)
        out = pd.DataFrame(probabilities, columns=self.classes)
        out.insert(0, "label", [self.classes[i] for i in probabilities.argmax(axis=1)])
        return out


def _image(value):
    if isinstance(value, str):  # JSON carries bytes as base64 text
        return base64.b64decode(value)
    return value


mlflow.models.set_model(MillingDirectionsModel())
