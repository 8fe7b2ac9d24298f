"""Score models on the real-part benchmark (bench/realparts: parts nobody here generated).

- One-setup parts: each is turned (a cube rotation) so that its side becomes each of the five
  classes in turn; 5-class accuracy (an answer is right when that one setup mills the part: a
  through-hole part is right from either end), expected calibration error (ECE, 10 bins of the
  top probability) and the wrong answers given with 95 % or more, on those cases.
- Multi-setup parts: how often the answer is one of the needed setups, how often it is the
  primary setup (bench/realparts/labels.csv: the analysis, or the eye where they differ), and
  how often the answered setup plan is exactly the needed set (a model without a plan head
  answers its label alone). A part whose primary setup is -Z is turned over first (a half
  turn about X), as a machinist clamps it, since a 5-class answer never says -Z.

Models: the add-on's built-in model, always; the champions of an MLflow store with
--tracking-uri (the face-normal one reads the STL, the image one a meta-image rendered here);
and the geometric analysis itself (`python -m blender_addon setups`): zero-radius (`--tools
none`) and tool-aware (the default tool library: what the labels and the built-in and
face-normal models follow; `--labels eye` scores against the zero-radius labels of before).

    python bench/real.py                                  # built-in model and the analysis
    python bench/real.py --tracking-uri sqlite:///build/demo/mlflow.db --json
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from shared import classes, manifest, rotations, stl  # noqa: E402

BENCH = ROOT / "bench" / "realparts"
IMAGE_PX = 300
"""Meta-image size for the image champion: the demo's render size."""
OVER = "+X-Y-Z"
"""A half turn about X: -Z up."""
CACHE: dict[str, str] = {}
"""The built-in model and the face-normal champion share their parts' analyses (main)."""
CHAMPIONS = {
    "face-normal champion": "models:/milling-directions-face-normals@champion",
    "image champion": "models:/milling-directions@champion",
}


def run(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **CACHE},
    )
    if done.returncode != 0:
        tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        sys.exit(f"real: failed (exit {done.returncode}): {' '.join(args[:3])}: {tail}")
    return done.stdout


def json_lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def crown_best(tracking_uri: str, results: dict) -> None:
    """Record each champion's real-part scores on its version; the best family gets `best`."""
    from trainer.tracking import best, runs  # MLflow: only with --tracking-uri

    runs.connect(tracking_uri)
    for name, family in (("face-normal champion", "face-normals"), ("image champion", "image")):
        if name in results:
            best.record_real(family, *plan_score(results[name]))
    best.decide_best()


def read_labels(folder: Path = BENCH, labels: str = "tools") -> list[dict]:
    """The benchmark's rows; labels="tools": the tool-aware labels (the tool-aware analysis with
    the default library, checked by eye: the `tools_*` columns) in place of the zero-radius
    ones, a part with one tool-aware setup a one-setup part."""
    with (folder / "labels.csv").open(newline="") as f:
        rows = list(csv.DictReader(f))
    if labels == "eye":
        return rows
    out = []
    for row in rows:
        needed = row["tools_needed"].split()
        if len(needed) == 1:
            same = row["kind"] == "one" and needed[0] == row["label"]
            one_setup = row["one_setup"] if same else needed[0]
            out.append(dict(row, kind="one", label=needed[0], one_setup=one_setup))
        else:
            out.append(dict(row, kind="multi", needed=row["tools_needed"], primary=needed[0]))
    return out


def cases(rows: list[dict], out: Path) -> tuple[list[tuple[Path, set]], list[tuple[Path, dict]]]:
    """One-setup parts turned into each class (written under out/one) with the answers that
    are right for each (a through-hole part is right from either end), and multi-setup parts."""
    one, multi = [], []
    (out / "one").mkdir(parents=True, exist_ok=True)
    (out / "multi").mkdir(parents=True, exist_ok=True)
    for row in rows:
        path = BENCH / "parts" / row["file"]
        if row["kind"] != "one":
            if row["primary"] == classes.CLAMP:
                over = rotations.parse_rotation(OVER)
                turned = out / "multi" / f"{path.stem}__{OVER}.stl"
                if not turned.exists():
                    stl.write_stl(turned, stl.read_stl(path).triangles @ over.T)
                needed = " ".join(rotations.rotate_label(d, over) for d in row["needed"].split())
                row = dict(row, needed=needed, primary=rotations.rotate_label(row["primary"], over))
                path = turned
            multi.append((path, row))
            continue
        triangles = stl.read_stl(path).triangles
        for target in classes.CLASSES:
            name, matrix = next(
                (n, m)
                for n, m in rotations.cube_rotations().items()
                if rotations.rotate_label(row["label"], m) == target
            )
            turned = out / "one" / f"{path.stem}__{name}.stl"
            if not turned.exists():
                stl.write_stl(turned, triangles @ matrix.T)
            right = {rotations.rotate_label(d, matrix) for d in row["one_setup"].split()}
            one.append((turned, right & set(classes.CLASSES)))
    return one, multi


def answers_builtin(paths: list[Path]) -> dict[Path, dict]:
    """The add-on's answers, in one process per core (each part's tool-aware analysis)."""
    found = json_lines("".join(_split(("-m", "blender_addon", "predict"), paths)))
    return {Path(a["input"]): _answer(a) for a in found}


def _split(command: tuple[str, ...], paths: list[Path]) -> list[str]:
    """The outputs of `command` run on the paths in one process per core (up to 4)."""
    ways = max(1, min(os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(ways) as pool:
        return list(pool.map(lambda k: run(*command, *map(str, paths[k::ways])), range(ways)))


def _answer(obj: dict) -> dict:
    """A `predict --json` object's probabilities and plan (its label alone without a plan)."""
    plan = [s["direction"] for s in obj.get("plan") or []] or [obj["label"]]
    return {"probabilities": obj["probabilities"], "plan": plan}


def answers_builtin_in(folder: Path, paths: list[Path]) -> dict[Path, dict]:
    """The answers of the built-in model files in `folder` (in this process: a candidate that
    is not installed in the add-on yet)."""
    from blender_addon.inference import builtin

    model = builtin.load(folder)
    out = {}
    for p in paths:
        a = model.predict(stl.read_stl(p).triangles)
        out[p] = _answer(a.as_json(str(p)))
    return out


def plan_score(result: dict) -> tuple[float, float]:
    """What decides between two models on the real parts: the share of all real cases (turned
    one-setup cases and multi-setup parts) whose whole plan is exact, then the 5-class accuracy
    on the one-setup cases."""
    one, multi = result["one_setup_cases"], result["multi_parts"]
    exact = result["one_setup_plan_exact"] * one + result["multi_plan_exact"] * multi
    return exact / (one + multi), result["one_setup_accuracy"]


def score_builtin(folder: Path, out: Path) -> dict:
    """`score` of the built-in model files in `folder` on the whole benchmark."""
    one, multi = cases(read_labels(), out)
    paths = [p for p, _ in one] + [p for p, _ in multi]
    return score(answers_builtin_in(folder, paths), one, multi)


def answers_champion(uri: str, tracking: str, paths: list[Path], images: Path | None):
    inputs = paths
    if images is not None:  # the image model reads meta-images: render each part once
        if not (images / manifest.FILENAME).is_file():
            run(
                "-m",
                "blender_addon",
                "render",
                *map(str, paths),
                "--out",
                str(images),
                "--size",
                str(IMAGE_PX),
                "--workers",
                "2",
                "--quiet",
            )
        roots = manifest.read_roots(images)
        rows = manifest.read(images / manifest.FILENAME)
        by_source = {
            manifest.resolve_source(images, r.source, roots).resolve(): images / r.image
            for r in rows
        }
        inputs = [by_source[p.resolve()] for p in paths]
    found = json_lines(
        run(
            "-m",
            "trainer",
            "predict",
            "--json",
            "--model",
            uri,
            "--tracking-uri",
            tracking,
            *map(str, inputs),
        )
    )
    back = dict(zip(map(str, inputs), paths, strict=True))
    return {back[a["input"]]: _answer(a) for a in found}


def answers_analysis(paths: list[Path], tools: str = "none") -> dict[Path, dict]:
    """The geometric analysis' answers: zero-radius (tools none) or with a tool library (then
    in one process per core: each part takes it about 0.5 s)."""
    command = ("-m", "blender_addon", "setups", "--json", "--tools", tools)
    texts = [run(*command, *map(str, paths))] if tools == "none" else _split(command, paths)
    found = [a for text in texts for a in json_lines(text)]
    out = {}
    for a in found:
        singles = [x[0] for x in a["alternatives"] if len(x) == 1]
        plan = [s["direction"] for s in a["setups"]]
        pick = next((d for d in singles + plan if d in classes.CLASSES), "")
        probabilities = {pick: 1.0} if pick in classes.CLASSES else {}
        out[Path(a["input"])] = {"probabilities": probabilities, "plan": plan}
    return out


def ece(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the bin-weighted gap between confidence and accuracy."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.mean() * abs(confidence[mask].mean() - correct[mask].mean())
    return float(total)


def score(answers: dict[Path, dict], one, multi, calibrated: bool = True) -> dict:
    probabilities = {p: a["probabilities"] for p, a in answers.items()}
    top = {p: max(probs, key=probs.get) if probs else "" for p, probs in probabilities.items()}
    correct = np.array([top[p] in right for p, right in one], dtype=float)
    confidence = np.array([max(probabilities[p].values(), default=0.0) for p, _ in one])
    needed = [top[p] in row["needed"].split() for p, row in multi]
    primary = [top[p] == row["primary"] for p, row in multi]
    plan = {p: answers[p]["plan"] for p in answers}
    one_plan = [len(plan[p]) == 1 and plan[p][0] in right for p, right in one]
    exact = [set(plan[p]) == set(row["needed"].split()) for p, row in multi]
    plan_primary = [plan[p][:1] == [row["primary"]] for p, row in multi]
    return {
        "one_setup_accuracy": float(correct.mean()),
        "one_setup_cases": len(one),
        "ece": ece(confidence, correct) if calibrated else None,
        "mean_confidence": float(confidence.mean()) if calibrated else None,
        "wrong_confident": int(((confidence >= 0.95) & (correct == 0)).sum())
        if calibrated
        else None,
        "multi_needed": float(np.mean(needed)),
        "multi_primary": float(np.mean(primary)),
        "multi_parts": len(multi),
        "one_setup_plan_exact": float(np.mean(one_plan)),
        "multi_plan_exact": float(np.mean(exact)),
        "multi_plan_primary": float(np.mean(plan_primary)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", help="also score this store's two champions")
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "real")
    parser.add_argument("--json", action="store_true", help="one JSON object, no table")
    parser.add_argument(
        "--labels",
        choices=("eye", "tools"),
        default="tools",
        help="tools (default): the tool-aware labels (the default library's analysis, checked "
        "by eye), which the models follow; eye: the zero-radius ones of before, checked by eye",
    )
    record.add_option(parser)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.out / "analyses", ignore_errors=True)  # this run's code answers afresh
    CACHE["MILLING_ANALYSIS_CACHE"] = str((args.out / "analyses").resolve())
    one, multi = cases(read_labels(labels=args.labels), args.out)
    paths = [p for p, _ in one] + [p for p, _ in multi]
    results, seconds = {}, {}
    models = [("built-in model", lambda: answers_builtin(paths))]
    if args.tracking_uri:
        images = args.out / "images"
        if images.exists() and not (images / manifest.FILENAME).is_file():
            shutil.rmtree(images)
        for name, uri in CHAMPIONS.items():
            folder = images if name == "image champion" else None
            models.append(
                (name, lambda u=uri, f=folder: answers_champion(u, args.tracking_uri, paths, f))
            )
    models.append(("setup analysis", lambda: answers_analysis(paths)))
    models.append(("tool-aware analysis", lambda: answers_analysis(paths, "default")))
    for name, answer in models:
        start = time.monotonic()
        results[name] = score(answer(), one, multi, calibrated=not name.endswith("analysis"))
        seconds[name] = time.monotonic() - start
    if args.tracking_uri and args.labels == "tools":
        crown_best(args.tracking_uri, results)
    if args.record:
        write_record(results, seconds, len(one), len(multi), args.record, args.labels)
    if args.json:
        print(json.dumps(results))
        return
    print(
        f"real parts (bench/realparts, {args.labels} labels): {len(one) // 5} one-setup parts x "
        f"5 classes = {len(one)} cases; {len(multi)} multi-setup parts"
    )
    print(
        f"{'model':<22}{'one-setup acc':>14}{'ECE':>7}{'wrong >=95%':>12}"
        f"{'multi: needed':>15}{'primary':>9}{'time s':>8}"
    )
    for name, r in results.items():
        e = "  n/a" if r["ece"] is None else f"{r['ece']:.3f}"
        w = "n/a" if r["wrong_confident"] is None else r["wrong_confident"]
        print(
            f"{name:<22}{r['one_setup_accuracy']:>14.1%}{e:>7}{w:>12}"
            f"{r['multi_needed']:>15.1%}{r['multi_primary']:>9.1%}{seconds[name]:>8.1f}"
        )
    print("setup plans (the set of needed sides; primary: the plan's first setup):")
    print(f"{'model':<22}{'one-setup exact':>16}{'multi exact':>12}{'multi primary':>14}")
    for name, r in results.items():
        print(
            f"{name:<22}{r['one_setup_plan_exact']:>16.1%}{r['multi_plan_exact']:>12.1%}"
            f"{r['multi_plan_primary']:>14.1%}"
        )


def answers_table(results: dict, title: str, seconds: dict | None = None) -> dict:
    """The 5-class answers of each model as a record's table (bench/record.py)."""
    c = record.column
    columns = [c("model"), c("one-setup accuracy", "percent"), c("ECE", "float3")]
    columns += [c("wrong at >= 95 %", "int"), c("multi-setup: a needed side", "percent")]
    columns += [c("multi-setup: the primary", "percent")] + (
        [c("time", "seconds")] if seconds else []
    )
    keys = ("one_setup_accuracy", "ece", "wrong_confident", "multi_needed", "multi_primary")
    rows = [
        [name, *(r[k] for k in keys), *([seconds[name]] if seconds else [])]
        for name, r in results.items()
    ]
    return record.table(title, columns, rows)


def write_record(
    results: dict, seconds: dict, cases: int, multi: int, out: Path, labels: str = "eye"
) -> None:
    c = record.column
    title = f"5-class answers: {cases} one-setup cases, {multi} multi-setup parts"
    if labels == "tools":
        title += " (the tool-aware labels)"
    plans = [
        [name, r["one_setup_plan_exact"], r["multi_plan_exact"], r["multi_plan_primary"]]
        for name, r in results.items()
    ]
    record.write(
        "real" if labels == "eye" else "real-tools",
        "The real-part benchmark" + (" against the tool-aware labels" if labels == "tools" else ""),
        [
            answers_table(results, title, seconds),
            record.table(
                "Setup plans (exact: the set of needed sides; primary: the plan's first setup)",
                [
                    c("model"),
                    c("one-setup: exact", "percent"),
                    c("multi-setup: exact", "percent"),
                    c("multi-setup: primary", "percent"),
                ],
                plans,
            ),
        ],
        out=out,
    )


if __name__ == "__main__":
    main()
