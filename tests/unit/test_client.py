"""The add-on's model client (stdlib only): URLs, online access, and every kind of bad answer.

The faulty servers here are plain HTTP servers on 127.0.0.1 that answer wrongly on purpose; the
real MLflow scoring server is exercised in tests/blender/test_predict.py."""

import http.server
import json
import sys
import threading
import time
from pathlib import Path

import pytest

from blender_addon.inference import client

CLASSES = ["+X", "-X", "+Y", "-Y", "+Z"]
GOOD = {"predictions": [{"label": "+Y", "+X": 0.1, "-X": 0.1, "+Y": 0.6, "-Y": 0.1, "+Z": 0.1}]}


def serve(status: int, body: bytes, delay: float = 0.0):
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            time.sleep(delay)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def server(request):
    status, body, delay = request.param
    s, url = serve(status, body, delay)
    yield url
    s.shutdown()


@pytest.mark.parametrize(
    "url, loopback",
    [
        ("http://127.0.0.1:5001", True),
        ("http://localhost:5001", True),
        ("http://[::1]:5001", True),
        ("http://127.8.9.1", True),
        ("http://192.168.1.5:5001", False),
        ("http://models.example.com", False),
        ("https://localhost.evil.com", False),
    ],
)
def test_loopback_is_decided_without_dns(url, loopback):
    assert client.is_loopback(url) is loopback


def test_online_access_is_respected_before_anything_is_sent():
    with pytest.raises(client.ClientError, match=r"online access is off.*nothing was sent"):
        client.ask_server("http://192.0.2.1:5001", b"png", timeout=1, online_access=False)
    with pytest.raises(client.ClientError, match="not an http"):
        client.ask_server("ftp://127.0.0.1/", b"png", timeout=1)


@pytest.mark.parametrize("server", [(200, json.dumps(GOOD).encode(), 0)], indirect=True)
def test_a_good_answer(server):
    answer = client.ask_server(server, b"\x89PNG...", timeout=5)
    assert answer.label == "+Y" and answer.probabilities["+Y"] == 0.6
    assert answer.as_json("part.stl")["model_uri"] == server


@pytest.mark.parametrize(
    "server, message",
    [
        ((500, b'{"error_code": "BAD_REQUEST", "message": "boom"}', 0), "answered HTTP 500"),
        ((200, b"<html>not json</html>", 0), "not a prediction"),
        ((200, b'{"predictions": []}', 0), "not a prediction"),
        (
            (200, json.dumps({"predictions": [{"cat": 0.9, "dog": 0.1}]}).encode(), 0),
            "answered for the classes \\['cat', 'dog'\\]",
        ),
        (
            (200, json.dumps({"predictions": [dict.fromkeys(CLASSES, "x")]}).encode(), 0),
            "not numbers",
        ),
        ((200, json.dumps(GOOD).encode(), 3), "did not answer within 1 s"),
    ],
    indirect=["server"],
)
def test_bad_answers_are_explained(server, message):
    with pytest.raises(client.ClientError, match=message):
        client.ask_server(server, b"\x89PNG...", timeout=1)


def test_no_server_says_how_to_start_one():
    s, url = serve(200, b"")
    s.shutdown()
    s.server_close()
    with pytest.raises(client.ClientError, match=r"no model server at .*python -m trainer serve"):
        client.ask_server(url, b"png", timeout=2)


def test_python_mode_faults(tmp_path):
    with pytest.raises(client.ClientError, match="no such Python interpreter"):
        client.ask_python(str(tmp_path / "python"), b"png", timeout=5)
    with pytest.raises(client.ClientError, match="no Python interpreter with the trainer is set"):
        client.ask_python("", b"png")
    bare = Path(sys.base_prefix) / "bin" / "python3"  # the Python under the venv: no trainer
    with pytest.raises(client.ClientError, match=r"cannot run the trainer \(no module \w+\)"):
        client.ask_python(str(bare), b"png", timeout=60)
