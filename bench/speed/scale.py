"""Beyond one machine, measured on this one: the team store, rendering on Ray, data-parallel
training.

    python bench/speed/scale.py [--decisions 50] [--parts 10] [--size 300]
                                [--skip store,ray,parallel]

store     register + champion decision, `--decisions` times, on a sqlite file and through
          `python -m trainer team-server` (mlflow server on PostgreSQL, over HTTP)
ray       `render --workers 2` against `render --cluster auto` on a local Ray cluster of two
          CPU slots (`ray start --head --num-cpus 2`), for --parts parts x 20 rotations
          (200 meta-images by default); the Ray row also gives the time with the cluster's start
parallel  one epoch of the view-colour model (100 px, batch 32, 512 images in memory) under the
          JAX backend, on 1 device and on 2 virtual CPU devices (XLA_FLAGS): both share this
          machine's cores, so this measures the overhead of splitting, not a speed-up
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
ENV = dict(
    os.environ,
    PYTHONPATH=str(ROOT),
    PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    RAY_USAGE_STATS_ENABLED="0",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


RAY_FLAGS = ("--include-dashboard=false", "--disable-usage-stats")


def decisions(uri: str, count: int, lock: bool = True) -> float:
    """Seconds per register + champion decision on the store at `uri` (without the decision
    lock if not `lock`: unsafe with concurrent runs, timed to show what the lock costs)."""
    import contextlib

    from mlflow.tracking import MlflowClient

    from trainer.tracking import registry
    from trainer.tracking import runs as tracking

    locked = registry._champion_lock
    if not lock:
        registry._champion_lock = lambda name: contextlib.nullcontext()

    tracking.connect(uri)
    client = MlflowClient(uri, registry_uri=uri)
    name = f"bench-{int(time.time() * 1000)}"
    client.create_registered_model(name)
    start = time.perf_counter()
    for i in range(count):
        score = registry.Score((i * 37 % count) / count, 0.5)
        tags = {
            "test_fingerprint": "f",
            "test_accuracy": str(score.accuracy),
            "test_macro_f1": "0.5",
        }
        version = client.create_model_version(name, "s3://bench/none", tags=tags).version
        registry.decide_champion(str(version), score, "f", lambda uri, s=score: s, name)
    registry._champion_lock = locked
    return (time.perf_counter() - start) / count


def bench_store(count: int, work: Path) -> list[str]:
    sqlite = decisions(f"sqlite:///{work / 'bench.db'}", count)
    from trainer.serving import team

    started = time.perf_counter()
    with team.team_server(work / "team", port=free_port()) as server:
        up = time.perf_counter() - started
        locked = decisions(server.url, count)
        unlocked = decisions(server.url, count, lock=False)
    return [
        f"team store: {count} register + champion decisions (one process, one after another)",
        "| store | ms per decision | vs sqlite |",
        "|---|---|---|",
        f"| sqlite file (file lock) | {sqlite * 1000:.0f} | 1.00 |",
        f"| team-server: mlflow server on PostgreSQL, HTTP (registry lock) | {locked * 1000:.0f} "
        f"| {locked / sqlite:.2f} |",
        f"| the same without the lock (unsafe, for its cost) | {unlocked * 1000:.0f} "
        f"| {unlocked / sqlite:.2f} |",
        f"team-server start (PostgreSQL + mlflow server, existing or new folder): {up:.1f} s",
    ]


def _render(args: list[str], env: dict | None = None) -> tuple[float, float, str]:
    """(wall seconds, the batch's own seconds from its summary line, the summary line)."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "blender_addon", "render", *args, "--quiet"],
        env=env or ENV,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    line = done.stderr.strip().splitlines()[-1]
    return wall, float(re.search(r"failed in ([\d.]+) s", line).group(1)), line


def bench_ray(parts: int, size: int, work: Path) -> list[str]:
    subprocess.run(
        [
            *(sys.executable, "-m", "trainer", "parts", "--count", str(parts)),
            "--out",
            str(work / "p"),
            "--quiet",
        ],
        env=ENV,
        check=True,
        capture_output=True,
    )
    common = [str(work / "p"), "--labels", str(work / "p/labels.csv"), "--rotations"]
    common += ["--size", str(size)]
    workers = _render([*common, "--out", str(work / "workers"), "--workers", "2"])
    ray = str(Path(sys.executable).with_name("ray"))
    port = free_port()
    started = time.perf_counter()
    subprocess.run(
        [ray, "start", "--head", "--port", str(port), "--num-cpus", "2", *RAY_FLAGS],
        env=ENV,
        check=True,
        capture_output=True,
    )
    cluster_up = time.perf_counter() - started
    try:
        on_ray = _render(
            [*common, "--out", str(work / "ray"), "--cluster", "auto"],
            env=ENV | {"RAY_ADDRESS": f"127.0.0.1:{port}"},
        )
    finally:
        subprocess.run([ray, "stop", "--force"], env=ENV, capture_output=True)
    same = all(
        (work / "ray" / p.name).read_bytes() == p.read_bytes() for p in (work / "workers").iterdir()
    )
    images = parts * 20
    return [
        f"rendering: {images} meta-images of {parts} parts at {size} px (embree where installed)",
        "| how | wall s | batch s | ms per image (batch) | vs --workers 2 (wall) |",
        "|---|---|---|---|---|",
        f"| --workers 2 | {workers[0]:.1f} | {workers[1]:.1f} | {workers[1] / images * 1000:.0f} "
        "| 1.00 |",
        f"| --cluster auto, Ray with 2 slots | {on_ray[0]:.1f} | {on_ray[1]:.1f} "
        f"| {on_ray[1] / images * 1000:.0f} | {on_ray[0] / workers[0]:.2f} |",
        f"`ray start --head` took {cluster_up:.1f} s more; datasets byte-identical: {same}",
    ]


EPOCH = """
import json, sys, time
import keras, numpy as np
from trainer.models import image as model
from trainer.training import parallel
out = {}
for devices in (1, 2):
    keras.distribution.set_distribution(None)
    parallel.distribute(devices, 32)
    keras.utils.set_random_seed(0)
    net, _ = model.build("B0", 100, None, 0.2, 0.9, base_kind="none", view_units=64)
    model.compile_model(net, 1e-3)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (512, 100, 100, 3)).astype("float32")
    y = rng.integers(0, 5, 512)
    net.fit(x, y, batch_size=32, epochs=1, verbose=0)  # compile
    times = []
    for _ in range(3):
        start = time.perf_counter()
        net.fit(x, y, batch_size=32, epochs=1, verbose=0, shuffle=False)
        times.append(time.perf_counter() - start)
    out[devices] = sorted(times)[1]
print(json.dumps(out))
"""


def bench_parallel() -> list[str]:
    env = ENV | {"KERAS_BACKEND": "jax", "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    done = subprocess.run(
        [sys.executable, "-c", EPOCH], env=env, capture_output=True, text=True, cwd=ROOT
    )
    if done.returncode != 0:
        raise SystemExit(done.stderr[-2000:])
    seconds = {int(k): v for k, v in json.loads(done.stdout.strip().splitlines()[-1]).items()}
    return [
        "data-parallel: one epoch, view-colour model at 100 px, 512 images, batch 32 (global), "
        "JAX backend, median of 3",
        "| devices | s per epoch | images/s | vs 1 device |",
        "|---|---|---|---|",
        *(
            f"| {d} | {s:.2f} | {512 / s:.0f} | {s / seconds[1]:.2f} |"
            for d, s in sorted(seconds.items())
        ),
        f"({os.cpu_count()} CPU cores shared by both virtual devices)",
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=50)
    parser.add_argument("--parts", type=int, default=10)
    parser.add_argument("--size", type=int, default=300)
    parser.add_argument("--skip", default="", help="comma-separated: store, ray, parallel")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    print(f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        work = Path(tmp)
        for name, run in (
            ("store", lambda: bench_store(args.decisions, work)),
            ("ray", lambda: bench_ray(args.parts, args.size, work)),
            ("parallel", bench_parallel),
        ):
            if name not in skip:
                print("\n".join(["", *run()]), flush=True)


if __name__ == "__main__":
    main()
