"""`demo.py` (what `make demo` runs), end to end on a tiny configuration."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from bench import results
from bench.real import read_labels
from shared import classes, manifest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]


def test_demo_runs_every_stage_and_prints_the_table(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "demo.py",
            *("--out", str(tmp_path / "demo"), "--parts", "15", "--unseen", "5", "--new", "3"),
            *("--size", "100", "--image-size", "32", "--epochs", "1", "--no-rotations"),
            *("--held-out", "disc", "--held-out-parts", "5", "--multi", "8"),
            *("--unseen-multi", "4", "--record", str(tmp_path / "records")),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    text = out.stdout
    table = text.split("== new parts")[1].split("== stage times")[0].splitlines()[2:]
    rows = [line.split() for line in table if line.strip()]
    truths = dict(
        line.split(",")[:2]
        for line in (tmp_path / "demo/parts_new/labels.csv").read_text().splitlines()[1:]
    )
    assert [r[0] for r in rows] == list(truths)
    for row in rows:
        assert row[1] == truths[row[0]]
        assert row[2] in classes.CLASSES and row[3].endswith("%")
    assert "face-normal model: accuracy" in text and "image model: accuracy" in text
    held_out = text.split("== held-out family: disc")[1].split("== real parts")[0]
    assert held_out.count("model: accuracy") == 2 and "on 5 meta-images" in held_out
    real = text.split("== real parts")[1].split("== setup plans")[0]
    kinds = [row["kind"] for row in read_labels()]
    one, multi = kinds.count("one"), kinds.count("multi")
    names = ("built-in model", "face-normal champion", "image champion", "setup analysis")
    for name in names:
        line = next(x for x in real.splitlines() if x.strip().startswith(name))
        assert f"on {5 * one} one-setup cases" in line and f"of {multi} parts" in line, line
    planned = text.split("== setup plans")[1].split("confusion")[0]
    for name in (
        "image model",
        "face-normal model",
        "built-in model",
        "setup analysis",
        "tool-aware analysis",
    ):
        line = next(x for x in planned.splitlines() if x.strip().startswith(name))
        assert "real multi-setup parts: exact " in line and "primary " in line, line
    assert planned.count("unseen multi-side blocks: exact ") == 2
    rows = manifest.read(tmp_path / "demo/images_train/manifest.csv")
    assert any(len(r.plan.split()) > 1 for r in rows)  # plans of several sides
    families = {
        line.split(",")[2]
        for line in (tmp_path / "demo/parts_train/labels.csv").read_text().splitlines()[1:]
    }
    assert "disc" not in families
    for stage in ("render: train", "train: image model", "train: face-normal model", "total"):
        assert stage in text.split("== stage times")[1]
    assert "mlflow ui --backend-store-uri sqlite:///" in text
    # bench/real.py recorded each champion's real-part scores and gave the better one `best`
    store = f"sqlite:///{tmp_path / 'demo' / 'mlflow.db'}"
    client = MlflowClient(store, registry_uri=store)
    names = ("milling-directions", "milling-directions-face-normals")
    champions = {n: client.get_model_version_by_alias(n, "champion") for n in names}
    real = {
        n: (float(v.tags["real_plan_exact"]), float(v.tags["real_accuracy"]))
        for n, v in champions.items()
    }
    crowned = [n for n in names if "best" in client.get_registered_model(n).aliases]
    assert len(crowned) == 1 and real[crowned[0]] == max(real.values()), (crowned, real)
    assert client.get_model_version_by_alias(crowned[0], "best").version == (
        champions[crowned[0]].version
    )
    (path,) = (tmp_path / "records").glob("*-demo.json")  # --record DIR: the Results' record
    record = json.loads(path.read_text())
    glance = record["tables"][0]
    assert [row[0] for row in glance["rows"]] == [
        "image model",
        "face-normal model",
        "built-in model",
        "setup analysis",
        "tool-aware analysis",
    ]
    unseen = text.split("== unseen parts")[1].split("==")[0]
    shown = results.show(glance["rows"][0][3], glance["columns"][3]["format"])
    assert f"image model: accuracy {shown.replace(' ', '')}" in unseen
    assert record["command"].startswith("python demo.py") and record["commit"]
    assert (tmp_path / "demo/mlflow.db").stat().st_size > 0
