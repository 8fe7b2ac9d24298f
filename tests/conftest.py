"""Fixtures shared across test folders: one small trained registry and its scoring server.

Training a real (tiny) EfficientNet costs about a minute of tracing per run on the CPU, so the
three runs that the trainer tests need are made once per session and reused by the Blender
prediction tests."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
USER_PREFIXES = ("RAY_", "KERAS_", "MLFLOW_", "XDG_", "MPL")
"""Settings a developer's shell may carry that would make a test pass or fail here only."""


def _hermetic_home() -> Path | None:
    """Give the whole run an empty HOME and per-user config and cache folders of its own, made
    once in the first process (xdist workers inherit them): nothing a developer's machine holds
    (~/.ray, ~/.keras, MLflow's and matplotlib's settings) can make a test pass, and no test
    writes into the real home. Returns the folder this process made, if it made one."""
    if os.environ.get("MILLING_TEST_HOME"):
        return None
    home = Path(tempfile.mkdtemp(prefix="milling-test-home-"))
    real = os.path.expanduser("~")
    for name in [n for n in os.environ if n.startswith(USER_PREFIXES)]:
        del os.environ[name]
    os.environ.update(MILLING_TEST_HOME=str(home), MILLING_REAL_HOME=real, **user_env(home))
    return home


def user_env(home: Path) -> dict[str, str]:
    """The variables that make `home` a user's home folder, with its config and cache folders:
    a test that runs a command as another user (a new machine) sets all of them, not HOME
    alone."""
    return {
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "XDG_DATA_HOME": str(home / ".local/share"),
        "XDG_STATE_HOME": str(home / ".local/state"),
        "KERAS_HOME": str(home / ".keras"),
        "MPLCONFIGDIR": str(home / ".config/matplotlib"),
    }


_MADE_HOME = _hermetic_home()
STARTING_ENV = dict(os.environ)
"""The environment every test process starts from (MLflow sets MLFLOW_* as tests run)."""


def pytest_unconfigure(config):
    if _MADE_HOME is not None:
        shutil.rmtree(_MADE_HOME, ignore_errors=True)


def run_module(module: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m MODULE ARGS...` in the checkout, its output captured as text."""
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def trained(tmp_path_factory):
    """Three runs into one fresh store: a weak one, a good one, a weak one on another split.

    The good one (v2) ends as the champion.
    """
    from samples.datasets import write_dataset
    from trainer.config import TrainConfig
    from trainer.training.train import train

    tmp = tmp_path_factory.mktemp("trained")
    folder = tmp / "data"
    write_dataset(folder, parts=40, variants=2, size=100)
    store = f"sqlite:///{tmp / 'mlflow.db'}"

    def config(**kw):
        return TrainConfig(
            **(
                {
                    "data": folder,
                    "weights": "none",
                    "image_size": 64,
                    "epochs": 1,
                    "patience": 15,
                    "tracking_uri": store,
                    "progress": False,
                }
                | kw
            )
        )

    first = train(config())
    good = train(config(epochs=15))
    weak = train(config(split_seed=1))
    return {
        "folder": folder,
        "store": store,
        "tmp": tmp,
        "first": first,
        "good": good,
        "weak": weak,
    }


@pytest.fixture(scope="session")
def scoring_server(trained):
    """`python -m trainer serve` for the champion of `trained`, on a free port of 127.0.0.1."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "trainer",
            "serve",
            "--port",
            str(port),
            "--tracking-uri",
            trained["store"],
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2)
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                message = f"the scoring server did not start: {server.stderr.read()}"
                raise RuntimeError(message) from None
            time.sleep(1)
    yield url
    if server.poll() is None:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)


def pytest_collection_modifyitems(config, items):
    """Tests marked `slow` first: with `make test`'s two xdist workers (`-n 2 --dist
    loadgroup`), no long test starts last and keeps one worker busy while the other idles.
    Nothing is skipped or deselected. (The tests that share the session's trained registry
    carry `xdist_group("trained")`, so that one worker trains it once.)"""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
