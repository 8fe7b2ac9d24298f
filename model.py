"""Train the Blender add-on's built-in model (`make model`), with the same commands a user runs.

The face-normal model on many synthetic parts of every family: parts (fixed seeds) ->
meta-images at 100 px in 5 rotations (the trainer reads parts through a dataset manifest) ->
`trainer baseline` into build/model/mlflow.db, registered there -> scored on unseen parts of
every family; a twin, trained on other parts of every family but one, is scored on that one ->
`trainer builtin` writes blender_addon/models/face_normals.npz and .json (with the metrics and
this command) and logs both to the run. Every command is printed before it runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

from demo import Stages
from trainer.machining import FAMILIES

MODEL = "models:/milling-directions-face-normals@champion"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, default=Path("build/model"), help="default: %(default)s"
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=Path("blender_addon/models"),
        help="where the weights and metadata go (default: %(default)s)",
    )
    parser.add_argument("--parts", type=int, default=300, help="training parts per family")
    parser.add_argument("--test-parts", type=int, default=40, help="unseen parts per family")
    parser.add_argument("--rotations", type=int, default=5, help="poses per part (default: 5)")
    parser.add_argument("--epochs", type=int, default=300, help="at most (early stopping)")
    parser.add_argument("--workers", type=int, default=2, help="render processes (default: 2)")
    parser.add_argument(
        "--held-out", default="ring", choices=FAMILIES, help="family the twin never sees"
    )
    args = parser.parse_args()
    out, held = args.out, args.held_out
    others = [f for f in FAMILIES if f != held]
    stages = Stages()
    # name: (parts, seed, families); seeds 201+ are used nowhere else (the demo uses 1-4)
    sets = {
        "train": (args.parts * len(FAMILIES), 201, FAMILIES),
        "train_others": (args.parts * len(others), 202, others),
        "unseen": (args.test_parts * len(FAMILIES), 203, FAMILIES),
        "held_out": (args.test_parts, 204, [held]),
    }
    for name, (count, seed, families) in sets.items():
        parts = out / "parts" / name
        stages.run(
            f"parts: {name}",
            *("-m", "trainer", "parts", "--count", str(count), "--seed", str(seed)),
            *("--families", ",".join(families), "--out", str(parts), "--overwrite", "--quiet"),
        )
        stages.run(
            f"render: {name}",
            *("-m", "blender_addon", "render", str(parts), "--out", str(out / name)),
            *("--labels", str(parts / "labels.csv"), "--size", "100", "--quiet"),
            *("--workers", str(args.workers), "--rotations", str(args.rotations)),
        )
    twin = out / "twin"  # a measurement only: a fresh store, so that its champion is this run's
    shutil.rmtree(twin, ignore_errors=True)
    twin.mkdir(parents=True)
    stores = {
        "model": f"sqlite:///{out.resolve() / 'mlflow.db'}",
        "twin": f"sqlite:///{twin.resolve() / 'mlflow.db'}",
    }
    for store, data in (("model", "train"), ("twin", "train_others")):
        stages.run(
            f"baseline: {store}",
            *("-m", "trainer", "baseline", "--data", str(out / data), "--seed", "0"),
            *("--epochs", str(args.epochs), "--tracking-uri", stores[store], "--quiet"),
        )
    metrics = {}
    for store, data, metric in (
        ("model", "unseen", "unseen_accuracy"),
        ("twin", "held_out", f"held_out_{held}_accuracy"),
    ):
        text = stages.run(
            f"evaluate: {store} on {data}",
            *("-m", "trainer", "evaluate", "--data", str(out / data), "--model", MODEL),
            *("--json", "--quiet", "--tracking-uri", stores[store]),
            capture=True,
        )
        metrics[metric] = json.loads(text)["metrics"]["eval_accuracy"]
    made_by = shlex.join([Path(sys.executable).name, "model.py", *sys.argv[1:]])
    stages.run(
        "export: built-in model",
        *("-m", "trainer", "builtin", "--out", str(args.model_dir), "--model", MODEL),
        *(a for k, v in metrics.items() for a in ("--metric", f"{k}={v}")),
        *("--made-by", made_by, "--tracking-uri", stores["model"]),
    )
    print(f"\nunseen parts of every family: {metrics['unseen_accuracy']:.1%}")
    print(f"held-out {held} (twin trained without it): {metrics[f'held_out_{held}_accuracy']:.1%}")
    for stage, seconds in stages.times:
        print(f"{stage:<44}{seconds:8.1f} s")
    print(f"{'total':<44}{sum(s for _, s in stages.times):8.1f} s")


if __name__ == "__main__":
    main()
