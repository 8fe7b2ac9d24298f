import tomllib
import zipfile

from blender_addon.package import build_zip


def test_zip_carries_the_addon_and_its_own_shared(tmp_path):
    path = build_zip(tmp_path)
    names = set(zipfile.ZipFile(path).namelist())
    manifest = tomllib.loads(zipfile.ZipFile(path).read("blender_manifest.toml").decode())
    assert path.name == f"{manifest['id']}-{manifest['version']}.zip"
    assert manifest["blender_version_min"] >= "4.2.0"
    assert {"__init__.py", "render.py", "interface.py", "operators/render_selected.py"} <= names
    assert {"shared/stl.py", "shared/classes.py", "shared/metaimage.py"} <= names
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    assert "cli.py" not in names and "package.py" not in names
