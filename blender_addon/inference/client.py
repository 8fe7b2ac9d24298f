"""Ask the model for a part's milling direction: the built-in model (numpy, from the mesh), or
the champion for the part's meta-image, over HTTP (an MLflow scoring server) or through a Python
that has the trainer installed. No bpy (the caller renders), so that it runs in Blender's
bundled Python, on a command line without Blender and in plain pytest."""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from .._shared import prediction, stl
from ..step import read_part as _read
from . import builtin

Prediction = prediction.Prediction

DEFAULT_SERVER = "http://127.0.0.1:5001"
DEFAULT_TIMEOUT = 30.0


class ClientError(RuntimeError):
    """The model could not answer; the message says why and what to do."""


def is_loopback(url: str) -> bool:
    """True for localhost / 127.0.0.0/8 / ::1 (decided without any DNS lookup)."""
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, online_access: bool) -> str:
    """Refuse a malformed URL, or a non-loopback one when Blender's online access is off."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ClientError(f"{url!r} is not an http(s) URL of a model server")
    if not online_access and not is_loopback(url):
        raise ClientError(
            f"{url} is not on this machine and Blender's online access is off "
            "(Preferences > System > Network > Allow Online Access): nothing was sent"
        )
    return url.rstrip("/")


def ask_server(
    url: str,
    png: bytes,
    timeout: float = DEFAULT_TIMEOUT,
    online_access: bool = False,
    mesh: bytes = b"",
) -> Prediction:
    """POST one part to an MLflow scoring server and read its answer: its meta-image, and its
    STL bytes where given (an image model reads the one, a face-normal model the other; a
    model ignores the column it does not read)."""
    url = check_url(url, online_access)
    columns, row = ["image"], [base64.b64encode(png).decode()]
    if mesh:
        columns, row = [*columns, "mesh"], [*row, base64.b64encode(mesh).decode()]
    body = json.dumps({"dataframe_split": {"columns": columns, "data": [row]}})
    request = urllib.request.Request(
        f"{url}/invocations", body.encode(), {"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as e:
        detail = e.read()[:300].decode("utf-8", "replace").strip()
        raise ClientError(f"the model server at {url} answered HTTP {e.code}: {detail}") from None
    except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            raise ClientError(
                f"the model server at {url} did not answer within {timeout:g} s"
            ) from None
        raise ClientError(
            f"no model server at {url} ({reason}); start one with "
            "`python -m trainer serve` or the panel's 'Start Local Model Server'"
        ) from None
    try:
        rows = json.loads(raw)["predictions"]
        row = rows[0] if isinstance(rows, list) else {k: v[0] for k, v in rows.items()}
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        raise ClientError(
            f"the model server at {url} sent an answer that is not a prediction"
        ) from None
    probabilities = {k: v for k, v in row.items() if k != "label"}
    try:
        return Prediction.from_probabilities(probabilities, url)
    except ValueError as e:
        raise ClientError(f"the model server at {url} {_reason(e)}") from None


def ask_python(
    python: str,
    png: bytes,
    timeout: float = DEFAULT_TIMEOUT,
    tracking_uri: str = "",
    mesh: bytes = b"",
) -> Prediction:
    """Run `PYTHON -m trainer predict --json` on the part and read its answer: its STL where
    given (any family answers a part), else its meta-image."""
    if not python:
        raise ClientError("no Python interpreter with the trainer is set in the preferences")
    with tempfile.TemporaryDirectory(prefix="milling-ask-") as tmp:
        path = os.path.join(tmp, "part.stl" if mesh else "meta_image.png")
        with open(path, "wb") as f:
            f.write(mesh or png)
        command = [python, "-m", "trainer", "predict", path, "--json"]
        tracking_uri = tracking_uri or find_store(python)[0]  # as the local server does
        if tracking_uri:
            command += ["--tracking-uri", tracking_uri]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
        except FileNotFoundError:
            raise ClientError(f"{python}: no such Python interpreter") from None
        except subprocess.TimeoutExpired:
            raise ClientError(
                f"{python} -m trainer predict did not answer within {timeout:g} s"
            ) from None
    if result.returncode != 0:
        missing = re.search(r"No module named '?([\w.]+)", result.stderr)
        if missing:
            raise ClientError(
                f"{python} cannot run the trainer (no module {missing.group(1)}): "
                "use the Python of the project's .venv (make setup)"
            )
        lines = [s for s in result.stderr.strip().splitlines() if s.strip()]
        message = next((s for s in lines if s.startswith("error: ")), lines[-1] if lines else "")
        raise ClientError(f"{python} -m trainer predict failed: {message}")
    who = f"{python} -m trainer predict"
    try:
        _, answer = Prediction.from_json(json.loads(result.stdout.strip().splitlines()[-1]))
    except IndexError:
        raise ClientError(f"{who} printed no prediction") from None
    except ValueError as e:
        raise ClientError(f"{who} {_reason(e)}") from None
    return answer


def _reason(e: ValueError) -> str:
    text = str(e)
    if text.startswith("answered for the classes"):
        return f"{text}: is it a Milling Directions model?"
    return text if text.startswith("sent") else f"sent an answer that is not a prediction ({text})"


@dataclass(frozen=True)
class ModelSettings:
    """How to reach the model (the add-on preferences, or command-line options)."""

    mode: str = "builtin"
    """'builtin' (the model inside the extension), 'server' (HTTP) or 'python' (subprocess)."""
    server_url: str = DEFAULT_SERVER
    python: str = ""
    tracking_uri: str = ""
    timeout: float = DEFAULT_TIMEOUT

    @property
    def where(self) -> str:
        if self.mode == "builtin":
            return "the built-in model"
        return self.server_url if self.mode == "server" else f"{self.python} -m trainer"


def ask(png: bytes, settings: ModelSettings, online_access: bool, mesh: bytes = b"") -> Prediction:
    """Ask the trainer's model as the settings say ('server' or 'python': the best model of the
    store unless the server was started with another), with the part's meta-image and its
    STL bytes in mm (`mesh`); the built-in model reads the triangles themselves: `answer`."""
    if settings.mode == "python":
        return ask_python(settings.python, png, settings.timeout, settings.tracking_uri, mesh)
    return ask_server(settings.server_url, png, settings.timeout, online_access, mesh)


STORE_CANDIDATES = ("build/demo/mlflow.db", "mlflow.db")
"""Where a checkout keeps its store (`make demo`; the trainer's default), relative to it."""


def find_store(python: str) -> tuple[str, str]:
    """(tracking URI, working folder) for a server started with `python`: for a checkout's
    .venv Python, the checkout and its first store that exists; else ('', '')."""
    path = os.path.abspath(python)
    bin_dir = os.path.dirname(path)
    root = os.path.dirname(os.path.dirname(bin_dir))
    if os.path.basename(os.path.dirname(bin_dir)) != ".venv":
        return "", ""
    for candidate in STORE_CANDIDATES:
        store = os.path.join(root, candidate)
        if os.path.isfile(store):
            return f"sqlite:///{store}", root
    return "", root


def answer(
    triangles,
    settings: ModelSettings,
    online: bool,
    render: Callable | None,
    caster: Callable | None = None,
    analysis=None,
) -> Prediction:
    """Ask the model the settings name: the built-in one reads the (N, 3, 3) triangles in mm
    and their tool-aware analysis (`analysis`, else run with its rays cast by
    `caster(triangles)` where given), a champion gets `render(triangles)`, the PNG
    meta-image. ClientError if it cannot answer."""
    if settings.mode == "builtin":
        try:
            cast = caster(triangles) if caster and analysis is None else None
            return builtin.load().predict(triangles, cast, analysis)
        except builtin.BuiltinError as e:
            raise ClientError(str(e)) from None
    return ask(render(triangles), settings, online, stl.stl_bytes(triangles))


def predict_files(
    paths: list[str],
    settings: ModelSettings,
    online: bool,
    render: Callable | None,
    caster: Callable | None = None,
) -> tuple[list[tuple[str, Prediction]], list[str]]:
    """([(STL path, answer)], error lines): `python -m blender_addon predict`."""
    answers, errors = [], []
    for path in paths:
        try:
            triangles = _read(path).triangles
            answers.append((path, answer(triangles, settings, online, render, caster)))
        except stl.StlError as e:
            errors.append(str(e))
        except ClientError as e:
            errors.append(f"{path}: {e}")
    return answers, errors
