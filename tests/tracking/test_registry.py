"""The champion decision on a real MLflow registry when the champion keeps moving under it."""

from mlflow.tracking import MlflowClient

from trainer.tracking import registry
from trainer.tracking import runs as tracking

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


def test_a_champion_this_code_cannot_run_is_replaced_and_named(tmp_path):
    """A face-normal champion logged for other features (before the inner-wall block) cannot
    be fed by this code: a new version takes over, and feeding it says what to do."""
    import numpy as np
    import pytest

    from samples.meshes import wedge
    from shared.facenormals import FEATURES, PLAN_BLOCK
    from trainer.models.families import FACE_NORMALS, ModelMismatchError

    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    tracking.connect(store)
    client = MlflowClient(store, registry_uri=store)
    name = FACE_NORMALS.registered_name
    client.create_registered_model(name)
    old = {"test_fingerprint": "same", "test_accuracy": "0.99", "test_macro_f1": "0.99"}
    client.create_model_version(name, source=str(tmp_path), tags=old)  # no features tag
    current = {"features": str(FEATURES), "plan_block": PLAN_BLOCK}
    client.create_model_version(name, source=str(tmp_path), tags=current)
    client.set_registered_model_alias(name, "champion", "1")
    moved, decision = registry.decide_champion(
        "2", registry.Score(0.9, 0.9), "same", lambda uri: registry.Score(1, 1), name
    )
    assert moved and registry.champion_version(name) == "2"
    assert (
        f"trained on an unrecorded number of mesh features and this code computes {FEATURES}"
        in decision
    )
    assert FACE_NORMALS.prepare_batch([wedge()], current).shape == (1, FEATURES)
    with pytest.raises(ModelMismatchError, match="train it again"):
        FACE_NORMALS.prepare_batch([np.asarray(wedge())], {})
    # one that read the zero-radius analysis (before the tool-aware plans) is refused too
    with pytest.raises(ModelMismatchError, match="came from the zero-radius analysis"):
        FACE_NORMALS.prepare_batch([np.asarray(wedge())], {"features": FEATURES})
