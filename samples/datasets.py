"""Small meta-image datasets built by the tests themselves: each tile shows the label's face
colour beside random others, so a tiny model can learn them in a few epochs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shared import classes, manifest, metaimage, png

FACES = np.array(
    [
        [255, 128, 128],
        [0, 128, 128],
        [128, 255, 128],
        [128, 0, 128],
        [128, 128, 255],
        [128, 128, 0],
    ],
    dtype=np.uint8,
)


def meta_image(label: str, rng: np.random.Generator, size: int = 100) -> np.ndarray:
    """A size x size meta-image: every tile holds a big patch of the label's face colour."""
    t = size // 10
    tiles = np.zeros((10, 10, t, t, 3), dtype=np.uint8)
    k = classes.CLASSES.index(label)
    for r in range(10):
        for c in range(10):
            other = rng.integers(len(FACES))
            a, b = rng.integers(0, t // 3, size=2)
            tiles[r, c, : t // 2, :] = FACES[other]
            tiles[r, c, a : a + t // 2, b : b + t // 2] = FACES[k]
    return metaimage.tile(tiles)


def write_dataset(
    folder: Path, parts: int = 30, variants: int = 2, size: int = 100, seed: int = 0
) -> list[manifest.Row]:
    """`parts` parts (labels balanced), `variants` images each, PNGs + manifest.csv."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(parts):
        label = classes.CLASSES[p % len(classes.CLASSES)]
        for v in range(variants):
            name = f"part{p:03d}_v{v}.png"
            (folder / name).write_bytes(png.encode_rgb(meta_image(label, rng, size)))
            rows.append(
                manifest.Row(
                    name,
                    label,
                    f"part{p:03d}",
                    f"/parts/part{p:03d}.stl",
                    "none" if v == 0 else f"variant{v}",
                    size,
                    "0" * 64,
                )
            )
    manifest.write(folder / manifest.FILENAME, rows)
    return rows
