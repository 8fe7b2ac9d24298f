"""Data-parallel training: `train --devices 2` on two virtual CPU devices (JAX backend) gives
the weights one device gives, and the run's params say how the batch was split."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from samples.datasets import write_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TOLERANCE = 1e-5
"""Largest weight difference allowed after one epoch (float32 sums in another order)."""

# Runs in a fresh process: the backend and the device count are fixed when JAX is imported.
SCRIPT = """
import json, os, sys
import keras, numpy as np
from trainer.config import TrainConfig
from trainer.train import train

def weights(devices, rate=1e-3):
    keras.distribution.set_distribution(None)
    config = TrainConfig(
        data=sys.argv[1], weights="none", image_size=32, epochs=1, devices=devices,
        learning_rate=rate, register=False, progress=False, checkpoints=False,
        tracking_uri=sys.argv[2],
    )
    result = train(config)
    return result.run_id, [np.asarray(w) for w in result.model.trainable_weights]

def largest(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b, strict=True))

one_run, one = weights(1)
two_run, two = weights(2)
_, untrained = weights(2, rate=0.0)
print(json.dumps({"runs": [one_run, two_run], "devices_1_vs_2": largest(one, two),
                  "epoch_moved": largest(one, untrained), "backend": keras.backend.backend()}))
"""


def test_one_epoch_on_two_devices_gives_the_weights_of_one(tmp_path):
    write_dataset(tmp_path / "data", parts=20, variants=2, size=60)  # 28 training images
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "data"), store],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["backend"] == "jax"
    assert found["devices_1_vs_2"] < TOLERANCE, found
    assert found["epoch_moved"] > 100 * TOLERANCE, found  # the comparison is not vacuous

    from mlflow.tracking import MlflowClient

    client = MlflowClient(store)
    one, two = (client.get_run(r).data.params for r in found["runs"])
    assert (one["devices"], one["batch_size_per_device"]) == ("1", "16")
    assert (two["devices"], two["batch_size_per_device"]) == ("2", "8")
    assert two["device_list"] == "cpu:0,cpu:1" and two["batch_size"] == "16"
    assert two["keras_backend"] == "jax" and two["version_jax"]


def test_bad_device_requests_are_one_line_usage_errors(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1, size=60)
    base = [sys.executable, "-m", "trainer", "train", "--data", str(tmp_path / "data")]
    base += ["--weights", "none", "--image-size", "32", "--epochs", "1", "--quiet"]
    base += ["--tracking-uri", f"sqlite:///{tmp_path / 'mlflow.db'}"]
    env = dict(
        os.environ, PYTHONPATH=str(ROOT), XLA_FLAGS="--xla_force_host_platform_device_count=2"
    )
    env.pop("KERAS_BACKEND", None)
    for extra, says, environment in (
        (["--devices", "3"], "--devices 3: only 2 visible (cpu:0, cpu:1)", env),
        (["--devices", "2", "--batch-size", "15"], "use a multiple of 2", env),
        (["--devices", "2"], "needs the JAX backend", env | {"KERAS_BACKEND": "tensorflow"}),
        (["--devices", "-1"], "--devices must be 0 (all visible) or more", env),
    ):
        done = subprocess.run(
            base + extra, cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=600
        )
        assert done.returncode != 0 and says in done.stderr, (extra, done.stderr[-2000:])
        assert "Traceback" not in done.stderr and not (tmp_path / "mlflow.db").exists()
