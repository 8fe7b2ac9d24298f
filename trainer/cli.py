"""`python -m trainer`: parse the command line and call one function; no work happens here.

Heavy libraries (TensorFlow, MLflow) are imported by the commands that need them, so that
`--help` and `parts` start quickly.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = "exit codes: 0 done, 1 failed, 2 usage error"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Milling Directions trainer: synthetic parts, training, evaluation.",
        epilog=EPILOG,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parts = commands.add_parser(
        "parts",
        help="generate labelled synthetic STL parts",
        description=(
            "Write COUNT watertight binary STL parts and DIR/labels.csv (file,label,family,"
            "features,size_mm,triangles,seed,index). Each part is a stock (plate, block, disc, "
            "L-section, stepped block) with machining features cut from its label's side only; "
            "labels are balanced and the output is the same for the same seed."
        ),
        epilog=EPILOG + "\n\nexample: python -m trainer parts --count 500 --seed 1 --out parts/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parts.add_argument("--count", type=int, required=True, help="number of parts (at least 1)")
    parts.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parts.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parts.add_argument(
        "--overwrite", action="store_true", help="replace the contents of a non-empty output folder"
    )
    parts.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "parts":
        return _parts(parser, args)
    parser.error(f"unknown command {args.command}")
    return 2


def _parts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.parts import PartsConfig, PartsError, generate

    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    config = PartsConfig(args.count, args.seed, args.out, args.overwrite, not args.quiet)
    try:
        result = generate(config)
    except PartsError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: no labels.csv written; run again with --overwrite", file=sys.stderr)
        return 130
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    rate = len(result.files) / result.seconds if result.seconds else 0.0
    print(
        f"{len(result.files)} parts ({counts}; {result.triangles:,} triangles) in "
        f"{result.seconds:.1f} s ({rate:.0f} parts/s) -> {args.out / 'labels.csv'}",
        file=sys.stderr,
    )
    return 0
