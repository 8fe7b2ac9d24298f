"""Architecture rules: which packages may import what (DESIGN.md, 'Layout')."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STDLIB = set(sys.stdlib_module_names)


def _imports(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], set()).add(path.relative_to(ROOT).as_posix())
    return found


def test_shared_is_pure_python_and_numpy():
    outside = {m for m in _imports("shared") if m not in STDLIB and m != "numpy"}
    assert not outside, f"shared/ imports {outside}"


@pytest.mark.parametrize("folder", ["shared", "trainer", "tests/unit"])
def test_bpy_stays_inside_the_addon(folder):
    found = _imports(folder)
    assert not {"bpy", "mathutils", "bmesh"} & set(found)


@pytest.mark.parametrize("folder", ["shared", "blender_addon"])
def test_ml_libraries_stay_inside_the_trainer(folder):
    found = _imports(folder)
    assert not {"keras", "tensorflow", "mlflow", "PIL", "manifold3d"} & set(found)


def test_mlflow_only_in_the_tracking_modules():
    users = _imports("trainer").get("mlflow", set())
    assert users == {"trainer/tracking.py", "trainer/registry.py", "trainer/mlflow_model.py"}


@pytest.mark.parametrize(
    "folder, forbidden",
    [
        ("blender_addon", {"trainer"}),
        ("trainer", {"blender_addon"}),
        ("shared", {"trainer", "blender_addon"}),
        ("samples", {"trainer", "blender_addon", "tests"}),
        ("bench", {"tests"}),
    ],
)
def test_the_halves_talk_only_through_shared(folder, forbidden):
    """The add-on and the trainer meet in `shared/` and in each other's command lines."""
    found = _imports(folder)
    assert not forbidden & set(found), {m: found[m] for m in forbidden & set(found)}


def test_command_line_and_planning_load_without_bpy():
    code = (
        "import sys, blender_addon, blender_addon.cli, blender_addon.batch, blender_addon.package;"
        "import shared.stl, shared.metaimage, shared.manifest;"
        "assert 'bpy' not in sys.modules and 'numpy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
