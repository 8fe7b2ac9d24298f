"""What ImageNet pretraining does for the image model, on the demo's data and on real parts.

Rows (each trained with `python -m trainer train` into its own MLflow store under --out):
- pretrained Lite0, frozen base then the top layers (`--view-units 0`);
- pretrained Lite0 beside the view-colour path (at --lite-size, and at Lite0's own 224 px);
- Lite0 from scratch (`--weights none --base efficientnet`);
- the view-colour path alone (the demo's recipe);
- the face-normal model (`baseline`), for reference.

Columns: accuracy on the demo's unseen seed and held-out family (`make demo` makes that data
first), 5-class accuracy on the real one-setup cases (bench/real.py: its rendered meta-images
are reused from the demo), and the training minutes here. A row already measured (its JSON in
--out) is not trained again; --again trains it anew.

    python bench/pretrained.py                       # every row (about 1.5 hours on 2 cores)
    python bench/pretrained.py --rows lite0-frozen,view-colours --lite-size 128
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import real  # noqa: E402
from bench.generalise import run  # noqa: E402

IMAGE_MODEL = "models:/milling-directions@champion"
FACE_MODEL = "models:/milling-directions-face-normals@champion"
LITE = ("--variant", "lite0", "--base", "efficientnet")


def rows(args) -> dict[str, tuple[str, list[str]]]:
    """name -> (title, the `python -m trainer` command after --data)."""
    size = ("--image-size", str(args.lite_size))
    tuned = ("--epochs", str(args.head_epochs), "--fine-tune-epochs", str(args.fine_epochs))
    scratch = ("--epochs", str(args.scratch_epochs))
    demo = ("--image-size", "100", "--epochs", "30", "--patience", "30")
    return {
        "lite0-frozen": (
            "pretrained Lite0, frozen, then top layers",
            ["train", *LITE, "--weights", "imagenet", "--view-units", "0", *size, *tuned],
        ),
        "lite0-views": (
            "pretrained Lite0 beside view colours",
            ["train", *LITE, "--weights", "imagenet", "--view-units", "64", *size, *tuned],
        ),
        "lite0-views-224": (
            "the same at Lite0's own 224 px",
            ["train", *LITE, "--weights", "imagenet", "--view-units", "64", *tuned],
        ),
        "lite0-scratch": (
            "Lite0 from scratch",
            ["train", *LITE, "--weights", "none", "--view-units", "0", *size, *scratch],
        ),
        "view-colours": (
            "view-colour path alone",
            ["train", "--weights", "none", "--base", "none", *demo],
        ),
        "face-normal": ("face-normal model", ["baseline"]),
    }


def measure(name: str, command: list[str], args) -> dict:
    folder = args.out / name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = f"sqlite:///{folder.resolve() / 'mlflow.db'}"
    track = ("--tracking-uri", store)
    start = time.monotonic()
    run("-m", "trainer", *command[:1], "--data", str(args.demo / "images_train"), *command[1:],
        *track, "--quiet")  # fmt: skip
    minutes = (time.monotonic() - start) / 60
    uri = FACE_MODEL if command[0] == "baseline" else IMAGE_MODEL
    scores = {"train_minutes": minutes}
    for test in ("unseen", "held_out"):
        found = run(
            *("-m", "trainer", "evaluate", "--data", str(args.demo / f"images_{test}")),
            *("--model", uri, "--json", "--quiet", *track),
            capture=True,
        )
        scores[test] = json.loads(found)["metrics"]["eval_accuracy"]
    one, multi = real.cases(real.read_labels(), args.real)
    paths = [p for p, _ in one] + [p for p, _ in multi]
    images = None if command[0] == "baseline" else args.real / "images"
    answers = real.answers_champion(uri, store, paths, images)
    result = real.score(answers, one, multi)
    scores |= {k: result[k] for k in ("one_setup_accuracy", "ece", "wrong_confident")}
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--demo", type=Path, default=ROOT / "build" / "demo", help="make demo's")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "pretrained")
    parser.add_argument("--rows", help="comma-separated rows (default: all)")
    parser.add_argument("--again", action="store_true", help="train measured rows again")
    parser.add_argument("--lite-size", type=int, default=128, help="Lite0 input px (128)")
    parser.add_argument("--head-epochs", type=int, default=6, help="frozen-base epochs (6)")
    parser.add_argument("--fine-epochs", type=int, default=4, help="fine-tune epochs (4)")
    parser.add_argument("--scratch-epochs", type=int, default=8, help="from scratch (8)")
    args = parser.parse_args()
    args.real = args.demo / "real"
    if not (args.demo / "images_held_out").is_dir():
        sys.exit(f"pretrained: {args.demo} has no demo data; run `make demo` first")
    table = rows(args)
    chosen = args.rows.split(",") if args.rows else list(table)
    unknown = sorted(set(chosen) - set(table))
    if unknown:
        sys.exit(f"pretrained: unknown rows {', '.join(unknown)}; choose from {', '.join(table)}")
    for name in chosen:
        saved = args.out / f"{name}.json"
        if args.again or not saved.is_file():
            scores = measure(name, table[name][1], args)
            saved.write_text(json.dumps(scores | {"command": table[name][1]}))
    print(f"{'model':<44}{'unseen':>8}{'held-out':>10}{'real one-setup':>16}{'minutes':>9}")
    for name in chosen:
        s = json.loads((args.out / f"{name}.json").read_text())
        print(
            f"{table[name][0]:<44}{s['unseen']:>8.1%}{s['held_out']:>10.1%}"
            f"{s['one_setup_accuracy']:>16.1%}{s['train_minutes']:>9.1f}"
        )


if __name__ == "__main__":
    main()
