"""Image preprocessing shared by training and the logged model: decode, resize, shuffle tiles.

Training (tf.data) and the served model call the same functions, so a meta-image gives the
model the same tensor either way. Only TensorFlow and numpy: this module travels with the
logged model.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

GRID = 10
"""Meta-images are GRID x GRID tiles (shared.views.ROWS/COLS; repeated here so that the logged
model needs nothing but this file)."""


def decode(png: tf.Tensor) -> tf.Tensor:
    """PNG bytes -> (H, W, 3) uint8."""
    return tf.io.decode_png(png, channels=3)


def resize(images: tf.Tensor, size: int) -> tf.Tensor:
    """(..., H, W, 3) uint8 -> (..., size, size, 3) float32 in [0, 255] (EfficientNet's input)."""
    resized = tf.image.resize(tf.cast(images, tf.float32), [size, size], "bilinear", antialias=True)
    return tf.clip_by_value(resized, 0.0, 255.0)


def to_tiles(images: tf.Tensor) -> tf.Tensor:
    """(..., H, W, C) meta-images -> (..., GRID * GRID, H / GRID, W / GRID, C) tiles, row-major."""
    shape = tf.shape(images)
    lead, rank = shape[:-3], tf.rank(images)
    h, w, c = shape[-3] // GRID, shape[-2] // GRID, shape[-1]
    tiles = tf.reshape(images, tf.concat([lead, [GRID, h, GRID, w, c]], 0))
    perm = tf.concat([tf.range(rank - 3), rank - 3 + tf.constant([0, 2, 1, 3, 4])], 0)
    return tf.reshape(tf.transpose(tiles, perm), tf.concat([lead, [GRID * GRID, h, w, c]], 0))


def from_tiles(tiles: tf.Tensor, shuffle: bool = False, seed: tf.Tensor | None = None) -> tf.Tensor:
    """(N, GRID * GRID, h, w, C) tiles -> (N, GRID * h, GRID * w, C) meta-images.

    With `shuffle`, each image's tiles are placed in a random order of its own (`seed`, shape
    [2], makes it stateless and reproducible). Colours are normals in the part's frame, so the
    label does not depend on where a view is.
    """
    shape = tf.shape(tiles)
    n, h, w, c = shape[0], shape[2], shape[3], shape[4]
    if shuffle:
        size = [n, GRID * GRID]
        keys = tf.random.uniform(size) if seed is None else tf.random.stateless_uniform(size, seed)
        tiles = tf.gather(tiles, tf.argsort(keys, axis=1), batch_dims=1)
    images = tf.transpose(tf.reshape(tiles, [n, GRID, GRID, h, w, c]), [0, 1, 3, 2, 4, 5])
    return tf.reshape(images, [n, GRID * h, GRID * w, c])


def shuffle_tiles(images: tf.Tensor, seed: tf.Tensor | None = None) -> tf.Tensor:
    """Shuffle the tile positions of each meta-image of an (N, H, W, C) batch."""
    return from_tiles(to_tiles(images), shuffle=True, seed=seed)


HALF_TURN = (1, 0, 3, 2, 4)
"""Class index after a 180 degree turn about Z: +X <-> -X, +Y <-> -Y, +Z stays (the order of
shared.classes.CLASSES)."""
PLAN_HALF_TURN = (*HALF_TURN, len(HALF_TURN))
"""The same for the plan head's columns (shared.plans.SIDES: the classes, then -Z)."""


def half_turn(images: tf.Tensor) -> tf.Tensor:
    """(..., H, W, 3) uint8 meta-images of the parts turned 180 degrees about Z, as rendering the
    turned part gives them: the view at azimuth a of the turned part is the view at a - 180 of
    the part (a roll of the 10 azimuth columns by 5), and its normals have x and y negated.

    An encoded channel v = floor(128 + 127.5 n) becomes floor(128 - 127.5 n) = 255 - v, except
    where 127.5 n is a whole number: n = 0 exactly (faces parallel to the axis, the common
    case) keeps 128; 0 < n < 1/127.5 also encodes 128 but would render 127, and the rare
    n = k / 127.5 (k a non-zero whole number) would render one more than 255 - v.
    The black background stays black.
    """
    width = tf.shape(images)[-2]
    rolled = tf.roll(images, shift=(GRID // 2) * (width // GRID), axis=-2)
    xy, z = rolled[..., :2], rolled[..., 2:]
    part = tf.reduce_any(rolled > 0, axis=-1, keepdims=True)
    negated = tf.where(tf.equal(xy, 128), xy, 255 - xy)
    return tf.concat([tf.where(part, negated, xy), z], axis=-1)


def random_half_turns(
    images: tf.Tensor, labels: tf.Tensor, seed: tf.Tensor | None = None
) -> tuple[tf.Tensor, tf.Tensor]:
    """Turn each meta-image of an (N, H, W, 3) uint8 batch by 180 degrees about Z with
    probability 1/2, its label remapped: an exact augmentation (see `half_turn`). Labels are
    class indices (N,), or a plan head's targets (N, 7): the class index, then the plan's
    columns (+X -X +Y -Y +Z -Z), permuted alike."""
    n = tf.shape(images)[0]
    coin = tf.random.uniform([n]) if seed is None else tf.random.stateless_uniform([n], seed)
    turn = coin < 0.5
    images = tf.where(turn[:, None, None, None], half_turn(images), images)
    if labels.shape.rank == 2:
        index = tf.cast(labels[:, 0], tf.int32)
        label = tf.cast(tf.gather(tf.constant(HALF_TURN), index), labels.dtype)
        turned = tf.concat([label[:, None], tf.gather(labels[:, 1:], PLAN_HALF_TURN, axis=1)], 1)
        return images, tf.where(turn[:, None], turned, labels)
    labels = tf.where(turn, tf.gather(tf.constant(HALF_TURN, labels.dtype), labels), labels)
    return images, labels


def prepare(images: list, size: int) -> np.ndarray:
    """Meta-images as PNG bytes or (H, W, 3) uint8 arrays -> one float32 model batch."""
    batch = []
    for image in images:
        if isinstance(image, bytes | bytearray):
            image = decode(tf.constant(bytes(image)))
        array = tf.convert_to_tensor(np.asarray(image, dtype=np.uint8))
        if array.shape.rank != 3 or array.shape[-1] != 3:
            raise ValueError(
                f"expected an RGB meta-image (H, W, 3), got shape {tuple(array.shape)}"
            )
        batch.append(resize(array, size))
    return tf.stack(batch).numpy()
