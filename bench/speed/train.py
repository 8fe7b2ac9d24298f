"""Training benchmark: the real input pipeline against a bare model.fit on in-memory arrays,
and the prediction latency of the logged model for one meta-image.

    python bench/speed/train.py [--data DIR] [--epochs 2] [--images 192]

DIR holds rendered meta-images (manifest.csv); by default 10 synthetic parts are generated and
rendered with rotations into build/bench/meta_images first. Both fits train the same
EfficientNetB0 (224 px, batch 16) from the same initial weights: once with the base frozen (the
head phase of transfer learning) and once with every layer trainable (from scratch). Timed
epochs alternate between the two inputs, so that the noise of a shared machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import keras  # noqa: E402
import numpy as np  # noqa: E402

from trainer.data import dataset as data  # noqa: E402
from trainer.data import preprocess  # noqa: E402
from trainer.models import families  # noqa: E402
from trainer.models import image as model  # noqa: E402
from trainer.tracking import registry  # noqa: E402
from trainer.tracking import runs as tracking  # noqa: E402


def ensure_data(folder: Path | None) -> Path:
    if folder:
        return folder
    folder = ROOT / "build/bench/meta_images"
    if not (folder / "manifest.csv").exists():
        parts = ROOT / "build/bench/parts"
        py = sys.executable
        subprocess.run(
            [
                py,
                "-m",
                "trainer",
                "parts",
                "--count",
                "10",
                "--seed",
                "3",
                "--out",
                str(parts),
                "--overwrite",
                "--quiet",
            ],
            check=True,
            cwd=ROOT,
        )
        subprocess.run(
            [
                py,
                "-m",
                "blender_addon",
                "render",
                str(parts),
                "--out",
                str(folder),
                "--labels",
                str(parts / "labels.csv"),
                "--rotations",
                "--workers",
                "2",
                "--quiet",
            ],
            check=True,
            cwd=ROOT,
        )
    return folder


def epoch_rate(net, x, y=None, batch: int | None = None) -> float:
    """Images per second of one epoch."""
    start = time.perf_counter()
    net.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    return count(x) / (time.perf_counter() - start)


def count(x) -> int:
    return int(x.cardinality().numpy()) * 16 if hasattr(x, "cardinality") else len(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs of each kind")
    parser.add_argument("--images", type=int, default=192, help="a multiple of 16")
    args = parser.parse_args()
    folder = ensure_data(args.data)
    examples = data.load(folder, progress=False).examples[: args.images]
    n = len(examples) // 16 * 16
    examples = examples[:n]
    size = 224
    print(
        f"{n} meta-images of {folder}; EfficientNetB0 {size} px, batch 16, "
        f"{os.cpu_count()} cores, Keras {keras.__version__} ({keras.backend.backend()})"
    )

    pipeline = data.pipeline(
        examples, size, 16, training=True, shuffle_tiles=True, cache_bytes=8 * 2**30
    )
    arrays = preprocess.prepare([e.path.read_bytes() for e in examples], size)
    labels = np.array([e.y for e in examples])
    for phase in ("frozen base (head only)", "all layers trainable"):
        keras.utils.set_random_seed(0)
        net, base = model.build("B0", size, None, 0.2, 0.9)
        base.trainable = phase.startswith("all")
        model.compile_model(net, 1e-3)
        epoch_rate(net, pipeline)  # untimed: tracing and filling the cache
        epoch_rate(net, arrays, labels, 16)
        piped, bare = [], []
        for _ in range(args.epochs):  # alternate, so that machine noise hits both alike
            piped.append(epoch_rate(net, pipeline))
            bare.append(epoch_rate(net, arrays, labels, 16))
        p, b = statistics.median(piped), statistics.median(bare)
        print(
            f"{phase:26s}: pipeline {p:6.1f} img/s, bare fit on arrays {b:6.1f} img/s "
            f"(medians of {args.epochs} alternating epochs) -> pipeline at {p / b:.0%} of bare"
        )

    with tempfile.TemporaryDirectory() as tmp:
        tracking.connect(f"sqlite:///{tmp}/mlflow.db")
        keras_file = Path(tmp) / "model.keras"
        net.save(keras_file)
        with tracking.run("bench"):
            uri = tracking.log_model(
                keras_file,
                examples[0].path.read_bytes(),
                families.IMAGE,
                image_size=size,
                variant="B0",
            )
        loaded, _, _ = registry.load(uri)
        png = examples[0].path.read_bytes()
        tracking.predict_probabilities(loaded, [png])  # warm-up: first call traces
        times = []
        for _ in range(20):
            start = time.perf_counter()
            tracking.predict_probabilities(loaded, [png])
            times.append(time.perf_counter() - start)
    print(
        f"prediction latency of the logged model, one 600 px PNG meta-image after load: "
        f"median {1000 * statistics.median(times):.0f} ms, min {1000 * min(times):.0f} ms "
        f"(20 calls)"
    )


if __name__ == "__main__":
    main()
