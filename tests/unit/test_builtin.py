"""The built-in model shipped in the add-on (blender_addon/models): it loads with numpy alone,
is the file its metadata names, answers parts it never saw, and says clearly when damaged."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from blender_addon.inference import builtin
from shared import classes, rotations
from shared.geometry.stl import read_stl
from trainer.synth import parts

SHIPPED = builtin.FOLDER


def test_the_shipped_files_are_the_ones_the_metadata_names():
    meta = json.loads((SHIPPED / builtin.METADATA).read_text())
    digest = hashlib.sha256((SHIPPED / builtin.WEIGHTS).read_bytes()).hexdigest()
    assert meta["model_version"].endswith(digest[:8])
    assert meta["classes"] == list(classes.CLASSES) and meta["command"].startswith("python")
    model = builtin.load(SHIPPED)
    assert model.uri == "builtin:face-normals" and model.version == meta["model_version"]
    assert [list(k.shape) for k, _ in model.layers] == meta["layers"]


def test_the_shipped_model_answers_parts_of_every_family_it_never_saw(tmp_path):
    """Another seed than `make model` used, every family, each part in 5 label-keeping poses."""
    parts.generate(parts.PartsConfig(count=70, seed=9090, out=tmp_path, progress=False))
    model = builtin.load(SHIPPED)
    right = total = 0
    for row in (tmp_path / parts.LABELS_FILE).read_text().splitlines()[1:]:
        name, label = row.split(",")[:2]
        triangles = read_stl(tmp_path / name).triangles
        for _, matrix, new_label in rotations.label_preserving(label)[::4]:
            answer = model.predict(triangles @ matrix.T)
            assert abs(sum(answer.probabilities.values()) - 1) < 1e-5
            right += answer.label == new_label
            total += 1
    assert total == 350 and right / total >= 0.9, right / total


def test_a_missing_or_damaged_model_is_named(tmp_path):
    with pytest.raises(
        builtin.BuiltinError, match=r"face_normals\.npz: the built-in model is missing"
    ):
        builtin.load(tmp_path)
    (tmp_path / builtin.WEIGHTS).write_bytes(b"not a zip")
    (tmp_path / builtin.METADATA).write_text("{}")
    with pytest.raises(builtin.BuiltinError, match=r"face_normals\.npz: not a usable built-in"):
        builtin.load(tmp_path)
    layers = builtin.load(SHIPPED).layers
    np.savez(tmp_path / builtin.WEIGHTS, kernel_0=layers[0][0], bias_0=layers[0][1])
    with pytest.raises(builtin.BuiltinError, match="do not end in 5 classes"):
        builtin.load(tmp_path)


def test_a_checkout_python_finds_its_store(tmp_path):
    from blender_addon.inference.client import find_store

    python = tmp_path / "repo" / ".venv" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.touch()
    assert find_store(str(python)) == ("", str(tmp_path / "repo"))
    (tmp_path / "repo" / "mlflow.db").touch()
    store = tmp_path / "repo" / "build" / "demo" / "mlflow.db"
    assert find_store(str(python))[0] == f"sqlite:///{tmp_path / 'repo' / 'mlflow.db'}"
    store.parent.mkdir(parents=True)
    store.touch()
    assert find_store(str(python)) == (f"sqlite:///{store}", str(tmp_path / "repo"))
    assert find_store("/usr/bin/python3") == ("", "")


def test_an_old_blender_gets_one_line():
    import tomllib

    from blender_addon import cli

    manifest = tomllib.loads(Path(cli.__file__).with_name("blender_manifest.toml").read_text())
    assert ".".join(map(str, cli.MIN_BLENDER)) == manifest["blender_version_min"]
    assert cli.blender_too_old((3, 4, 1), "3.4.1") == (
        "error: Milling Directions needs Blender 4.2.0 or newer; this is 3.4.1"
    )
    assert cli.blender_too_old((4, 2, 0), "4.2.0") == ""


def test_every_blender_command_line_exits_non_zero_on_failure():
    root = Path(__file__).resolve().parents[2]
    docs = [p.relative_to(root).as_posix() for p in (root / "docs").rglob("*.md")]
    for doc in ("README.md", "DESIGN.md", "blender_addon/cli.py", *docs):
        for line in (root / doc).read_text().splitlines():
            if "blender --background" in line:
                assert "--python-exit-code 1" in line, (doc, line)
