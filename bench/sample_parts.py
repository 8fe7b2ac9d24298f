"""Sample machined parts for the benchmarks and the demo (manifold3d CSG).

    python bench/sample_parts.py --out DIR [--count N]

Writes N binary STL files (a pocketed, drilled block of about 10,000 triangles and variants)
and DIR/labels.csv. Stand-ins until `python -m trainer parts` exists.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import manifold3d as m3
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from shared.classes import CLASSES
from shared.rotations import cube_rotations, rotate_label
from shared.stl import write_stl


def machined_block(holes: int = 8, segments: int = 147, seed: int = 0) -> np.ndarray:
    """A 100 x 60 x 30 block with a pocket, a boss and two rows of blind holes, milled from +Z.

    With the defaults it has about 10,000 triangles (most of them on the round features).
    """
    rng = np.random.default_rng(seed)
    w, d = 100 + rng.uniform(-20, 20), 60 + rng.uniform(-10, 10)
    part = m3.Manifold.cube([w, d, 30], center=True)
    part -= m3.Manifold.cube([w * 0.6, d * 0.5, 20], center=True).translate([0, 0, 10])
    part += m3.Manifold.cylinder(15, 8, 8, circular_segments=segments)
    for i in range(holes):
        for y in (-d / 2 + 5, d / 2 - 5):
            x = -w / 2 + 8 + i * (w - 16) / max(holes - 1, 1)
            part -= m3.Manifold.cylinder(20, 3, 3, circular_segments=segments).translate([x, y, 0])
    mesh = part.to_mesh()
    return np.asarray(mesh.vert_properties)[:, :3][np.asarray(mesh.tri_verts)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--count", type=int, default=5)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    turns = list(cube_rotations().items())
    lines = ["file,label"]
    for i in range(args.count):
        tris = machined_block(holes=4 + i % 5, seed=i)
        rotation = turns[(7 * i) % len(turns)][1]
        label = rotate_label("+Z", rotation)
        if label not in CLASSES:  # milled from the clamping side: turn it over
            rotation, label = turns[0][1], "+Z"
        write_stl(args.out / f"block_{i:02d}.stl", tris @ rotation.T)
        lines.append(f"block_{i:02d}.stl,{label}")
    (args.out / "labels.csv").write_text("\n".join(lines) + "\n")
    print(f"{args.count} parts -> {args.out}")


if __name__ == "__main__":
    main()
