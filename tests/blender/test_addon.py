"""The built extension zip installs into Blender, enables, and its operators work."""

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np

from blender_addon.package import build_zip
from samples.meshes import wedge
from shared import manifest
from shared.classes import CLASSES
from shared.geometry.stl import write_stl
from tests.blender.conftest import ROOT, blocked_env, colours, load
from tests.conftest import user_env


def test_built_zip_installs_and_its_operators_run(tmp_path):
    zip_path = build_zip(tmp_path / "dist")
    parts = tmp_path / "parts"
    parts.mkdir()
    write_stl(parts / "good.stl", wedge())
    (parts / "bad.stl").write_bytes(b"solid broken\n  facet normal 0 0 1\nendsolid\n")
    home = tmp_path / "home"
    home.mkdir()
    # a clean environment: only the zip may provide the add-on (no repository on the path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(user_env(home))
    env["TMPDIR"] = str(tmp_path / "tmp")  # where an unsaved file's meta-images go
    (tmp_path / "tmp").mkdir()
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests/blender/addon_session.py"),
            str(zip_path),
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    line = next((s for s in result.stdout.splitlines() if s.startswith("FACTS ")), None)
    assert line, result.stdout + result.stderr
    facts = json.loads(line[len("FACTS ") :])

    assert facts["enabled"] and facts["panel"]
    assert facts["module_file"].startswith(str(home))  # loaded from the installed zip

    # Render Selected's defaults: no silent label; an unsaved file writes to the temp folder
    assert facts["default_label"] == "NONE" and facts["default_output"] == "//meta_images/"
    unsaved = tmp_path / "tmp" / "milling_meta_images" / "meta_images"
    assert facts["render_unsaved"] == [["FINISHED"], ""]
    assert facts["unsaved_job_status"] == f"1 meta-image(s) written to {unsaved}"
    rows = manifest.read(unsaved / "manifest.csv")
    assert [(r.image, r.label) for r in rows] == [("Cube.png", "")]
    assert not (tmp_path / "meta_images").exists()  # not in Blender's working folder

    # the first Predict: the built-in model answers, no server or trainer set up
    assert facts["backend"] == "BUILTIN" and facts["predict"] == [["FINISHED"], ""]
    label, probabilities, plan, model = facts["predicted"]
    assert label in CLASSES and plan[0] == label and model.startswith("built-in model (v")
    assert facts["predict_status"] == ["", False]  # the Answer panel shows the answer
    assert abs(sum(probabilities) - 1) < 1e-5
    assert "good" in facts["objects_after_predict"]
    assert not any("Setup" in n for n in facts["objects_after_predict"])  # drawn, not objects
    assert facts["add_objects"] == [["FINISHED"], ""]  # unless asked for
    material_colour, object_colour = facts["arrow_colours"]
    for colour in (material_colour, object_colour):  # the material's: what Solid view shows
        assert np.allclose(colour, facts["setup_colour"], atol=1e-6)
    assert facts["render_selected"] == [["FINISHED"], ""]
    assert facts["scene_untouched"] and facts["scenes"] == ["Scene"]
    image = load(tmp_path / "selected" / "Cube.png")
    assert image.shape == (100, 100, 3) and len(colours(image)) == 7
    rows = manifest.read(tmp_path / "selected" / "manifest.csv")
    assert [(r.image, r.label, r.part_id) for r in rows] == [("Cube.png", "+Z", "Cube")]

    assert facts["import_bad"][0] == ["CANCELLED"]
    assert "bad.stl: ASCII STL: line 3: expected 'outer'" in facts["import_bad"][1]
    assert facts["import_good"] == [["FINISHED"], ""] and facts["active"] == "good"

    assert facts["render_folder"] == [["FINISHED"], ""]  # the bad file is a warning
    folder_status, folder_error, running = facts["folder_job"]  # the final report, not "1 / 1"
    assert folder_status.startswith("1 meta-images rendered, 0 up to date, 1 failed -> ")
    assert folder_error and not running
    assert [r.image for r in manifest.read(tmp_path / "folder" / "manifest.csv")] == ["good.png"]
    assert facts["disabled"]


def test_blenders_own_validator_accepts_the_zip(tmp_path):
    """The validator that `blender --command extension validate` and extensions.blender.org
    run, as shipped inside the bpy package."""
    import bpy

    scripts = Path(bpy.utils.system_resource("SCRIPTS"))
    found = [scripts / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"]
    assert found[0].is_file(), "Blender's extension validator is not in the bpy package"
    zip_path = build_zip(tmp_path)
    result = subprocess.run(
        [sys.executable, str(found[-1]), "validate", str(zip_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "FATAL" not in result.stdout + result.stderr, (
        result.stdout + result.stderr
    )


def test_the_zip_builds_with_python_alone(tmp_path):
    """`make addon` on a fresh clone: no numpy, bpy or trainer, and the zip is whole."""
    env = blocked_env(tmp_path / "block", ("numpy", "bpy", "tensorflow", "keras", "mlflow"))

    def package(out: Path) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "blender_addon.package", "--out", str(out)]
        return subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    out = tmp_path / "dist"
    done = package(out)
    assert done.returncode == 0, done.stderr
    (made,) = out.iterdir()  # the zip alone: no temporary file left
    assert done.stdout.strip() == str(made) and made.suffix == ".zip"
    names = zipfile.ZipFile(made).namelist()
    assert names == zipfile.ZipFile(build_zip(tmp_path / "again")).namelist()
    assert "blender_manifest.toml" in names and "shared/classes.py" in names
    (out / "blocked").mkdir()
    failed = package(out / made.name)  # a file where the folder should be
    assert failed.returncode == 1 and failed.stderr.startswith(f"error: {out / made.name}: ")
    assert "Traceback" not in failed.stderr
