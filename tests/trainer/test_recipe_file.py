"""`train --config RECIPE.toml`: the recipe's settings, the command line over them, and the
recipe logged with the run (a real training run, a real MLflow store)."""

import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def test_a_recipe_trains_with_the_command_line_over_it_and_is_logged(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1, size=100)
    recipe = tmp_path / "tiny.toml"
    text = (
        "# a tiny image model\n[train]\n"
        f'data = "{tmp_path / "data"}"\nweights = "none"\nimage-size = 40\nepochs = 2\n'
        "view-units = 4\nregister = false\n"
    )
    recipe.write_text(text)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    done = subprocess.run(
        [
            *(sys.executable, "-m", "trainer", "train", "--config", str(recipe), "--epochs", "1"),
            *("--tracking-uri", store, "--quiet"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    client = MlflowClient(store, registry_uri=store)  # not a registry another test set
    (run,) = client.search_runs(
        [e.experiment_id for e in client.search_experiments()], "attributes.status = 'FINISHED'"
    )
    params = run.data.params
    assert params["epochs"] == "1"  # the command line over the recipe
    assert (params["image_size"], params["view_units"], params["register"]) == ("40", "4", "False")
    assert params["recipe"] == str(recipe)
    logged = client.download_artifacts(run.info.run_id, "recipe/tiny.toml", str(tmp_path / "a"))
    assert Path(logged).read_text() == text
    assert not client.search_registered_models()  # register = false, from the recipe
