"""The view-colour path of the image model: what each view of the meta-image sees, by colour.

A meta-image pixel's colour is the part-frame normal of the face it shows, so a learned
function of the colour (two 1x1 convolutions) averaged over one view's tile is a learned
histogram of the normals that view sees, weighted by their projected area. The 100 tiles stay
in their places (flattened in order), so the head knows which view saw which normals: a pocket's
walls on +X are seen only from views on the +X side. Measured from scratch, this path alone
generalised to an unseen part family far better than EfficientNet (README, "the ablation").
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from shared.views import COLS, ROWS


def tile_shares(pixels: int, tiles: int) -> np.ndarray:
    """(tiles, pixels): the share of pixel p inside tile i, divided by the tile's width, so that
    a row of it averages over the tile. Exact for any size: a pixel on a border between two
    tiles counts in both by the part of it that lies in each."""
    edges = np.arange(tiles + 1) * pixels / tiles
    p = np.arange(pixels)
    overlap = np.clip(
        np.minimum(p[None, :] + 1, edges[1:, None]) - np.maximum(p[None, :], edges[:-1, None]),
        0,
        None,
    )
    return (overlap / (pixels / tiles)).astype(np.float32)


@keras.saving.register_keras_serializable(package="milling")
class ViewMeans(layers.Layer):
    """(N, H, W, C) -> (N, ROWS, COLS, C): the mean of each view's tile."""

    def build(self, input_shape) -> None:
        self.rows = ops.convert_to_tensor(tile_shares(input_shape[1], ROWS))
        self.cols = ops.convert_to_tensor(tile_shares(input_shape[2], COLS))

    def call(self, x):
        return ops.einsum("ih,nhwc,jw->nijc", self.rows, x, self.cols)

    def compute_output_shape(self, input_shape) -> tuple:
        return (input_shape[0], ROWS, COLS, input_shape[3])


def view_colours(images, units: int):
    """The path's features (N, ROWS * COLS * units) of float32 images in [0, 255]."""
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="view_colours_scale")(images)
    x = layers.Conv2D(units, 1, activation="relu", name="view_colours_1")(x)
    x = layers.Conv2D(units, 1, activation="relu", name="view_colours_2")(x)
    x = ViewMeans(name="view_means")(x)
    return layers.Flatten(name="view_colours_flat")(x)
