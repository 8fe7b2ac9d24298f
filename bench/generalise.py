"""Accuracy on part families never trained on, for both model families.

For each held-out family F: train the image model and the face-normal model on parts of every
other family, then score both on parts of those families from another seed (unseen seed) and
on parts of F (held-out family). Every step is the command a user runs; each row has its own
MLflow store under --out; rendered parts are kept there and reused.

    python bench/generalise.py                          # every family, small and quick
    python bench/generalise.py --families ring,disc -- --pooling max --no-half-turns

Options after `--` go to `python -m trainer train` (the image model).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared import manifest  # noqa: E402
from trainer.synth.machining import FAMILIES  # noqa: E402


def run(*args: str, capture: bool = False) -> str:
    print("$", " ".join(args), file=sys.stderr, flush=True)
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE if capture else None,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        script = Path(sys.argv[0]).stem  # generalise, or a bench that borrows this
        sys.exit(f"{script}: failed (exit {done.returncode}): {' '.join(args)}")
    return done.stdout or ""


def pool(out: Path, name: str, family: str, count: int, seed: int, args) -> Path:
    """Parts of one family, rendered: out/images/<name>_<family>."""
    parts, images = out / "parts" / f"{name}_{family}", out / "images" / f"{name}_{family}"
    if not (images / manifest.FILENAME).is_file():
        run(
            *("-m", "trainer", "parts", "--count", str(count), "--seed", str(seed)),
            *("--families", family, "--out", str(parts), "--overwrite", "--quiet"),
        )
        run(
            *("-m", "blender_addon", "render", str(parts), "--out", str(images)),
            *("--labels", str(parts / "labels.csv"), "--size", str(args.size)),
            *("--workers", str(args.workers), "--rotations", str(args.rotations), "--quiet"),
        )
    return images


def union(folders: list[Path], out: Path) -> Path:
    """One dataset of several rendered folders (hard links, names prefixed by their folder,
    sources as absolute paths)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rows = []
    for folder in folders:
        prefix, roots = folder.name + "-", manifest.read_roots(folder)
        for row in manifest.read(folder / manifest.FILENAME):
            os.link(folder / row.image, out / (prefix + row.image))
            # each folder's sources are relative to its own input root: the union names them whole
            source = str(manifest.resolve_source(folder, row.source, roots))
            rows.append(
                replace(row, image=prefix + row.image, part_id=prefix + row.part_id, source=source)
            )
    manifest.write(out / manifest.FILENAME, rows)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "generalise")
    parser.add_argument("--families", default=",".join(FAMILIES), help="held-out families")
    parser.add_argument("--parts", type=int, default=15, help="training parts per family")
    parser.add_argument("--test-parts", type=int, default=10, help="test parts per family")
    parser.add_argument("--rotations", type=int, default=5, help="rotations per part (1-20)")
    parser.add_argument("--size", type=int, default=100, help="meta-image px")
    parser.add_argument("--image-size", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("train_options", nargs="*", help="after --: more `train` options")
    args = parser.parse_args()
    held_out = [f.strip() for f in args.families.split(",") if f.strip()]
    out = args.out.resolve()

    train_pools = {f: pool(out, "train", f, args.parts, 100, args) for f in FAMILIES}
    test_pools = {f: pool(out, "test", f, args.test_parts, 200, args) for f in FAMILIES}
    table = []
    for family in held_out:
        data = union([p for f, p in train_pools.items() if f != family], out / "data" / family)
        tests = {
            "unseen seed": union(
                [p for f, p in test_pools.items() if f != family], out / "test" / f"not_{family}"
            ),
            "held-out family": union([test_pools[family]], out / "test" / family),
        }
        store = out / "stores" / family
        if store.exists():
            shutil.rmtree(store)
        store.mkdir(parents=True)
        track = ("--tracking-uri", f"sqlite:///{store / 'mlflow.db'}")
        start = time.monotonic()
        run(
            *("-m", "trainer", "train", "--data", str(data), "--weights", "none"),
            *("--image-size", str(args.image_size), "--epochs", str(args.epochs)),
            *("--patience", str(args.epochs), "--quiet", *track, *args.train_options),
        )
        minutes = [(time.monotonic() - start) / 60]
        start = time.monotonic()
        run("-m", "trainer", "baseline", "--data", str(data), "--quiet", *track)
        minutes.append((time.monotonic() - start) / 60)
        scores = {}
        for model in ("milling-directions", "milling-directions-face-normals"):
            for name, test in tests.items():
                text = run(
                    *("-m", "trainer", "evaluate", "--data", str(test), "--json", "--quiet"),
                    *("--model", f"models:/{model}@champion", *track),
                    capture=True,
                )
                scores[model, name] = json.loads(text)["metrics"]["eval_accuracy"]
        table.append((family, list(scores.values()), minutes))
        print(f"{family}: {scores}", file=sys.stderr)

    print(
        f"\nheld-out families: {args.parts} training parts per family x {args.rotations} "
        f"rotations, meta-images {args.size} px; image model {args.image_size} px, "
        f"{args.epochs} epochs {' '.join(args.train_options)}"
    )
    print(
        f"{'held-out family':<16}{'image: unseen seed':>20}{'held-out':>10}"
        f"{'face-normal: unseen seed':>26}{'held-out':>10}{'train min':>16}"
    )
    for family, (a, b, c, d), (image_min, face_min) in table:
        print(
            f"{family:<16}{a:>20.1%}{b:>10.1%}{c:>26.1%}{d:>10.1%}"
            f"{image_min:>9.1f} + {face_min:.1f}"
        )


if __name__ == "__main__":
    main()
