import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

from blender_addon.package import build_zip

ROOT = Path(__file__).resolve().parents[2]


def test_zip_carries_the_addon_and_its_own_shared(tmp_path):
    path = build_zip(tmp_path)
    names = set(zipfile.ZipFile(path).namelist())
    manifest = tomllib.loads(zipfile.ZipFile(path).read("blender_manifest.toml").decode())
    assert path.name == f"{manifest['id']}-{manifest['version']}.zip"
    assert manifest["blender_version_min"] >= "4.2.0"
    assert {
        "__init__.py",
        "render/cycles.py",
        "ui/panel.py",
        "ui/operators/render_selected.py",
    } <= names
    assert {"shared/geometry/stl.py", "shared/classes.py", "shared/metaimage.py"} <= names
    assert {"models/face_normals.npz", "models/face_normals.json", "shared/facenormals.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "cli.py" not in names and "package.py" not in names


def test_a_bundled_shared_that_fails_to_import_names_the_missing_module(tmp_path):
    """A Blender whose Python lacks a dependency of shared/ (numpy on Debian's build) must hear
    about that module, not that 'shared' is missing."""
    addon = tmp_path / "milling_directions"
    (addon / "shared").mkdir(parents=True)
    (addon / "__init__.py").write_text("")
    shutil.copy(ROOT / "blender_addon" / "_shared.py", addon / "_shared.py")
    (addon / "shared" / "__init__.py").write_text("import numpy_that_is_not_installed\n")
    result = subprocess.run(
        [sys.executable, "-c", "import milling_directions._shared"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1
    assert "No module named 'numpy_that_is_not_installed'" in result.stderr
