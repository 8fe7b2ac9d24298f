"""`python -m trainer`: parse the command line and call one function; no work happens here.

Run options are generated from the config dataclasses (config.py, options.py). Heavy libraries
(TensorFlow, Keras, MLflow) are imported by the commands that need them, so `--help` and
`parts` start quickly.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from shared import facenormals, plans
from trainer import console
from trainer.cli import data_commands as cli_data
from trainer.cli import serving_commands as cli_serving
from trainer.cli.serving_commands import connect as _connect
from trainer.config import (
    VARIANTS,
    BaselineConfig,
    ConfigError,
    TrainConfig,
    resolve_tracking_uri,
)
from trainer.errors import TrainerError
from trainer.models import families
from trainer.options import add_options, config_from_args, given_options
from trainer.recipe import read as read_recipe

EPILOG = """\
exit codes: 0 done, 1 some inputs failed (each named on stderr), 2 usage error
tracking store: --tracking-uri, else $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here
"""
NEEDS_TENSORFLOW = ("train", "tune", "baseline", "evaluate", "predict", "builtin")


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--verbose",
        action="store_true",
        help="also show TensorFlow's and MLflow's own start-up and INFO lines",
    )
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Milling Directions trainer: synthetic parts, training, evaluation, "
        "registry, prediction and serving.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers = {
        "train": _train,
        "tune": _tune,
        "baseline": _baseline,
        "evaluate": _evaluate,
        "predict": _predict,
        "builtin": _builtin,
    }
    parser.set_defaults(handlers=handlers)

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=description,
            epilog=EPILOG,
            parents=[common],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def store_options(p: argparse.ArgumentParser, model: bool = True) -> None:
        if model:
            p.add_argument(
                "--model",
                metavar="URI",
                help="model URI (default: the best model across families, models:/NAME@best, "
                "else models:/milling-directions@champion)",
            )
        add_options(p, TrainConfig, only=("tracking_uri",))

    handlers.update(cli_data.add_commands(command))
    train = command(
        "train",
        "train the image model on a folder of meta-images, tracked in MLflow",
        "Read DIR/manifest.csv, split train/validation/test by part, train (by default the "
        "view-colour path alone, which generalised best; with --variant or a weights file, "
        "EfficientNet beside it, from ImageNet weights or with --weights none from scratch), "
        "evaluate on the test split, log everything to MLflow, register the model as a version of "
        "'milling-directions' and give it the 'champion' alias only if it beats the current "
        "champion on the same test data. A checkpoint is written after every epoch; a run that "
        "was stopped or killed continues from its last one with --resume.",
    )
    add_options(train, TrainConfig, optional=("data",))
    train.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="RUN_ID",
        help="continue a stopped run (default: the newest one of --experiment) from its last "
        "checkpoint, in the same MLflow run and with its own settings; other training options "
        "are not allowed with it",
    )

    tune = command(
        "tune",
        "search base model, pooling and head with Optuna (each trial a nested MLflow run)",
        "Run --trials training runs that vary the view-colour path's width, the EfficientNet "
        "variant (--variants) and pooling (with a base), an optional hidden Dense layer, dropout "
        "and learning rate, scored on validation "
        "accuracy. Every trial is a full `train` run, nested under one study run, and registered: "
        "the champion rule still decides which model serves. Other options as for `train`.",
    )
    tune.add_argument("--trials", type=int, required=True, help="number of training runs")
    tune.add_argument(
        "--variants",
        help="comma-separated EfficientNet variants to try, e.g. B0,B1 or LITE0 (naming them "
        "makes --base auto use EfficientNet; default: the view-colour path alone)",
    )
    tune.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    add_options(tune, TrainConfig, skip=("variant", "checkpoints", "checkpoint_dir"))

    baseline = command(
        "baseline",
        "train the face-normal model (no rendering) on the same parts and split",
        "Train a small classifier on features of each part's own mesh (area-weighted face-normal "
        "histogram, and how deep those faces sit along their normal) from the source STL files "
        "named in DIR/manifest.csv, with the same split by part as `train`. Logged in the same "
        "experiment with the same metrics (tag family=face-normals) and registered as "
        f"'{families.FACE_NORMALS.registered_name}', with its own champion.",
    )
    add_options(baseline, BaselineConfig, optional=("data",))

    evaluate = command(
        "evaluate",
        "score a registered model on a folder of meta-images",
        "Predict every image of DIR/manifest.csv with the model and report accuracy, "
        "macro-F1 and the confusion matrix (also logged as an MLflow run).",
    )
    evaluate.add_argument("--data", type=Path, required=True, metavar="DIR")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    add_options(evaluate, TrainConfig, only=("experiment", "progress"))
    store_options(evaluate)

    predict = command(
        "predict",
        "predict the milling direction of meta-images or STL parts",
        "INPUT is a meta-image (.png) or a part (.stl, rendered with the Blender add-on first) "
        "for the image model, a part (.stl) for the face-normal model. With --json: one object "
        'per input, {"input", "label", "probabilities", "model_uri", "model_version", "plan"}; '
        '"plan" lists the setups, each {"direction", "probability", "share"} (empty for a '
        "model without a plan head).",
    )
    predict.add_argument("inputs", nargs="+", metavar="INPUT")
    predict.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    store_options(predict)

    builtin = command(
        "builtin",
        "export a face-normal model as the Blender add-on's built-in model",
        "Write the model's weights (DIR/face_normals.npz, plain arrays) and its metadata "
        "(DIR/face_normals.json: source model, data fingerprint, metrics, command) for the "
        "add-on to run with numpy alone, and log both to the model's run. `make model` trains "
        "the shipped one and calls this.",
    )
    builtin.add_argument(
        "--out",
        type=Path,
        default=Path("blender_addon/models"),
        metavar="DIR",
        help="default: %(default)s (packed into the extension zip)",
    )
    builtin.add_argument(
        "--metric",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a measured figure to record in the metadata (repeatable)",
    )
    builtin.add_argument(
        "--made-by", default="", metavar="TEXT", help="the command that made the model"
    )
    builtin.add_argument(
        "--model",
        default=f"models:/{families.FACE_NORMALS.registered_name}@champion",
        metavar="URI",
        help="face-normal model URI (default: %(default)s)",
    )
    add_options(builtin, TrainConfig, only=("tracking_uri",))

    handlers.update(cli_serving.add_commands(command, store_options))
    return parser


def _config(parser: argparse.ArgumentParser, cls: type, args: argparse.Namespace, **overrides):
    """The run's config: the options given, over --config's recipe, over the defaults."""
    recipe = read_recipe(args.recipe, cls, args.command) if args.recipe else {}
    if args.data is None and "data" not in recipe:
        parser.error(f"{args.command}: --data DIR is required (or data in the --config recipe)")
    return config_from_args(cls, args, recipe, **overrides)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handlers[args.command]
    console.quiet_libraries(args.verbose)
    if args.command in ("train", "tune"):
        from trainer.training import parallel

        try:
            parallel.want_backend(args.devices)
        except ConfigError as e:
            parser.error(str(e))
    if args.command in NEEDS_TENSORFLOW:
        console.load_tensorflow(args.verbose)
    # SIGTERM (a scheduler's or `kill`'s) unwinds like Ctrl-C: the MLflow run ends FAILED.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return handler(parser, args)
    except ConfigError as e:
        parser.error(str(e))
    except TrainerError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _report(result, what: str = "") -> None:
    m = result.test_metrics
    print(
        f"run {result.run_id}: {what}test accuracy {m['test_accuracy']:.4f}, macro-F1 "
        f"{m['test_macro_f1']:.4f}; version {result.version or '-'}; {result.decision} "
        f"({result.seconds:.0f} s)",
        file=sys.stderr,
    )


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.training.train import resume, train

    if args.resume:
        given = given_options(TrainConfig, args, keep=("tracking_uri", "experiment", "progress"))
        if given:
            parser.error(
                "--resume continues a run with the settings it started with; drop "
                + ", ".join(sorted(given))
            )
        uri = resolve_tracking_uri(args.tracking_uri)
        run_id = None if args.resume == "latest" else args.resume
        experiment = args.experiment or TrainConfig.experiment
        result = resume(run_id, uri, experiment, args.progress is not False)
    else:
        config = _config(parser, TrainConfig, args)
        uri = config.tracking_uri
        result = train(config)
    _report(result)
    print(f"see it: python -m trainer ui --tracking-uri {uri}", file=sys.stderr)
    return 0


def _tune(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.training.tune import tune

    given = args.variants is not None
    variants = [v.strip().upper() for v in (args.variants or "").split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or (given and not variants):
        parser.error(
            f"--variants: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(VARIANTS)}"
        )
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    config = _config(parser, TrainConfig, args, **({"variant": variants[0]} if given else {}))
    summary = tune(
        config,
        args.trials,
        variants or [config.variant],
        args.timeout,
        explicit_size=args.image_size is not None,
    )
    print(
        f"best of {summary['trials']} trials: {summary['best_params']} (validation score "
        f"{summary['best_value']:.4f}; run {summary['best_run_id']}, version "
        f"{summary['best_version']})",
        file=sys.stderr,
    )
    return 0


def _baseline(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.training.baseline import train_baseline

    _report(train_baseline(_config(parser, BaselineConfig, args)), "face-normal model, ")
    return 0


def _evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.evaluation.evaluate import evaluate_model, format_report

    _connect(args)
    experiment = args.experiment or TrainConfig.experiment
    report = evaluate_model(args.data, args.model, experiment, progress=args.progress is not False)
    if args.json:
        print(json.dumps(report))
        return 0
    print(format_report(report, args.data))
    return 0


def _predict(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.serving.predict_parts import predict

    _connect(args)
    answers, errors = predict(args.inputs, args.model)
    for name, p in answers:
        if args.json:
            print(json.dumps(p.as_json(name)))
        else:
            print(
                f"{name}: {p.label} ({p.confidence:.1%})  "
                + "  ".join(f"{c} {v:.1%}" for c, v in p.probabilities.items())
                + (f"\n  setup plan: {plans.describe(p.plan)}" if p.plan else "")
            )
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if errors else 0


def _builtin(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.serving.export import export_builtin

    metrics = {}
    for item in args.metric:
        name, _, value = item.partition("=")
        try:
            metrics[name] = float(value)
        except ValueError:
            parser.error(f"--metric {item!r}: expected NAME=NUMBER")
    _connect(args)
    meta = export_builtin(args.model, args.out, metrics, args.made_by)
    print(
        f"{args.out / facenormals.WEIGHTS}: {meta['model_uri']} v{meta['model_version']} "
        f"from {meta['source']['model_uri']} (version {meta['source']['registry_version']})"
    )
    return 0
