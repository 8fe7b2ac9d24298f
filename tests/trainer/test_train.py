"""Training end to end on a tiny config: MLflow run contents, registry, the champion rule,
the logged model, prediction, evaluation and MLflow's scoring server (a real HTTP request)."""

import base64
import json
import os
import subprocess
import sys
import urllib.request

import mlflow
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from samples.meshes import wedge
from shared.classes import CLASSES
from shared.geometry.stl import write_stl
from shared.prediction import JSON_KEYS
from trainer.data import preprocess
from trainer.evaluation import evaluate
from trainer.tracking import registry
from trainer.tracking import runs as tracking

# one xdist worker runs every test of the session's trained registry (tests/conftest.py)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("trained")]
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def runs(trained):
    tracking.connect(trained["store"])  # other test modules may have connected elsewhere
    return trained


def test_champion_moves_only_for_a_better_model(runs):
    first, good, weak = runs["first"], runs["good"], runs["weak"]
    assert (first.version, good.version, weak.version) == ("1", "2", "3")
    assert first.champion and "is the first champion" in first.decision
    assert good.test_metrics["test_accuracy"] > first.test_metrics["test_accuracy"]
    assert (
        good.champion and "v2" in good.decision and "takes over from champion v1" in good.decision
    )
    assert "same test split" in good.decision
    assert not weak.champion and "does not beat champion v2" in weak.decision
    assert "re-evaluated on this run's test split" in weak.decision  # other split: re-scored
    assert registry.champion_version() == "2"
    tags = registry.version_tags("3")
    assert tags["champion_decision"] == weak.decision
    assert float(tags["test_accuracy"]) == weak.test_metrics["test_accuracy"]


def test_a_run_registers_one_version(runs):
    """A resumed run that had registered before it was killed gets its version back."""
    good = runs["good"]
    assert registry.register(good.model_uri, {"run_id": good.run_id}) == good.version
    versions = MlflowClient().search_model_versions("name = 'milling-directions'")
    assert sorted(str(v.version) for v in versions) == ["1", "2", "3"]


def test_run_records_everything(runs):
    good = runs["good"]
    params, metrics, tags = tracking.run_data(good.run_id)
    for key in (
        "variant",
        "weights",
        "weights_used",
        "image_size",
        "batch_size",
        "learning_rate",
        "fine_tune_learning_rate",
        "unfreeze",
        "epochs",
        "shuffle_tiles",
        "split_seed",
        "val_fraction",
        "test_fraction",
        "dataset_fingerprint",
        "test_fingerprint",
        "schedule",
        "keras_backend",
        "version_keras",
        "version_tensorflow",
        "version_mlflow",
        "train_parts",
        "test_images",
        "skipped_rows",
    ):
        assert key in params, key
    # From scratch, the default base is none: the view-colour path alone, no weights to load.
    assert params["base"] == "none" and params["view_units"] == "64"
    assert params["weights_used"] == "none (no EfficientNet base: --base none)"
    assert params["image_size"] == "64" and "no base, view colours" in params["schedule"]
    for split in ("val", "test"):
        for name in (
            "loss",
            "accuracy",
            "macro_precision",
            "macro_recall",
            "macro_f1",
            "precision_plus_x",
            "recall_minus_y",
            "f1_plus_z",
        ):
            assert f"{split}_{name}" in metrics, (split, name)
    epochs = len(good.history)
    assert 1 <= epochs <= 15
    for key in ("train_loss", "train_accuracy", "val_loss", "val_macro_f1"):
        assert len(tracking.metric_history(good.run_id, key)) == epochs
    files = set(tracking.artifacts(good.run_id))
    assert {
        "confusion_matrix.png",
        "confusion_matrix.json",
        "training_curves.png",
        "test_samples.png",
        "split.csv",
        "config.json",
    } <= files
    assert tags["registered_version"] == "2" and tags["champion"] == "True"
    run = MlflowClient().get_run(good.run_id)
    assert run.info.status == "FINISHED"


def test_registry_model_predicts_what_the_trained_model_predicted(runs):
    good = runs["good"]
    images = [e.path.read_bytes() for e in good.test_examples]
    model, uri, version = registry.load()  # the best model: the only family's champion
    assert (uri, version) == ("models:/milling-directions@best", "2")
    served = tracking.predict_probabilities(model, images)
    in_memory = good.model.predict(preprocess.prepare(images, 64), verbose=0).astype(np.float64)
    # Same weights, same preprocessing: the same labels, and probabilities equal up to float32
    # rounding (TensorFlow picks kernels per traced batch shape; seen: at most 2e-6 apart).
    np.testing.assert_array_equal(served.argmax(axis=1), in_memory.argmax(axis=1))
    np.testing.assert_allclose(served, in_memory, rtol=0, atol=1e-5)
    # arrays and base64 text are accepted as well as PNG bytes
    arrays = [preprocess.decode(b).numpy() for b in images]
    np.testing.assert_array_equal(tracking.predict_probabilities(model, arrays), served)
    text = [base64.b64encode(b).decode() for b in images]
    np.testing.assert_array_equal(tracking.predict_probabilities(model, text), served)
    m = evaluate.metrics([e.y for e in good.test_examples], served, prefix="test_")
    assert m["test_accuracy"] == good.test_metrics["test_accuracy"]


def test_evaluate_logs_an_evaluation_run(runs):
    report = evaluate.evaluate_model(runs["folder"], None, "milling-directions", progress=False)
    assert report["model_version"] == "2" and report["images"] == 80
    assert np.sum(report["confusion"]) == 80
    assert report["metrics"]["eval_accuracy"] >= runs["good"].test_metrics["test_accuracy"] - 0.3
    _, metrics, tags = tracking.run_data(report["run_id"])
    assert tags["type"] == "evaluation" and "eval_macro_f1" in metrics


def _cli(*args, env=None, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def test_predict_command_for_pngs_and_parts(runs):
    png_path = runs["good"].test_examples[0].path
    part = runs["tmp"] / "wedge.stl"
    write_stl(part, wedge())
    result = _cli(
        "predict",
        str(png_path),
        str(part),
        str(runs["tmp"] / "nope.stl"),
        "--json",
        "--tracking-uri",
        runs["store"],
    )
    assert result.returncode == 1, result.stderr  # one input failed
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["input"] for line in lines] == [str(png_path), str(part)]
    for line in lines:
        assert set(line) == set(JSON_KEYS)
        assert line["model_version"] == "2" and line["label"] in line["probabilities"]
        assert sum(line["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    assert f"error: {runs['tmp'] / 'nope.stl'}: file not found" in result.stderr


def test_serve_answers_a_real_http_request(runs, scoring_server):
    images = [e.path.read_bytes() for e in runs["good"].test_examples[:3]]
    body = json.dumps(
        {
            "dataframe_split": {
                "columns": ["image"],
                "data": [[base64.b64encode(b).decode()] for b in images],
            }
        }
    ).encode()
    request = urllib.request.Request(
        f"{scoring_server}/invocations", body, {"Content-Type": "application/json"}
    )
    rows = json.loads(urllib.request.urlopen(request, timeout=120).read())["predictions"]
    model = registry.load()[0]
    expected = tracking.predict_probabilities(model, images)
    assert [r["label"] for r in rows] == [CLASSES[i] for i in expected.argmax(axis=1)]
    got = np.array([[r[c] for c in CLASSES] for r in rows])
    np.testing.assert_allclose(got, expected, atol=1e-6)


def test_promote_by_hand_is_recorded(runs):
    mlflow.set_tracking_uri(runs["store"])
    decision = registry.promote("1")
    assert registry.champion_version() == "1"
    assert "promoted by hand (previous champion: v2)" in decision
    registry.promote("2")
    result = _cli("promote", "--version", "99", "--tracking-uri", runs["store"])
    assert result.returncode == 2 and "milling-directions has no version 99" in result.stderr


def _listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses listening on `port` (Linux /proc/net/tcp*)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:
                    found.add(address)
    return found


def test_serve_listens_on_loopback_only(scoring_server):
    port = int(scoring_server.rsplit(":", 1)[1])
    assert _listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else
