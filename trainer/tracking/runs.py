"""MLflow tracking: the store and its locks, runs, params, metrics, artifacts, and the logged
model. The registry and the champion are in registry.py; these two (and the logged model's own
code, logged_model.py) are the only trainer modules that import mlflow.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types.schema import AnyType, ColSpec, Schema

from shared import atomic, classes, plans
from trainer.errors import TrainerError
from trainer.models import families
from trainer.models.families import Family

MODEL_CODE = Path(__file__).with_name("logged_model.py")
PACKAGE = Path(__file__).resolve().parents[1]
"""The trainer package, logged with the model as its code (with shared/ beside it)."""


class TrackingError(TrainerError, RuntimeError):
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
        folder = sqlite_path(uri).parent
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise TrackingError(f"{uri}: cannot create or write the database in {folder}")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if uri.startswith("sqlite:///"):
        # MLflow creates a new store's tables on first use; two processes doing it at once
        # break its schema migration, so the first use happens under a lock.
        database = sqlite_path(uri)
        with file_lock(database.with_name(f".{database.name}.lock")):
            MlflowClient(uri).search_experiments(max_results=1)
    if uri.startswith(("http://", "https://")):
        with _env(MLFLOW_HTTP_REQUEST_MAX_RETRIES="0", MLFLOW_HTTP_REQUEST_TIMEOUT="10"):
            try:
                MlflowClient(uri).search_experiments(max_results=1)
            except Exception as e:
                raise TrackingError(
                    f"cannot reach the MLflow tracking server at {uri} ({first_line(e)}); "
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
            location = (sqlite_path(uri).parent / "mlruns").as_uri()
        with contextlib.suppress(MlflowException):  # created meanwhile by another process
            mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(name)


def first_line(e: BaseException) -> str:
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
        return sqlite_path(uri).parent / "checkpoints"
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


def attach(run_id: str, paths: list[Path], folder: str) -> None:
    """Log files to a finished run (as artifacts under `folder`)."""
    client = MlflowClient()
    for path in paths:
        client.log_artifact(run_id, str(path), folder)


# -- the model -----------------------------------------------------------------------------


def _signature(column: str, plan: bool) -> ModelSignature:
    outputs = [ColSpec("string", "label")] + [ColSpec("double", c) for c in classes.CLASSES]
    if plan:
        outputs += [ColSpec("string", "plan")] + [ColSpec("double", c) for c in PLAN_COLUMNS]
    return ModelSignature(inputs=Schema([ColSpec(AnyType(), column)]), outputs=Schema(outputs))


def log_model(keras_file: Path, example: bytes, family: Family, **config) -> str:
    """Log the pyfunc model of the active run; return its model URI.

    `example` is one input of the family's column (a PNG meta-image, STL bytes); `config`
    (image_size, variant...) travels with the model.
    """
    info = mlflow.pyfunc.log_model(
        name="model",
        python_model=str(MODEL_CODE),
        artifacts={"keras_model": str(keras_file)},
        code_paths=[str(PACKAGE), str(PACKAGE.parent / "shared")],
        model_config={"classes": list(classes.CLASSES), "family": family.name, **config},
        signature=_signature(family.column, bool(config.get("plan"))),
        input_example=pd.DataFrame({family.column: [example]}),
    )
    return info.model_uri


def load_model(uri: str):
    """The pyfunc model at a (resolved) model URI."""
    try:
        return mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as e:
        raise TrackingError(f"cannot load model {uri}: {first_line(e)}") from None


def family(model) -> Family:
    """The family of a loaded pyfunc model."""
    return families.get((model.model_config or {}).get("family", families.IMAGE.name))


def predict_probabilities(model, inputs: list) -> np.ndarray:
    """(N, classes) probabilities, in classes.CLASSES order, for inputs of the model's family:
    meta-images (PNG bytes or RGB arrays) or meshes (STL bytes or (N, 3, 3) triangles)."""
    if not inputs:
        return np.zeros((0, len(classes.CLASSES)))
    out = model.predict(pd.DataFrame({family(model).column: inputs}))
    return out[list(classes.CLASSES)].to_numpy(dtype=np.float64)


def predict_output(model, inputs: list) -> np.ndarray:
    """Class probabilities, then the plan head's six scores where the model has one (see
    shared.plans.split), for inputs of the model's family."""
    if not inputs:
        return np.zeros((0, len(classes.CLASSES)))
    out = model.predict(pd.DataFrame({family(model).column: inputs}))
    columns = list(classes.CLASSES)
    if PLAN_COLUMNS[0] in out.columns:
        columns += PLAN_COLUMNS
    return out[columns].to_numpy(dtype=np.float64)


PLAN_COLUMNS = [f"plan{d}" for d in plans.SIDES]
"""The logged model's plan-head columns (plan+X ... plan-Z), where it has one."""


# -- local stores ----------------------------------------------------------------------------


def sqlite_path(uri: str) -> Path:
    return Path(uri[len("sqlite:///") :]).resolve()


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock on `path` (created if needed), across processes."""
    import fcntl

    with path.open("a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def scratch_dir() -> tempfile.TemporaryDirectory:
    return tempfile.TemporaryDirectory(prefix="milling-train-")
