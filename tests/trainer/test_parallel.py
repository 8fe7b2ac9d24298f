"""Data-parallel training: `train --devices 2` on two virtual CPU devices (JAX backend) gives
the weights one device gives, and the run's params say how the batch was split."""

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

# One training run a process, as a user runs it: the backend and the device count are fixed when
# JAX is imported, and a second run in the same process starts from other random-number state.
SCRIPT = """
import sys
import keras, numpy as np
from trainer.config import TrainConfig
from trainer.training.train import train

data, store, devices, rate, out = sys.argv[1:]
config = TrainConfig(
    data=data, weights="none", image_size=32, epochs=1, devices=int(devices),
    learning_rate=float(rate), register=False, progress=False, checkpoints=False,
    tracking_uri=store,
)
result = train(config)
np.savez(out, *[np.asarray(w) for w in result.model.trainable_weights])
print(result.run_id, keras.backend.backend())
"""


def _train(tmp_path: Path, devices: int, rate: float) -> tuple[str, list]:
    import numpy as np

    out = tmp_path / f"weights-{devices}-{rate}.npz"
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        KERAS_BACKEND="jax",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    args = [str(tmp_path / "data"), store, str(devices), str(rate), str(out)]
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    run_id, backend = done.stdout.split()[-2:]
    assert backend == "jax"
    with np.load(out) as saved:
        return run_id, [saved[k] for k in sorted(saved.files, key=lambda k: int(k.split("_")[1]))]


def _largest(a: list, b: list) -> float:
    return max(float(abs(x - y).max()) for x, y in zip(a, b, strict=True))


def test_one_epoch_on_two_devices_gives_the_weights_of_one(tmp_path):
    write_dataset(tmp_path / "data", parts=20, variants=2, size=60)  # 20 training images
    one_run, one = _train(tmp_path, 1, 1e-3)
    two_run, two = _train(tmp_path, 2, 1e-3)
    _, untrained = _train(tmp_path, 2, 0.0)
    assert _largest(one, two) < TOLERANCE
    assert _largest(one, untrained) > 100 * TOLERANCE  # the epoch moved them: not vacuous

    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    params = {r: client.get_run(r).data.params for r in (one_run, two_run)}
    assert (params[one_run]["devices"], params[one_run]["batch_size_per_device"]) == ("1", "16")
    assert (params[two_run]["devices"], params[two_run]["batch_size_per_device"]) == ("2", "8")
    assert params[two_run]["device_list"] == "cpu:0,cpu:1"
    assert params[two_run]["batch_size"] == "16" and params[two_run]["keras_backend"] == "jax"
    assert params[two_run]["version_jax"]


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
