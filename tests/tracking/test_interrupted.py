"""A training run killed midway: its MLflow run ends FAILED (at once for SIGTERM, at the next
start for SIGKILL), the registry and the champion are untouched, and `train --resume` continues
it from its last checkpoint."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset
from trainer.config import MODEL_NAME
from trainer.training import checkpoint

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _train(folder: Path, store: str, epochs: int) -> subprocess.Popen:
    return _trainer(
        folder,
        "--data",
        str(folder / "data"),
        *("--weights", "none", "--image-size", "32", "--epochs", str(epochs)),
        *("--patience", "100", "--quiet", "--tracking-uri", store),
    )


def _trainer(folder: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "trainer", "train", *args],
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
    _checkpointed(tmp_path / "checkpoints" / run_id, stopped, at_least=1)
    stopped.send_signal(signal.SIGTERM)  # a scheduler's stop: the run ends FAILED at once
    assert stopped.wait(timeout=120) == 130
    assert f"--resume {run_id}" in stopped.stderr.read()
    assert client.get_run(run_id).info.status == "FAILED"
    assert [str(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'")] == ["1"]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"


def _checkpointed(folder: Path, proc: subprocess.Popen, at_least: int) -> int:
    """Wait until `proc` has a checkpoint of `at_least` epochs in `folder`; return its epochs."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and proc.poll() is None:
        done = checkpoint.saved_epochs(folder)
        if done >= at_least:
            return done
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint: {proc.stderr.read() if proc.poll() else 'timeout'}")


def test_a_killed_run_resumes_from_its_last_checkpoint(tmp_path):
    import keras

    write_dataset(tmp_path / "data", parts=15, variants=2, size=60)
    # a local weights file: the two-phase transfer schedule, resumed inside its second phase
    base = keras.applications.EfficientNetB0(
        include_top=False, weights=None, input_shape=(32, 32, 3)
    )
    base.save_weights(tmp_path / "base.weights.h5")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    client = MlflowClient(store, registry_uri=store)
    options = ("--tracking-uri", store)

    killed = _trainer(
        tmp_path,
        *("--data", str(tmp_path / "data"), "--weights", "base.weights.h5"),
        *("--image-size", "32", "--epochs", "1", "--fine-tune-epochs", "8", "--unfreeze", "5"),
        *("--patience", "100", *options),
    )
    run_id = _after_first_epoch(client, killed)
    folder = tmp_path / "checkpoints" / run_id
    saved = _checkpointed(folder, killed, at_least=2)  # one epoch into the fine-tune phase
    killed.kill()
    assert killed.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    saved = checkpoint.saved_epochs(folder)
    assert 2 <= saved < 9

    # the data changed meanwhile: refused, nothing touched
    image = next((tmp_path / "data").glob("*.png"))
    original = image.read_bytes()
    image.write_bytes(next(p for p in image.parent.glob("*.png") if p != image).read_bytes())
    changed = _trainer(tmp_path, "--resume", run_id, *options)
    assert changed.wait(timeout=600) == 2
    assert "the data changed since run" in changed.stderr.read()
    image.write_bytes(original)

    resumed = _trainer(tmp_path, "--resume", *options)  # the newest stopped run
    assert resumed.wait(timeout=900) == 0
    log = resumed.stderr.read()
    assert f"resuming run {run_id} after epoch {saved}" in log, log[-3000:]
    # the fine-tune phase goes on at its own epoch `saved` (the head phase had one)
    assert f"8 epochs (from epoch {saved})" in log, log[-3000:]

    run = client.get_run(run_id)
    assert run.info.status == "FINISHED" and "failure" not in run.data.tags
    assert run.data.tags["resumed_after_epoch"] == str(saved)
    assert run.data.params["weights_used"].startswith("file ")
    steps = {m.step for m in client.get_metric_history(run_id, "val_loss")}
    assert steps == set(range(1, 10)), "one validation row per epoch, all 9 of them"
    assert "test_accuracy" in run.data.metrics
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert [(str(v.version), v.run_id) for v in versions] == [("1", run_id)]
    assert str(client.get_model_version_by_alias(MODEL_NAME, "champion").version) == "1"
    assert not (tmp_path / "checkpoints").exists(), "checkpoints are removed once a run finishes"

    for args, message in [
        (("--resume", run_id), f"run {run_id} finished; there is nothing to resume"),
        (("--resume",), "no stopped run with a checkpoint to resume"),
        (("--resume", "--epochs", "3"), "drop --epochs"),
        ((), "--data DIR is required"),
    ]:
        refused = _trainer(tmp_path, *args, *options)
        assert refused.wait(timeout=600) == 2 and message in refused.stderr.read()
