"""Rendering on Ray: a local cluster of two CPU slots started with `ray start`, one of its render
workers killed mid-batch; the dataset comes out complete and byte-identical to one machine's."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from shared import manifest
from tests.blender.conftest import ROOT
from tests.blender.test_batch import _files, _good_parts
from tests.conftest import free_port, user_env

# one cluster for the module, on one xdist worker (`ray stop` ends every cluster of the machine)
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]
RAY = str(Path(sys.executable).with_name("ray"))


def start_head(home: Path, cpus: int) -> tuple[str, str]:
    """`ray start --head` as a user of this machine whose home is `home`: (its address, its
    Ray Client address)."""
    port, client = free_port(), free_port()
    started = subprocess.run(
        [
            *(RAY, "start", "--head", "--port", str(port), "--num-cpus", str(cpus)),
            *("--ray-client-server-port", str(client)),
            *("--include-dashboard=false", "--disable-usage-stats"),
        ],
        env={**os.environ, **user_env(home), "RAY_USAGE_STATS_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr[-3000:]
    return f"127.0.0.1:{port}", f"ray://127.0.0.1:{client}"


def stop_ray() -> None:
    subprocess.run([RAY, "stop", "--force"], capture_output=True, timeout=120)


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A Ray cluster on this machine with two CPU slots, started as a user on a new machine
    would: an empty home, nothing in ~/.ray. (address, Ray Client address, that user's HOME)."""
    home = tmp_path_factory.mktemp("new-user")
    address, client = start_head(home, 2)
    # Ray 2.60 on a new machine: no token, so the cluster runs without authentication
    assert not (home / ".ray" / "auth_token").exists()
    try:
        yield address, client, user_env(home)
    finally:
        stop_ray()


def _render(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "blender_addon", "render", *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _render_actors() -> list[int]:
    ps = subprocess.run(["ps", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    return [int(line.split()[0]) for line in ps.splitlines() if "ray::RenderActor" in line]


def test_a_killed_worker_is_replaced_and_the_dataset_is_one_machines(tmp_path, ray_cluster):
    parts = _good_parts(tmp_path / "parts", 10)
    labels = tmp_path / "labels.csv"
    labels.write_text(
        "file,label\n"
        + "".join(f"parts/good{i}.stl,{'+X' if i % 2 else '-Y'}\n" for i in range(10))
    )
    common = [str(parts), "--labels", str(labels), "--rotations", "--size", "300"]
    single = tmp_path / "single"
    one = _render(*common, "--out", str(single))
    assert one.wait(timeout=600) == 0, one.stderr.read()

    out = tmp_path / "ray"
    env = {"RAY_ADDRESS": ray_cluster[0], **ray_cluster[2]}
    run = _render(*common, "--out", str(out), "--cluster", "auto", env=env)
    deadline = time.monotonic() + 300
    while not list(out.glob("*.png")):  # one part done: the others are being rendered
        assert run.poll() is None, run.stderr.read()
        assert time.monotonic() < deadline, "no image from the cluster"
        time.sleep(0.05)
    actors = _render_actors()
    while len(actors) < 2 and run.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # under load the second actor can start after the first image
        actors = _render_actors()
    assert len(actors) == 2, actors  # one per CPU slot of the cluster
    os.kill(actors[0], signal.SIGKILL)
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    assert "its cluster worker was lost; sending it again" in err
    assert "200 meta-images rendered, 0 up to date, 0 failed" in err and "on Ray" in err

    assert _files(out) == _files(single)
    for name in _files(single):
        assert (out / name).read_bytes() == (single / name).read_bytes(), name
    assert len(manifest.read(out / "manifest.csv")) == 200


def test_ray_client_address_gives_the_same_dataset(tmp_path, ray_cluster):
    parts = _good_parts(tmp_path / "parts", 3)
    common = [str(parts), "--size", "100"]
    single, remote = tmp_path / "single", tmp_path / "remote"
    assert _render(*common, "--out", str(single)).wait(timeout=600) == 0
    run = _render(*common, "--out", str(remote), "--cluster", ray_cluster[1], env=ray_cluster[2])
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0 and "3 meta-images rendered" in err, err
    assert _files(remote) == _files(single)
    for name in _files(single):
        assert (remote / name).read_bytes() == (single / name).read_bytes(), name


def test_cluster_usage_errors_are_one_line_and_write_nothing(tmp_path):
    parts = _good_parts(tmp_path / "parts", 1)
    for bad, says in (
        (["--cluster", "10.0.0.1:6379"], "expected auto or ray://HOST:PORT"),
        (["--cluster", "auto", "--workers", "2"], "the cluster's CPU slots are the workers"),
    ):
        run = _render(str(parts), "--out", str(tmp_path / "out"), *bad)
        _, err = run.communicate(timeout=120)
        assert run.returncode == 2 and says in err and "Traceback" not in err, err
        assert not (tmp_path / "out").exists()
