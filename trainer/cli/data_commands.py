"""The commands that make data: `parts` (synthetic labelled parts) and `label` (real parts,
labelled by the setup analysis). Parsing only, as in cli.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_commands(command) -> dict:
    """Add the commands' parsers through cli.py's `command`; return their handlers."""
    parts = command(
        "parts",
        "generate labelled synthetic STL parts",
        "Write COUNT watertight binary STL parts and DIR/labels.csv (file,label,family,"
        "features,size_mm,pose,triangles,seed,index,stock,plan; stock: box, or bar:AXIS:U,V,R "
        "for a disc or ring, as `python -m blender_addon setups --stock` reads it; plan: every "
        "side the part is milled from, its label first). Each part is a stock of one family "
        "(plate, block, disc, ring, L-section, T-section, stepped block) with machining "
        "features cut from its label's side only, or with --sides a block with features cut "
        "from several sides (its label is the primary setup), checked by the setup analysis; "
        "labels are balanced and the output is the same for the same seed.",
    )
    parts.add_argument(
        "--families",
        metavar="LIST",
        help="comma-separated part families to draw from (default: all); e.g. every family but "
        "one for training, that one for a held-out test",
    )
    parts.add_argument(
        "--sides",
        default="1",
        metavar="N|LOW-HIGH",
        help="how many sides a part's features are cut from, each part drawing evenly from "
        "LOW to HIGH (1 to 4; default: %(default)s, one-setup parts)",
    )
    parts.add_argument(
        "--prefix",
        default="part_",
        help="file names: PREFIX0000.stl, ... (default: %(default)s); sets with other prefixes "
        "can be rendered into one dataset",
    )
    parts.add_argument("--count", type=int, required=True, help="number of parts (at least 1)")
    parts.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parts.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parts.add_argument(
        "--overwrite", action="store_true", help="replace the contents of a non-empty output folder"
    )
    parts.add_argument("--quiet", action="store_true", help="no progress output")

    label = command(
        "label",
        "label a folder of real parts with the geometric setup analysis",
        "Analyse every STL file in DIR (`python -m blender_addon setups`, with the default tool "
        "library unless --tools says otherwise) and write "
        "DIR/labels.csv (file,label,why,turn,source: the parts that need one setup, for "
        "`render --labels`) and DIR/setups.csv (every part's plan). A part milled from -Z "
        "only is turned into DIR/turned/ so that its side is +Z; parts that need several "
        "setups are listed in setups.csv and kept out of labels.csv.",
    )
    label.add_argument("folder", type=Path, metavar="DIR", help="a folder of STL or STEP parts")
    label.add_argument(
        "--stock",
        default="box",
        help="what the parts are cut from: box, bar:x|y|z, bar:AXIS:U,V,R or a stock STL "
        "(default: %(default)s)",
    )
    label.add_argument(
        "--tools",
        default="default",
        metavar="FILE.toml|default|none",
        help="the tool library the plans must hold for (default: %(default)s, the shop set of "
        "flat and ball end mills; none: the zero-radius analysis)",
    )
    label.add_argument(
        "--units", choices=("mm", "in"), default="mm", help="what the parts' numbers mean"
    )
    label.add_argument("--overwrite", action="store_true", help="replace DIR/labels.csv")
    label.add_argument(
        "--plans",
        action="store_true",
        help="also label parts that need several setups (with their primary setup, turned up "
        "if it is -Z) and add a plan column, for training a plan head on them",
    )
    return {"parts": _parts, "label": _label}


def _label(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.synth.label import label

    result = label(args.folder, args.stock, args.overwrite, args.plans, args.tools, args.units)
    for line in result.failed:
        print(f"error: {line}", file=sys.stderr)
    for name, plan in result.multi.items():
        kept = "labelled with its plan" if name in result.planned else "kept out of labels.csv"
        print(
            f"{name}: {len(plan)} setups ({' '.join(plan) or 'none reaches it'}): {kept}",
            file=sys.stderr,
        )
    labels = list(result.labelled.values())
    counts = ", ".join(f"{c} {labels.count(c)}" for c in sorted(set(labels)))
    print(
        f"{len(labels)} parts labelled ({counts or 'none'}), "
        f"{len(result.multi)} need several setups, {len(result.failed)} failed "
        f"-> {args.folder / 'labels.csv'}, {args.folder / 'setups.csv'}",
        file=sys.stderr,
    )
    return 1 if result.failed else 0


def _parts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.synth.parts import FAMILIES, PartsConfig, generate

    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    families = tuple(f.strip() for f in args.families.split(",")) if args.families else FAMILIES
    low, _, high = args.sides.partition("-")
    try:
        sides = (int(low), int(high or low))
    except ValueError:
        parser.error(f"--sides {args.sides}: expected a number of sides or LOW-HIGH, e.g. 1-4")
    config = PartsConfig(args.count, args.seed, args.out, args.overwrite, not args.quiet, families)
    config.sides, config.prefix = sides, args.prefix
    try:
        result = generate(config)
    except KeyboardInterrupt:
        print(
            "error: interrupted: no labels.csv written; run again with --overwrite",
            file=sys.stderr,
        )
        return 130
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    rate = len(result.files) / result.seconds if result.seconds else 0.0
    print(
        f"{len(result.files)} parts ({counts}; {result.triangles:,} triangles) in "
        f"{result.seconds:.1f} s ({rate:.0f} parts/s) -> {args.out / 'labels.csv'}",
        file=sys.stderr,
    )
    return 0
