"""Everything MLflow: runs, params, metrics, artifacts, the logged model, the registry and the
champion alias, serving and the UI. No other trainer module imports mlflow.

The champion rule: a new version takes the `champion` alias only if it beats the current
champion on the same test data. When the two runs were tested on different data (their test
fingerprints differ), the champion is re-evaluated on the new run's test split first.
"""

from __future__ import annotations

import contextlib
import os
import socket
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

from shared import atomic, classes

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
        folder = _sqlite_path(uri).parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"{uri}: cannot create or write the database in {folder}")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri.startswith("sqlite:///"):
        # MLflow creates a new store's tables on first use; two processes doing it at once
        # break its schema migration, so the first use happens under a lock.
        database = _sqlite_path(uri)
        with _file_lock(database.with_name(f".{database.name}.lock")):
            MlflowClient(uri).search_experiments(max_results=1)
    if uri.startswith(("http://", "https://")):
        with _env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10"):
            try:
                MlflowClient(uri).search_experiments(max_results=1)
            except Exception as e:
                raise TrackingError(
                    f"cannot reach the MLflow tracking server at {uri} ({_first_line(e)}); "
                    "start it, or use --tracking-uri sqlite:///mlflow.db"
                ) from None


def _use_experiment(name: str) -> None:
    """Make `name` the active experiment, creating it if needed. With a sqlite store, its
    artifacts go in `mlruns/` beside the database file (MLflow's default is ./mlruns in
    whatever folder the command runs from)."""
    if mlflow.get_experiment_by_name(name) is None:
        uri = mlflow.get_tracking_uri()
        location = None
        if uri.startswith("sqlite:///"):
            location = (_sqlite_path(uri).parent / "mlruns").as_uri()
        with contextlib.suppress(MlflowException):  # created meanwhile by another process
            mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else type(e).__name__


# -- runs -----------------------------------------------------------------------------------


@contextlib.contextmanager
def run(
    experiment: str, name: str | None = None, tags: dict | None = None, resume: str | None = None
) -> Iterator[str]:
    """An MLflow run; it ends FAILED if the block raises (KeyboardInterrupt included).

    Inside another run (a tuning study) it is a nested run of that one. `resume`: the id of a
    stopped run (see `stopped_runs`) to reopen instead of starting a new one.
    """
    _use_experiment(experiment)
    nested = mlflow.active_run() is not None
    if not nested:
        fail_abandoned_runs(experiment)
    owner = {"host": socket.gethostname(), "pid": str(os.getpid())}
    if resume:
        client = MlflowClient()
        if "failure" in client.get_run(resume).data.tags:
            client.delete_tag(resume, "failure")
        name, nested = None, False
    with mlflow.start_run(
        run_id=resume, run_name=name, tags=(tags or {}) | owner, nested=nested
    ) as active:
        yield active.info.run_id


def fail_abandoned_runs(experiment: str) -> list[str]:
    """Mark FAILED the runs of `experiment` still RUNNING whose process on this host is gone
    (killed with SIGKILL, or the machine lost power); return their ids."""
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return []
    client = MlflowClient()
    host, ended = socket.gethostname(), []
    for r in client.search_runs([found.experiment_id], "attributes.status = 'RUNNING'"):
        pid = r.data.tags.get("pid", "")
        if r.data.tags.get("host") == host and pid.isdigit() and not atomic.process_alive(int(pid)):
            client.set_tag(r.info.run_id, "failure", f"process {pid} on {host} ended mid-run")
            client.set_terminated(r.info.run_id, "FAILED")
            ended.append(r.info.run_id)
    return ended


def stopped_runs(experiment: str, run_id: str | None = None) -> list[tuple[str, dict[str, str]]]:
    """(run id, tags) of runs that can be resumed, newest first: `run_id` alone, checked, or
    every FAILED run of `experiment` that was checkpointing."""
    client = MlflowClient()
    if run_id:
        try:
            found = client.get_run(run_id)
        except MlflowException:
            raise TrackingError(f"no run {run_id} in this tracking store") from None
        fail_abandoned_runs(client.get_experiment(found.info.experiment_id).name)
        found = client.get_run(run_id)
        status, tags = found.info.status, dict(found.data.tags)
        if status == "RUNNING":
            raise TrackingError(
                f"run {run_id} is still running (process {tags.get('pid', '?')} on "
                f"{tags.get('host', '?')}); stop it before resuming it"
            )
        if status == "FINISHED":
            raise TrackingError(f"run {run_id} finished; there is nothing to resume")
        if "checkpoint_dir" not in tags:
            raise TrackingError(f"run {run_id} wrote no checkpoints, so it cannot be resumed")
        return [(run_id, tags)]
    fail_abandoned_runs(experiment)
    found = mlflow.get_experiment_by_name(experiment)
    if found is None:
        return []
    runs = client.search_runs(
        [found.experiment_id],
        "attributes.status = 'FAILED'",
        order_by=["attributes.start_time DESC"],
    )
    return [(r.info.run_id, dict(r.data.tags)) for r in runs if "checkpoint_dir" in r.data.tags]


def checkpoint_root(uri: str) -> Path:
    """Where runs keep their checkpoints by default: `checkpoints/` beside a sqlite store,
    else in the working folder."""
    if uri.startswith("sqlite:///"):
        return _sqlite_path(uri).parent / "checkpoints"
    return Path("checkpoints").resolve()


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


FAMILIES = {"image": "image", "face-normals": "mesh"}
"""Model family -> the name of its input column."""


def _signature(column: str) -> ModelSignature:
    outputs = [ColSpec("string", "label")] + [ColSpec("double", c) for c in classes.CLASSES]
    return ModelSignature(inputs=Schema([ColSpec(AnyType(), column)]), outputs=Schema(outputs))


def log_model(keras_file: Path, example, family: str = "image", **config) -> str:
    """Log the pyfunc model of the active run; return its model URI.

    `example` is one input of the family's column (a PNG meta-image for 'image'); `config`
    (image_size, variant...) travels with the model.
    """
    column = FAMILIES[family]
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        artifacts={"keras_model": str(keras_file)},
        code_paths=[str(PACKAGE), str(PACKAGE.parent / "shared")],
        model_config={"classes": list(classes.CLASSES), "family": family, **config},
        signature=_signature(column),
        input_example=pd.DataFrame({column: [example]}),
    )
    return info.model_uri


def register(model_uri: str, tags: dict, name: str = MODEL_NAME) -> str:
    """Register the model as a new version of `name`; return the version number.

    A run registers once: a resumed run that was killed after registering gets its version back.
    """
    if run_id := tags.get("run_id"):
        query = f"name = '{name}' and run_id = '{run_id}'"
        if found := MlflowClient().search_model_versions(query):
            return str(found[0].version)
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()})
    return str(version.version)


def champion_uri(name: str = MODEL_NAME) -> str:
    return f"models:/{name}@{CHAMPION}"


CHAMPION_URI = champion_uri()


def resolve(uri: str | None = None) -> tuple[str, str]:
    """(model URI, registry version or '') for a URI (default: the champion); checks it exists."""
    uri = uri or CHAMPION_URI
    if not uri.startswith(("models:/", "runs:/")):
        # A model is code (a pyfunc) that loading runs: take it only from the tracking store.
        raise TrackingError(
            f"{uri}: not a model of the tracking store; use models:/NAME@ALIAS, "
            "models:/NAME/VERSION, models:/MODEL_ID or runs:/RUN_ID/model"
        )
    registered = uri.startswith("models:/") and ("@" in uri or uri.count("/") == 2)
    if not registered:
        return uri, ""
    name, _, ref = uri[len("models:/") :].replace("@", "/@", 1).partition("/")
    client = MlflowClient()
    try:
        if ref.startswith("@"):
            return uri, str(client.get_model_version_by_alias(name, ref[1:]).version)
        client.get_model_version(name, ref)
        return uri, ref
    except MlflowException:
        if ref == f"@{CHAMPION}":
            raise TrackingError(
                f"no {CHAMPION} model of {name} in this store yet: train one first "
                f"(python -m trainer train --data DIR), or name one with --model URI"
            ) from None
        raise TrackingError(f"{uri}: no such model in the registry") from None


def load(uri: str | None = None):
    """(pyfunc model, resolved URI, version) for a model URI (default: the champion)."""
    uri, version = resolve(uri)
    try:
        return mlflow.pyfunc.load_model(uri), uri, version
    except (MlflowException, OSError) as e:
        raise TrackingError(f"cannot load model {uri}: {_first_line(e)}") from None


def family(model) -> str:
    """The family of a loaded pyfunc model ('image' or 'face-normals')."""
    return (model.model_config or {}).get("family", "image")


def predict_probabilities(model, inputs: list) -> np.ndarray:
    """(N, classes) probabilities, in classes.CLASSES order, for inputs of the model's family:
    meta-images (PNG bytes or RGB arrays) or meshes (STL bytes or (N, 3, 3) triangles)."""
    if not inputs:
        return np.zeros((0, len(classes.CLASSES)))
    column = FAMILIES[family(model)]
    out = model.predict(pd.DataFrame({column: inputs}))
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


def champion_version(name: str = MODEL_NAME) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def decide_champion(
    version: str,
    score: Score,
    test_fingerprint: str,
    evaluate: Callable[[str], Score],
    name: str = MODEL_NAME,
) -> tuple[bool, str]:
    """Move the champion alias of `name` to `version` if it beats the current champion; say why.

    Runs finishing at the same time decide one after the other (a lock beside a sqlite store;
    with a server, the decision is taken again if the champion moved while it was being taken).
    """
    client = MlflowClient()
    with _champion_lock(name):
        for _ in range(5):
            current = champion_version(name)
            moved, decision = _decide(version, score, test_fingerprint, evaluate, name, current)
            if champion_version(name) == current:
                break
        if moved:
            client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "champion_decision", decision)
    return moved, decision


@contextlib.contextmanager
def _champion_lock(name: str) -> Iterator[None]:
    """An exclusive lock for the champion decision, for stores that are a local sqlite file."""
    uri = mlflow.get_tracking_uri()
    if not uri.startswith("sqlite:///"):
        yield
        return
    with _file_lock(_sqlite_path(uri).with_name(f".{name}.champion.lock")):
        yield


def _sqlite_path(uri: str) -> Path:
    return Path(uri[len("sqlite:///") :]).resolve()


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if needed), across processes."""
    import fcntl

    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _decide(
    version: str,
    score: Score,
    test_fingerprint: str,
    evaluate: Callable[[str], Score],
    name: str,
    current: str | None,
) -> tuple[bool, str]:
    client = MlflowClient()
    if current is None:
        decision, moved = f"v{version} is the first champion ({score})", True
    elif current == version:  # a resumed run that had decided before it was killed
        decision, moved = f"v{version} is the champion ({score})", True
    else:
        tags = client.get_model_version(name, current).tags
        if tags.get("test_fingerprint") == test_fingerprint:
            theirs = Score(float(tags["test_accuracy"]), float(tags["test_macro_f1"]))
            how = "same test split"
        else:
            theirs = evaluate(f"models:/{name}/{current}")
            how = "champion re-evaluated on this run's test split"
        moved = score.beats(theirs)
        verb = "takes over from" if moved else "does not beat"
        decision = f"v{version} ({score}) {verb} champion v{current} ({theirs}); {how}"
    return moved, decision


def promote(version: str, name: str = MODEL_NAME) -> str:
    """Give `version` the champion alias by hand; recorded on the version."""
    client = MlflowClient()
    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise TrackingError(f"{name} has no version {version}") from None
    previous = champion_version(name)
    client.set_registered_model_alias(name, CHAMPION, version)
    decision = f"v{version} promoted by hand (previous champion: v{previous or 'none'})"
    client.set_model_version_tag(name, version, "champion_decision", decision)
    return decision


def version_tags(version: str, name: str = MODEL_NAME) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(name, version).tags)


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
