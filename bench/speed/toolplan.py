"""The tool-aware analysis' time per part with the default tool library (16 end mills):
Embree's caster (the command line's) against numpy's (anywhere else), on the machined blocks
of about 1k, 10k and 100k triangles, in one warm process (medians of --repeats), beside the
zero-radius analysis of the same part.

    python bench/speed/toolplan.py [--repeats 5] [--record]

Target (issue 34): a 10k-triangle part in 0.3 s or less here, with Embree.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from bench import record  # noqa: E402
from bench.speed.render import PARTS, machined_block  # noqa: E402
from bench.speed.setups import median_seconds  # noqa: E402
from blender_addon.inference.analysis import EmbreeCaster  # noqa: E402
from shared import axisrays, setups, toolplan, tools  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    record.add_option(parser)
    args = parser.parse_args()
    library = tools.default_library()
    casters = {"embree": EmbreeCaster, "numpy": axisrays.Caster}
    rows = []
    print(f"{'part':>5} {'triangles':>9} {'caster':>6} {'tool-aware s':>12} {'zero-radius s':>13}")
    for name, segments in PARTS.items():
        t = machined_block(segments=segments)
        totals = {}
        for caster, make in casters.items():
            repeats = args.repeats if caster == "embree" or len(t) < 50_000 else 1
            tool = median_seconds(
                lambda m=make, t=t: toolplan.analyse(t, library, caster=m(t)), repeats
            )
            zero = median_seconds(lambda m=make, t=t: setups.analyse(t, caster=m(t)), repeats)
            print(f"{name:>5} {len(t):>9,} {caster:>6} {tool:>12.3f} {zero:>13.3f}")
            totals[caster] = tool
            rows.append([name, len(t), caster, 1000 * tool, 1000 * zero, tool / zero])
        print(f"      numpy / embree: {totals['numpy'] / totals['embree']:.1f}x")
    found = toolplan.analyse(machined_block(), library, caster=EmbreeCaster(machined_block()))
    plan = [(s.direction, round(s.share, 3)) for s in found.plan.setups]
    print(f"10k part's plan: {plan}, unreached {found.unreached:.3f}")
    for f in found.findings:
        print(f"  {f.kind}: {f.message}")
    if args.record:
        c = record.column
        columns = [c("part"), c("triangles", "int"), c("caster"), c("tool-aware", "ms")]
        columns += [c("zero-radius", "ms"), c("tool-aware / zero-radius", "ratio")]
        title = f"Time per part with the default library ({len(library)} tools), median of "
        title += f"{args.repeats} (numpy on 100k: one run)"
        tables = [record.table(title, columns, rows)]
        record.write("toolplan", "The tool-aware analysis' time", tables, out=args.record)


if __name__ == "__main__":
    main()
