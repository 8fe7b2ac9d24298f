"""The suite runs in a home of its own (tests/conftest.py): HOME and the per-user config and cache
folders point into one temporary folder, and what Keras, Ray, MLflow and matplotlib look up
there is never the real home's."""

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

from tests.conftest import ROOT, STARTING_ENV, USER_PREFIXES, user_env

PROBE = textwrap.dedent(
    """
    import json, os, sys
    real = os.environ["MILLING_REAL_HOME"]
    watched = tuple(os.path.join(real, name) for name in (".ray", ".keras", ".mlflow",
                                                            ".config", ".cache"))
    opened = []

    def hook(event, args):
        if event in ("open", "os.listdir", "os.scandir") and args and args[0] is not None:
            path = os.fsdecode(args[0]) if isinstance(args[0], (str, bytes, os.PathLike)) else ""
            if os.path.abspath(path).startswith(watched):
                opened.append(path)

    sys.addaudithook(hook)
    import keras.src.backend.config as keras_config
    import matplotlib
    import mlflow
    from blender_addon.batch import cluster_auth
    from ray._private.authentication.authentication_token_setup import _get_default_token_path

    found = {
        "keras": keras_config.keras_home(),
        "matplotlib": matplotlib.get_configdir(),
        "matplotlib_cache": matplotlib.get_cachedir(),
        "ray_token": str(_get_default_token_path()),
        "mlflow": mlflow.get_tracking_uri(),
        "project_token": cluster_auth.local_token(),
    }
    print(json.dumps({"found": found, "opened": opened}))
    """
)


def test_home_and_user_folders_are_the_suites_own():
    home = Path(os.environ["HOME"])
    real = Path(os.environ["MILLING_REAL_HOME"])
    assert home == Path(os.environ["MILLING_TEST_HOME"]) != real
    assert home.is_relative_to(tempfile.gettempdir()) and home.name.startswith("milling-test-")
    assert Path("~").expanduser() == home
    for name in ("XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME"):
        assert Path(os.environ[name]).is_relative_to(home), name
    assert Path(os.environ["KERAS_HOME"]).is_relative_to(home)
    assert Path(os.environ["MPLCONFIGDIR"]).is_relative_to(home)
    assert {n: os.environ[n] for n in user_env(home)} == user_env(home)
    # nothing else from the developer's shell: only the suite's own user settings were set
    started = {n for n in STARTING_ENV if n.startswith(USER_PREFIXES)}
    assert started == set(user_env(home)) - {"HOME"}, started


def test_keras_ray_mlflow_and_matplotlib_never_read_the_real_home(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    home = Path(os.environ["HOME"])
    found = answer["found"]
    for name in ("keras", "matplotlib", "matplotlib_cache", "ray_token"):
        assert Path(found[name]).is_relative_to(home), (name, found[name])
    assert found["ray_token"] == str(home / ".ray" / "auth_token")
    assert not found["mlflow"].startswith(os.environ["MILLING_REAL_HOME"]), found["mlflow"]
    # every path the libraries touched while loading, and while looking for Ray's token
    assert answer["opened"] == [], answer["opened"]
