"""The correction loop: Predict, Correct the Plan (real bpy), then a training run that reads
the corrections folder beside the generated data."""

import numpy as np
import pytest

from samples.datasets import write_dataset
from shared import manifest, png
from shared.geometry.stl import read_stl, write_stl
from trainer.synth import multiside

pytestmark = [pytest.mark.slow, pytest.mark.trainer]


def _predict_part(tmp_path, name: str, seed: int, sides: int = 2):
    import bpy

    path = tmp_path / f"{name}.stl"
    write_stl(path, multiside.build(np.random.default_rng(seed), "+Z", sides)[0])
    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    assert bpy.ops.milling.predict() == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def test_a_corrected_plan_is_recorded_and_the_next_run_learns_it(addon, tmp_path):
    """Correct the Plan on a three-setup part: the sides in order, -Z first (the part is
    recorded turned over), then a change of mind; both models' training reads the plan."""
    import bpy

    from blender_addon.scene import stored
    from trainer.config import TrainConfig
    from trainer.data import dataset as data
    from trainer.tracking import runs as tracking
    from trainer.training.baseline import features_of
    from trainer.training.train import train

    corrections = tmp_path / "corrections"
    addon.corrections_dir = str(corrections)
    props = bpy.context.scene.milling
    props.size = 100
    for obj in bpy.context.view_layer.objects:
        obj.select_set(False)
    bpy.context.view_layer.objects.active = None
    with pytest.raises(RuntimeError, match="poll"):  # nothing predicted: nothing to correct
        bpy.ops.milling.correct(plan="+Z")
    assert not corrections.exists()
    part = _predict_part(tmp_path, "Part Studio 1 - Part 1(4)", 1, sides=3)
    said = stored.load(part)
    assert len(said.plan) == 3
    with pytest.raises(RuntimeError, match="a direction is repeated"):
        bpy.ops.milling.correct(setup_1="+Z", setup_2="+Z")
    assert not (corrections / manifest.FILENAME).exists()  # nothing half-written
    assert bpy.ops.milling.correct(setup_1="-Z", setup_2="+Z", setup_3="+X") == {"FINISHED"}
    (row,) = manifest.read(corrections / manifest.FILENAME)
    assert (row.label, row.plan, row.origin) == ("+Z", "+Z -Z +X", "feedback")  # turned over
    copy = read_stl(corrections / row.source).triangles
    original = np.array([p.co[:] for p in part.data.vertices])
    assert copy.reshape(-1, 3)[:, 2].max() == pytest.approx(-original[:, 2].min(), abs=1e-5)
    assert "turned over" in props.status
    assert bpy.ops.milling.correct(plan="+Y -Y +Z") == {"FINISHED"}  # changed my mind: the last
    (row,) = manifest.read(corrections / manifest.FILENAME)
    assert (row.label, row.plan) == ("+Y", "+Y -Y +Z")
    assert row.part_id == "Part Studio 1 - Part 1(4)"  # as Render Folder names its file
    assert row.answered.startswith(f"{said.label} ") and "built-in model (v" in row.answered
    assert png.read_header((corrections / row.image).read_bytes())[:2] == (100, 100)
    for name, seed in (("second", 2), ("third", 3)):
        _predict_part(tmp_path, name, seed)
        assert bpy.ops.milling.correct(plan="+X") == {"FINISHED"}
    assert len(manifest.read(corrections / manifest.FILENAME)) == 3
    for name in (part.name, "second", "third"):
        bpy.data.objects.remove(bpy.data.objects[name])

    # the face-normal model learns the corrected plan as given, not the analysis' plan
    examples = data.load(corrections, progress=False).examples
    _, taught = features_of(examples, show=False)
    assert sorted(e.plan for e in taught) == [("+X",), ("+X",), ("+Y", "-Y", "+Z")]
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
        multi_setup="plan",  # the plan head: the three-setup correction is learnt, not skipped
    )
    result = train(config)
    params, _, _ = tracking.run_data(result.run_id)
    assert params["data"] == str(generated) and params["more_data"] == str(corrections)
    images = sum(int(params[f"{s}_images"]) for s in ("train", "val", "test"))
    parts = sum(int(params[f"{s}_parts"]) for s in ("train", "val", "test"))
    assert (images, parts) == (60 + 3, 30 + 3)  # every correction is a part of its own
