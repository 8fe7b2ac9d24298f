"""The team set-up: train -> register -> promote -> serve -> predict against a real
`mlflow server` process on 127.0.0.1 (sqlite backend, artifacts served by the server), the same
code path as a team's server with PostgreSQL and object storage."""

import base64
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from samples.datasets import write_dataset
from tests.conftest import free_port

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ENV = dict(
    os.environ,
    PYTHONPATH=str(ROOT),
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
)


def _start(args: list[str], url: str, cwd: Path, ping: str) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, *args],
        cwd=cwd,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while True:
        try:
            urllib.request.urlopen(f"{url}{ping}", timeout=2)
            return proc
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[:3]} did not start: {proc.stderr.read()}") from None
            time.sleep(1)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)


def _trainer(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )


def test_whole_path_through_a_real_tracking_server(tmp_path):
    data, work, artifacts = tmp_path / "data", tmp_path / "work", tmp_path / "server_artifacts"
    write_dataset(data, parts=15, variants=2, size=60)
    work.mkdir()
    port = free_port()
    tracking = f"http://127.0.0.1:{port}"
    server = _start(
        [
            *("-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port)),
            *("--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}"),
            *("--artifacts-destination", str(artifacts)),
        ],
        tracking,
        tmp_path,
        "/health",
    )
    try:
        common = ["--tracking-uri", tracking]
        trained = _trainer(
            work, "train", "--data", str(data), "--weights", "none", "--image-size", "32",
            "--epochs", "1", "--quiet", *common,
        )  # fmt: skip
        assert trained.returncode == 0, trained.stderr[-2000:]
        assert "v1 is the first champion" in trained.stderr
        again = _trainer(
            work, "train", "--data", str(data), "--weights", "none", "--image-size", "32",
            "--epochs", "1", "--seed", "1", "--quiet", *common,
        )  # fmt: skip
        assert again.returncode == 0 and "version 2" in again.stderr, again.stderr[-2000:]
        promoted = _trainer(work, "promote", "--version", "2", *common)
        assert promoted.returncode == 0 and "v2 promoted by hand" in promoted.stdout

        image = sorted(data.glob("*.png"))[0]
        predicted = _trainer(work, "predict", str(image), "--json", *common)
        assert predicted.returncode == 0, predicted.stderr[-2000:]
        answer = json.loads(predicted.stdout)
        assert answer["model_version"] == "2" and answer["label"] in answer["probabilities"]

        serve_port = free_port()
        scoring = _start(
            ["-m", "trainer", "serve", "--port", str(serve_port), *common],
            f"http://127.0.0.1:{serve_port}",
            work,
            "/ping",
        )
        try:
            body = json.dumps(
                {
                    "dataframe_split": {
                        "columns": ["image"],
                        "data": [[base64.b64encode(image.read_bytes()).decode()]],
                    }
                }
            ).encode()
            request = urllib.request.Request(
                f"http://127.0.0.1:{serve_port}/invocations",
                body,
                {"Content-Type": "application/json"},
            )
            row = json.loads(urllib.request.urlopen(request, timeout=120).read())["predictions"][0]
            assert row["label"] == answer["label"]
            assert abs(row[answer["label"]] - answer["probabilities"][answer["label"]]) < 1e-5
        finally:
            _stop(scoring)
    finally:
        _stop(server)
    assert any(p.name == "model.keras" for p in artifacts.rglob("*"))  # stored by the server
    assert not (work / "mlruns").exists() and not (work / "mlflow.db").exists()
