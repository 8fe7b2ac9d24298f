"""Bad requests fail before training, with one clear line, and leave no run behind."""

import os
import socket
import subprocess
import sys

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset
from trainer.config import TrainConfig
from trainer.data import dataset as data
from trainer.models import image as model
from trainer.tracking import runs as tracking
from trainer.training.train import train

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _config(tmp_path, **kw):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    return TrainConfig(
        **(
            {
                "data": tmp_path / "data",
                "weights": "none",
                "image_size": 64,
                "tracking_uri": store,
                "progress": False,
            }
            | kw
        )
    )


def _runs(tmp_path) -> int:
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    return sum(len(client.search_runs([e.experiment_id])) for e in client.search_experiments())


def test_unreachable_tracking_server(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1)
    uri = f"http://127.0.0.1:{_closed_port()}"
    with pytest.raises(
        tracking.TrackingError, match=f"cannot reach the MLflow tracking server at {uri}"
    ):
        train(_config(tmp_path, tracking_uri=uri))


def test_missing_weights_file(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1)
    with pytest.raises(model.WeightsError, match="weights file not found"):
        train(_config(tmp_path, weights=str(tmp_path / "nope.weights.h5")))


@pytest.mark.parametrize("make", ["missing", "empty"])
def test_missing_or_empty_data(tmp_path, make):
    if make == "empty":
        (tmp_path / "data").mkdir()
    with pytest.raises(data.DataError, match=r"data folder not found|no manifest\.csv"):
        train(_config(tmp_path))


def test_class_with_too_few_parts_fails_before_any_run(tmp_path):
    write_dataset(tmp_path / "data", parts=12, variants=2)
    with pytest.raises(data.DataError, match=r"\+Z has 2"):
        train(_config(tmp_path))
    assert _runs(tmp_path) == 0


def test_bad_settings():
    with pytest.raises(ValueError, match="unknown variant 'B9'"):
        TrainConfig(data=".", variant="B9")
    with pytest.raises(ValueError, match="fractions"):
        TrainConfig(data=".", val_fraction=0.6, test_fraction=0.5)


def _cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_imagenet_without_network_says_what_to_use(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1)
    dead = f"http://127.0.0.1:{_closed_port()}"
    result = _cli(
        "train",
        "--data",
        str(tmp_path / "data"),
        "--variant",
        "b0",
        "--weights",
        "imagenet",
        "--tracking-uri",
        f"sqlite:///{tmp_path / 'mlflow.db'}",
        env={
            "KERAS_HOME": str(tmp_path / "keras"),
            "HTTPS_PROXY": dead,
            "HTTP_PROXY": dead,
            "https_proxy": dead,
            "http_proxy": dead,
        },
    )
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1
    assert "cannot download ImageNet weights for EfficientNetB0" in errors[0]
    assert "--weights none" in errors[0] and "--weights PATH" in errors[0]
    assert "Traceback" not in result.stderr


def test_unknown_variant_is_a_usage_error(tmp_path):
    result = _cli("train", "--data", str(tmp_path), "--variant", "B9")
    assert result.returncode == 2 and "invalid choice: 'B9'" in result.stderr


def test_predict_without_a_champion_says_how_to_get_one_and_nothing_else(tmp_path):
    write_dataset(tmp_path / "d", parts=5, variants=1)
    image = str(next((tmp_path / "d").glob("*.png")))
    result = _cli("predict", image, "--tracking-uri", f"sqlite:///{tmp_path / 'empty.db'}")
    assert result.returncode == 2
    # Quiet by default: TensorFlow's and MLflow's start-up lines would bury the one that matters.
    assert result.stderr.strip().splitlines() == [
        "error: no champion model of milling-directions in this store yet: train one first "
        "(python -m trainer train --data DIR), or name one with --model URI"
    ]
    inherited_quiet = {"TF_CPP_MIN_LOG_LEVEL": "3", "MLFLOW_LOGGING_LEVEL": "WARNING"}
    store = f"sqlite:///{tmp_path / 'new.db'}"
    verbose = _cli("predict", image, "--tracking-uri", store, "--verbose", env=inherited_quiet)
    assert verbose.returncode == 2 and len(verbose.stderr.strip().splitlines()) > 1


def test_a_bad_recipe_is_one_line_naming_it_and_no_run(tmp_path):
    recipe = tmp_path / "r.toml"
    recipe.write_text("[train]\nepochs = 'many'\n")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    result = _cli(
        "train", "--config", str(recipe), "--data", str(tmp_path), "--tracking-uri", store
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"error: {recipe}: 'epochs' must be an integer, not 'many'" in result.stderr
    assert not (tmp_path / "mlflow.db").exists() or _runs(tmp_path) == 0
