"""The logged model, as MLflow 'model from code': one part in, class probabilities out.

Family 'image' takes a DataFrame column `image`: PNG bytes, base64 text of PNG bytes (what the
JSON scoring server receives) or (H, W, 3) uint8 arrays, of any size; the model resizes to its
own input. Family 'face-normals' takes a column `mesh`: STL bytes (or base64 text of them) or
(N, 3, 3) triangle arrays. Output: a `label` column and one probability column per class.
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
        config = context.model_config
        self.classes = list(config["classes"])
        self.family = config.get("family", "image")
        self.image_size = int(config.get("image_size") or 0)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        if self.family == "face-normals":
            from trainer import facenormals

            batch = np.stack([facenormals.mesh_features(_bytes(v)) for v in model_input["mesh"]])
        else:
            from trainer import preprocess

            images = [_bytes(v) for v in model_input["image"]]
            batch = preprocess.prepare(images, self.image_size)
        # predict_on_batch: one call, without predict()'s per-call set-up (latency matters here)
        probabilities = np.asarray(self.model.predict_on_batch(batch), dtype=np.float64)
        out = pd.DataFrame(probabilities, columns=self.classes)
        out.insert(0, "label", [self.classes[i] for i in probabilities.argmax(axis=1)])
        return out


def _bytes(value):
    if isinstance(value, str):  # JSON carries bytes as base64 text
        return base64.b64decode(value)
    return value


mlflow.models.set_model(MillingDirectionsModel())
