"""`python -m trainer label DIR`: label a folder of real parts with the geometric setup analysis.

The analysis runs as `python -m blender_addon setups --json` (the add-on's command line, so
Embree casts the rays where it is installed; the two halves meet in command lines). Each part:
- one setup from +X, -X, +Y, -Y or +Z: that label (a class direction is taken over -Z among
  equally good answers: a through-hole part is +Z);
- one setup from -Z only: the part is turned half a turn about X into `turned/`, so that its
  side is +Z, and labelled +Z; the turn is recorded;
- several setups, or none: listed in setups.csv with the plan, kept out of labels.csv; with
  `plans`, a part of several setups gets a row too, labelled with its primary setup (turned
  over first when that is -Z) and its plan in a `plan` column, for a plan head to learn from.
labels.csv (file,label,why,turn,source[,plan]) is what `render --labels` reads; setups.csv has
every part's plan. Both are complete or absent.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from shared import atomic, classes, rotations, setups, stl
from trainer.errors import TrainerError

TURN = "+X-Y-Z"
"""Half a turn about X: takes -Z to +Z."""
LABEL_COLUMNS = ("file", "label", "why", "turn", "source")
SETUP_COLUMNS = ("file", "setups", "shares", "alternatives", "undercut", "label")


class LabelError(TrainerError, ValueError):
    """A folder that cannot be labelled (exit 2)."""


@dataclass
class LabelResult:
    labelled: dict[str, str] = field(default_factory=dict)
    """file (as in labels.csv) -> label."""
    multi: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Parts that need several setups (or none reach them): their plan."""
    failed: list[str] = field(default_factory=list)
    """One line for each file that could not be read."""
    planned: set[str] = field(default_factory=set)
    """Multi-setup parts labelled with their plan (`with_plans`)."""


def label(
    folder: Path,
    stock: str = "box",
    overwrite: bool = False,
    with_plans: bool = False,
    tools: str = "default",
    units: str = "mm",
) -> LabelResult:
    """Analyse every STL and STEP file in `folder` (the tool-aware analysis with `tools`, a
    library file, `default` or `none`: the zero-radius one; the parts' numbers in `units`);
    write labels.csv, setups.csv and turned/ there (`with_plans`: multi-setup parts in
    labels.csv too, with a plan column)."""
    if not folder.is_dir():
        raise LabelError(f"{folder}: not a folder")
    files = sorted(
        p for p in folder.iterdir() if p.suffix.lower() in stl.PART_SUFFIXES and p.is_file()
    )
    if not files:
        raise LabelError(f"{folder}: no .stl or .step files")
    if not overwrite and (folder / "labels.csv").exists():
        raise LabelError(f"{folder / 'labels.csv'}: exists; use --overwrite to replace it")
    result, labels, plans = LabelResult(), [], []
    with tempfile.TemporaryDirectory(prefix="milling-label-") as meshes:
        for path, answer in _analyse(
            files, stock, Path(meshes), ("--tools", tools, "--units", units)
        ):
            _one(folder, path, answer, Path(meshes), result, labels, plans, with_plans)
    _write(folder / "setups.csv", SETUP_COLUMNS, plans)
    if with_plans:
        _write(folder / "labels.csv", (*LABEL_COLUMNS, "plan"), labels)
    else:
        _write(folder / "labels.csv", LABEL_COLUMNS, [r[: len(LABEL_COLUMNS)] for r in labels])
    return result


def _one(
    folder: Path,
    path: Path,
    answer: dict,
    meshes: Path,
    result: LabelResult,
    labels: list,
    plans: list,
    with_plans: bool = False,
) -> None:
    """Label one analysed part: a labels.csv row, or a multi-setup plan; a setups.csv row."""
    if "error" in answer:
        result.failed.append(answer["error"])
        return
    plan = setups.from_json(answer)
    row = _label_row(folder, path, plan, meshes / f"{path.stem}.stl")
    if row is None and with_plans and len(plan.directions) > 1 and plan.undercut == 0:
        row = _plan_row(folder, path, plan, meshes / f"{path.stem}.stl")
        result.planned.add(path.name)
    plans.append(
        [
            path.name,
            " ".join(plan.directions),
            " ".join(f"{s.share:.4f}" for s in plan.setups),
            "|".join(" ".join(a) for a in plan.alternatives),
            f"{plan.undercut:.4f}",
            row[1] if row else "",
        ]
    )
    if row and len(row) == len(LABEL_COLUMNS):
        row.append(row[1])  # one setup: the plan is the label alone
    if row:
        labels.append(row)
        result.labelled[row[0]] = row[1]
    if not row or len(plan.directions) > 1:
        result.multi[path.name] = plan.directions


def _analyse(files: list[Path], stock: str, meshes: Path, tools: tuple[str, ...]):
    command = [sys.executable, "-m", "blender_addon", "setups", "--json", *tools]
    command += ["--stock", stock]
    command += ["--mesh-out", str(meshes)]
    done = subprocess.run([*command, *map(str, files)], capture_output=True, text=True)
    if done.returncode == 2:
        raise LabelError(done.stderr.strip().splitlines()[-1].removeprefix("error: "))
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    if len(answers) != len(files):
        raise LabelError(f"the setup analysis stopped: {done.stderr.strip()[-300:]}")
    return zip(files, answers, strict=True)


def _label_row(folder: Path, path: Path, plan: setups.Analysis, mesh: Path) -> list[str] | None:
    ones = [a[0] for a in plan.alternatives if len(a) == 1]
    if not ones:
        return None
    share = f"{100 * (1 - plan.undercut):.1f} %"
    also = f"; also from {', '.join(ones[1:])}" if len(ones) > 1 else ""
    undercut = f"; {100 * plan.undercut:.1f} % undercut" if plan.undercut > 0 else ""
    direction = next((d for d in ones if d in classes.CLASSES), ones[0])
    if direction != classes.CLAMP:
        why = f"one setup: {direction} reaches {share} of the machined area{also}{undercut}"
        return [path.name, direction, why, "", path.name]
    turned = folder / "turned" / f"{path.stem}.stl"  # a STEP part: the mesh analysed
    turned.parent.mkdir(exist_ok=True)
    triangles = stl.read_stl(mesh).triangles @ rotations.parse_rotation(TURN).T
    with atomic.replacing(turned) as tmp:
        stl.write_stl(tmp, triangles)
    why = f"one setup, from -Z only: turned {TURN} so that it is +Z{undercut}"
    return [f"turned/{turned.name}", "+Z", why, TURN, path.name]


def _plan_row(folder: Path, path: Path, plan: setups.Analysis, mesh: Path) -> list[str]:
    """A multi-setup part's labels.csv row: its primary setup, turned up first if it is -Z."""
    steps, turn, file = plan.directions, "", path.name
    if steps[0] == classes.CLAMP:
        turn = TURN
        steps = tuple(rotations.rotate_label(d, rotations.parse_rotation(TURN)) for d in steps)
        turned = folder / "turned" / f"{path.stem}.stl"
        turned.parent.mkdir(exist_ok=True)
        triangles = stl.read_stl(mesh).triangles @ rotations.parse_rotation(TURN).T
        with atomic.replacing(turned) as tmp:
            stl.write_stl(tmp, triangles)
        file = f"turned/{turned.name}"
    why = f"{len(steps)} setups: " + " ".join(
        f"{d} ({100 * s.share:.1f} %)" for d, s in zip(steps, plan.setups, strict=True)
    )
    return [file, steps[0], why, turn, path.name, " ".join(steps)]


def _write(path: Path, columns: tuple[str, ...], rows: list[list[str]]) -> None:
    with atomic.replacing(path) as tmp, tmp.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
