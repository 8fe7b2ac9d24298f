"""Blender tests: the real `bpy` module (PyPI), rendering with Cycles on the CPU, and the
Embree engine beside it (the `renderer` fixture runs a test on both)."""

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
    from blender_addon.render import MetaImageRenderer

    r = MetaImageRenderer(600)
    yield r
    r.close()


@pytest.fixture(scope="session")
def embree():
    from blender_addon.raycast import RaycastRenderer

    with RaycastRenderer(600) as r:
        yield r


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
