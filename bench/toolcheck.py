"""Cross-check the tool-aware analysis' cutter against OpenCAMLib's drop-cutter on the real parts.

For each real part (bench/realparts), each of the six sides and a flat and a ball end mill, the
lowest height the cutter's tip reaches over a grid of cell centres across the part is computed
twice:
by the analysis' height map and grey dilation (shared/geometry/heightmap.py, SideMap.tip with
unlimited reach) and by OpenCAMLib's BatchDropCutter on the part's triangles (the field's
reference for 3-axis cutter contact). The table gives how often the two agree within 0.1 mm and
within half of the analysis' grid cell (its resolution), and the median and 99th percentile of
the difference, at the points where OpenCAMLib's cutter rests on the part.

    pip install opencamlib
    python bench/toolcheck.py [--points 30] [--record]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from shared import setups, stl, toolplan, tools  # noqa: E402

PARTS = ROOT / "bench" / "realparts" / "parts"
CHECKED = (
    tools.Tool("flat 6", "flat", 6.0, 18.0),
    tools.Tool("ball 6", "ball", 6.0, 18.0),
)


def drop_cutter(ocl, triangles: np.ndarray, tool: tools.Tool, xy: np.ndarray, floor: float):
    """OpenCAMLib's tip heights for `tool` over the points xy, the part seen from +Z."""
    surface = ocl.STLSurf()
    for a, b, c in triangles:
        surface.addTriangle(ocl.Triangle(ocl.Point(*a), ocl.Point(*b), ocl.Point(*c)))
    length = 10 * float(np.ptp(triangles[:, :, 2])) + 10
    cutter = (
        ocl.CylCutter(tool.diameter, length)
        if tool.kind == "flat"
        else ocl.BallCutter(tool.diameter, length)
    )
    batch = ocl.BatchDropCutter()
    batch.setSTL(surface)
    batch.setCutter(cutter)
    for x, y in xy:
        batch.appendPoint(ocl.CLPoint(float(x), float(y), floor))
    batch.run()
    return np.array([p.z for p in batch.getCLPoints()])


def check_part(ocl, triangles: np.ndarray, points: int) -> list[np.ndarray]:
    """|analysis - OpenCAMLib| at the grid points where OpenCAMLib's cutter touches the part,
    per (side, tool), with the analysis' cell; None where no point does."""
    out = []
    sides = toolplan.Sides(triangles, CHECKED)
    for n in range(len(setups.TIE_ORDER)):
        side = sides[n]
        u, v = side.uv
        # the part as OpenCAMLib sees it: (u, v) across, the height along the side
        heights = side.heights(triangles.reshape(-1, 3)).reshape(-1, 3)
        seen = np.stack([triangles[:, :, u], triangles[:, :, v], heights], 2)
        lo, hi = seen[:, :, :2].reshape(-1, 2).min(0), seen[:, :, :2].reshape(-1, 2).max(0)
        grid = np.stack(np.meshgrid(*(np.linspace(lo[k], hi[k], points) for k in range(2))), -1)
        i, j = side.cells(np.insert(grid.reshape(-1, 2), side.axis, 0.0, axis=1))
        xy = side.lo + (np.stack([i, j], axis=1) + 0.5) * side.cell  # the cells' centres
        floor = float(seen[:, :, 2].min()) - 1.0
        for tool in CHECKED:
            ours = side.tip(tool, holder=False)
            theirs = drop_cutter(ocl, seen, tool, xy, floor)
            touched = theirs > floor + 1e-6  # beside the part both are far below it
            out.append((np.abs(ours[i, j] - theirs)[touched], side.cell))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=30, help="grid points per side (default 30)")
    parser.add_argument("--parts", type=int, default=0, help="only the first N parts (0: all)")
    record.add_option(parser)
    args = parser.parse_args()
    try:
        import opencamlib as ocl
    except ImportError:
        sys.exit("error: this check needs OpenCAMLib: pip install opencamlib")
    files = sorted(PARTS.glob("*.stl"))[: args.parts or None]
    diffs, cells, start = [], [], time.monotonic()
    for n, path in enumerate(files, 1):
        triangles = stl.read_stl(path).triangles
        for gap, cell in check_part(ocl, triangles, args.points):
            diffs.append(gap)
            cells.append(np.full(len(gap), cell))
        print(f"\r{n}/{len(files)} parts", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    gaps, cell = np.concatenate(diffs), np.concatenate(cells)
    close, ok = float((gaps <= 0.1).mean()), float((gaps <= 0.5 * cell).mean())
    rows = [
        [
            len(files),
            len(gaps),
            close,
            ok,
            float(np.median(gaps)),
            float(np.percentile(gaps, 99)),
            time.monotonic() - start,
        ]
    ]
    print(
        f"{len(files)} real parts, 6 sides, {', '.join(t.name for t in CHECKED)}: {len(gaps):,} "
        f"points where the cutter rests on the part; the analysis' tip height is within 0.1 mm "
        f"of OpenCAMLib's drop-cutter at {close:.1%}, within half a grid cell at {ok:.1%}; "
        f"difference median {np.median(gaps):.3f} mm, 99th percentile "
        f"{np.percentile(gaps, 99):.3f} mm"
    )
    if args.record:
        c = record.column
        columns = [c("parts", "int"), c("points", "int"), c("within 0.1 mm", "percent")]
        columns += [c("within half a cell", "percent")]
        columns += [c("median difference mm", "float3"), c("99th percentile mm", "float3")]
        columns += [c("time", "seconds")]
        title = "Tip height of flat 6 and ball 6 against OpenCAMLib's drop-cutter, 6 sides"
        record.write(
            "toolcheck",
            "The tool-aware analysis against OpenCAMLib",
            [record.table(title, columns, rows)],
            out=args.record,
        )


if __name__ == "__main__":
    main()
