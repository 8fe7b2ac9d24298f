"""The whole pipeline end to end, with the same commands a user runs (`make demo` calls this).

Stages: synthetic parts (training, unseen and a handful of new ones, three seeds, every part
family but one; parts of that held-out family; blocks milled from 2 to 4 sides, for training
and unseen) -> meta-images with rotations -> the image model (the view-colour path, from
scratch) -> the face-normal model (with its setup-plan head) -> both evaluated on the unseen
parts, on the held-out family and on the unseen multi-side blocks (setup plans) -> every model
on the real parts -> a prediction table for the new parts -> stage times and how to open the
MLflow UI on the same store. The settings are a recipe file (trainer/recipes/demo.toml). Every
command is printed before it runs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.demo_report import record, report
from bench.record import add_option as add_record_option
from trainer.recipe import RECIPES, RecipeError, read_toml
from trainer.synth.machining import FAMILIES

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


def recipe_args(parser: argparse.ArgumentParser, name: str, table: str, helps: dict[str, str]):
    """Parse the command line over a recipe, `--recipe FILE` (default: trainer/recipes/`name`),
    whose [table] gives each option of `helps` its default."""
    default = RECIPES / name
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--recipe", type=Path, default=default)
    recipe = first.parse_known_args()[0].recipe
    try:
        settings = read_toml(recipe).get(table, {})
    except RecipeError as e:
        parser.error(str(e))
    if unknown := sorted(set(settings) - set(helps)):
        parser.error(f"{recipe}: [{table}] has no setting {unknown[0]!r}")
    parser.add_argument(
        "--recipe",
        type=Path,
        default=default,
        help=f"the recipe: its [{table}] gives the defaults below, its [train] and [baseline] "
        "go to the trainer's --config (default: %(default)s)",
    )
    for key, help in helps.items():
        if key not in settings:
            parser.error(f"{recipe}: [{table}] needs {key!r}")
        value = settings[key]
        options = {"choices": FAMILIES} if key == "held-out" else {}
        parser.add_argument(
            f"--{key}",
            type=type(value),
            default=value,
            help=f"{help} (recipe: %(default)s)",
            **options,
        )
    return parser.parse_args()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/demo"), help="default: %(default)s")
    parser.add_argument("--image-size", help="image model input px (recipe: [train])")
    parser.add_argument("--epochs", help="image model epochs (recipe: [train])")
    parser.add_argument(
        "--no-rotations",
        dest="rotations",
        action="store_const",
        const=0,
        default=argparse.SUPPRESS,
        help="render each part as it is",
    )
    add_record_option(parser)
    parser.add_argument("train_options", nargs="*", help="after --: more `train` options")
    args = recipe_args(
        parser,
        "demo.toml",
        "demo",
        {
            "parts": "training parts",
            "unseen": "unseen parts",
            "multi": "training blocks of 2-4 sides",
            "unseen-multi": "unseen blocks of 2-4 sides",
            "new": "parts in the table",
            "size": "meta-image px",
            "rotations": "rotations rendered per part",
            "workers": "render processes",
            "held-out": "family never trained on",
            "held-out-parts": "its parts to score",
        },
    )
    trained_families = ",".join(f for f in FAMILIES if f != args.held_out)

    out = args.out
    store = f"sqlite:///{out.resolve() / 'mlflow.db'}"
    track = ["--tracking-uri", store]
    stages = Stages()
    # name: (parts, seed, families, sides, the dataset its meta-images go into, rotations)
    turns, few = args.rotations, min(args.rotations, 2)
    sets = {
        "train": (args.parts, 1, trained_families, "1", "train", turns),
        "train_multi": (args.multi, 5, trained_families, "2-4", "train", few),
        "unseen": (args.unseen, 2, trained_families, "1", "unseen", turns),
        "unseen_multi": (args.unseen_multi, 6, trained_families, "2-4", "unseen_multi", 0),
        "new": (args.new, 3, trained_families, "1", "", 0),
        "held_out": (args.held_out_parts, 4, args.held_out, "1", "held_out", turns),
    }
    for name, (count, seed, families, sides, _, _) in sets.items():
        stages.run(
            f"parts: {name}",
            *("-m", "trainer", "parts", "--count", str(count), "--seed", str(seed)),
            *("--families", families, "--out", str(out / f"parts_{name}"), "--overwrite"),
            *("--sides", sides, "--prefix", f"{name}_", "--quiet"),
        )
    for dataset in {d for *_, d, _ in sets.values() if d}:
        shutil.rmtree(out / f"images_{dataset}", ignore_errors=True)  # sets share a dataset
    for name, (*_, dataset, rotations) in sets.items():
        if not dataset:
            continue
        stages.run(
            f"render: {name}",
            *("-m", "blender_addon", "render", str(out / f"parts_{name}")),
            *("--out", str(out / f"images_{dataset}")),
            *("--labels", str(out / f"parts_{name}" / "labels.csv")),
            *("--size", str(args.size), "--workers", str(args.workers)),
            *(["--rotations", str(rotations)] if rotations else []),
        )
    data = str(out / "images_train")
    recipe = ("--config", str(args.recipe), "--data", data, *track)
    image = [
        f"--{k}={v}" for k in ("image-size", "epochs") if (v := getattr(args, k.replace("-", "_")))
    ]
    stages.run(
        "train: image model",
        *("-m", "trainer", "train", *recipe, *image, *args.train_options),
    )
    stages.run("train: face-normal model", "-m", "trainer", "baseline", *recipe)

    scores: dict[str, dict] = {"unseen": {}, "held_out": {}, "unseen_multi": {}}
    for test, what in (
        ("unseen", "unseen parts"),
        ("held_out", f"held-out {args.held_out}"),
        ("unseen_multi", "unseen multi-side blocks"),
    ):
        for family, uri in (("image", IMAGE_MODEL), ("face-normal", FACE_MODEL)):
            text = stages.run(
                f"evaluate: {family} model on {what}",
                *("-m", "trainer", "evaluate", "--data", str(out / f"images_{test}")),
                *("--model", uri, "--json", "--quiet", *track),
                capture=True,
            )
            scores[test][family] = json.loads(text)

    new = sorted(str(p) for p in (out / "parts_new").glob("*.stl"))
    answers = {}
    for family, uri in (("image", IMAGE_MODEL), ("face-normal", FACE_MODEL)):
        text = stages.run(
            f"predict: {family} model on new parts",
            *("-m", "trainer", "predict", *new, "--model", uri, "--json", *track),
            capture=True,
        )
        answers[family] = {Path(a["input"]).name: a for a in map(json.loads, text.splitlines())}

    text = stages.run(
        "evaluate: every model on the real parts (bench/real.py)",
        *(
            str(Path(__file__).resolve().parent / "bench" / "real.py"),
            "--json",
            "--out",
            str(out / "real"),
            *track,
        ),
        capture=True,
    )
    scores["real"] = json.loads(text)
    labels = dict(
        line.split(",")[:2]
        for line in (out / "parts_new" / "labels.csv").read_text().splitlines()[1:]
    )
    report(scores, answers, labels, stages.times, store, args.held_out)
    if args.record:
        record(scores, answers, labels, stages.times, args.held_out, args.record)


if __name__ == "__main__":
    main()
