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
from .._shared import atomic, axisrays, plans, prediction, setups, stl, toolplan, tools
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

    def distances(self, origins: np.ndarray, direction: np.ndarray) -> np.ndarray:
        """How far each ray goes before it meets the part (inf: it leaves)."""
        o = (origins - self.centre).astype(np.float32)
        d = np.broadcast_to(np.asarray(direction, dtype=np.float32), o.shape)
        hit = self.scene.run(o, np.ascontiguousarray(d), output=1)
        return np.where(hit["geomID"] == -1, np.inf, hit["tfar"].astype(np.float64))


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
    path: Path,
    stock: setups.Stock,
    engine: str = "auto",
    mesh_out: Path | None = None,
    library: tuple[tools.Tool, ...] | None = None,
    units: str = "mm",
    min_wall: float = toolplan.MIN_WALL,
) -> tuple[np.ndarray, setups.Analysis | toolplan.ToolAnalysis]:
    """The triangles of one STL or STEP file and their analysis: tool-aware with `library`
    (lengths in mm, the part's numbers read in `units`), else the zero-radius one; `mesh_out`:
    also write the triangles analysed there as NAME.stl (a STEP part's mesh)."""
    triangles = step.read_part(path).triangles
    if mesh_out is not None:
        with atomic.replacing(mesh_out / f"{path.stem}.stl") as tmp:
            stl.write_stl(tmp, triangles)
    if library is None:
        return triangles, setups.analyse(triangles, stock, caster(triangles, engine))
    mm = triangles * tools.UNITS[units]
    found = toolplan.analyse(mm, library, _in_mm(stock, units), caster(mm, engine), min_wall)
    found.units = units
    return triangles, found


def _in_mm(stock: setups.Stock, units: str) -> setups.Stock:
    scale = tools.UNITS[units]
    if scale == 1.0 or (stock.kind == "bar" and stock.centre is None) or stock.kind == "box":
        return stock
    if stock.kind == "mesh":
        return setups.Stock("mesh", triangles=stock.triangles * scale)
    u, v = stock.centre
    return setups.Stock("bar", stock.axis, (u * scale, v * scale), stock.radius * scale)


def read_tools(text: str) -> tuple[tools.Tool, ...] | None:
    """`--tools`: none (the zero-radius analysis), default, or a TOML tool library."""
    if text == "none":
        return None
    return tools.default_library() if text == "default" else tools.read_library(text)


def learned(triangles: np.ndarray, engine: str = "auto") -> prediction.Prediction:
    """The built-in model's answer, its plan beside the analysis' (it reads the analysis of
    the part's bounding box as stock among its features)."""
    try:
        model = builtin.load()
    except builtin.BuiltinError as e:
        raise OSError(str(e)) from None
    return model.predict(triangles, caster(triangles, engine))


def describe(analysis: setups.Analysis | toolplan.ToolAnalysis) -> str:
    """One line: `2 setups: 1. +Z (82.0 %)  2. -Z (18.0 %); ...` (with tools: each setup's
    tools after its share, and the share no tool reaches)."""
    plan = analysis.plan if isinstance(analysis, toolplan.ToolAnalysis) else analysis
    listed = analysis.tools if isinstance(analysis, toolplan.ToolAnalysis) else []
    if not plan.setups:
        if plan.machined_area == 0:
            return "nothing to machine: every face lies on the stock"
        return "no axis direction reaches it: all of the machined area is undercut"
    steps = []
    for i, s in enumerate(plan.setups, 1):
        tools_used = ", ".join(name for name, _ in listed[i - 1]) if listed else ""
        share = f"{100 * s.share:.1f} %{' of the machined area' if i == 1 else ''}"
        steps.append(f"{i}. {s.direction} ({share}{': ' + tools_used if tools_used else ''})")
    count = len(plan.setups)
    text = f"{count} setup{'s' if count > 1 else ''}: {'  '.join(steps)}"
    if isinstance(analysis, toolplan.ToolAnalysis) and analysis.unreached > 0:
        text += f"; no tool reaches {100 * analysis.unreached:.1f} %"
    elif plan.undercut > 0:
        text += f"; undercut {100 * plan.undercut:.1f} %"
    others = [" ".join(a) for a in plan.alternatives[1:]]
    if others:
        text += f"; also: {' | '.join(others)}"
    return text


def add_parser(commands) -> None:
    p = commands.add_parser(
        "setups",
        help="from which sides each part must be milled (the geometric analysis)",
        description="The geometric setup analysis: the smallest sets of axis directions from "
        "which the tools of a library reach every machined face that any of them reaches "
        "(faces on the stock need none; a tool reaches a point when its cutter, its shank up to "
        "its reach and its holder stay out of the part), the primary setup first, each with "
        "the share of the machined area it adds and its tools, largest first, then the share "
        "no tool reaches, alternatives of the same size, and design findings (undercut, "
        "too_deep, sharp_internal_corner, too_narrow, thin_wall), each with its share, a "
        "message in mm and its faces. All six directions count (-Z too: the part may be "
        "flipped).",
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
    p.add_argument(
        "--tools",
        default="default",
        metavar="FILE",
        help="the tool library, a TOML file (format: docs, Tool libraries); default: a shop set "
        "of flat and ball end mills from 1 to 16 mm; none: the zero-radius analysis, a ray in "
        "place of each tool (default: %(default)s)",
    )
    p.add_argument(
        "--units",
        choices=tuple(tools.UNITS),
        default="mm",
        help="what the part's numbers mean (an STL file carries no unit); every length "
        "reported is in mm (default: %(default)s)",
    )
    p.add_argument(
        "--min-wall",
        type=float,
        default=toolplan.MIN_WALL,
        metavar="MM",
        help="walls and floors thinner than this are a thin_wall finding (default: %(default)s, "
        "metal; 1.5 for plastic)",
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
    try:
        library = read_tools(args.tools)
    except tools.LibraryError as e:
        print(f"error: --tools: {e}", file=sys.stderr)
        return 2
    if not args.min_wall > 0:
        print(
            f"error: --min-wall {args.min_wall}: must be a positive number of mm", file=sys.stderr
        )
        return 2
    if args.mesh_out is not None and not args.mesh_out.is_dir():
        print(f"error: --mesh-out: {args.mesh_out}: not a folder", file=sys.stderr)
        return 2
    failed = 0
    for path in args.inputs:
        try:
            triangles, analysis = analyse_file(
                path, stock, args.rays, args.mesh_out, library, args.units, args.min_wall
            )
            answer = learned(triangles, args.rays) if args.learned else None
            warning = tools.scale_warning(triangles, args.units, str(path))
        except (ValueError, OSError) as e:
            failed += 1
            message = str(e) if isinstance(e, stl.StlError) else f"{path}: {e}"
            print(f"error: {message}", file=sys.stderr)
            if args.json:
                print(json.dumps({"input": str(path), "error": message}), flush=True)
            continue
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
        if args.json:
            extra = {"learned": answer.as_json(str(path))["plan"]} if answer else {}
            line = {"input": str(path), "units": args.units, **analysis.as_json(), **extra}
            print(json.dumps(line), flush=True)
        else:
            print(f"{path}: {describe(analysis)}", flush=True)
            if answer is not None:
                steps = answer.plan or (plans.Step(answer.label, answer.confidence),)
                plan = getattr(analysis, "plan", analysis)
                same = {s.direction for s in steps} == set(plan.directions)
                print(
                    f"  learned ({answer.model_uri} v{answer.model_version}): "
                    f"{plans.describe(steps)}  [{'same sides' if same else 'differs'}]",
                    flush=True,
                )
            for finding in getattr(analysis, "findings", []):
                print(f"  {finding.kind}: {finding.message}", flush=True)
    return 1 if failed else 0
