"""Command line of the add-on: the same code with the `bpy` module or inside Blender.

python -m blender_addon render INPUT... --out DIR [--labels CSV] [--size 600] [--workers N]
    [--cluster auto|ray://HOST:PORT]
blender --background --python-exit-code 1 --python blender_addon/cli.py -- render INPUT... --out DIR

(Without --python-exit-code 1, Blender exits 0 after a Python exception.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script by Blender: make the package importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from blender_addon import cli_output as console
from blender_addon._shared import metaimage, stl
from blender_addon.batch import jobs, workers
from blender_addon.batch import runner as batch
from blender_addon.batch.dataset import IncompleteError, merge_datasets
from blender_addon.batch.jobs import UsageError
from blender_addon.inference import analysis as setups
from blender_addon.inference import client
from blender_addon.package import build_zip
from blender_addon.render.engines import ENGINES, NAMES

BLENDER_PROG = "blender --background --python-exit-code 1 --python blender_addon/cli.py"

EPILOG = """\
exit codes: 0 all done, 1 some inputs failed (each named on stderr), 2 usage error

examples:
  python -m blender_addon render parts/ --out data/ --labels parts/labels.csv --rotations
  python -m blender_addon render a.stl b.stl --out data/ --size 300 --workers 2
  blender --background --python-exit-code 1 --python blender_addon/cli.py -- \\
      render parts/ --out data/
"""


MIN_BLENDER = (4, 2, 0)
"""blender_manifest.toml's blender_version_min (older Blenders' Cycles crash on our scenes)."""


def blender_too_old(version: tuple, version_string: str) -> str:
    """The error line for a Blender older than MIN_BLENDER, or ''."""
    if tuple(version) >= MIN_BLENDER:
        return ""
    need = ".".join(map(str, MIN_BLENDER))
    return f"error: Milling Directions needs Blender {need} or newer; this is {version_string}"


def build_parser() -> argparse.ArgumentParser:
    under_blender = Path(sys.argv[0]).name.lower().startswith("blender")  # the binary's argv
    parser = argparse.ArgumentParser(
        prog=f"{BLENDER_PROG} --" if under_blender else "python -m blender_addon",
        description="Milling Directions: render STL parts into 10x10 normal-map meta-images.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    render = commands.add_parser(
        "render",
        help="render STL files (or folders of them) into meta-images + manifest.csv",
        description=(
            "Render each STL file into a 10x10 meta-image of normal-map views and write "
            "DIR/manifest.csv. Images that exist with the same source and settings are "
            "skipped, so an interrupted batch resumes where it stopped."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument(
        "inputs",
        nargs="+",
        metavar="INPUT",
        help="STL or STEP file, or folder searched (not recursively) for *.stl, *.step, *.stp",
    )
    render.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="DIR",
        help="output folder for the PNG meta-images and manifest.csv",
    )
    render.add_argument(
        "--labels",
        type=Path,
        metavar="CSV",
        help="CSV with columns file,label (file relative to the CSV's folder)",
    )
    render.add_argument(
        "--size",
        type=int,
        default=metaimage.DEFAULT_SIZE,
        help="meta-image edge in pixels, a multiple of 10 (default: %(default)s)",
    )
    render.add_argument(
        "--workers",
        type=int,
        default=1,
        help="Blender processes rendering in parallel (default: %(default)s)",
    )
    render.add_argument(
        "--cluster",
        metavar="ADDRESS",
        help="render on a Ray cluster instead (needs the `cluster` extra): one renderer per CPU "
        "slot; this process sends each part's STL bytes and writes the images, so the nodes "
        "share no folder; a task whose worker dies is sent again. auto: $RAY_ADDRESS, the "
        "cluster started on this machine (`ray start --head`), else a new local one; or "
        "ray://HOST:PORT (Ray Client)",
    )
    render.add_argument(
        "--rotations",
        nargs="?",
        const=20,
        default=0,
        type=int,
        metavar="K",
        help="render each part in K of the 20 cube rotations that keep its label one of the "
        "five classes, with the label remapped (needs --labels); K spreads over the classes "
        "(5: one pose per class) and is chosen by --rotation-seed and the part; no K: all 20",
    )
    render.add_argument(
        "--rotation-seed",
        type=int,
        default=0,
        metavar="S",
        help="which K rotations each part gets (default: %(default)s)",
    )
    render.add_argument(
        "--strategy",
        choices=("grid", "views"),
        default="grid",
        help="grid: one render of 100 instanced views (fast); views: 100 separate "
        "renders, the reference (default: %(default)s)",
    )
    render.add_argument(
        "--engine",
        choices=ENGINES,
        default="auto",
        help="embree: one ray per pixel with Embree (needs the embreex package, about 2x "
        "faster); cycles: Blender's Cycles (always there, and the only engine for --strategy "
        "views); auto: embree if installed, else cycles. Both give the exact colours; images "
        "record their engine (default: %(default)s)",
    )
    render.add_argument(
        "--threads", type=int, default=0, help="render threads per process; 0 = automatic (default)"
    )
    render.add_argument(
        "--force", action="store_true", help="re-render images even if they are up to date"
    )
    render.add_argument(
        "--max-triangles",
        type=int,
        metavar="N",
        help="refuse STL files with more than N triangles (default: "
        f"${stl.CAP_VARIABLE}, else {stl.DEFAULT_MAX_TRIANGLES:,})",
    )
    render.add_argument(
        "--shard",
        metavar="I/N",
        help="render only shard I (from 0) of N: every N-th part in part-name order, so that "
        "N machines split one input set; give each its own --out and join them with `merge`. "
        "auto: I and N from a Slurm array task (SLURM_ARRAY_TASK_ID, _MIN, _COUNT); auto/N: "
        "I from a Kubernetes Indexed Job (JOB_COMPLETION_INDEX) or a Slurm task",
    )
    render.add_argument("--quiet", action="store_true", help="no progress output")
    render.add_argument(
        "--json",
        action="store_true",
        help='print one JSON object per input on stdout: {"input", "status" (written, skipped '
        'or failed), "images", "error"}',
    )

    merge = commands.add_parser(
        "merge",
        help="merge rendered folders (e.g. the shards of one batch) into one dataset",
        description=(
            "Copy the images listed in each FOLDER/manifest.csv into --out and merge the "
            "manifests. Merging all N shards of a batch gives the dataset one machine would "
            "have rendered; if a shard is missing or unfinished, nothing is merged, the shard "
            "is named and the exit code is 1."
        ),
    )
    merge.add_argument("folders", nargs="+", type=Path, metavar="FOLDER")
    merge.add_argument("--out", required=True, type=Path, metavar="DIR")

    predict = commands.add_parser(
        "predict",
        help="predict the milling direction of STL parts (the panel's button, headless)",
        description=(
            "Ask the model for each part exactly as the panel's Predict button does: the "
            "built-in model reads the mesh; a champion gets the part's meta-image, rendered in "
            'memory. Prints one JSON object per part: {"input", "label", "probabilities", '
            '"model_uri", "model_version", "plan"} (model_uri names the model that answered; '
            '"plan" lists the setups, each {"direction", "probability", "share"}, the share of '
            "the machined area from the setup analysis)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    predict.add_argument("inputs", nargs="+", metavar="PART")
    predict.add_argument(
        "--model",
        choices=("builtin", "server", "python"),
        help="which model answers: builtin (shipped inside the add-on, numpy only, offline), "
        "server (your champion behind --server), python (your champion through --python); "
        "default: python with --python, server with --server, else builtin",
    )
    predict.add_argument(
        "--server",
        metavar="URL",
        help=f"MLflow scoring server (python -m trainer serve; default: {client.DEFAULT_SERVER})",
    )
    predict.add_argument(
        "--python",
        metavar="PATH",
        help="instead of a server, run PATH -m trainer predict (PATH: a Python "
        "with the trainer installed)",
    )
    predict.add_argument(
        "--tracking-uri",
        default="",
        metavar="URI",
        help="with --python: the MLflow store of the champion",
    )
    predict.add_argument(
        "--timeout",
        type=float,
        default=client.DEFAULT_TIMEOUT,
        help="seconds to wait for the model (default: %(default)s)",
    )
    predict.add_argument(
        "--online",
        action="store_true",
        help="allow a server on another machine (as Blender's online access)",
    )

    setups.add_parser(commands)
    package = commands.add_parser("package", help="build the installable extension zip")
    package.add_argument(
        "--out",
        type=Path,
        default=Path("dist"),
        metavar="DIR",
        help="folder for the zip (default: %(default)s)",
    )

    worker = commands.add_parser("worker")  # internal: one render process of --workers N
    worker.add_argument("--out", required=True, type=Path)
    worker.add_argument("--size", type=int, required=True)
    worker.add_argument("--strategy", required=True)
    worker.add_argument("--engine", required=True)
    worker.add_argument("--threads", type=int, default=0)
    return parser


def main(argv: list[str] | None = None) -> int:
    bpy = sys.modules.get("bpy")  # inside Blender (or with the module): refuse an old one first
    if bpy is not None and (message := blender_too_old(bpy.app.version, bpy.app.version_string)):
        print(message, file=sys.stderr)
        return 1
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "render":
        return _render(parser, args)
    if args.command == "predict":
        return _predict(args)
    if args.command == "merge":
        return _merge(args)
    if args.command == "setups":
        return setups.run(args)
    if args.command == "package":
        print(build_zip(args.out))
        return 0
    return workers.serve_worker(args.out, args.size, args.strategy, args.engine, args.threads)


def _predict(args: argparse.Namespace) -> int:
    mode = args.model or ("python" if args.python else "server" if args.server else "builtin")
    if mode == "python" and not args.python:
        print("error: --model python needs --python PATH", file=sys.stderr)
        return 2
    settings = client.ModelSettings(
        mode=mode,
        server_url=args.server or client.DEFAULT_SERVER,
        python=args.python or "",
        tracking_uri=args.tracking_uri,
        timeout=args.timeout,
    )
    online, render = args.online, None
    if mode != "builtin":  # a champion reads meta-images: they are rendered with bpy
        try:  # bpy: only for the champion, and not installed in every Python
            from blender_addon.scene.answer import meta_image, online_access
        except ModuleNotFoundError as e:
            if e.name != "bpy":
                raise
            print("error: the 'bpy' module is not installed: run `make setup`", file=sys.stderr)
            return 2
        online, render = online or online_access(), meta_image
    answers, errors = client.predict_files(args.inputs, settings, online, render, setups.caster)
    for path, answer in answers:
        print(json.dumps(answer.as_json(path)), flush=True)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if errors else 0


def _merge(args: argparse.Namespace) -> int:
    try:
        count = merge_datasets(args.folders, args.out)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except IncompleteError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"{count} meta-images from {len(args.folders)} folders -> {args.out / 'manifest.csv'}")
    return 0


def _render(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.workers < 1:
        parser.error("--workers must be at least 1")
    if not 0 <= args.rotations <= 20:
        parser.error(f"--rotations: K must be 1 to 20, got {args.rotations}")
    if args.cluster and args.workers > 1:
        parser.error("--cluster and --workers: the cluster's CPU slots are the workers")
    try:
        shard = jobs.parse_shard(args.shard) if args.shard else None
    except UsageError as e:
        parser.error(str(e))
    if args.max_triangles is not None:
        if args.max_triangles < 1:
            parser.error("--max-triangles must be at least 1")
        os.environ[stl.CAP_VARIABLE] = str(args.max_triangles)  # workers inherit it
    try:
        stl.triangle_cap()
    except ValueError as e:
        parser.error(str(e))
    config = batch.BatchConfig(
        inputs=args.inputs,
        out=args.out,
        labels=args.labels,
        size=args.size,
        workers=args.workers,
        rotations=args.rotations,
        rotation_seed=args.rotation_seed,
        strategy=args.strategy,
        engine=args.engine,
        threads=args.threads,
        force=args.force,
        progress=not args.quiet,
        shard=shard,
        cluster=args.cluster or "",
    )
    try:
        result = batch.render_batch(config)
    except (UsageError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as e:
        if e.name != "bpy":
            raise
        print(
            "error: the 'bpy' module is not installed: run `make setup`, or use "
            "`blender --background --python-exit-code 1 --python blender_addon/cli.py -- "
            "render ...`",
            file=sys.stderr,
        )
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished images are kept; run again to resume", file=sys.stderr)
        return 130
    if args.json:
        for outcome in result.outcomes:
            print(json.dumps(outcome.as_json()), flush=True)
    failed = len(result.errors)
    per = f", {result.seconds / result.rendered:.2f} s per image" if result.rendered else ""
    summary = (
        f"{result.rendered} meta-images rendered, {result.skipped} up to date, "
        f"{failed} failed in {result.seconds:.1f} s{per} ({NAMES[result.engine]}"
        f"{', on Ray' if args.cluster else ''}) -> {args.out / 'manifest.csv'}"
    )
    if result.wrote:  # else no input could be read: the errors said it, nothing was written
        print(summary, file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":  # as a script: under Blender, whose banner must come out first
    console.flush_blender_output()
    sys.exit(main(sys.argv[sys.argv.index("--") + 1 :] if "--" in sys.argv else sys.argv[1:]))
