"""`render --cluster` and Ray's token authentication, as on a new machine: with no cluster, `auto`
starts a local one (Ray makes the token); a cluster that needs a token this machine lacks, or
refuses the one it has, gives one line and exit 2, and writes nothing."""

import os
import subprocess
from pathlib import Path

import pytest

from tests.blender.test_batch import _good_parts
from tests.conftest import user_env
from tests.scale.test_cluster import RAY, _render, start_head, stop_ray

# after test_cluster.py's cluster is stopped, on the same xdist worker
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray")]


def _run(tmp_path: Path, out: str, cluster: str, **env: str) -> tuple[int, str]:
    run = _render(
        str(tmp_path / "parts"),
        "--out",
        str(tmp_path / out),
        "--size",
        "100",
        "--cluster",
        cluster,
        env={"RAY_USAGE_STATS_ENABLED": "0", **env},
    )
    _, err = run.communicate(timeout=600)
    return run.returncode, err


def test_auto_on_a_new_machine_starts_a_local_cluster_with_its_token(tmp_path):
    _good_parts(tmp_path / "parts", 2)
    home = tmp_path / "home"
    home.mkdir()
    code, err = _run(tmp_path, "out", "auto", **user_env(home))
    assert code == 0 and "2 meta-images rendered" in err and "on Ray" in err, err
    assert (home / ".ray" / "auth_token").read_text().strip()  # Ray's own local start made it


@pytest.fixture(scope="module")
def token_cluster(tmp_path_factory):
    """A cluster whose head had a token (`ray get-auth-token --generate`): it needs one."""
    head = tmp_path_factory.mktemp("head")
    env = {**os.environ, **user_env(head)}
    made = subprocess.run(
        [RAY, "get-auth-token", "--generate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert made.returncode == 0, made.stderr
    token = (head / ".ray" / "auth_token").read_text().strip()
    address, client = start_head(head, 1)
    try:
        yield address, client, token
    finally:
        stop_ray()


def test_a_cluster_that_needs_a_token_this_machine_lacks_is_one_line(tmp_path, token_cluster):
    address, client, token = token_cluster
    _good_parts(tmp_path / "parts", 1)
    home = tmp_path / "home"
    home.mkdir()
    for cluster, env, says in (
        ("auto", {"RAY_ADDRESS": address}, "needs a token and this machine has none"),
        (client, {}, "needs a token and this machine has none"),
        (
            "auto",
            {"RAY_ADDRESS": address, "RAY_AUTH_TOKEN": "0" * 32},
            "refuses the token from RAY_AUTH_TOKEN",
        ),
    ):
        code, err = _run(tmp_path, "out", cluster, **user_env(home), **env)
        assert code == 2, err
        assert says in err and "Traceback" not in err, err
        assert len(err.strip().splitlines()) == 1, err
        assert err.startswith("error: --cluster ") and "RAY_AUTH_TOKEN" in err, err
        assert "~/.ray/auth_token" in err, err
        assert not (tmp_path / "out").exists()

    # the cluster's token, from the environment or from ~/.ray/auth_token: it renders
    code, err = _run(
        tmp_path, "by-env", "auto", **user_env(home), RAY_ADDRESS=address, RAY_AUTH_TOKEN=token
    )
    assert code == 0 and "1 meta-images rendered" in err, err
    (home / ".ray").mkdir()
    (home / ".ray" / "auth_token").write_text(token)
    code, err = _run(tmp_path, "by-file", client, **user_env(home))
    assert code == 0 and "1 meta-images rendered" in err, err
    assert (tmp_path / "by-env" / "good0.png").read_bytes() == (
        tmp_path / "by-file" / "good0.png"
    ).read_bytes()
