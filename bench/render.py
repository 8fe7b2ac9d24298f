"""Render benchmark: seconds per meta-image, one render of the grid vs. 100 per-view renders.

    python bench/render.py [--size 600] [--repeats 10] [--threads 1]

Measured in one warm process, per meta-image, with everything a batch does: read and validate
the STL, load it into the scene, render, tag and write the PNG atomically.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import manifold3d as m3
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from blender_addon.batch import Task, render_task
from blender_addon.render import MetaImageRenderer
from blender_addon.utils.jobs import Variant, sha256_file
from shared.rotations import IDENTITY
from shared.stl import read_stl, write_stl


def machined_block(holes: int = 8, segments: int = 147) -> np.ndarray:
    """A 100 x 60 x 30 mm block with a pocket, a boss and two rows of blind holes, milled from +Z.

    About 10,000 triangles, most on the round features (the synthetic training parts have
    hundreds: this is the size of a finely tessellated CAD export).
    """
    w, d = 100.0, 60.0
    part = m3.Manifold.cube([w, d, 30], center=True)
    part -= m3.Manifold.cube([w * 0.6, d * 0.5, 20], center=True).translate([0, 0, 10])
    part += m3.Manifold.cylinder(15, 8, 8, circular_segments=segments)
    for i in range(holes):
        for y in (-d / 2 + 5, d / 2 - 5):
            x = -w / 2 + 8 + i * (w - 16) / (holes - 1)
            part -= m3.Manifold.cylinder(20, 3, 3, circular_segments=segments).translate([x, y, 0])
    mesh = part.to_mesh()
    return np.asarray(mesh.vert_properties)[:, :3][np.asarray(mesh.tri_verts)]


def time_strategy(renderer, stl: Path, out: Path, strategy: str, repeats: int) -> list[float]:
    task = Task(str(stl), "bench", sha256_file(stl), [Variant("bench.png", IDENTITY, "+Z")])
    render_task(renderer, task, out, strategy)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer = render_task(renderer, task, out, strategy)
        times.append(time.perf_counter() - start)
        assert not answer.error, answer.error
    return times


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="render threads (1 = one core)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    stl = work / "block.stl"
    write_stl(stl, machined_block())
    triangles = len(read_stl(stl))
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"part: {triangles:,} triangles; meta-image {args.size} px; "
        f"render threads: {args.threads or 'all'}"
    )
    with MetaImageRenderer(args.size, threads=args.threads) as renderer:
        grid = time_strategy(renderer, stl, work, "grid", args.repeats)
        views = time_strategy(renderer, stl, work, "views", max(2, args.repeats // 4))
        renderer.load(np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]))
        floor = [_timed(lambda: renderer.render("grid")) for _ in range(5)]
    g, v = statistics.median(grid), statistics.median(views)
    print(
        f"grid  (1 render of 100 instanced views): {g:.3f} s per meta-image "
        f"(median of {len(grid)}, min {min(grid):.3f} s)"
    )
    print(
        f"views (100 separate renders)           : {v:.3f} s per meta-image "
        f"(median of {len(views)}, min {min(views):.3f} s)"
    )
    print(f"ratio views / grid: {v / g:.1f}x")
    print(
        f"floor: the grid render of a 1-triangle part takes {statistics.median(floor):.3f} s "
        f"({statistics.median(floor) / g:.0%} of the grid figure): Cycles' per-pixel cost"
    )


if __name__ == "__main__":
    main()
