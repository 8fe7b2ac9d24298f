"""Train the Blender add-on's built-in model (`make model`), with the same commands a user runs.

The face-normal model on many synthetic parts of every family: parts (fixed seeds) ->
meta-images at 100 px in 5 rotations (the trainer reads parts through a dataset manifest) ->
`trainer baseline` into build/model/mlflow.db, registered there -> scored on unseen parts of
every family; a twin, trained on other parts of every family but one, is scored on that one ->
`trainer builtin` writes the candidate's face_normals.npz and .json (with the metrics and this
command) and logs both to the run -> the candidate replaces blender_addon/models/ only if it
does at least as well on the real-part benchmark (exact plans over all real cases, then the
one-setup accuracy: bench/real.py), so that a model better on synthetic parts alone never
ships. The settings are a recipe file (trainer/recipes/builtin.toml). Every command is printed
before it runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
from pathlib import Path

from demo import Stages, recipe_args
from trainer.synth.machining import FAMILIES

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
    parser.add_argument(
        "--replace",
        action="store_true",
        help="ship the new model even if it loses to the shipped one on the real parts",
    )
    parser.add_argument("--hidden", help="units of each hidden layer (recipe: [baseline])")
    parser.add_argument("--epochs", help="at most, early stopping (recipe: [baseline])")
    args = recipe_args(
        parser,
        "builtin.toml",
        "model",
        {
            "parts": "training parts per family",
            "test-parts": "unseen parts per family",
            "multi-parts": "training blocks milled from 2 to 4 sides",
            "test-multi": "unseen blocks of 2 to 4 sides",
            "rotations": "poses per part",
            "workers": "render processes",
            "held-out": "family the twin never sees",
        },
    )
    out, held = args.out, args.held_out
    others = [f for f in FAMILIES if f != held]
    stages = Stages()
    # name: (parts, seed, families, sides, dataset); seeds 201+ are used nowhere else (the demo
    # uses 1-4); the multi-side blocks go into the same dataset as the one-setup parts
    sets = {
        "train": (args.parts * len(FAMILIES), 201, FAMILIES, "1", "train"),
        "train_multi": (args.multi_parts, 205, FAMILIES, "2-4", "train"),
        "train_others": (args.parts * len(others), 202, others, "1", "train_others"),
        "unseen": (args.test_parts * len(FAMILIES), 203, FAMILIES, "1", "unseen"),
        "unseen_multi": (args.test_multi, 206, FAMILIES, "2-4", "unseen_multi"),
        "held_out": (args.test_parts, 204, [held], "1", "held_out"),
    }
    for name in {d for *_, d in sets.values()}:
        shutil.rmtree(out / name, ignore_errors=True)  # two sets render into one: start clean
    for name, (count, seed, families, sides, dataset) in sets.items():
        parts = out / "parts" / name
        stages.run(
            f"parts: {name}",
            *("-m", "trainer", "parts", "--count", str(count), "--seed", str(seed)),
            *("--families", ",".join(families), "--out", str(parts), "--overwrite", "--quiet"),
            *("--sides", sides, "--prefix", f"{name}_"),
        )
        stages.run(
            f"render: {name}",
            *("-m", "blender_addon", "render", str(parts), "--out", str(out / dataset)),
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
            *("-m", "trainer", "baseline", "--config", str(args.recipe)),
            *("--data", str(out / data), "--tracking-uri", stores[store], "--quiet"),
            *(f"--{k}={v}" for k in ("hidden", "epochs") if (v := getattr(args, k))),
        )
    metrics = {}
    for store, data, names in (
        ("model", "unseen", {"unseen_accuracy": "eval_accuracy"}),
        (
            "model",
            "unseen_multi",
            {
                "unseen_multi_plan_exact": "eval_plan_exact",
                "unseen_multi_primary": "eval_plan_primary",
            },
        ),
        ("twin", "held_out", {f"held_out_{held}_accuracy": "eval_accuracy"}),
    ):
        text = stages.run(
            f"evaluate: {store} on {data}",
            *("-m", "trainer", "evaluate", "--data", str(out / data), "--model", MODEL),
            *("--json", "--quiet", "--tracking-uri", stores[store]),
            capture=True,
        )
        found = json.loads(text)["metrics"]
        metrics |= {mine: found[theirs] for mine, theirs in names.items()}
    made_by = shlex.join([Path(sys.executable).name, "model.py", *sys.argv[1:]])
    candidate = out / "candidate"
    stages.run(
        "export: candidate built-in model",
        *("-m", "trainer", "builtin", "--out", str(candidate), "--model", MODEL),
        *(a for k, v in metrics.items() for a in ("--metric", f"{k}={v}")),
        *("--made-by", made_by, "--tracking-uri", stores["model"]),
    )
    ship(candidate, args.model_dir, out / "real", args.replace)
    print(f"\nunseen parts of every family: {metrics['unseen_accuracy']:.1%}")
    print(f"held-out {held} (twin trained without it): {metrics[f'held_out_{held}_accuracy']:.1%}")
    print(
        f"unseen blocks of 2-4 sides: exact plan {metrics['unseen_multi_plan_exact']:.1%}, "
        f"primary setup {metrics['unseen_multi_primary']:.1%}"
    )
    for stage, seconds in stages.times:
        print(f"{stage:<44}{seconds:8.1f} s")
    print(f"{'total':<44}{sum(s for _, s in stages.times):8.1f} s")


def ship(candidate: Path, shipped: Path, scratch: Path, replace: bool) -> None:
    """Replace the shipped built-in model with the candidate only if it does at least as well
    on the real-part benchmark (bench/real.py's plan_score), or with --replace."""
    from bench import real

    mine = real.score_builtin(candidate, scratch)
    theirs = None
    if (shipped / "face_normals.npz").is_file():
        theirs = real.score_builtin(shipped, scratch)
    for name, r in (("candidate", mine), ("shipped", theirs)):
        if r is not None:
            exact, accuracy = real.plan_score(r)
            print(
                f"real parts, {name}: exact plan {exact:.1%} of all cases (one-setup "
                f"{r['one_setup_plan_exact']:.1%}, multi-setup {r['multi_plan_exact']:.1%}), "
                f"one-setup accuracy {accuracy:.1%}"
            )
    if replace or theirs is None or real.plan_score(mine) >= real.plan_score(theirs):
        shipped.mkdir(parents=True, exist_ok=True)
        for name in ("face_normals.npz", "face_normals.json"):
            shutil.copyfile(candidate / name, shipped / name)
        print(f"shipped: the candidate is now {shipped}")
    else:
        print(
            f"kept the shipped model in {shipped}: the candidate loses on real parts "
            f"(it stays in {candidate}; --replace ships it anyway)"
        )


if __name__ == "__main__":
    main()
