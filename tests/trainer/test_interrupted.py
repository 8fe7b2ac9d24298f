"""A training run killed midway: its MLflow run ends FAILED (at once for SIGTERM, at the next
start for SIGKILL), and the registry and the champion are untouched."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from tests.trainer.synthetic import write_dataset
from trainer.config import MODEL_NAME

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _train(folder: Path, store: str, epochs: int) -> subprocess.Popen:
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "trainer", "train", "--data", str(folder / "data")),
            *("--weights", "none", "--image-size", "32", "--epochs", str(epochs)),
            *("--patience", "100", "--quiet", "--tracking-uri", store),
        ],
        cwd=folder,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _after_first_epoch(client: MlflowClient, proc: subprocess.Popen) -> str:
    """The id of the run `proc` is training, once it has logged one epoch."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        for e in client.search_experiments():
            for r in client.search_runs([e.experiment_id], "attributes.status = 'RUNNING'"):
                if r.data.tags.get("pid") == str(proc.pid) and "val_loss" in r.data.metrics:
                    return r.info.run_id
        time.sleep(1)
    raise AssertionError(f"no epoch logged: {proc.stderr.read() if proc.poll() else 'timeout'}")


def test_killed_runs_end_failed_and_leave_the_registry_alone(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=2, size=60)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store, registry_uri=store)

    killed = _train(tmp_path, store, epochs=200)
    run_id = _after_first_epoch(client, killed)
    killed.kill()  # SIGKILL: nothing can run in the process
    killed.wait()
    assert client.get_run(run_id).info.status == "RUNNING"
    assert not client.search_registered_models()

    finished = _train(tmp_path, store, epochs=1)
    assert finished.wait(timeout=600) == 0, finished.stderr.read()[-2000:]
    run = client.get_run(run_id)
    assert run.info.status == "FAILED" and "ended mid-run" in run.data.tags["failure"]
    assert [str(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'")] == ["1"]

    stopped = _train(tmp_path, store, epochs=200)
    run_id = _after_first_epoch(client, stopped)
    stopped.send_signal(signal.SIGTERM)  # a scheduler's stop: the run ends FAILED at once
    assert stopped.wait(timeout=120) == 130
    assert client.get_run(run_id).info.status == "FAILED"
    assert [str(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'")] == ["1"]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"
