"""Train the image model with KERAS_BACKEND=jax on pre-resized arrays: for a GPU machine that has
JAX and Keras but not TensorFlow, MLflow or Blender.

    python bench/jax_train.py prepare --train DIR... --unseen DIR --size 120 --out data.npz
    KERAS_BACKEND=jax python bench/jax_train.py run data.npz [--epochs 30] [--minutes 8]

`prepare` (here, with Pillow) reads rendered meta-images, resizes them with a box filter to a
multiple of 10 (so every output pixel comes from one tile: shuffling tiles after resizing is then
the same as before), and splits the training folders by part into train and validation.
`run` trains the seed's EfficientNetB0 (`train --weights none --base efficientnet --view-units 0
--pooling max`) and prints one JSON line per epoch: throughput, and accuracy on validation and on
the unseen parts. With `--throughput` it then times B0 at 224 px, head only and all layers, on
random arrays (the figures of bench/speed/train.py on the CPU).
Prepared for a GPU machine; so far run
here on the CPU only (TensorFlow backend).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
GRID = 10


def prepare(train_dirs: list[Path], unseen: Path, size: int, out: Path, seed: int = 0) -> None:
    from PIL import Image

    from shared import classes, manifest

    def load(folder: Path):
        rows = [r for r in manifest.read(folder / "manifest.csv") if r.label]
        x = np.stack(
            [
                np.asarray(
                    Image.open(folder / r.image)
                    .convert("RGB")
                    .resize((size, size), Image.Resampling.BOX)
                )
                for r in rows
            ]
        )
        y = np.array([classes.CLASSES.index(r.label) for r in rows], dtype=np.int32)
        return x, y, [f"{folder}:{r.part_id}" for r in rows]

    parts = [load(Path(d)) for d in train_dirs]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    ids = [i for p in parts for i in p[2]]
    unique = sorted(set(ids))
    rng = np.random.default_rng(seed)
    val_ids = set(rng.choice(unique, size=max(5, len(unique) // 10), replace=False))
    val = np.array([i in val_ids for i in ids])
    xu, yu, _ = load(unseen)
    np.savez_compressed(
        out, x_train=x[~val], y_train=y[~val], x_val=x[val], y_val=y[val], x_unseen=xu, y_unseen=yu
    )
    print(
        f"{(~val).sum()} train, {val.sum()} validation, {len(yu)} unseen images at {size} px "
        f"-> {out} ({out.stat().st_size / 2**20:.1f} MiB)"
    )


def shuffle_tiles(batch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n, h, w, c = batch.shape
    t = batch.reshape(n, GRID, h // GRID, GRID, w // GRID, c).transpose(0, 1, 3, 2, 4, 5)
    t = t.reshape(n, GRID * GRID, h // GRID, w // GRID, c)
    order = np.argsort(rng.random((n, GRID * GRID)), axis=1)
    t = np.take_along_axis(t, order[:, :, None, None, None], axis=1)
    t = t.reshape(n, GRID, GRID, h // GRID, w // GRID, c).transpose(0, 1, 3, 2, 4, 5)
    return t.reshape(n, h, w, c)


def run(npz: Path, epochs: int, minutes: float, batch: int, lr: float, shuffle: bool) -> None:
    import keras

    from trainer.evaluation import evaluate
    from trainer.models import image as model

    d = np.load(npz)
    x, y = d["x_train"], d["y_train"]
    size = x.shape[1]
    print(
        json.dumps(
            {
                "backend": keras.backend.backend(),
                "devices": str(_devices()),
                "train": len(y),
                "val": len(d["y_val"]),
                "unseen": len(d["y_unseen"]),
                "size": size,
                "batch": batch,
                "learning_rate": lr,
                "shuffle_tiles": shuffle,
            }
        ),
        flush=True,
    )

    class Shuffled(keras.utils.PyDataset):
        def __init__(self):
            super().__init__()
            self.rng = np.random.default_rng(0)
            self.order = self.rng.permutation(len(y))

        def __len__(self):
            return len(y) // batch

        def __getitem__(self, i):
            idx = self.order[i * batch : (i + 1) * batch]
            images = shuffle_tiles(x[idx], self.rng) if shuffle else x[idx]
            return images.astype(np.float32), y[idx]

        def on_epoch_end(self):
            self.order = self.rng.permutation(len(y))

    keras.utils.set_random_seed(0)
    net, _ = model.build("B0", size, None, 0.2, 0.9)
    model.compile_model(net, lr)
    stop = time.monotonic() + 60 * minutes
    data = Shuffled()
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        history = net.fit(data, epochs=1, verbose=0)
        seconds = time.perf_counter() - start
        row = {
            "epoch": epoch,
            "seconds": round(seconds, 2),
            "img_per_s": round(len(data) * batch / seconds, 1),
            "train_accuracy": round(float(history.history["accuracy"][-1]), 4),
        }
        for split in ("val", "unseen"):
            p = net.predict(d[f"x_{split}"].astype(np.float32), batch_size=256, verbose=0)
            m = evaluate.metrics(d[f"y_{split}"], p)
            row[f"{split}_accuracy"] = round(m["accuracy"], 4)
            row[f"{split}_macro_f1"] = round(m["macro_f1"], 4)
        print(json.dumps(row), flush=True)
        if time.monotonic() > stop:
            break


def throughput(steps: int = 20) -> None:
    """B0 at 224 px, batch 16: images/s with the base frozen and with every layer trainable."""
    import keras

    from trainer.models import image as model

    xs = np.random.default_rng(0).uniform(0, 255, (16 * steps, 224, 224, 3)).astype(np.float32)
    ys = np.arange(len(xs)) % 5
    for phase in ("frozen base (head only)", "all layers trainable"):
        net, base = model.build("B0", 224, None, 0.2, 0.9)
        base.trainable = phase.startswith("all")
        model.compile_model(net, 1e-3)
        net.fit(xs[:32], ys[:32], batch_size=16, epochs=1, verbose=0)  # compile
        start = time.perf_counter()
        net.fit(xs, ys, batch_size=16, epochs=1, verbose=0)
        rate = len(xs) / (time.perf_counter() - start)
        print(
            json.dumps(
                {
                    "throughput_224_batch16": phase,
                    "img_per_s": round(rate, 1),
                    "backend": keras.backend.backend(),
                }
            ),
            flush=True,
        )


def _devices():
    try:
        import jax

        return jax.devices()
    except ImportError:
        return "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--train", type=Path, nargs="+", required=True)
    p.add_argument("--unseen", type=Path, required=True)
    p.add_argument("--size", type=int, default=120)
    p.add_argument("--out", type=Path, required=True)
    r = sub.add_parser("run")
    r.add_argument("npz", type=Path)
    r.add_argument("--epochs", type=int, default=30)
    r.add_argument("--minutes", type=float, default=8.0)
    r.add_argument("--batch", type=int, default=64)
    r.add_argument("--learning-rate", type=float, default=1e-3)
    r.add_argument("--shuffle-tiles", action="store_true", help="as train --shuffle-tiles")
    r.add_argument("--throughput", action="store_true", help="then time B0 at 224 px, batch 16")
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args.train, args.unseen, args.size, args.out)
        return
    os.environ.setdefault("KERAS_BACKEND", "jax")
    run(args.npz, args.epochs, args.minutes, args.batch, args.learning_rate, args.shuffle_tiles)
    if args.throughput:
        throughput()


if __name__ == "__main__":
    main()
