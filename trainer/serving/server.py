"""Serving and the UI: MLflow's scoring server and tracking UI as processes of this environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve_command(uri: str, host: str, port: int) -> list[str]:
    """MLflow's own scoring server for a model URI, in this environment."""
    return [
        sys.executable,
        "-m",
        "mlflow",
        "models",
        "serve",
        "-m",
        uri,
        "--host",
        host,
        "--port",
        str(port),
        "--env-manager",
        "local",
    ]


def ui_command(tracking: str, host: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "mlflow",
        "ui",
        "--backend-store-uri",
        tracking,
        "--host",
        host,
        "--port",
        str(port),
    ]


def tools_environment(**extra: str) -> dict[str, str]:
    """This process's environment for an MLflow command, with this environment's tools first on
    PATH (mlflow starts `uvicorn`/`gunicorn` by name)."""
    tools = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": os.pathsep.join([tools, os.environ.get("PATH", "")]), **extra}


def run_foreground(command: list[str], tracking: str) -> int:
    """Run an MLflow command until it ends (or Ctrl-C); its tools come from this environment."""
    try:
        return subprocess.call(command, env=tools_environment(MLFLOW_TRACKING_URI=tracking))
    except KeyboardInterrupt:
        return 130
