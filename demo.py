"""The whole pipeline end to end, with the same commands a user runs (`make demo` calls this).

Stages: synthetic parts (training, unseen and a handful of new ones, three seeds) -> meta-images
with rotations -> the image model (EfficientNet from scratch) -> the face-normal model -> both
evaluated on the unseen parts -> a prediction table for the new parts -> stage times and how to
open the MLflow UI on the same store. Every command is printed before it runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from shared import classes

IMAGE_MODEL = "models:/milling-directions@champion"
FACE_MODEL = "models:/milling-directions-face-normals@champion"


class Stages:
    """Runs commands, timing each named stage."""

    def __init__(self) -> None:
        self.times: list[tuple[str, float]] = []

    def run(self, stage: str, *args: str, capture: bool = False) -> str:
        print(f"\n== {stage}\n$ {shlex.join(args)}", flush=True)
        start = time.monotonic()
        done = subprocess.run(
            [sys.executable, *args], stdout=subprocess.PIPE if capture else None, text=True
        )
        self.times.append((stage, time.monotonic() - start))
        if done.returncode != 0:
            sys.exit(f"demo: stage '{stage}' failed (exit {done.returncode}); see above")
        return done.stdout or ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/demo"), help="default: %(default)s")
    parser.add_argument("--parts", type=int, default=80, help="training parts (default: 80)")
    parser.add_argument("--unseen", type=int, default=25, help="unseen parts (default: 25)")
    parser.add_argument("--new", type=int, default=6, help="parts in the table (default: 6)")
    parser.add_argument("--size", type=int, default=300, help="meta-image px (default: 300)")
    parser.add_argument("--image-size", type=int, default=96, help="model input (default: 96)")
    parser.add_argument("--epochs", type=int, default=18, help="image model (default: 18)")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: 2)")
    parser.add_argument("--no-rotations", dest="rotations", action="store_false")
    args = parser.parse_args()

    out = args.out
    store = f"sqlite:///{out.resolve() / 'mlflow.db'}"
    track = ["--tracking-uri", store]
    stages = Stages()
    sets = {"train": (args.parts, 1), "unseen": (args.unseen, 2), "new": (args.new, 3)}
    for name, (count, seed) in sets.items():
        stages.run(
            f"parts: {name}",
            *("-m", "trainer", "parts", "--count", str(count), "--seed", str(seed)),
            *("--out", str(out / f"parts_{name}"), "--overwrite", "--quiet"),
        )
    for name in ("train", "unseen"):
        stages.run(
            f"render: {name}",
            *("-m", "blender_addon", "render", str(out / f"parts_{name}")),
            *("--out", str(out / f"images_{name}")),
            *("--labels", str(out / f"parts_{name}" / "labels.csv")),
            *("--size", str(args.size), "--workers", str(args.workers)),
            *(["--rotations"] if args.rotations else []),
        )
    data = str(out / "images_train")
    stages.run(
        "train: image model",
        *("-m", "trainer", "train", "--data", data, "--weights", "none"),
        *("--image-size", str(args.image_size), "--epochs", str(args.epochs)),
        *("--patience", str(args.epochs), *track),
    )
    stages.run("train: face-normal model", "-m", "trainer", "baseline", "--data", data, *track)

    unseen = str(out / "images_unseen")
    scores = {}
    for family, uri in (("image", IMAGE_MODEL), ("face-normal", FACE_MODEL)):
        text = stages.run(
            f"evaluate: {family} model on unseen parts",
            *("-m", "trainer", "evaluate", "--data", unseen, "--model", uri, "--json"),
            *("--quiet", *track),
            capture=True,
        )
        scores[family] = json.loads(text)

    new = sorted(str(p) for p in (out / "parts_new").glob("*.stl"))
    answers = {}
    for family, uri in (("image", IMAGE_MODEL), ("face-normal", FACE_MODEL)):
        text = stages.run(
            f"predict: {family} model on new parts",
            *("-m", "trainer", "predict", *new, "--model", uri, "--json", *track),
            capture=True,
        )
        answers[family] = {Path(a["input"]).name: a for a in map(json.loads, text.splitlines())}

    labels = dict(
        line.split(",")[:2]
        for line in (out / "parts_new" / "labels.csv").read_text().splitlines()[1:]
    )
    report(scores, answers, labels, stages.times, store)


def report(scores: dict, answers: dict, labels: dict, times: list, store: str) -> None:
    print("\n== unseen parts (never trained on, another seed)")
    for family, s in scores.items():
        m = s["metrics"]
        print(
            f"{family:>12} model: accuracy {m['eval_accuracy']:.1%}, macro-F1 "
            f"{m['eval_macro_f1']:.3f} on {s['images']} meta-images ({s['model_uri']} "
            f"v{s['model_version']})"
        )
    for family, s in scores.items():
        print(f"confusion, {family} model (rows true, columns predicted):")
        print("      " + "".join(f"{c:>5}" for c in classes.CLASSES))
        for c, row in zip(classes.CLASSES, s["confusion"], strict=True):
            print(f"{c:>6}" + "".join(f"{v:>5}" for v in row))

    print("\n== new parts (third seed)")
    print(f"{'part':<16}{'true':>6}  {'image model':<20}{'face-normal model':<20}")
    for part, truth in labels.items():
        cells = []
        for family in ("image", "face-normal"):
            a = answers[family].get(part)
            cells.append(
                f"{a['label']:>3} {a['probabilities'][a['label']]:6.1%} "
                f"{'ok' if a['label'] == truth else 'x':<3}"
                if a
                else "failed"
            )
        print(f"{part:<16}{truth:>6}  {cells[0]:<20}{cells[1]:<20}")

    print("\n== stage times")
    for stage, seconds in times:
        print(f"{stage:<44}{seconds:8.1f} s")
    print(f"{'total':<44}{sum(s for _, s in times):8.1f} s")
    print("\nsee every run in the MLflow UI:")
    subprocess.run([sys.executable, "-m", "trainer", "ui", "--tracking-uri", store], check=False)


if __name__ == "__main__":
    main()
