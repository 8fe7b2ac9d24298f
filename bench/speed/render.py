"""Render benchmark: seconds per meta-image, stage by stage, for every engine.

    python bench/speed/render.py [--repeats 10] [--threads 1] [--quick]

For machined blocks of about 1k, 10k and 100k triangles at 300 and 600 px, one warm process
times each stage of what a batch does per meta-image (batch/task.py's `render_task`):
  stl     read and validate the STL file
  load    put the part in the scene: normalise, face colours, Blender mesh or Embree BVH
  render  draw the pixels (Cycles: bpy.ops.render.render; embree: cast the rays)
  pixels  get them out (Cycles: Blender encodes a PNG and we read it back; embree: nothing)
  encode  PNG encode (embree; Cycles did it above) and the provenance tag
  write   the atomic write of the finished file
then the whole `render_task` as a batch runs it, and Cycles' per-view loop (100 renders) on the
10k part at 600 px. A 1-triangle part shows each engine's floor, the cost with nothing to draw.
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

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import bpy

from blender_addon.batch.jobs import Variant, sha256_file
from blender_addon.batch.task import Task, render_task
from blender_addon.render import embree as raycast
from blender_addon.render import engines
from blender_addon.render.cycles import _quiet_stdout
from shared import atomic, metaimage, png
from shared.geometry.rotations import IDENTITY
from shared.geometry.stl import read_stl, write_stl

STAGES = ("stl", "load", "render", "pixels", "encode", "write")
PARTS = {"1k": 14, "10k": 147, "100k": 1470}  # circular segments of the round features


def machined_block(holes: int = 8, segments: int = 147) -> np.ndarray:
    """A 100 x 60 x 30 mm block with a pocket, a boss and two rows of blind holes, milled from +Z.

    About 10,000 triangles with the default 147 segments, most on the round features (the
    synthetic training parts have hundreds: this is the size of a finely tessellated CAD export).
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


def _cycles_render_only(renderer) -> None:
    """The Cycles grid render without Blender's PNG write (`renderer.render` does both)."""
    with _quiet_stdout():
        bpy.ops.render.render(write_still=False, scene=renderer.scene.name)


def stages(renderer, stl: Path, out: Path) -> dict[str, float]:
    """One meta-image, each stage timed on its own."""
    t = {}
    start = time.perf_counter()
    triangles = read_stl(stl).triangles
    t["stl"] = time.perf_counter() - start
    start = time.perf_counter()
    renderer.load(triangles)
    t["load"] = time.perf_counter() - start
    start = time.perf_counter()
    if renderer.engine == "cycles":
        _cycles_render_only(renderer)
        t["render"] = time.perf_counter() - start
        start = time.perf_counter()
        data = renderer.render("grid")
        t["pixels"] = max(0.0, time.perf_counter() - start - t["render"])
    else:
        image = renderer.render_array()
        t["render"] = time.perf_counter() - start
        t["pixels"] = 0.0
    start = time.perf_counter()
    if renderer.engine != "cycles":
        data = png.encode_rgb(image, level=raycast.LEVEL)
    record = metaimage.provenance("0" * 64, "none", renderer.size, renderer.engine)
    data = png.retag(data, metaimage.provenance_text(record))
    t["encode"] = time.perf_counter() - start
    start = time.perf_counter()
    atomic.write_bytes(out / "stages.png", data)
    t["write"] = time.perf_counter() - start
    return t


def whole(renderer, stl: Path, out: Path, strategy: str, repeats: int) -> list[float]:
    """Seconds per meta-image of the batch's own `render_task`, warm."""
    task = Task(str(stl), "bench", sha256_file(stl), [Variant("bench.png", IDENTITY, "+Z")])
    render_task(renderer, task, out, strategy)  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        answer = render_task(renderer, task, out, strategy)
        times.append(time.perf_counter() - start)
        assert not answer.error, answer.error
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1, help="Cycles threads (1 = one core)")
    parser.add_argument("--quick", action="store_true", help="only the 10k part at 600 px")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-render-"))
    files = {}
    for name, segments in PARTS.items():
        if args.quick and name != "10k":
            continue
        files[name] = work / f"block_{name}.stl"
        write_stl(files[name], machined_block(segments=segments))
    files["1 tri"] = work / "one.stl"
    write_stl(files["1 tri"], np.array([[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]))
    available = [e for e in ("embree", "cycles") if e != "embree" or raycast.available()]
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
        f"Cycles threads: {args.threads or 'all'}; embree: one core; default engine: "
        f"{engines.resolve('auto')}; medians of {args.repeats} (ms per meta-image)"
    )
    header = f"{'engine':7} {'px':>4} {'part':>8} " + " ".join(f"{s:>6}" for s in STAGES)
    print(header + f" {'sum':>6} {'batch':>6}")
    totals = {}
    for size in (300, 600) if not args.quick else (600,):
        for engine in available:
            with engines.open_renderer(engine, size, args.threads) as renderer:
                for name, stl in files.items():
                    triangles = len(read_stl(stl))
                    stages(renderer, stl, work)  # warm-up
                    runs = [stages(renderer, stl, work) for _ in range(args.repeats)]
                    med = {s: statistics.median(r[s] for r in runs) for s in STAGES}
                    batch = statistics.median(whole(renderer, stl, work, "grid", args.repeats))
                    totals[engine, size, name] = batch
                    cells = " ".join(f"{1000 * med[s]:6.1f}" for s in STAGES)
                    print(
                        f"{engine:7} {size:4} {triangles:8,} {cells} "
                        f"{1000 * sum(med.values()):6.1f} {1000 * batch:6.1f}"
                    )
    with engines.open_renderer("cycles", 600, args.threads) as renderer:
        views = statistics.median(
            whole(renderer, files["10k"], work, "views", max(2, args.repeats // 4))
        )
    grid = {e: totals[e, 600, "10k"] for e in available}
    print(f"Cycles per-view loop (100 renders), 10k part, 600 px: {views:.3f} s per meta-image")
    for e in available:
        print(
            f"{e}: {grid[e]:.3f} s per 600 px meta-image of the 10k part "
            f"({views / grid[e]:.1f}x faster than the per-view loop, "
            f"{grid['cycles'] / grid[e]:.2f}x Cycles' grid)"
        )


if __name__ == "__main__":
    main()
