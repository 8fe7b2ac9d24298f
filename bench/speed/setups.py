"""The geometric setup analysis' time per part: Embree's caster (the command line's) against
numpy's (anywhere else), on machined blocks of about 1k, 10k and 100k triangles, in one warm
process (medians of --repeats). "scene" is the caster's set-up (Embree's BVH; numpy builds its
grids lazily, inside "rays").

    python bench/speed/setups.py [--repeats 10] [--record]

Target (issue 24): a 10k-triangle part in 50 ms or less here, with Embree.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.speed.render import PARTS, machined_block  # noqa: E402
from blender_addon.inference.analysis import EmbreeCaster  # noqa: E402
from shared import axisrays, setups  # noqa: E402


def median_seconds(fn, repeats: int) -> float:
    """The median wall time of `repeats` calls of fn()."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    record.add_option(parser)
    args = parser.parse_args()
    rows = []
    casters = {"embree": EmbreeCaster, "numpy": axisrays.Caster}
    print(
        f"{'part':>5} {'triangles':>9} {'samples':>7} {'caster':>6} {'total ms':>9} "
        f"{'of it: scene':>12} {'rays':>6}"
    )
    for name, segments in PARTS.items():
        t = machined_block(segments=segments)
        points, _ = setups.samples(t)
        totals = {}
        for caster, make in casters.items():
            repeats = args.repeats if caster == "embree" or len(t) < 50_000 else 2
            total = median_seconds(
                lambda make=make, t=t: setups.analyse(t, caster=make(t)), repeats
            )
            scene = median_seconds(lambda make=make, t=t: make(t), repeats)
            print(
                f"{name:>5} {len(t):>9,} {len(points):>7,} {caster:>6} {1000 * total:>9.1f} "
                f"{1000 * scene:>12.1f} {1000 * (total - scene):>6.1f}"
            )
            totals[caster] = total
            rows.append([name, len(t), len(points), caster, total * 1000, scene * 1000])
        print(f"      numpy / embree: {totals['numpy'] / totals['embree']:.1f}x")
        rows[-1].append(totals["numpy"] / totals["embree"])
        rows[-2].append(None)
    plan = setups.analyse(machined_block(), caster=EmbreeCaster(machined_block()))
    print(f"10k part's plan: {[(s.direction, round(s.share, 3)) for s in plan.setups]}")
    if args.record:
        c = record.column
        columns = [c("part"), c("triangles", "int"), c("samples", "int"), c("caster")]
        columns += [c("total", "ms"), c("of it: scene", "ms"), c("numpy / embree", "ratio")]
        title = f"Time per part, median of {args.repeats} (numpy on 100k: of 2)"
        tables = [record.table(title, columns, rows)]
        record.write("setups", "The setup analysis' time", tables, out=args.record)


if __name__ == "__main__":
    main()
