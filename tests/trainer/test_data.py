"""The data side of training: manifest checks, the split by part, tile shuffling, fingerprints."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from samples.datasets import write_dataset
from shared import classes, manifest, png
from trainer.data import dataset as data
from trainer.data import preprocess


@pytest.fixture
def dataset(tmp_path):
    write_dataset(tmp_path / "d", parts=30, variants=3)
    return tmp_path / "d"


@pytest.mark.parametrize("seed", range(20))
def test_split_never_puts_a_part_on_two_sides(dataset, seed):
    loaded = data.load(dataset, progress=False)
    assignment = data.split(loaded.examples, 0.2, 0.2, seed)
    sides = {}
    for e in loaded.examples:
        sides.setdefault(e.part_id, set()).add(assignment[e.part_id])
    assert all(len(s) == 1 for s in sides.values())
    for split in data.SPLITS:  # stratified: every class on every side
        labels = {e.label for e in loaded.examples if assignment[e.part_id] == split}
        assert labels == set(classes.CLASSES), (seed, split)


def test_split_is_seeded(dataset):
    examples = data.load(dataset, progress=False).examples
    assert data.split(examples, 0.2, 0.2, 1) == data.split(examples, 0.2, 0.2, 1)
    assert data.split(examples, 0.2, 0.2, 1) != data.split(examples, 0.2, 0.2, 2)


def test_a_class_with_too_few_parts_is_named(tmp_path):
    rows = write_dataset(tmp_path / "d", parts=12, variants=1)  # +X and -X get 3, others 2
    examples = data.load(tmp_path / "d", progress=False).examples
    assert len(rows) == 12
    with pytest.raises(data.DataError, match=r"\+Y has 2, -Y has 2, \+Z has 2"):
        data.split(examples, 0.15, 0.15, 0)


def test_tile_shuffle_keeps_the_multiset_of_tiles():
    rng = np.random.default_rng(0)
    batch = np.stack([rng.integers(0, 256, size=(100, 100, 3), dtype=np.uint8)] * 3)
    out = preprocess.shuffle_tiles(tf.constant(batch), tf.constant([1, 2])).numpy()
    assert out.shape == batch.shape
    image, shuffled = batch[1], out[1]
    assert not np.array_equal(shuffled, image)

    def tiles(a):
        return sorted(
            t.tobytes() for t in a.reshape(10, 10, 10, 10, 3).swapaxes(1, 2).reshape(100, 10, 10, 3)
        )

    for before, after in zip(batch, out, strict=True):
        assert tiles(after) == tiles(before)
    assert not np.array_equal(out[0], out[1])  # each image gets its own order
    again = preprocess.shuffle_tiles(tf.constant(batch), tf.constant([1, 2])).numpy()
    np.testing.assert_array_equal(again, out)  # stateless: same seed, same order


def test_bad_rows_are_skipped_and_counted(dataset):
    images = sorted(dataset.glob("*.png"))
    images[0].unlink()  # missing
    images[1].write_bytes(images[1].read_bytes()[:500])  # cut off
    images[2].write_bytes(b"garbage")  # not a PNG
    rgba = np.zeros((100, 100, 3), np.uint8)
    images[3].write_bytes(png.encode_rgb(np.zeros((50, 50, 3), np.uint8)))  # wrong size
    gray = png.encode_rgb(rgba)
    images[4].write_bytes(gray[:25] + b"\x00" + gray[26:])  # colour type 0 in the header
    loaded = data.load(dataset, progress=False)
    assert len(loaded.examples) == 90 - 5
    assert loaded.skipped == {
        "missing image": 1,
        "cut-off image (no PNG end chunk)": 1,
        "not a PNG image": 1,
        "wrong size 50x50 (expected 100x100)": 1,
        "not 8-bit RGB (PNG bit depth 8, colour type 0)": 1,
    }
    assert f"{images[0]}: missing image" in loaded.first_problems


def test_too_many_bad_rows_fail_with_the_reason(dataset):
    for image in sorted(dataset.glob("*.png"))[:50]:
        image.unlink()
    with pytest.raises(data.DataError, match=r"50 of 90 rows are unusable \(50 missing image\)"):
        data.load(dataset, progress=False)


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "data folder not found"),
        (lambda d: d.mkdir(), "no manifest.csv"),
        (lambda d: (d.mkdir(), (d / "manifest.csv").write_text("image,label\n")), "missing column"),
        (
            lambda d: (
                d.mkdir(),
                (d / "manifest.csv").write_text("image,label,part_id,source,augmentation\n"),
            ),
            "lists no images",
        ),
    ],
)
def test_unusable_data_folders(tmp_path, setup, message):
    folder = tmp_path / "data"
    setup(folder)
    with pytest.raises(data.DataError, match=message):
        data.load(folder, progress=False)


def test_fingerprint_sees_every_byte_and_label(dataset):
    examples = data.load(dataset, progress=False).examples
    before = data.fingerprint(examples)
    assert data.fingerprint(list(reversed(examples))) == before
    raw = bytearray(examples[0].path.read_bytes())
    raw[-20] ^= 1
    examples[0].path.write_bytes(bytes(raw))
    assert data.fingerprint(examples) != before


def test_pipeline_resizes_and_batches(dataset):
    examples = data.load(dataset, progress=False).examples[:10]
    images, labels = next(
        iter(data.pipeline(examples, 64, 4, training=True, cache_bytes=1e9, decoded_size=100))
    )
    assert images.shape == (4, 64, 64, 3) and images.dtype == tf.float32
    assert float(tf.reduce_max(images)) <= 255.0 and labels.shape == (4,)
    evaluation = data.pipeline(examples, 64, 4, training=False)
    assert [int(y) for _, ys in evaluation for y in ys] == [e.y for e in examples]  # in order


def test_the_same_seed_gives_the_same_augmented_epochs(dataset):
    """Augmentation draws stateless seeds per batch, so thread timing cannot reorder them."""
    examples = data.load(dataset, progress=False).examples[:24]

    def epochs(seed: int) -> list[np.ndarray]:
        ds = data.pipeline(
            examples, 32, 4, training=True, shuffle_tiles=True, half_turns=True, seed=seed
        )
        return [np.concatenate([x.numpy().ravel() for x, _ in ds]) for _ in range(2)]

    first, again, other = epochs(3), epochs(3), epochs(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], first[1])  # each epoch is augmented anew
    assert not np.array_equal(first[0], other[0])


def test_random_half_turns_turn_about_half_the_images_and_remap_their_labels():
    rng = np.random.default_rng(0)
    images = tf.constant(rng.integers(0, 256, size=(64, 40, 40, 3), dtype=np.uint8))
    labels = tf.constant(np.arange(64) % 5, dtype=tf.int32)
    out, new = preprocess.random_half_turns(images, labels, seed=tf.constant([1, 2]))
    turned = preprocess.half_turn(images).numpy()
    was_turned = [np.array_equal(o, t) for o, t in zip(out.numpy(), turned, strict=True)]
    kept = [np.array_equal(o, i) for o, i in zip(out.numpy(), images.numpy(), strict=True)]
    assert all(a != b for a, b in zip(was_turned, kept, strict=True))  # one or the other
    assert 16 < sum(was_turned) < 48
    expected = [
        preprocess.HALF_TURN[y] if t else y for y, t in zip(labels.numpy(), was_turned, strict=True)
    ]
    assert new.numpy().tolist() == expected
    # twice is the part as it was, where a value does not stand for a normal near zero
    twice = preprocess.half_turn(preprocess.half_turn(images)).numpy()
    plain = ~np.isin(images.numpy(), (127, 128))
    np.testing.assert_array_equal(twice[plain], images.numpy()[plain])


def test_images_of_multi_setup_parts_are_left_out_for_a_one_direction_model(dataset):
    rows = manifest.read(dataset / manifest.FILENAME)
    multi = {r.part_id for r in rows[:9]}  # parts 0-2, 3 images each: +X, -X, +Y
    rows = [dataclasses.replace(r, plan=f"{r.label} -Z") if r.part_id in multi else r for r in rows]
    manifest.write(dataset / manifest.FILENAME, rows)
    loaded = data.load(dataset, progress=False)
    assert len(loaded.examples) == 90  # the plan head learns from all of them
    kept = data.one_setup(loaded)
    assert len(kept.examples) == 81 and not {e.part_id for e in kept.examples} & multi
    assert kept.skipped == {data.MULTI_SETUP: 9} and "9 of parts that need several" in (
        data.skipped_summary(kept)
    )
    assert len(loaded.examples) == 90 and not loaded.skipped  # the loaded dataset is untouched
    manifest.write(
        dataset / manifest.FILENAME, [dataclasses.replace(r, plan=f"{r.label} -Z") for r in rows]
    )
    with pytest.raises(data.DataError, match="every image is of a part that needs several"):
        data.one_setup(data.load(dataset, progress=False))


def test_a_half_turn_moves_a_plan_head_target_with_its_image():
    images = tf.constant(np.random.default_rng(0).integers(0, 255, (8, 20, 20, 3)), tf.uint8)
    # +X (class 0) milled from +X, +Y and -Z; after a half turn: -X (class 1) from -X, -Y, -Z
    targets = tf.constant([[0, 1, 0, 1, 0, 0, 1]] * 8, tf.float32)
    turned, labels = preprocess.random_half_turns(images, targets, seed=tf.constant([3, 4]))
    moved = np.any(turned.numpy() != images.numpy(), axis=(1, 2, 3))
    assert 0 < moved.sum() < 8
    np.testing.assert_array_equal(labels.numpy()[moved], [[1, 0, 1, 0, 1, 0, 1]] * moved.sum())
    np.testing.assert_array_equal(labels.numpy()[~moved], targets.numpy()[~moved])


@pytest.mark.slow
def test_the_image_model_learns_whole_plans_with_a_plan_head(dataset, tmp_path):
    """--multi-setup plan: every image is kept, and the model answers 11 columns (the softmax,
    then one sigmoid per side) whose plan metrics are logged and decide the champion."""
    from trainer.config import TrainConfig
    from trainer.tracking import registry
    from trainer.tracking import runs as tracking
    from trainer.training.train import train

    rows = manifest.read(dataset / manifest.FILENAME)
    multi = {r.part_id for r in rows[:9]}
    rows = [dataclasses.replace(r, plan=f"{r.label} -Z") if r.part_id in multi else r for r in rows]
    manifest.write(dataset / manifest.FILENAME, rows)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TrainConfig(
        data=dataset,
        weights="none",
        image_size=32,
        epochs=2,
        multi_setup="plan",
        tracking_uri=store,
        progress=False,
    )
    result = train(config)
    assert {"test_plan_exact", "test_plan_primary", "test_plan_f1_minus_z"} <= set(
        result.test_metrics
    )
    params, metrics, _ = tracking.run_data(result.run_id)
    assert params["multi_setup"] == "plan" and params["skipped_rows"] == "none"
    assert "val_plan_exact" in metrics
    model, _, _ = registry.load(result.model_uri)
    assert model.unwrap_python_model().model.output_shape[-1] == 11
    assert registry.version_tags(result.version)["test_plan_exact"]


def test_several_folders_are_one_dataset_their_parts_kept_apart(tmp_path):
    from trainer.config import TrainConfig

    write_dataset(tmp_path / "a", parts=10, variants=2, size=100)
    write_dataset(tmp_path / "b" / "a", parts=5, variants=1, size=100)
    both = data.load_all([tmp_path / "a", tmp_path / "b" / "a"], progress=False)
    assert len(both.examples) == 25
    ids = {e.part_id for e in both.examples}
    assert len(ids) == 15 and all("/" in i for i in ids)  # same folder name: still two parts
    write_dataset(tmp_path / "big", parts=5, variants=1, size=200)
    with pytest.raises(data.DataError, match=r"200 px and those of .* 100 px"):
        data.load_all([tmp_path / "a", tmp_path / "big"], progress=False)
    config = TrainConfig(data=[tmp_path / "a", tmp_path / "big"], weights="none")
    assert config.data == tmp_path / "a" and config.more_data == (tmp_path / "big",)
    assert config.as_params()["more_data"] == str(tmp_path / "big")
    assert "more_data" not in TrainConfig(data=tmp_path / "a", weights="none").as_params()
