"""`python -m blender_addon setups PART...`: from which sides each part must be milled, by the
geometric setup analysis (shared/geometry/setups.py). Embree casts the rays where `embreex` is
installed; elsewhere (a stock Blender) the numpy caster does, with the same answers."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .. import step
from .._shared import atomic, axisrays, plans, prediction, setups, stl
from ..render.embree import available as embree_available
from ..render.embree import mesh_construction, rtcore_scene
from . import builtin


class EmbreeCaster:
    """The analysis' caster on an Embree scene of the part (float32, centred for precision)."""

    def __init__(self, triangles: np.ndarray):
        points = triangles.reshape(-1, 3)
        self.centre = (points.min(axis=0) + points.max(axis=0)) / 2
        self.scene = rtcore_scene.EmbreeScene()
        mesh_construction.TriangleMesh(self.scene, (triangles - self.centre).astype(np.float32))

    def __call__(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        o = (origins - self.centre).astype(np.float32)
        d = np.broadcast_to(np.asarray(direction, dtype=np.float32), o.shape)
        return self.scene.run(o, np.ascontiguousarray(d)) == -1


def caster(triangles: np.ndarray, engine: str = "auto") -> setups.Caster:
    """Embree's caster (auto, where embreex imports, or embree) or numpy's."""
    if engine == "embree" or (engine == "auto" and embree_available()):
        return EmbreeCaster(triangles)
    return axisrays.Caster(triangles)


def read_stock(text: str) -> setups.Stock:
    """`--stock`: box, bar:AXIS[:U,V,R], or a stock STL file."""
    if step.is_part(text):
        return setups.Stock("mesh", triangles=step.read_part(text).triangles)
    return setups.Stock.parse(text)


def analyse_file(
    path: Path, stock: setups.Stock, engine: str = "auto", mesh_out: Path | None = None
) -> tuple[np.ndarray, setups.Analysis]:
    """The triangles of one STL or STEP file and their analysis; `mesh_out`: also write the
    triangles analysed there as NAME.stl (a STEP part's mesh)."""
    triangles = step.read_part(path).triangles
    if mesh_out is not None:
        with atomic.replacing(mesh_out / f"{path.stem}.stl") as tmp:
            stl.write_stl(tmp, triangles)
    return triangles, setups.analyse(triangles, stock, caster(triangles, engine))


def learned(triangles: np.ndarray, engine: str = "auto") -> prediction.Prediction:
    """The built-in model's answer, its plan beside the analysis' (it reads the analysis of
    the part's bounding box as stock among its features)."""
    try:
        model = builtin.load()
    except builtin.BuiltinError as e:
        raise OSError(str(e)) from None
    return model.predict(triangles, caster(triangles, engine))


def describe(analysis: setups.Analysis) -> str:
    """One line: `2 setups: 1. +Z (82.0 %)  2. -Z (18.0 %); ...`."""
    if not analysis.setups:
        if analysis.machined_area == 0:
            return "nothing to machine: every face lies on the stock"
        return "no axis direction reaches it: all of the machined area is undercut"
    plan = "  ".join(
        f"{i}. {s.direction} ({100 * s.share:.1f} %{' of the machined area' if i == 1 else ''})"
        for i, s in enumerate(analysis.setups, 1)
    )
    count = len(analysis.setups)
    text = f"{count} setup{'s' if count > 1 else ''}: {plan}"
    if analysis.undercut > 0:
        text += f"; undercut {100 * analysis.undercut:.1f} %"
    others = [" ".join(a) for a in analysis.alternatives[1:]]
    if others:
        text += f"; also: {' | '.join(others)}"
    return text


def add_parser(commands) -> None:
    p = commands.add_parser(
        "setups",
        help="from which sides each part must be milled (the geometric analysis)",
        description="The geometric setup analysis: the smallest sets of axis directions whose "
        "tools reach every machined face (faces on the stock need none), the primary setup "
        "first, each with the share of the machined area it adds, the undercut share (no axis "
        "reaches it) and alternatives of the same size. All six directions count (-Z too: the "
        "part may be flipped).",
    )
    p.add_argument("inputs", nargs="+", type=Path, metavar="PART", help="STL or STEP files")
    p.add_argument(
        "--stock",
        default="box",
        metavar="STOCK",
        help="what the part is cut from: box (its bounding box), bar:x|y|z (a round bar along "
        "that axis, fitted to the part), bar:AXIS:U,V,R (centre and radius given), or a stock "
        "STL or STEP file (default: %(default)s)",
    )
    p.add_argument(
        "--rays",
        choices=("auto", "embree", "numpy"),
        default="auto",
        help="who casts the rays (same answers): auto takes embree where embreex is installed",
    )
    p.add_argument("--json", action="store_true", help="one JSON object per part on stdout")
    p.add_argument(
        "--learned",
        action="store_true",
        help="also the built-in model's setup plan, beside the analysis' (JSON: 'learned', "
        "the plan as `predict --json` gives it)",
    )
    p.add_argument(
        "--mesh-out",
        type=Path,
        metavar="DIR",
        help="also write the triangles each part was analysed as, DIR/NAME.stl (for a STEP "
        "part: Open CASCADE's mesh of it)",
    )


def run(args: argparse.Namespace) -> int:
    """Analyse every input; exit 1 if some could not be read, 2 for a bad --stock."""
    if args.rays == "embree" and not embree_available():
        print(
            "error: --rays embree needs the embreex package: pip install embreex", file=sys.stderr
        )
        return 2
    try:
        stock = read_stock(args.stock)
    except (ValueError, OSError) as e:
        print(f"error: --stock: {e}", file=sys.stderr)
        return 2
    if args.mesh_out is not None and not args.mesh_out.is_dir():
        print(f"error: --mesh-out: {args.mesh_out}: not a folder", file=sys.stderr)
        return 2
    failed = 0
    for path in args.inputs:
        try:
            triangles, analysis = analyse_file(path, stock, args.rays, args.mesh_out)
            answer = learned(triangles, args.rays) if args.learned else None
        except (ValueError, OSError) as e:
            failed += 1
            message = str(e) if isinstance(e, stl.StlError) else f"{path}: {e}"
            print(f"error: {message}", file=sys.stderr)
            if args.json:
                print(json.dumps({"input": str(path), "error": message}), flush=True)
            continue
        if args.json:
            extra = {"learned": answer.as_json(str(path))["plan"]} if answer else {}
            print(json.dumps({"input": str(path), **analysis.as_json(), **extra}), flush=True)
        else:
            print(f"{path}: {describe(analysis)}", flush=True)
            if answer is not None:
                steps = answer.plan or (plans.Step(answer.label, answer.confidence),)
                same = {s.direction for s in steps} == set(analysis.directions)
                print(
                    f"  learned ({answer.model_uri} v{answer.model_version}): "
                    f"{plans.describe(steps)}  [{'same sides' if same else 'differs'}]",
                    flush=True,
                )
    return 1 if failed else 0
