"""Prediction time of the two model families, one part at a time, from the registry.

    python bench/families.py --data build/demo/images_unseen --tracking-uri sqlite:///build/demo/mlflow.db

For each family's champion: load it, then time one part per call (median over --repeat parts):
the image model on the part's meta-image (PNG bytes, rendering not included:
see bench/speed/render.py),
the face-normal model on the part's STL bytes (features included).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trainer.data import dataset as data
from trainer.models import families
from trainer.tracking import registry
from trainer.tracking import runs as tracking


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a rendered dataset folder")
    parser.add_argument("--tracking-uri", required=True)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    tracking.connect(args.tracking_uri)
    examples = [
        e for e in data.load(args.data, progress=False).examples if e.augmentation == "none"
    ]
    examples = (examples * args.repeat)[: args.repeat]
    for family in families.FAMILIES.values():
        start = time.perf_counter()
        model, _, version = registry.load(registry.champion_uri(family.registered_name))
        loaded = time.perf_counter() - start
        inputs = [family.logged_example(e) for e in examples]  # PNG or STL bytes
        tracking.predict_probabilities(model, inputs[:1])  # warm-up
        times = []
        for item in inputs:
            start = time.perf_counter()
            tracking.predict_probabilities(model, [item])
            times.append(time.perf_counter() - start)
        print(
            f"{family.name:>12} v{version}: load {loaded:.1f} s; one part: median "
            f"{1000 * statistics.median(times):.1f} ms, max {1000 * max(times):.1f} ms "
            f"({len(times)} parts)"
        )


if __name__ == "__main__":
    main()
