"""The champion decision on a real MLflow registry when the champion keeps moving under it."""

from mlflow.tracking import MlflowClient

from trainer import registry, tracking

NAME = "moving-target"


def test_a_decision_that_never_settles_says_so(tmp_path, capsys):
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.connect(store)
    client = MlflowClient(store, registry_uri=store)
    client.create_registered_model(NAME)
    tags = {"test_fingerprint": "theirs", "test_accuracy": "0.5", "test_macro_f1": "0.5"}
    for _ in range(3):
        client.create_model_version(NAME, source=str(tmp_path), tags=tags)
    client.set_registered_model_alias(NAME, "champion", "1")
    moves = []

    def rescore_while_another_run_promotes(uri: str) -> registry.Score:
        # Each re-evaluation of the champion takes long enough for another run to move it.
        current = registry.champion_version(NAME)
        client.set_registered_model_alias(NAME, "champion", "2" if current == "1" else "1")
        moves.append(uri)
        return registry.Score(0.9, 0.9)

    moved, decision = registry.decide_champion(
        "3", registry.Score(0.8, 0.8), "ours", rescore_while_another_run_promotes, NAME
    )
    assert len(moves) == registry.DECIDE_TRIES
    assert not moved and "warning: the champion moved during each of 5 tries" in decision
    assert client.get_model_version(NAME, "3").tags["champion_decision"] == decision
    assert "warning" in capsys.readouterr().err
