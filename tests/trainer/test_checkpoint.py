"""Checkpoints: weights, optimizer state and the best epoch come back exactly; a kill while one
is written leaves the previous one usable."""

import keras
import numpy as np
import pytest

from trainer.training import checkpoint


def _model() -> keras.Model:
    net = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(8),
            keras.layers.BatchNormalization(),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    schedule = keras.optimizers.schedules.CosineDecay(1e-2, 100, alpha=0.01)
    net.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy")
    return net


def _state(epochs: int, **kw) -> checkpoint.State:
    history = [{"val_loss": 1.0 / (i + 1)} for i in range(epochs)]
    defaults = dict(config={"data": "/d"}, dataset_fingerprint="f", phase=0, phase_epochs=epochs)
    return checkpoint.State(
        **defaults | dict(phase_done=False, wait=0, best_loss=history[-1]["val_loss"]) | kw,
        best=history[-1],
        history=history,
    )


def test_a_checkpoint_restores_weights_optimizer_and_best_epoch(tmp_path):
    rng = np.random.default_rng(0)
    x, y = rng.random((64, 4), dtype=np.float32), rng.integers(0, 3, 64)
    trained = _model()
    trained.fit(x, y, epochs=2, batch_size=16, verbose=0)
    best = [w * 2 for w in trained.get_weights()]
    checkpoint.save(tmp_path, trained, best, _state(2, wait=1))

    loaded = checkpoint.latest(tmp_path)
    fresh = _model()
    checkpoint.restore(fresh, loaded)

    assert int(fresh.optimizer.iterations.numpy()) == 8
    for a, b in zip(trained.optimizer.variables, fresh.optimizer.variables, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    for a, b in zip(trained.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(best, loaded.best_weights, strict=True):
        np.testing.assert_array_equal(a, b)
    assert loaded.epochs == 2 and loaded.state.wait == 1 and loaded.state.config == {"data": "/d"}
    # the learning rate schedule goes on from step 8, not from the start
    assert float(fresh.optimizer.learning_rate.numpy()) == pytest.approx(
        float(trained.optimizer.learning_rate.numpy())
    )

    # training on from the checkpoint gives what training on in memory gives
    trained.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    fresh.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(trained.get_weights(), fresh.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_only_the_newest_whole_checkpoint_counts(tmp_path):
    net = _model()
    net.optimizer.build(net.trainable_variables)
    checkpoint.save(tmp_path, net, None, _state(1))
    checkpoint.save(tmp_path, net, None, _state(2))
    assert [p.name for p in tmp_path.iterdir()] == ["epoch-0002"]

    # a checkpoint being written when the process was killed: a hidden temporary folder
    partial = tmp_path / ".epoch-0003.tmp-99999"
    partial.mkdir()
    (partial / checkpoint.STATE).write_text("{")
    found = checkpoint.latest(tmp_path)
    assert found.path.name == "epoch-0002" and found.best_weights is None
    assert checkpoint.saved_epochs(tmp_path) == 2

    (found.path / checkpoint.STATE).write_text("{not json")
    with pytest.raises(checkpoint.CheckpointError, match="epoch-0002: unreadable checkpoint"):
        checkpoint.latest(tmp_path)

    assert checkpoint.latest(tmp_path / "missing") is None
    assert checkpoint.saved_epochs(tmp_path / "missing") == 0
    checkpoint.remove(tmp_path / "missing")
    root = tmp_path / "root"
    checkpoint.save(root / "run", net, None, _state(1))
    checkpoint.remove(root / "run")
    assert not root.exists()
