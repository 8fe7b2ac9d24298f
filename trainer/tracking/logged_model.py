"""The logged model, as MLflow 'model from code': one part in, class probabilities out.

Family 'image' takes a DataFrame column `image`: PNG bytes, base64 text of PNG bytes (what the
JSON scoring server receives) or (H, W, 3) uint8 arrays, of any size; the model resizes to its
own input. Family 'face-normals' takes a column `mesh`: STL bytes (or base64 text of them) or
(N, 3, 3) triangle arrays. Output: a `label` column and one probability column per class; a
model with a plan head adds a `plan` column (the setup plan as text, `+Z -Z`) and the plan
head's score of each direction (`plan+X` ... `plan-Z`).
"""

from __future__ import annotations

import base64

import mlflow
import numpy as np
import pandas as pd

from shared import plans
from shared.prediction import Prediction


class MillingDirectionsModel(mlflow.pyfunc.PythonModel):
    def load_context(self, context) -> None:
        from trainer import console
        from trainer.models import families

        console.import_tensorflow()
        import keras

        from trainer.models import planhead, viewpath  # noqa: F401  register their layers

        self.model = keras.saving.load_model(context.artifacts["keras_model"], compile=False)
        self.model.jit_compile = False  # as in training: the same kernels, the same numbers
        self.config = dict(context.model_config)
        self.classes = list(self.config["classes"])
        self.family = families.get(self.config.get("family", families.IMAGE.name))

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        values = [_bytes(v) for v in model_input[self.family.column]]
        batch = self.family.prepare_batch(values, self.config)
        # predict_on_batch: one call, without predict()'s per-call set-up (latency matters here)
        output = np.asarray(self.model.predict_on_batch(batch), dtype=np.float64)
        probabilities, scores = plans.split(output)
        out = pd.DataFrame(probabilities, columns=self.classes)
        out.insert(0, "label", [Prediction.from_scores(p, "").label for p in probabilities])
        if scores is not None:
            out["plan"] = [plans.text(p) for p in plans.answered(probabilities, scores)]
            for k, d in enumerate(plans.SIDES):
                out[f"plan{d}"] = scores[:, k]
        return out


def _bytes(value):
    if isinstance(value, str):  # JSON carries bytes as base64 text
        return base64.b64decode(value)
    return value


mlflow.models.set_model(MillingDirectionsModel())
