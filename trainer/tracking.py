"""Everything MLflow: runs, params, metrics, artifacts, the logged model, the registry and the
champion alias, serving and the UI. No other trainer module imports mlflow.

The champion rule: a new version takes the `champion` alias only if it beats the current
champion on the same test data. When the two runs were tested on different data (their test
fingerprints differ), the champion is re-evaluated on the new run's test split first.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, Schema

from shared import classes

from .config import CHAMPION, MODEL_NAME

MODEL_CODE = Path(__file__).with_name("mlflow_model.py")
PACKAGE = Path(__file__).resolve().parent


class TrackingError(RuntimeError):
    """The tracking store or registry cannot do what was asked; the message says why."""


@contextlib.contextmanager
def _env(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def connect(uri: str) -> None:
    """Use `uri` for tracking and registry; fail now, clearly, if it cannot be reached."""
    if uri.startswith("sqlite:///"):
        folder = Path(uri[len("sqlite:///") :]).resolve().parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"{uri}: cannot create or write the database in {folder}")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri.startswith(("http://", "https://")):
        with _env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10"):
            try:
                MlflowClient(uri).search_experiments(max_results=1)
            except Exception as e:
                raise TrackingError(
                    f"cannot reach the MLflow tracking server at {uri} ({_first_line(e)}); "
                    "start it, or use --tracking-uri sqlite:///mlflow.db"
                ) from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


# -- runs -----------------------------------------------------------------------------------


@contextlib.contextmanager
def run(experiment: str, name: str | None = None, tags: dict | None = None) -> Iterator[str]:
    """An MLflow run; it ends FAILED if the block raises (KeyboardInterrupt included)."""
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name, tags=tags) as active:
        yield active.info.run_id


def log_params(params: dict) -> None:
    mlflow.log_params({k: str(v)[:6000] for k, v in params.items()})


def log_metrics(values: dict[str, float], step: int | None = None) -> None:
    mlflow.log_metrics({k: float(v) for k, v in values.items()}, step=step)


def log_artifact(path: Path, folder: str | None = None) -> None:
    mlflow.log_artifact(str(path), artifact_path=folder)


def log_dict(data: dict, name: str) -> None:
    mlflow.log_dict(data, name)


def set_tags(tags: dict) -> None:
    mlflow.set_tags({k: str(v) for k, v in tags.items()})


def run_data(run_id: str) -> tuple[dict[str, str], dict[str, float], dict[str, str]]:
    """(params, latest metrics, tags) of a run."""
    r = MlflowClient().get_run(run_id)
    return dict(r.data.params), dict(r.data.metrics), dict(r.data.tags)


def metric_history(run_id: str, key: str) -> list[float]:
    return [m.value for m in MlflowClient().get_metric_history(run_id, key)]


def artifacts(run_id: str, folder: str = "") -> list[str]:
    return [a.path for a in MlflowClient().list_artifacts(run_id, folder)]


# -- the model -----------------------------------------------------------------------------


SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec(AnyType(), "image")]),
    outputs=Schema([ColSpec("string", "label")] + [ColSpec("double", c) for c in classes.CLASSES]),
)


def log_model(keras_file: Path, image_size: int, variant: str, example_png: bytes) -> str:
    """Log the pyfunc model of the active run; return its model URI."""
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        artifacts={"keras_model": str(keras_file)},
        code_paths=[str(PACKAGE)],
        model_config={
            "classes": list(classes.CLASSES),
            "image_size": image_size,
            "variant": variant,
        },
        signature=SIGNATURE,
        input_example=pd.DataFrame({"image": [example_png]}),
    )
    return info.model_uri


def register(model_uri: str, tags: dict) -> str:
    """Register the model as a new version of MODEL_NAME; return the version number."""
    version = mlflow.register_model(
        model_uri, MODEL_NAME, tags={k: str(v) for k, v in tags.items()}
    )
    return str(version.version)


CHAMPION_URI = f"models:/{MODEL_NAME}@{CHAMPION}"


def resolve(uri: str | None = None) -> tuple[str, str]:
    """(model URI, registry version or '') for a URI (default: the champion); checks it exists."""
    uri = uri or CHAMPION_URI
    try:
        if uri.startswith(f"models:/{MODEL_NAME}@"):
            alias = uri.split("@", 1)[1]
            return uri, str(MlflowClient().get_model_version_by_alias(MODEL_NAME, alias).version)
        if uri.startswith(f"models:/{MODEL_NAME}/"):
            version = uri.rsplit("/", 1)[1]
            MlflowClient().get_model_version(MODEL_NAME, version)
            return uri, version
    except MlflowException:
        if uri == CHAMPION_URI:
            raise TrackingError(
                f"no {CHAMPION} model in this store yet: train one first "
                f"(python -m trainer train --data DIR), or name one with --model URI"
            ) from None
        raise TrackingError(f"{uri}: no such model in the registry") from None
    return uri, ""


def load(uri: str | None = None):
    """(pyfunc model, resolved URI, version) for a model URI (default: the champion)."""
    uri, version = resolve(uri)
    try:
        return mlflow.pyfunc.load_model(uri), uri, version
    except (MlflowException, OSError) as e:
        raise TrackingError(f"cannot load model {uri}: {_first_line(e)}") from None


def predict_probabilities(model, images: list) -> np.ndarray:
    """(N, classes) probabilities for PNG bytes or RGB arrays, in classes.CLASSES order."""
    if not images:
        return np.zeros((0, len(classes.CLASSES)))
    out = model.predict(pd.DataFrame({"image": images}))
    return out[list(classes.CLASSES)].to_numpy(dtype=np.float64)


# -- the champion --------------------------------------------------------------------------


@dataclass(frozen=True)
class Score:
    accuracy: float
    macro_f1: float

    def beats(self, other: Score) -> bool:
        return (self.accuracy, self.macro_f1) > (other.accuracy, other.macro_f1)

    def __str__(self) -> str:
        return f"accuracy {self.accuracy:.4f}, macro-F1 {self.macro_f1:.4f}"


def champion_version() -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(MODEL_NAME, CHAMPION).version)
    except MlflowException:
        return None


def decide_champion(
    version: str, score: Score, test_fingerprint: str, evaluate: Callable[[str], Score]
) -> tuple[bool, str]:
    """Move the champion alias to `version` if it beats the current champion; say why."""
    client = MlflowClient()
    current = champion_version()
    if current is None:
        decision, moved = f"v{version} is the first champion ({score})", True
    else:
        tags = client.get_model_version(MODEL_NAME, current).tags
        if tags.get("test_fingerprint") == test_fingerprint:
            theirs = Score(float(tags["test_accuracy"]), float(tags["test_macro_f1"]))
            how = "same test split"
        else:
            theirs = evaluate(f"models:/{MODEL_NAME}/{current}")
            how = "champion re-evaluated on this run's test split"
        moved = score.beats(theirs)
        verb = "takes over from" if moved else "does not beat"
        decision = f"v{version} ({score}) {verb} champion v{current} ({theirs}); {how}"
    if moved:
        client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    client.set_model_version_tag(MODEL_NAME, version, "champion_decision", decision)
    return moved, decision


def promote(version: str) -> str:
    """Give `version` the champion alias by hand; recorded on the version."""
    client = MlflowClient()
    try:
        client.get_model_version(MODEL_NAME, version)
    except MlflowException:
        raise TrackingError(f"{MODEL_NAME} has no version {version}") from None
    previous = champion_version()
    client.set_registered_model_alias(MODEL_NAME, CHAMPION, version)
    decision = f"v{version} promoted by hand (previous champion: v{previous or 'none'})"
    client.set_model_version_tag(MODEL_NAME, version, "champion_decision", decision)
    return decision


def version_tags(version: str) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(MODEL_NAME, version).tags)


# -- serving and the UI --------------------------------------------------------------------


def serve_command(uri: str, host: str, port: int) -> list[str]:
    """MLflow's own scoring server for a model URI, in this environment."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        uri,
        "--host",
        host,
        "--port",
        str(port),
        "--env-manager",
        "local",
    ]


def ui_command(tracking: str, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking,
        "--host",
        host,
        "--port",
        str(port),
    ]


def run_foreground(command: list[str], tracking: str) -> int:
    """Run an MLflow command until it ends (or Ctrl-C); its tools come from this environment."""
    tools = str(Path(sys.executable).parent)  # mlflow starts `uvicorn`/`gunicorn` by name
    path = os.pathsep.join([tools, os.environ.get("PATH", "")])
    env = {**os.environ, "MLFLOW_TRACKING_URI": tracking, "PATH": path}
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="milling-train-")
