"""The face-normal model: its features, and `baseline` trained, logged, registered and used
like the image model (real parts, a real Keras MLP, a real sqlite MLflow store)."""

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import meta_image, write_dataset
from shared import classes, manifest, plans, png, rotations
from shared.facenormals import forward, read_weights, shape_features
from shared.geometry.stl import read_stl, stl_bytes
from trainer.config import MODEL_NAME, BaselineConfig
from trainer.data.dataset import DataError
from trainer.models import facemodel as facenormals
from trainer.models.families import FACE_NORMALS
from trainer.synth import parts
from trainer.tracking import registry
from trainer.tracking import runs as tracking
from trainer.training.baseline import train_baseline

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPTH_BINS = len(facenormals.DEPTH_EDGES) + 1
# its module fixtures train a model: one xdist worker runs the whole module
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("baseline")]


def _direction_index(vector: np.ndarray) -> int:
    return int(np.argmax(facenormals.NORMAL_BINS @ (vector / np.linalg.norm(vector))))


def _area(f: np.ndarray) -> np.ndarray:
    return f[: len(facenormals.NORMAL_BINS)]


def _depths(f: np.ndarray) -> np.ndarray:
    n = len(facenormals.NORMAL_BINS)
    return f[n : n * (1 + DEPTH_BINS)].reshape(n, DEPTH_BINS)


def _walls(f: np.ndarray) -> np.ndarray:
    """(6 axes, depth bins): where the inner walls stand along each axis."""
    n = len(facenormals.NORMAL_BINS)
    return f[n * (1 + DEPTH_BINS) : facenormals.SHAPE_FEATURES].reshape(-1, DEPTH_BINS)


@pytest.fixture(scope="module")
def part_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("parts")
    parts.generate(parts.PartsConfig(count=40, seed=5, out=out, progress=False))
    rows = (out / parts.LABELS_FILE).read_text().splitlines()[1:]
    return [(out / r.split(",")[0], r.split(",")[1]) for r in rows]


def test_features_follow_a_rotation_of_the_part(part_files):
    """Turning the part permutes the feature blocks exactly as it permutes the directions;
    moving or scaling it changes nothing."""
    path, label = part_files[0]
    t = read_stl(path).triangles
    f = facenormals.features(t)
    assert f.shape == (facenormals.FEATURES,) and np.isclose(_area(f).sum(), 1.0)
    name, r, _ = rotations.label_preserving(label)[5]
    g = facenormals.features(facenormals.turn(t, f"rot:{name}"))
    moved = [_direction_index(r @ d) for d in facenormals.NORMAL_BINS]
    np.testing.assert_allclose(_area(g)[moved], _area(f), atol=1e-5)
    np.testing.assert_allclose(_depths(g)[moved], _depths(f), atol=1e-5)
    axes = list(facenormals.AXES)
    moved_axes = [axes.index(moved[a]) for a in axes]
    assert _walls(f).sum() > 0  # the part has inner walls (a pocket or a hole)
    np.testing.assert_allclose(_walls(g)[moved_axes], _walls(f), atol=1e-5)
    np.testing.assert_allclose(facenormals.features(t + 40.0), f, atol=1e-5)
    shape = facenormals.SHAPE_FEATURES  # the tool-aware block alone knows the part's size
    np.testing.assert_allclose(facenormals.features(t * 3.5)[:shape], f[:shape], atol=1e-5)


def test_the_analysis_block_turns_with_the_part_without_casting_again(part_files):
    """The training features of a turned part (its analysis turned) are the features of the
    turned mesh analysed afresh; the block says which sides the analysis needs."""
    for path, label in part_files[:6]:
        t = read_stl(path).triangles
        analysis = facenormals.analysis(t)
        name, _, turned = rotations.label_preserving(label)[7]
        fresh = facenormals.features(facenormals.turn(t, f"rot:{name}"))
        kept = facenormals.turned_features(t, analysis, f"rot:{name}")
        shape = facenormals.SHAPE_FEATURES
        np.testing.assert_allclose(kept[:shape], fresh[:shape], atol=1e-4)
        # the height maps' cells lie a little differently on the turned part: shares move by
        # well under a thousandth, the plan not at all
        np.testing.assert_allclose(kept[shape:], fresh[shape:], atol=2e-3)
        block, bits = fresh[shape:], facenormals.PLAN_FEATURES - 2
        assert (kept[shape:][3:bits:5] == block[3:bits:5]).all()
        in_plan = [d for i, d in enumerate(plans.SIDES) if block[5 * i + 3] == 1.0]
        assert turned in in_plan, (path.name, in_plan, turned)
        assert shape_features(t).shape == (facenormals.SHAPE_FEATURES,)


def test_features_tell_the_label_side_from_the_opposite_side(part_files):
    """By construction a part's blind floors face its label from inside the part, and only the
    clamping face looks the other way: depth separates the two sides."""
    for path, label in part_files:
        axis = np.array(classes.AXES[label], dtype=float)
        depths = _depths(facenormals.features(read_stl(path).triangles))
        toward, away = _direction_index(axis), _direction_index(-axis)
        assert depths[toward, 1:].sum() > 1e-4, (path.name, label)
        assert depths[away, 1:].sum() < 1e-6, (path.name, label)


@pytest.fixture(scope="module")
def multi_files(tmp_path_factory):
    """Blocks milled from 2 or 3 sides, with their plans."""
    out = tmp_path_factory.mktemp("multi")
    parts.generate(parts.PartsConfig(count=40, seed=6, out=out, progress=False, sides=(2, 3)))
    rows = (out / parts.LABELS_FILE).read_text().splitlines()[1:]
    return [(out / r.split(",")[0], r.split(",")[1], plans.parse(r.split(",")[-1])) for r in rows]


@pytest.fixture(scope="module")
def mesh_dataset(part_files, multi_files, tmp_path_factory):
    """Manifest rows for the parts and four label-keeping turns of each, plans turned with them
    (placeholder images: the face-normal model reads the source STL named in each row)."""
    folder = tmp_path_factory.mktemp("mesh_data")
    rng = np.random.default_rng(0)
    rows = []
    for path, label, plan in [(p, label, ()) for p, label in part_files] + multi_files:
        for name, turn, new_label in rotations.label_preserving(label)[:4]:
            image = f"{path.stem}_{path.parent.name}__{name}.png"
            (folder / image).write_bytes(png.encode_rgb(meta_image(new_label, rng, 100)))
            augmentation = "none" if name == rotations.IDENTITY else f"rot:{name}"
            turned = plans.text(plans.rotate(plan, turn))
            part = f"{path.parent.name}/{path.stem}"
            row = manifest.Row(image, new_label, part, str(path), augmentation, 100, "0" * 64)
            rows.append(dataclasses.replace(row, plan=turned))
    manifest.write(folder / manifest.FILENAME, rows)
    return folder


@pytest.fixture(scope="module")
def baseline_run(mesh_dataset, tmp_path_factory):
    store = f"sqlite:///{tmp_path_factory.mktemp('store') / 'mlflow.db'}"
    config = BaselineConfig(
        data=mesh_dataset, epochs=200, hidden=64, tracking_uri=store, progress=False
    )
    return train_baseline(config), store


def test_baseline_learns_logs_and_registers_as_its_own_model(baseline_run):
    result, store = baseline_run
    assert result.test_metrics["test_accuracy"] >= 0.9, result.test_metrics
    # half the parts need 2 or 3 setups: the label alone is never their exact plan, so the
    # plan head must get some of those right to score above the share of one-setup parts
    one_setup = np.mean([len(e.plan) == 1 for e in result.test_examples])
    plan_metrics = {k: v for k, v in result.test_metrics.items() if "plan" in k}
    assert result.test_metrics["test_plan_exact"] > one_setup + 0.05, (one_setup, plan_metrics)
    assert any(len(e.plan) > 1 for e in result.test_examples)
    assert result.version == "1" and result.champion
    tracking.connect(store)
    params, metrics, tags = tracking.run_data(result.run_id)
    assert tags["family"] == FACE_NORMALS.name
    assert params["family"] == FACE_NORMALS.name and params["hidden"] == "64"
    # one value per param: the model's feature count, and the layout in words beside it (the
    # same name logged twice with two values made MLflow warn on every face-normal run)
    assert params["features"] == str(facenormals.FEATURES)
    assert params["feature_layout"].endswith(f"= {facenormals.FEATURES}")
    for key in ("test_accuracy", "test_macro_f1", "val_accuracy", "val_loss", "val_plan_loss"):
        assert key in metrics
    for key in ("test_plan_exact", "test_plan_primary", "test_plan_f1_minus_z"):
        assert key in metrics
    assert {"split.csv", "confusion_matrix.png", "training_curves.png"} <= set(
        tracking.artifacts(result.run_id)
    )
    client = MlflowClient(store)
    champion = client.get_model_version_by_alias(FACE_NORMALS.registered_name, "champion")
    assert str(champion.version) == "1" and champion.tags["family"] == FACE_NORMALS.name
    assert float(champion.tags["test_plan_exact"]) == result.test_metrics["test_plan_exact"]
    beside_the_database = (Path(store[len("sqlite:///") :]).parent / "mlruns").as_uri()
    assert client.get_experiment_by_name("milling-directions").artifact_location == (
        beside_the_database
    )
    assert not client.search_registered_models(f"name = '{MODEL_NAME}'")  # image model untouched
    # the only family of the store is the best one: serve and predict default to it
    best = f"models:/{FACE_NORMALS.registered_name}@best"
    assert registry.best_uri() == best and registry.resolve(None) == (best, "1")
    assert tags["best_model"] == f"models:/{FACE_NORMALS.registered_name}/1"
    assert "best_model.json" in tracking.artifacts(result.run_id)


def test_registry_model_takes_stl_bytes_and_matches_training(baseline_run):
    result, store = baseline_run
    tracking.connect(store)
    loaded, _, version = registry.load(registry.champion_uri(FACE_NORMALS.registered_name))
    assert tracking.family(loaded) is FACE_NORMALS and version == "1"
    examples = result.test_examples[:6]
    inputs = [
        stl_bytes(facenormals.source_triangles(e.source, e.augmentation)) for e in examples
    ]  # STL bytes, as a client sends them
    from_registry = tracking.predict_output(loaded, inputs)
    features = np.stack(
        [
            facenormals.features(facenormals.source_triangles(e.source, e.augmentation))
            for e in examples
        ]
    )
    trained = result.model.predict(features, verbose=0)
    assert from_registry.shape == trained.shape == (6, 11)
    np.testing.assert_allclose(from_registry, trained, atol=1e-5)
    np.testing.assert_allclose(tracking.predict_probabilities(loaded, inputs), trained[:, :5])
    table = loaded.predict(pd.DataFrame({"mesh": inputs}))
    expected = plans.answered(*plans.split(trained))
    assert [plans.parse(t) for t in table["plan"]] == expected
    raw = [Path(e.source).read_bytes() for e in examples if e.augmentation == "none"]
    assert tracking.predict_probabilities(loaded, raw).shape == (len(raw), 5)


def test_predict_and_evaluate_commands_with_the_face_normal_model(baseline_run, part_files):
    result, store = baseline_run
    uri = registry.champion_uri(FACE_NORMALS.registered_name)
    env = dict(os.environ, PYTHONPATH=ROOT)
    base = [sys.executable, "-m", "trainer"]
    stl_file = str(part_files[0][0])
    out = subprocess.run(
        [*base, "predict", stl_file, "--model", uri, "--tracking-uri", store],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"{stl_file}: ") and "%" in out.stdout
    assert "\n  setup plan: 1. " in out.stdout
    data = os.path.dirname(result.test_examples[0].path)
    out = subprocess.run(
        [*base, "evaluate", "--data", data, "--model", uri, "--tracking-uri", store, "--quiet"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "accuracy" in out.stdout and "macro-F1" in out.stdout
    assert "setup plans: exact " in out.stdout
    accuracy = float(out.stdout.split("accuracy ")[1].split()[0])
    assert accuracy >= 0.9


def test_baseline_without_source_parts_fails_before_any_run(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1)  # sources: /parts/*.stl, absent
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = BaselineConfig(data=tmp_path / "data", tracking_uri=store, progress=False)
    with pytest.raises(DataError, match="source STL"):
        train_baseline(config)
    tracking.connect(store)
    assert not MlflowClient(store).search_runs(
        [e.experiment_id for e in MlflowClient(store).search_experiments()]
    )


def test_promote_names_the_face_normal_model(baseline_run):
    _, store = baseline_run
    name = FACE_NORMALS.registered_name
    base = [sys.executable, "-m", "trainer", "promote", "--name", name, "--tracking-uri", store]
    ok = subprocess.run([*base, "--version", "1"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0 and "v1 promoted by hand" in ok.stdout, ok.stderr
    bad = subprocess.run([*base, "--version", "7"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode != 0
    assert bad.stderr.strip().splitlines()[-1] == f"error: {name} has no version 7"


def test_builtin_export_runs_in_numpy_as_keras_does(baseline_run, tmp_path):
    """`trainer builtin`: plain arrays and metadata that say where the model came from; the
    numpy forward pass (the add-on's built-in model) equals the registered Keras model."""
    result, store = baseline_run
    out = tmp_path / "models"
    base = [sys.executable, "-m", "trainer", "builtin", "--out", str(out), "--tracking-uri", store]
    bad = subprocess.run([*base, "--metric", "unseen"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "expected NAME=NUMBER" in bad.stderr and not out.exists()
    done = subprocess.run(
        [*base, "--metric", "unseen_accuracy=0.875", "--made-by", "make model"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    meta = json.loads((out / "face_normals.json").read_text())
    data = (out / "face_normals.npz").read_bytes()
    assert meta["model_uri"] == "builtin:face-normals"
    assert meta["model_version"] == f"1-{hashlib.sha256(data).hexdigest()[:8]}"
    assert meta["source"]["registry_version"] == "1" and meta["source"]["run_id"] == result.run_id
    tracking.connect(store)
    params, _, _ = tracking.run_data(result.run_id)
    assert meta["training"]["dataset_fingerprint"] == params["dataset_fingerprint"]
    assert meta["metrics"]["unseen_accuracy"] == 0.875 and meta["command"] == "make model"
    assert meta["metrics"]["test_accuracy"] == result.test_metrics["test_accuracy"]
    assert sorted(tracking.artifacts(result.run_id, "builtin")) == [
        "builtin/face_normals.json",
        "builtin/face_normals.npz",
    ]

    layers = read_weights(out / "face_normals.npz")  # allow_pickle=False
    assert [list(k.shape) for k, _ in layers] == meta["layers"]
    loaded, _, _ = registry.load(registry.champion_uri(FACE_NORMALS.registered_name))
    examples = result.test_examples
    inputs = FACE_NORMALS.example_inputs(examples)  # the features, each part analysed once
    keras_answers = tracking.predict_output(loaded, inputs)
    assert keras_answers.shape[1] == 11 and [list(k.shape) for k, _ in layers][-1] == [64, 11]
    np.testing.assert_allclose(forward(layers, np.stack(inputs)), keras_answers, atol=1e-5)
