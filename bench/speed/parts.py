"""Synthetic parts benchmark: parts per second and peak memory of `python -m trainer parts`.

python bench/speed/parts.py [--count 500]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from trainer.synth.parts import PartsConfig, generate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-parts-") as tmp:
        result = generate(PartsConfig(args.count, args.seed, Path(tmp) / "parts", progress=False))
        sizes = [f.stat().st_size for f in result.files]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rate = args.count / result.seconds
    print(
        f"{args.count} parts in {result.seconds:.1f} s: {rate:.0f} parts/s "
        f"({1000 / rate:.1f} ms per part, one core)"
    )
    print(
        f"triangles per part: mean {result.triangles / args.count:,.0f}; "
        f"STL size median {statistics.median(sizes) / 1024:.0f} KiB; peak RSS {peak:.0f} MiB"
    )


if __name__ == "__main__":
    main()
