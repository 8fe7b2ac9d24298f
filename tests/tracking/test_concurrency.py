"""Two training runs writing to one sqlite store at the same time: both land completely, and the
champion ends on the better one."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset
from trainer.config import MODEL_NAME

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_two_runs_at_once_both_land_and_the_better_one_serves(tmp_path):
    write_dataset(tmp_path / "data", parts=20, variants=2, size=60)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    command = [
        *(sys.executable, "-m", "trainer", "train", "--data", str(tmp_path / "data")),
        *("--weights", "none", "--image-size", "32", "--patience", "10", "--quiet"),
        *("--tracking-uri", store),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    runs = [
        subprocess.Popen(
            [*command, "--seed", str(seed), "--epochs", str(epochs)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, epochs in ((0, 4), (1, 4))
    ]
    for proc in runs:
        _, err = proc.communicate(timeout=1200)
        assert proc.returncode == 0, err[-3000:]

    client = MlflowClient(store, registry_uri=store)
    experiment = client.get_experiment_by_name("milling-directions")
    finished = client.search_runs([experiment.experiment_id])
    assert len(finished) == 2 and all(r.info.status == "FINISHED" for r in finished)
    for run in finished:
        assert "test_accuracy" in run.data.metrics and run.data.tags["registered_version"]
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    scores = {
        str(v.version): (float(v.tags["test_accuracy"]), float(v.tags["test_macro_f1"]))
        for v in versions
    }
    champion = str(client.get_model_version_by_alias(MODEL_NAME, "champion").version)
    assert scores[champion] == max(scores.values())
    decisions = [client.get_model_version(MODEL_NAME, v).tags["champion_decision"] for v in "12"]
    assert sum("first champion" in d for d in decisions) == 1  # decided one after the other
