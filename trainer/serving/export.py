"""`export_builtin(uri, out, ...) -> dict`: a registered face-normal model as the Blender
add-on's built-in model. Its Dense layers go into an .npz of plain arrays (no pickle), which
`shared.facenormals.forward` runs with numpy alone, and a metadata .json goes beside them: where
the model came from (URI, registry version, run), its data fingerprint and training settings,
its measured accuracy and the command that made it. Both files are also logged to the model's
run, so the MLflow UI shows what was shipped."""

from __future__ import annotations

import datetime
import hashlib
import io
import json
from pathlib import Path

import numpy as np

from shared import atomic, classes, facenormals
from trainer.errors import TrainerError
from trainer.models.families import FACE_NORMALS
from trainer.tracking import registry
from trainer.tracking import runs as tracking

RUN_METRICS = ("test_accuracy", "test_macro_f1")
RUN_PARAMS = ("data", "dataset_fingerprint", "seed", "split_seed", "epochs", "hidden", "dropout")


class ExportError(TrainerError, ValueError):
    """The model cannot be exported as the built-in model."""


def dense_layers(net) -> list[tuple[np.ndarray, np.ndarray]]:
    """(kernel, bias) of each Dense layer of the face-normal network, input to output; the plan
    head's two Dense layers (softmax, sigmoids) side by side become one of 11 units."""
    dense = [layer for layer in net.layers if layer.__class__.__name__ == "Dense"]
    out = [tuple(np.asarray(w, dtype=np.float32) for w in layer.get_weights()) for layer in dense]
    if [layer.name for layer in dense[-2:]] == ["direction_classes", "direction_plan"]:
        (k1, b1), (k2, b2) = out[-2:]
        out[-2:] = [(np.hstack([k1, k2]), np.concatenate([b1, b2]))]
    return out


def export_builtin(
    uri: str, out: Path, metrics: dict[str, float] | None = None, command: str = ""
) -> dict:
    """Write out/face_normals.npz and out/face_normals.json of a registered face-normal model,
    log both to its run, and return the metadata."""
    model, uri, version = registry.load(uri)
    if tracking.family(model) is not FACE_NORMALS:
        raise ExportError(f"{uri}: not a face-normal model; only those run inside Blender")
    layers = dense_layers(model.unwrap_python_model().model)
    data = facenormals.weights_bytes(layers)
    try:  # the add-on's own check of what it will load
        facenormals.read_weights(io.BytesIO(data))
    except ValueError as e:
        raise ExportError(f"{uri}: {e}") from None
    run_id = model.metadata.run_id
    params, run_metrics, _ = tracking.run_data(run_id)
    metadata = {
        "model_uri": facenormals.BUILTIN_URI,
        "model_version": f"{version or 0}-{hashlib.sha256(data).hexdigest()[:8]}",
        "source": {"model_uri": uri, "registry_version": version, "run_id": run_id},
        "classes": list(classes.CLASSES),
        "features": int(layers[0][0].shape[0]),
        "layers": [list(k.shape) for k, _ in layers],
        "training": {k: params[k] for k in RUN_PARAMS if k in params},
        "metrics": {k: run_metrics[k] for k in RUN_METRICS if k in run_metrics}
        | dict(metrics or {}),
        "command": command,
        "exported": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    out.mkdir(parents=True, exist_ok=True)
    weights, meta = out / facenormals.WEIGHTS, out / facenormals.METADATA
    atomic.write_bytes(weights, data)
    atomic.write_bytes(meta, (json.dumps(metadata, indent=2) + "\n").encode())
    tracking.attach(run_id, [weights, meta], "builtin")
    return metadata
