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


def test_the_import_contracts_hold():
    """.importlinter: no cycles; bpy, Keras/TensorFlow and MLflow each in their place; the
    halves apart; the layers of trainer/ and blender_addon/ (DESIGN.md, 'Layout')."""
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "0 broken" in done.stdout


@pytest.mark.parametrize("folder", ["bench", "samples"])
def test_benchmarks_and_samples_never_import_the_tests(folder):
    assert "tests" not in _imports(folder)


def _project_files():
    for top in ("shared", "trainer", "blender_addon", "samples", "bench", "tests"):
        yield from (p for p in (ROOT / top).rglob("*.py") if "__pycache__" not in p.parts)
    yield from ROOT.glob("*.py")


def test_no_folder_holds_more_than_twelve_modules():
    counts: dict[str, int] = {}
    for path in _project_files():
        if path.name != "__init__.py":
            key = path.parent.relative_to(ROOT).as_posix()
            counts[key] = counts.get(key, 0) + 1
    assert {k: n for k, n in counts.items() if n > 12} == {}
    assert counts["trainer/training"] >= 5  # the count sees the packages


@pytest.mark.parametrize("folder", ["tests/unit", "tests/shared", "tests/architecture"])
def test_the_light_tests_import_neither_bpy_nor_tensorflow(folder):
    """These tiers run without bpy or TensorFlow (the trainer's CLI and configs load without)."""
    found = _imports(folder)
    assert not {"bpy", "mathutils", "keras", "tensorflow"} & set(found)


def test_no_file_is_over_400_lines():
    long = {
        p.relative_to(ROOT).as_posix(): n
        for p in _project_files()
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert long == {}


def test_command_line_and_planning_load_without_bpy():
    code = (
        "import sys, blender_addon, blender_addon.cli, blender_addon.batch.runner;"
        "import blender_addon.package;"
        "import shared.geometry.stl, shared.metaimage, shared.manifest;"
        "assert 'bpy' not in sys.modules and 'numpy' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
