"""The Predict button (and its command line) against a real MLflow scoring server: the same
answer as `python -m trainer predict`, an arrow from the predicted side, and a clear message
with the scene left as it was for every fault."""

import importlib
import json
import subprocess
import sys

import numpy as np
import pytest

from samples.meshes import box, wedge
from shared.classes import CLASSES, direction
from shared.geometry.stl import write_stl
from shared.prediction import JSON_KEYS
from tests.blender.conftest import ROOT, blocked_env
from tests.unit.test_client import GOOD, serve

# one xdist worker runs every test of the session's trained registry (tests/conftest.py)
pytestmark = [pytest.mark.slow, pytest.mark.trainer, pytest.mark.xdist_group("trained")]


@pytest.fixture(scope="module")
def addon():
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # importable once bpy is loaded

    addon_utils.enable("blender_addon", default_set=True)
    yield bpy.context.preferences.addons["blender_addon"].preferences
    addon_utils.disable("blender_addon")


@pytest.fixture
def prefs(addon, scoring_server, trained):
    import bpy

    addon.backend, addon.server_url, addon.timeout = "SERVER", scoring_server, 60.0
    addon.python, addon.tracking_uri = sys.executable, trained["store"]
    yield addon
    for obj in [o for o in bpy.data.objects if o.name.startswith(("wedge", "block", "Empty"))]:
        bpy.data.objects.remove(obj)
    from blender_addon.scene.answer import remove_arrows

    remove_arrows()


def _import(path):
    import bpy

    assert bpy.ops.milling.import_stl(filepath=str(path)) == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def _state():
    """Everything a failed prediction must leave alone."""
    import bpy

    return (
        sorted((o.name, tuple(map(tuple, o.matrix_world))) for o in bpy.data.objects),
        sorted(m.name for m in bpy.data.meshes),
        sorted(m.name for m in bpy.data.materials),
        sorted(s.name for s in bpy.data.scenes),
    )


def _arrows():
    import bpy

    return [o for o in bpy.data.objects if o.get("milling_arrow")]


def _trainer_predict(path, store):
    result = subprocess.run(
        [sys.executable, "-m", "trainer", "predict", str(path), "--json", "--tracking-uri", store],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[0])


def _answer(obj=None):
    import bpy

    from blender_addon.scene import stored

    return stored.load(obj or bpy.context.active_object)


def test_button_answers_like_the_trainer_and_keeps_it_on_the_part(prefs, trained, tmp_path):
    import bpy

    path = tmp_path / "wedge.stl"
    write_stl(path, wedge())
    part = _import(path)
    before = _state()
    assert bpy.ops.milling.predict() == {"FINISHED"}
    expected = _trainer_predict(path, trained["store"])
    answer = _answer(part)
    assert answer.label == expected["label"] == answer.plan[0]
    np.testing.assert_allclose(
        answer.probabilities, [expected["probabilities"][c] for c in CLASSES], atol=1e-5
    )
    assert _state() == before and not _arrows()  # drawn in the viewport: nothing added
    assert bpy.ops.milling.add_objects() == {"FINISHED"}  # unless asked for
    (arrow,) = [o for o in _arrows() if o.get("milling_setup")]
    side = np.asarray(direction(answer.label), float)
    pointing = np.asarray(arrow.matrix_world.to_3x3().col[2])
    assert pointing @ -side > 0.999  # from the predicted side towards the part
    tail = np.asarray(arrow.matrix_world.translation)
    lo, hi = wedge().reshape(-1, 3).min(axis=0), wedge().reshape(-1, 3).max(axis=0)
    assert tail @ side > hi @ np.maximum(side, 0) + lo @ np.minimum(side, 0)  # outside that side


def test_a_second_parts_objects_are_in_its_own_frame(prefs, tmp_path):
    import bpy
    from mathutils import Matrix, Vector

    write_stl(tmp_path / "wedge.stl", wedge())
    write_stl(tmp_path / "block.stl", box(hi=(3, 1, 0.5)))
    first = _import(tmp_path / "wedge.stl")
    assert bpy.ops.milling.predict() == {"FINISHED"}
    second = _import(tmp_path / "block.stl")
    second.matrix_world = Matrix.Translation((10, 0, 0)) @ Matrix.Rotation(np.pi / 2, 4, "Z")
    bpy.context.view_layer.update()
    assert bpy.ops.milling.predict() == {"FINISHED"}
    assert _answer(first) is not None  # each part keeps its own answer
    assert bpy.ops.milling.add_objects() == {"FINISHED"}
    (arrow,) = [o for o in _arrows() if o.get("milling_setup")]
    assert arrow["milling_part"] == second.name
    label = _answer(second).label
    side = second.matrix_world.to_3x3() @ Vector(direction(label).astype(float))
    pointing = np.asarray(arrow.matrix_world.to_3x3().col[2])
    assert pointing @ -np.asarray(side) > 0.999


def test_the_python_backend_gives_the_same_answer(prefs, tmp_path):
    import bpy

    write_stl(tmp_path / "wedge.stl", wedge())
    _import(tmp_path / "wedge.stl")
    assert bpy.ops.milling.predict() == {"FINISHED"}
    by_server = _answer().probabilities
    prefs.backend = "PYTHON"
    assert bpy.ops.milling.predict() == {"FINISHED"}
    np.testing.assert_allclose(_answer().probabilities, by_server, atol=1e-5)
    assert "v2" in _answer().model


def _select(name):
    import bpy

    for o in bpy.context.view_layer.objects:
        o.select_set(False)
    bpy.context.view_layer.objects.active = bpy.data.objects.get(name) if name else None


FAULTS = {
    "no active object": (None, {}, "no active object: click the part to predict first"),
    "not a mesh": ("Camera", {}, "Camera is a camera, not a mesh"),
    "empty mesh": ("Empty Mesh", {}, "Empty Mesh: the mesh has no faces"),
    "server not running": ("wedge", {"server_url": "closed"}, "no model server at"),
    "server error": (
        "wedge",
        {"server_url": (500, b'{"message": "boom"}', 0)},
        "answered HTTP 500",
    ),
    "garbage": ("wedge", {"server_url": (200, b"\x00\x01garbage", 0)}, "not a prediction"),
    "other classes": (
        "wedge",
        {"server_url": (200, json.dumps({"predictions": [{"label": "a", "a": 1.0}]}).encode(), 0)},
        "is it a Milling Directions",
    ),
    "timeout": (
        "wedge",
        {"server_url": (200, json.dumps(GOOD).encode(), 5), "timeout": 1.0},
        "did not answer within 1 s",
    ),
    "online access off": ("wedge", {"server_url": "http://192.0.2.1:5001"}, "online access is off"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_leave_the_scene_as_it_was(prefs, tmp_path, fault):
    import bpy

    name, settings, message = FAULTS[fault]
    write_stl(tmp_path / "wedge.stl", wedge())
    _import(tmp_path / "wedge.stl")
    empty = bpy.data.objects.new("Empty Mesh", bpy.data.meshes.new("Empty Mesh"))
    bpy.context.scene.collection.objects.link(empty)
    _select("wedge")
    assert bpy.ops.milling.predict() == {"FINISHED"}  # an earlier answer, by the good server
    servers = []
    for key, value in settings.items():
        if key == "server_url" and isinstance(value, tuple):
            server, value = serve(*value)
            servers.append(server)
        elif value == "closed":
            server, value = serve(200, b"")
            server.shutdown()
            server.server_close()
        setattr(prefs, key, value)
    _select(name)
    props = bpy.context.scene.milling
    before = _state()
    try:
        with pytest.raises(RuntimeError, match=message):
            bpy.ops.milling.predict()
    finally:
        for server in servers:
            server.shutdown()
    assert _state() == before
    assert not _arrows()
    assert message in props.status and props.status_error  # in the panel, selection faults too
    if name == "wedge":  # its earlier answer is not left as the answer to this Predict
        assert _answer(bpy.data.objects["wedge"]) is None
    bpy.data.objects.remove(empty)


def test_command_line_uses_the_same_path(prefs, trained, scoring_server, tmp_path):
    write_stl(tmp_path / "wedge.stl", wedge())
    (tmp_path / "bad.stl").write_bytes(b"solid nothing\nendsolid\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "blender_addon",
            "predict",
            str(tmp_path / "wedge.stl"),
            str(tmp_path / "bad.stl"),
            "--server",
            scoring_server,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 1
    (line,) = [json.loads(s) for s in result.stdout.splitlines()]
    assert set(line) == set(JSON_KEYS)
    expected = _trainer_predict(tmp_path / "wedge.stl", trained["store"])
    assert line["label"] == expected["label"] and line["model_uri"] == scoring_server
    for c in CLASSES:
        assert line["probabilities"][c] == pytest.approx(expected["probabilities"][c], abs=1e-5)
    assert "bad.stl: ASCII STL contains no facets" in result.stderr


def test_builtin_model_answers_without_tensorflow_keras_or_mlflow(tmp_path):
    """`predict --model builtin` (and no option at all): the model inside the add-on, with
    the trainer's libraries unimportable, as in Blender's own Python, and without bpy."""
    from blender_addon.inference import builtin

    env = blocked_env(tmp_path / "block", ("tensorflow", "keras", "mlflow", "trainer", "bpy"))
    blocked = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True
    )
    assert blocked.returncode != 0 and "ModuleNotFoundError" in blocked.stderr
    write_stl(tmp_path / "wedge.stl", wedge())
    write_stl(tmp_path / "block.stl", box(hi=(3, 1, 0.5)))
    parts = [str(tmp_path / "wedge.stl"), str(tmp_path / "block.stl")]
    model = builtin.load()
    for flags in (["--model", "builtin"], []):
        result = subprocess.run(
            [sys.executable, "-m", "blender_addon", "predict", *parts, *flags],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0 and not result.stderr, result.stderr
        lines = [json.loads(s) for s in result.stdout.splitlines()]
        assert [line["input"] for line in lines] == parts
        for line, mesh in zip(lines, (wedge(), box(hi=(3, 1, 0.5))), strict=True):
            assert line["model_uri"] == "builtin:face-normals"
            assert line["model_version"] == model.version
            expected = model.predict(mesh).probabilities
            for c in CLASSES:
                assert line["probabilities"][c] == pytest.approx(expected[c], abs=1e-6)
