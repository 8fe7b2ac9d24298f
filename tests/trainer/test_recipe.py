"""The from-scratch recipe's options (a view-aware head, exact half turns, AdamW, warm-up,
label smoothing, drop-connect) train a real model, and the logged model predicts what it did."""

import numpy as np
import pytest

from samples.datasets import write_dataset
from trainer.config import TrainConfig
from trainer.data import preprocess
from trainer.models import image as model
from trainer.tracking import registry
from trainer.tracking import runs as tracking
from trainer.training.train import train

pytestmark = pytest.mark.slow


def test_the_recipe_options_train_and_travel_with_the_logged_model(tmp_path):
    write_dataset(tmp_path / "data", parts=20, variants=1, size=100)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TrainConfig(
        data=tmp_path / "data",
        weights="none",
        base="efficientnet",
        image_size=64,
        epochs=3,
        cell_units=4,
        optimizer="adamw",
        weight_decay=0.01,
        warmup_epochs=1,
        label_smoothing=0.1,
        drop_connect=0.05,
        tracking_uri=store,
        progress=False,
        checkpoints=False,
    )
    result = train(config)
    net = result.model
    assert net.get_layer("cells").filters == 4 and net.get_layer("cells_flat")  # 2x2 cells
    assert isinstance(net.loss, model.SmoothedCrossentropy) and net.loss.smoothing == 0.1
    assert type(net.optimizer).__name__ == "AdamW"
    rates = [
        layer.rate
        for layer in net.get_layer("efficientnetb0").layers
        if layer.name.endswith("drop")
    ]
    assert rates and max(rates) <= 0.05 + 1e-9
    tracking.connect(store)
    params = tracking.run_data(result.run_id)[0]
    assert (params["pooling"], params["half_turns"], params["optimizer"]) == (
        "cells",
        "True",
        "adamw",
    )
    loaded, _, _ = registry.load(result.model_uri)
    images = [e.path.read_bytes() for e in result.test_examples]
    served = tracking.predict_probabilities(loaded, images)
    in_memory = net.predict(preprocess.prepare(images, 64), verbose=0)
    np.testing.assert_allclose(served, in_memory, atol=1e-5)


def test_smoothed_crossentropy_is_the_smoothed_one_hot_loss():
    y = np.array([0, 3])
    p = np.array([[0.7, 0.1, 0.1, 0.05, 0.05], [0.1, 0.1, 0.1, 0.6, 0.1]], dtype="float32")
    got = float(model.SmoothedCrossentropy(0.1)(y, p))
    target = np.full((2, 5), 0.1 / 5) + 0.9 * np.eye(5)[y]
    assert got == pytest.approx(float(np.mean(-(target * np.log(p)).sum(axis=1))), rel=1e-5)
    plain = float(model.SmoothedCrossentropy(0.0)(y, p))
    assert plain == pytest.approx(float(np.mean(-np.log(p[[0, 1], y]))), rel=1e-5)
