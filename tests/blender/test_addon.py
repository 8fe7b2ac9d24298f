"""The built extension zip installs into Blender, enables, and its operators work."""

import json
import os
import subprocess
import sys
from pathlib import Path

from blender_addon.package import build_zip
from samples.meshes import wedge
from shared import manifest
from shared.stl import write_stl
from tests.blender.conftest import ROOT, colours, load


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
    env["HOME"] = str(home)
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
