"""The correction loop: Predict, Correct This Answer (real bpy), then a training run that reads
the corrections folder beside the generated data."""

import numpy as np
import pytest

from samples.datasets import write_dataset
from shared import manifest, png
from shared.geometry.stl import read_stl, write_stl
from trainer.synth import multiside

pytestmark = pytest.mark.slow


def _predict_part(tmp_path, name: str, seed: int):
    import bpy

    path = tmp_path / f"{name}.stl"
    write_stl(path, multiside.build(np.random.default_rng(seed), "+Z", 2)[0])
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    assert bpy.ops.milling.predict() == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def test_a_correction_is_recorded_as_a_dataset_row_and_the_next_run_learns_it(addon, tmp_path):
    import bpy

    from trainer.config import TrainConfig
    from trainer.tracking import runs as tracking
    from trainer.training.train import train

    corrections = tmp_path / "corrections"
    addon.corrections_dir = str(corrections)
    props = bpy.context.scene.milling
    props.size = 100
    with pytest.raises(RuntimeError, match="predict a part first"):
        props.prediction_label = ""
        bpy.ops.milling.correct(direction="-X")
    assert not corrections.exists()
    part = _predict_part(tmp_path, "Part Studio 1 - Part 1(4)", 1)
    said = props.prediction_label
    assert bpy.ops.milling.correct(direction="-X") == {"FINISHED"}
    assert bpy.ops.milling.correct(direction="+Y") == {"FINISHED"}  # changed my mind: the last
    (row,) = manifest.read(corrections / manifest.FILENAME)
    assert (row.label, row.origin) == ("+Y", "feedback")
    assert row.part_id == "Part Studio 1 - Part 1(4)"  # as Render Folder names its file
    assert row.answered.startswith(f"{said} ") and "builtin:face-normals v" in row.answered
    assert png.read_header((corrections / row.image).read_bytes())[:2] == (100, 100)
    copy = read_stl(corrections / row.source).triangles
    assert len(copy) == len(part.data.polygons) and "Recorded" in props.status
    for name, seed in (("second", 2), ("third", 3)):
        _predict_part(tmp_path, name, seed)
        assert bpy.ops.milling.correct(direction="+X") == {"FINISHED"}
    assert len(manifest.read(corrections / manifest.FILENAME)) == 3
    from blender_addon.scene.answer import remove_arrows

    remove_arrows()  # leave the scene as other modules' tests expect it
    for name in (part.name, "second", "third"):
        bpy.data.objects.remove(bpy.data.objects[name])

    generated = tmp_path / "generated"
    write_dataset(generated, parts=30, variants=2, size=100)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    config = TrainConfig(
        data=[generated, corrections],
        weights="none",
        image_size=32,
        epochs=1,
        tracking_uri=store,
        progress=False,
    )
    result = train(config)
    params, _, _ = tracking.run_data(result.run_id)
    assert params["data"] == str(generated) and params["more_data"] == str(corrections)
    images = sum(int(params[f"{s}_images"]) for s in ("train", "val", "test"))
    parts = sum(int(params[f"{s}_parts"]) for s in ("train", "val", "test"))
    assert (images, parts) == (60 + 3, 30 + 3)  # every correction is a part of its own
