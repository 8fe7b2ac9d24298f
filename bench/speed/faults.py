"""Faults survived: bad inputs tried, faults injected, and whether anything was lost.

    python bench/speed/faults.py [--fuzz 20000] [--kills 3] [--train-kills 3]

1. The STL reader on random bytes and mutated valid files (binary and ASCII): how many parsed,
   how many were refused with StlError, how many raised anything else (must be 0), slowest one.
2. One batch render over the broken-mesh corpus of tests/blender/test_corpus.py plus every bad
   file of tests/meshes.py: usable files rendered, bad files named.
3. A batch render killed with SIGKILL at random moments, then resumed, `--kills` times: whether
   the dataset ends byte-identical to an uninterrupted one, with no partial files.
4. A training run killed with SIGKILL `--train-kills` times, each at a random moment after a new
   checkpoint, and continued with `train --resume`: whether it ends one finished MLflow run with
   every epoch logged and one registered version, and what each resume cost.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from samples.meshes import BAD, ascii_stl, binary_stl, box, sphere, wedge, write_corpus  # noqa: E402
from shared.geometry.stl import StlError, parse_stl, write_stl  # noqa: E402


def fuzz(count: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    import numpy as np

    valid = [binary_stl(np.concatenate([box(), wedge()])), ascii_stl(box()[:4]).encode()]
    parsed = refused = other = 0
    slowest = 0.0
    for i in range(count):
        kind = i % 4
        if kind == 0:
            data = rng.randbytes(rng.randrange(0, 4000))
        elif kind == 1:
            data = bytearray(valid[0])
            for _ in range(rng.randrange(1, 20)):
                data[rng.randrange(len(data))] = rng.randrange(256)
            if rng.random() < 0.3:
                data[80:84] = struct.pack("<I", rng.randrange(2**32))
            data = bytes(data[: rng.randrange(len(data) + 1)] if rng.random() < 0.3 else data)
        else:
            data = valid[1]
            for _ in range(rng.randrange(1, 8)):
                at = rng.randrange(len(data) + 1)
                insert = rng.choice([b"", b"nan", b"inf", b"1e999", b"-", b"facet", b"\r\n"])
                data = data[:at] + insert + data[at + rng.randrange(0, 40) :]
        start = time.perf_counter()
        try:
            parse_stl(data, "fuzzed")
            parsed += 1
        except StlError:
            refused += 1
        except Exception:
            other += 1
        slowest = max(slowest, time.perf_counter() - start)
    print(
        f"STL reader: {count:,} fuzzed inputs: {parsed:,} parsed, {refused:,} refused with "
        f"StlError, {other} other exceptions; slowest {1000 * slowest:.1f} ms"
    )


def _render(parts: Path, out: Path, *extra: str, size: int = 100) -> subprocess.Popen:
    command = [sys.executable, "-m", "blender_addon", "render", str(parts), "--out", str(out)]
    return subprocess.Popen(
        [*command, "--size", str(size), *extra],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def corpus(tmp: Path) -> None:
    parts = tmp / "corpus"
    meshes, _ = write_corpus(parts)
    start = time.monotonic()
    proc = _render(parts, tmp / "corpus_out", "--workers", "2")
    _, err = proc.communicate()
    named = sum(1 for line in err.splitlines() if line.startswith("error: "))
    rendered = len(list((tmp / "corpus_out").glob("*.png")))
    print(
        f"corpus: {len(meshes)} awkward meshes + {len(BAD)} bad files in one batch "
        f"({time.monotonic() - start:.1f} s): {rendered}/{len(meshes)} rendered, "
        f"{named}/{len(BAD)} bad files named, exit {proc.returncode}"
    )


def kills(tmp: Path, times: int, seed: int = 0) -> None:
    import numpy as np

    rng = random.Random(seed)
    parts = tmp / "kill_parts"
    parts.mkdir()
    for i in range(60):
        write_stl(parts / f"p{i:02d}.stl", sphere(60, 30) * (1 + i % 3) + np.array([i, 0, 0]))
    clean = tmp / "clean"
    _render(parts, clean, size=300).communicate()
    survived = 0
    for k in range(times):
        out = tmp / f"killed{k}"
        injected = 0
        while True:
            proc = _render(parts, out, "--workers", "2", size=300)
            if injected == 5:  # then let it finish
                proc.communicate()
                break
            time.sleep(rng.uniform(1.5, 4.0))
            if proc.poll() is not None:
                break
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            injected += 1
        same = sorted(p.name for p in out.iterdir()) == sorted(p.name for p in clean.iterdir())
        same = same and all(
            (out / p.name).read_bytes() == p.read_bytes() for p in clean.glob("*.png")
        )
        survived += same
        print(
            f"kill -9: run {k + 1}: {injected} kills, then finished: dataset "
            f"{'identical to the uninterrupted one' if same else 'DIFFERENT'}"
        )
    print(f"kill -9: {survived}/{times} datasets complete and identical")


def _trainer(folder: Path, *args: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "trainer", "train", *args, "--quiet"]
    env = dict(os.environ, PYTHONPATH=str(ROOT), TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def train_kills(tmp: Path, times: int, seed: int = 0, epochs: int = 8) -> None:
    from mlflow.tracking import MlflowClient

    from samples.datasets import write_dataset
    from trainer.training import checkpoint

    rng = random.Random(seed)
    data = tmp / "train_data"
    write_dataset(data, parts=15, variants=2, size=60)
    settings = ("--data", str(data), "--weights", "none", "--image-size", "32")
    settings += ("--epochs", str(epochs), "--patience", "100")
    times_s = {}
    for name in ("train_clean", "train_killed"):
        (tmp / name).mkdir()
        store = f"sqlite:///{tmp / name / 'mlflow.db'}"
        start = time.monotonic()
        proc = _trainer(tmp / name, *settings, "--tracking-uri", store)
        injected, seen = 0, 0
        while name == "train_killed" and injected < times:
            while proc.poll() is None:  # wait for a checkpoint newer than the last one seen
                runs = (tmp / name / "checkpoints").glob("*")
                saved = max((checkpoint.saved_epochs(run) for run in runs), default=0)
                if saved > seen:
                    seen = saved
                    break
                time.sleep(0.05)
            if proc.poll() is not None:
                break
            time.sleep(rng.uniform(0.0, 1.0))
            proc.kill()
            proc.wait()
            injected += 1
            proc = _trainer(tmp / name, "--resume", "--tracking-uri", store)
        code = proc.wait()
        times_s[name] = time.monotonic() - start
        if code:
            print(f"train ({name}) failed: {proc.stderr.read()[-1500:]}")
        client = MlflowClient(store, registry_uri=store)
        runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
        steps = {m.step for r in runs for m in client.get_metric_history(r.info.run_id, "val_loss")}
        versions = client.search_model_versions("name = 'milling-directions'")
        whole = (
            code == 0
            and [r.info.status for r in runs] == ["FINISHED"]
            and steps == set(range(1, epochs + 1))
            and len(versions) == 1
            and not (tmp / name / "checkpoints").exists()
        )
        if name == "train_killed":
            clean, killed = times_s["train_clean"], times_s["train_killed"]
            print(
                f"train kill -9: {injected} kills, {injected} resumes: "
                f"{'one FINISHED run, all' if whole else 'LOST WORK: not all'} {epochs} epochs "
                f"logged, {len(versions)} version(s); {killed:.0f} s against {clean:.0f} s "
                f"uninterrupted ({killed / clean:.2f}x: each resume retraces the model)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fuzz", type=int, default=20_000)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--train-kills", type=int, default=3)
    args = parser.parse_args()
    fuzz(args.fuzz)
    with tempfile.TemporaryDirectory() as tmp:
        corpus(Path(tmp))
        kills(Path(tmp), args.kills)
        train_kills(Path(tmp), args.train_kills)


if __name__ == "__main__":
    main()
