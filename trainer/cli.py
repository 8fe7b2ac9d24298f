"""`python -m trainer`: parse the command line and call one function; no work happens here.

Heavy libraries (TensorFlow, Keras, MLflow) are imported by the commands that need them, so
`--help` and `parts` start quickly.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path

EPILOG = """\
exit codes: 0 done, 1 some inputs failed (each named on stderr), 2 usage error
tracking store: --tracking-uri, else $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db here
"""


def build_parser() -> argparse.ArgumentParser:
    from trainer.config import TrainConfig

    defaults = TrainConfig(data=Path("."), weights="imagenet")
    parser = argparse.ArgumentParser(
        prog="python -m trainer",
        description="Milling Directions trainer: synthetic parts, training, evaluation, "
        "registry, prediction and serving.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, description: str) -> argparse.ArgumentParser:
        return commands.add_parser(
            name,
            help=help,
            description=description,
            epilog=EPILOG,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    def tracking_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--tracking-uri",
            metavar="URI",
            help="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI or "
            "sqlite:///mlflow.db)",
        )

    def model_option(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--model",
            metavar="URI",
            help="model URI (default: models:/milling-directions@champion)",
        )

    parts = command(
        "parts",
        "generate labelled synthetic STL parts",
        "Write COUNT watertight binary STL parts and DIR/labels.csv (file,label,family,"
        "features,size_mm,pose,triangles,seed,index). Each part is a stock (plate, block, disc, "
        "L-section, stepped block) with machining features cut from its label's side only; "
        "labels are balanced and the output is the same for the same seed.",
    )
    parts.add_argument("--count", type=int, required=True, help="number of parts (at least 1)")
    parts.add_argument("--seed", type=int, default=0, help="random seed (default: %(default)s)")
    parts.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parts.add_argument(
        "--overwrite", action="store_true", help="replace the contents of a non-empty output folder"
    )
    parts.add_argument("--quiet", action="store_true", help="no progress output")

    train = command(
        "train",
        "train an EfficientNet on a folder of meta-images, tracked in MLflow",
        "Read DIR/manifest.csv, split train/validation/test by part, train (transfer learning "
        "with --weights imagenet or a file; from scratch with --weights none), evaluate on the "
        "test split, log everything to MLflow, register the model as a version of "
        "'milling-directions' and give it the 'champion' alias only if it beats the current "
        "champion on the same test data. A checkpoint is written after every epoch; a run that "
        "was stopped or killed continues from its last one with --resume.",
    )
    train_options(train, defaults, resumable=True)
    train.add_argument(
        "--resume",
        nargs="?",
        const="latest",
        metavar="RUN_ID",
        help="continue a stopped run (default: the newest one of --experiment) from its last "
        "checkpoint, in the same MLflow run and with its own settings; other training options "
        "are not allowed with it",
    )
    train.add_argument(
        "--checkpoint-dir",
        type=Path,
        metavar="DIR",
        help="where checkpoints go, one folder per run (default: checkpoints/ beside a sqlite "
        "store, else in the working folder); removed when the run finishes",
    )
    train.add_argument(
        "--no-checkpoints",
        dest="checkpoints",
        action="store_false",
        help="write no checkpoints (the run cannot be resumed)",
    )

    tune = command(
        "tune",
        "search base model, pooling and head with Optuna (each trial a nested MLflow run)",
        "Run --trials training runs that vary the EfficientNet variant (--variants), global "
        "pooling, an optional hidden Dense layer, dropout and learning rate, scored on validation "
        "accuracy. Every trial is a full `train` run, nested under one study run, and registered: "
        "the champion rule still decides which model serves. Other options as for `train`.",
    )
    tune.add_argument("--trials", type=int, required=True, help="number of training runs")
    tune.add_argument(
        "--variants", default="B0,B1", help="comma-separated variants to try (default: %(default)s)"
    )
    tune.add_argument("--timeout", type=float, help="stop starting trials after this many seconds")
    train_options(tune, defaults)

    baseline = command(
        "baseline",
        "train the face-normal model (no rendering) on the same parts and split",
        "Train a small classifier on features of each part's own mesh (area-weighted face-normal "
        "histogram, and how deep those faces sit along their normal) from the source STL files "
        "named in DIR/manifest.csv, with the same split by part as `train`. Logged in the same "
        "experiment with the same metrics (tag family=face-normals) and registered as "
        "'milling-directions-face-normals', with its own champion.",
    )
    baseline.add_argument("--data", type=Path, required=True, metavar="DIR")
    baseline.add_argument("--epochs", type=int, default=300, help="default: %(default)s")
    baseline.add_argument("--patience", type=int, default=30, help="default: %(default)s")
    baseline.add_argument("--learning-rate", type=float, default=1e-3, help="default: %(default)s")
    baseline.add_argument("--batch-size", type=int, default=32, help="default: %(default)s")
    baseline.add_argument("--hidden", type=int, default=128, help="units of the two hidden layers")
    baseline.add_argument("--split-seed", type=int, default=defaults.split_seed)
    baseline.add_argument("--seed", type=int, default=defaults.seed)
    baseline.add_argument("--experiment", default=defaults.experiment)
    baseline.add_argument("--no-register", dest="register", action="store_false")
    baseline.add_argument("--quiet", action="store_true", help="no progress output")
    tracking_option(baseline)

    evaluate = command(
        "evaluate",
        "score a registered model on a folder of meta-images",
        "Predict every image of DIR/manifest.csv with the model and report accuracy, "
        "macro-F1 and the confusion matrix (also logged as an MLflow run).",
    )
    evaluate.add_argument("--data", type=Path, required=True, metavar="DIR")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--experiment", default=defaults.experiment)
    evaluate.add_argument("--quiet", action="store_true", help="no progress output")
    model_option(evaluate)
    tracking_option(evaluate)

    predict = command(
        "predict",
        "predict the milling direction of meta-images or STL parts",
        "INPUT is a meta-image (.png) or a part (.stl, rendered with the Blender add-on first). "
        'With --json: one object per input, {"input", "label", "probabilities", "model_uri", '
        '"model_version"}.',
    )
    predict.add_argument("inputs", nargs="+", metavar="INPUT")
    predict.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    model_option(predict)
    tracking_option(predict)

    promote = command(
        "promote",
        "give a model version the 'champion' alias by hand",
        "Move the 'champion' alias to VERSION of the registered model (recorded on the version).",
    )
    promote.add_argument("--version", required=True)
    promote.add_argument(
        "--name",
        default="milling-directions",
        help="registered model: milling-directions (the image model, default) or "
        "milling-directions-face-normals",
    )
    tracking_option(promote)

    serve = command(
        "serve",
        "serve a model with MLflow's scoring server",
        "Start MLflow's scoring server (POST /invocations) for the model, on 127.0.0.1 unless "
        'told otherwise. Body: {"dataframe_split": {"columns": ["image"], "data": '
        '[["<base64 PNG>"]]}}.',
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    serve.add_argument("--port", type=int, default=5001, help="default: %(default)s")
    model_option(serve)
    tracking_option(serve)

    ui = command(
        "ui",
        "print (or start) the MLflow UI for the tracking store",
        "Print the command that opens the MLflow UI on the same store; --start runs it.",
    )
    ui.add_argument("--start", action="store_true", help="start the UI instead of printing")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=5000)
    tracking_option(ui)
    return parser


def train_options(p: argparse.ArgumentParser, defaults, resumable: bool = False) -> None:
    """The options of a training run (`train` and `tune`)."""
    from trainer.config import VARIANTS

    p.add_argument(
        "--data",
        type=Path,
        required=not resumable,
        metavar="DIR",
        help="folder with manifest.csv and the meta-images"
        + (" (required unless --resume)" if resumable else ""),
    )
    p.add_argument(
        "--variant",
        type=str.upper,
        choices=list(VARIANTS),
        default=defaults.variant,
        help="EfficientNet variant (default: B0)",
    )
    p.add_argument(
        "--weights",
        default="imagenet",
        metavar="imagenet|none|PATH",
        help="initial weights of the base: ImageNet (downloaded once by Keras), "
        "none (from scratch) or a local weights file (default: imagenet)",
    )
    p.add_argument(
        "--image-size",
        type=int,
        metavar="PX",
        help="input resolution (default: the variant's, 224 for B0 ... 600 for B7)",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=defaults.epochs,
        help="epochs of the head phase, or of all training from scratch (default: %(default)s)",
    )
    p.add_argument(
        "--fine-tune-epochs",
        type=int,
        default=defaults.fine_tune_epochs,
        help="epochs with the last --unfreeze layers trainable (pretrained only; "
        "default: %(default)s)",
    )
    p.add_argument(
        "--unfreeze",
        type=int,
        default=defaults.unfreeze,
        help="layers of the base to fine-tune (default: %(default)s)",
    )
    p.add_argument(
        "--learning-rate", type=float, default=defaults.learning_rate, help="default: %(default)s"
    )
    p.add_argument(
        "--fine-tune-learning-rate",
        type=float,
        default=defaults.fine_tune_learning_rate,
        help="default: %(default)s",
    )
    p.add_argument(
        "--batch-size", type=int, default=defaults.batch_size, help="default: %(default)s"
    )
    p.add_argument(
        "--lr-schedule",
        choices=["cosine", "constant"],
        default=defaults.lr_schedule,
        help="cosine: each phase's learning rate decays to 1%% by its last epoch "
        "(default: %(default)s)",
    )
    p.add_argument("--dropout", type=float, default=defaults.dropout, help="default: %(default)s")
    p.add_argument(
        "--pooling",
        choices=["max", "avg"],
        default=defaults.pooling,
        help="global pooling after the base (default: %(default)s)",
    )
    p.add_argument(
        "--head-units",
        type=int,
        default=defaults.head_units,
        help="hidden Dense layer before the output, 0 = none (default: %(default)s)",
    )
    p.add_argument(
        "--bn-momentum",
        type=float,
        default=defaults.bn_momentum,
        help="momentum of trainable BatchNorm layers (default: %(default)s)",
    )
    p.add_argument(
        "--patience",
        type=int,
        default=defaults.patience,
        help="early stopping patience in epochs (default: %(default)s)",
    )
    p.add_argument(
        "--shuffle-tiles",
        action="store_true",
        help="shuffle the tile positions of training images each epoch (the seed's augmentation: "
        "it keeps the label but hides which view each tile is, and measured worse; off by default)",
    )
    p.add_argument("--val-fraction", type=float, default=defaults.val_fraction)
    p.add_argument("--test-fraction", type=float, default=defaults.test_fraction)
    p.add_argument("--split-seed", type=int, default=defaults.split_seed)
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument(
        "--experiment", default=defaults.experiment, help="MLflow experiment (default: %(default)s)"
    )
    p.add_argument(
        "--no-register",
        dest="register",
        action="store_false",
        help="log the run and model but do not register a version",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument(
        "--tracking-uri",
        metavar="URI",
        help="MLflow tracking/registry URI (default: $MLFLOW_TRACKING_URI or sqlite:///mlflow.db)",
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = {
        "parts": _parts,
        "train": _train,
        "tune": _tune,
        "baseline": _baseline,
        "evaluate": _evaluate,
        "predict": _predict,
        "promote": _promote,
        "serve": _serve,
        "ui": _ui,
    }[args.command]
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # SIGTERM (a scheduler's or `kill`'s) unwinds like Ctrl-C: the MLflow run ends FAILED.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return handler(parser, args)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _error(message: str, code: int = 2) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def _parts(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.parts import PartsConfig, PartsError, generate

    if args.count < 1:
        parser.error(f"--count must be at least 1, got {args.count}")
    try:
        result = generate(
            PartsConfig(args.count, args.seed, args.out, args.overwrite, not args.quiet)
        )
    except PartsError as e:
        return _error(str(e))
    except KeyboardInterrupt:
        return _error("interrupted: no labels.csv written; run again with --overwrite", 130)
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    rate = len(result.files) / result.seconds if result.seconds else 0.0
    print(
        f"{len(result.files)} parts ({counts}; {result.triangles:,} triangles) in "
        f"{result.seconds:.1f} s ({rate:.0f} parts/s) -> {args.out / 'labels.csv'}",
        file=sys.stderr,
    )
    return 0


def _tracking(args: argparse.Namespace) -> str:
    from trainer import tracking
    from trainer.config import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    tracking.connect(uri)
    return uri


def _train_config(parser: argparse.ArgumentParser, args: argparse.Namespace, **overrides):
    from trainer.config import TrainConfig, resolve_tracking_uri

    names = (
        "data",
        "variant",
        "image_size",
        "weights",
        "epochs",
        "fine_tune_epochs",
        "unfreeze",
        "learning_rate",
        "fine_tune_learning_rate",
        "batch_size",
        "lr_schedule",
        "pooling",
        "head_units",
        "dropout",
        "bn_momentum",
        "patience",
        "shuffle_tiles",
        "val_fraction",
        "test_fraction",
        "split_seed",
        "seed",
        "experiment",
        "register",
    )
    names += tuple(n for n in ("checkpoints", "checkpoint_dir") if n in args)
    try:
        return TrainConfig(
            **{n: getattr(args, n) for n in names},
            tracking_uri=resolve_tracking_uri(args.tracking_uri),
            progress=not args.quiet,
            **overrides,
        )
    except ValueError as e:
        parser.error(str(e))


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.resume:
        plain = vars(build_parser().parse_args(["train", "--resume"]))
        kept = {"resume", "tracking_uri", "experiment", "quiet"}
        given = [k for k, v in vars(args).items() if k not in kept and v != plain.get(k)]
        if given:
            options = ", ".join("--" + k.replace("_", "-") for k in sorted(given))
            parser.error(
                f"--resume continues a run with the settings it started with; drop {options}"
            )
    elif args.data is None:
        parser.error("train: --data DIR is required (or --resume to continue a stopped run)")

    from trainer.checkpoint import CheckpointError
    from trainer.config import resolve_tracking_uri
    from trainer.data import DataError
    from trainer.model import WeightsError
    from trainer.tracking import TrackingError
    from trainer.train import resume, train

    try:
        if args.resume:
            uri = resolve_tracking_uri(args.tracking_uri)
            run_id = None if args.resume == "latest" else args.resume
            result = resume(run_id, uri, args.experiment, not args.quiet)
        else:
            config = _train_config(parser, args)
            uri = config.tracking_uri
            result = train(config)
    except (DataError, WeightsError, TrackingError, CheckpointError) as e:
        return _error(str(e))
    m = result.test_metrics
    print(
        f"run {result.run_id}: test accuracy {m['test_accuracy']:.4f}, macro-F1 "
        f"{m['test_macro_f1']:.4f}; version {result.version or '-'}; {result.decision} "
        f"({result.seconds:.0f} s)",
        file=sys.stderr,
    )
    print(f"see it: python -m trainer ui --tracking-uri {uri}", file=sys.stderr)
    return 0


def _tune(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.config import VARIANTS
    from trainer.data import DataError
    from trainer.model import WeightsError
    from trainer.tracking import TrackingError
    from trainer.tune import tune

    variants = [v.strip().upper() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(
            f"--variants: unknown {', '.join(unknown) or '(none given)'}; "
            f"choose from {', '.join(VARIANTS)}"
        )
    if args.trials < 1:
        parser.error("--trials must be at least 1")
    config = _train_config(parser, args, variant=variants[0])
    try:
        summary = tune(
            config, args.trials, variants, args.timeout, explicit_size=args.image_size is not None
        )
    except (DataError, WeightsError, TrackingError) as e:
        return _error(str(e))
    print(
        f"best of {summary['trials']} trials: {summary['best_params']} (validation score "
        f"{summary['best_value']:.4f}; run {summary['best_run_id']}, version "
        f"{summary['best_version']})",
        file=sys.stderr,
    )
    return 0


def _baseline(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.baseline import train_baseline
    from trainer.config import TrainConfig, resolve_tracking_uri
    from trainer.data import DataError
    from trainer.tracking import TrackingError

    try:
        config = TrainConfig(
            data=args.data,
            weights="none",
            epochs=args.epochs,
            patience=args.patience,
            learning_rate=args.learning_rate,
            batch_size=args.batch_size,
            split_seed=args.split_seed,
            seed=args.seed,
            experiment=args.experiment,
            tracking_uri=resolve_tracking_uri(args.tracking_uri),
            register=args.register,
            progress=not args.quiet,
        )
    except ValueError as e:
        parser.error(str(e))
    try:
        result = train_baseline(config, hidden=args.hidden)
    except (DataError, TrackingError) as e:
        return _error(str(e))
    m = result.test_metrics
    print(
        f"run {result.run_id}: face-normal model, test accuracy {m['test_accuracy']:.4f}, "
        f"macro-F1 {m['test_macro_f1']:.4f}; version {result.version or '-'}; "
        f"{result.decision} ({result.seconds:.0f} s)",
        file=sys.stderr,
    )
    return 0


def _evaluate(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.data import DataError
    from trainer.evaluate import evaluate_model
    from trainer.tracking import TrackingError

    try:
        _tracking(args)
        report = evaluate_model(args.data, args.model, args.experiment, progress=not args.quiet)
    except (DataError, TrackingError) as e:
        return _error(str(e))
    if args.json:
        print(json.dumps(report))
        return 0
    from shared.classes import CLASSES

    m = report["metrics"]
    print(
        f"{report['model_uri']} (version {report['model_version']}) on {report['images']} "
        f"images of {args.data}:"
    )
    print(
        f"accuracy {m['eval_accuracy']:.4f}  macro-F1 {m['eval_macro_f1']:.4f}  "
        f"macro-precision {m['eval_macro_precision']:.4f}  macro-recall "
        f"{m['eval_macro_recall']:.4f}"
    )
    print("confusion (rows true, columns predicted):")
    print("      " + "".join(f"{c:>6}" for c in CLASSES))
    for c, row in zip(CLASSES, report["confusion"], strict=True):
        print(f"{c:>6}" + "".join(f"{v:>6}" for v in row))
    return 0


def _predict(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.predict import predict
    from trainer.tracking import TrackingError

    try:
        _tracking(args)
        predictions, errors = predict(args.inputs, args.model)
    except TrackingError as e:
        return _error(str(e))
    for p in predictions:
        if args.json:
            print(json.dumps(p.as_json()))
        else:
            print(
                f"{p.input}: {p.label} ({p.probabilities[p.label]:.1%})  "
                + "  ".join(f"{c} {v:.1%}" for c, v in p.probabilities.items())
            )
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if errors else 0


def _promote(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer import tracking

    try:
        _tracking(args)
        print(tracking.promote(args.version, args.name))
    except tracking.TrackingError as e:
        return _error(str(e))
    return 0


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer import tracking

    try:
        uri = _tracking(args)
        model_uri, _ = tracking.resolve(args.model)
    except tracking.TrackingError as e:
        return _error(str(e))
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: serving on {args.host}: reachable from other machines", file=sys.stderr)
    print(f"serving {model_uri} on http://{args.host}:{args.port}/invocations", file=sys.stderr)
    return tracking.run_foreground(tracking.serve_command(model_uri, args.host, args.port), uri)


def _ui(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer import tracking
    from trainer.config import resolve_tracking_uri

    uri = resolve_tracking_uri(args.tracking_uri)
    command = tracking.ui_command(uri, args.host, args.port)
    if not args.start:
        print(" ".join(command[1:]).replace("-m mlflow", "mlflow", 1))
        print(f"then open http://{args.host}:{args.port}")
        return 0
    return tracking.run_foreground(command, uri)
