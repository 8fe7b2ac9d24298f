"""Blender tests: the real `bpy` module (PyPI), rendering with Cycles on the CPU, and the
Embree engine beside it (the `renderer` fixture runs a test on both)."""

import importlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cycles():
    from blender_addon.render.cycles import MetaImageRenderer

    r = MetaImageRenderer(600)
    yield r
    r.close()


@pytest.fixture(scope="session")
def embree():
    from blender_addon.render.embree import RaycastRenderer

    with RaycastRenderer(600) as r:
        yield r


@pytest.fixture(scope="module")
def addon():
    """The add-on enabled as an add-on, answering with its built-in model; its preferences."""
    import bpy

    addon_utils = importlib.import_module("addon_utils")  # importable once bpy is loaded
    addon_utils.enable("blender_addon", default_set=True)
    prefs = bpy.context.preferences.addons["blender_addon"].preferences
    prefs.backend = "BUILTIN"
    yield prefs
    addon_utils.disable("blender_addon")


@pytest.fixture(params=["cycles", "embree"])
def renderer(request):
    """Every engine offered: each must pass the same exactness tests."""
    return request.getfixturevalue(request.param)


def decode(data: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(data))
    assert image.mode == "RGB"
    return np.asarray(image)


def load(path: Path) -> np.ndarray:
    return decode(Path(path).read_bytes())


def colours(image: np.ndarray) -> set[tuple[int, int, int]]:
    return {tuple(int(v) for v in c) for c in np.unique(image.reshape(-1, 3), axis=0)}


def cli(*args: str, timeout: float = 600, **kwargs) -> subprocess.CompletedProcess:
    """Run `python -m blender_addon ARGS` and capture its output."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "blender_addon", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )


def blocked_env(folder: Path, modules: tuple[str, ...]) -> dict[str, str]:
    """The environment of a Python in which importing any of `modules` fails (Blender's own
    Python has no TensorFlow; a fresh clone has no numpy in the system Python)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "sitecustomize.py").write_text(
        f"import sys\nfor m in {modules!r}:\n    sys.modules[m] = None  # import fails\n"
    )
    return {**os.environ, "PYTHONPATH": str(folder)}


_status = {"exit": 0}


def pytest_sessionfinish(session, exitstatus):
    _status["exit"] = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    """The PyPI `bpy` 4.2 crashes, and 4.5 hangs, when the interpreter exits after an operator
    was registered in the process (any operator: a three-line one does it; unregistering it
    first avoids it, but the add-on's disable does not). 5.0 exits cleanly. There, once every
    other hook has run, leave with pytest's own exit status (`make test-blender BPY=...`)."""
    bpy = sys.modules.get("bpy")
    if bpy is None or hasattr(config, "workerinput") or bpy.app.version >= (5, 0, 0):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_status["exit"])
