"""`tune`: an Optuna study whose trials are real training runs nested under one MLflow run."""

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset
from trainer.config import MODEL_NAME, TrainConfig
from trainer.tracking import registry
from trainer.tracking import runs as tracking
from trainer.training.tune import SPACE, tune

pytestmark = pytest.mark.slow


def test_each_trial_is_a_nested_registered_run_and_the_rule_picks_the_champion(tmp_path):
    write_dataset(tmp_path / "data", parts=25, variants=1, size=60)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TrainConfig(
        data=tmp_path / "data",
        weights="none",
        base="efficientnet",  # the variant and the pooling are searched only with a base
        image_size=32,
        epochs=1,
        tracking_uri=store,
        progress=False,
    )
    summary = tune(config, trials=2, variants=["B0"], explicit_size=True)

    client = MlflowClient(store, registry_uri=store)
    study = client.get_run(summary["study_run_id"])
    children = client.search_runs(
        [study.info.experiment_id], f"tags.mlflow.parentRunId = '{study.info.run_id}'"
    )
    assert len(children) == summary["trials"] == 2
    assert all(c.info.status == "FINISHED" for c in [*children, study])
    assert summary["best_run_id"] in {c.info.run_id for c in children}
    assert study.data.params["trials"] == "2"
    assert study.data.tags["best_run_id"] == summary["best_run_id"]
    assert set(summary["best_params"]) == set(SPACE) | {"variant"}
    for child in children:
        assert child.data.params["pooling"] in SPACE["pooling"]
        assert child.data.params["image_size"] == "32"
    # Every trial is registered; the champion is whichever won on test, not the study's pick.
    versions = client.search_model_versions(f"name = '{MODEL_NAME}'")
    assert len(versions) == 2
    tracking.connect(store)
    champion = registry.champion_version()
    scores = {
        str(v.version): (float(v.tags["test_accuracy"]), float(v.tags["test_macro_f1"]))
        for v in versions
    }
    assert scores[champion] == max(scores.values())
