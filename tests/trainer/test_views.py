"""The view-colour path: each view's tile is averaged exactly, whatever the input size, and the
features keep which view saw what."""

import numpy as np
import pytest

from trainer.models import viewpath as views


@pytest.mark.parametrize("pixels", [100, 96, 64, 37])
def test_tile_shares_split_every_pixel_once(pixels):
    shares = views.tile_shares(pixels, views.ROWS)
    np.testing.assert_allclose(shares.sum(axis=0) * pixels / views.ROWS, 1.0, rtol=1e-6)
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-5)  # each row averages


@pytest.mark.parametrize("pixels", [100, 96, 64])
def test_view_means_equal_the_tile_means_of_the_image_seen_ten_times_finer(pixels):
    rng = np.random.default_rng(pixels)
    image = rng.random((2, pixels, pixels, 3)).astype(np.float32)
    # Each pixel as a 10 x 10 block: every tile is then whole pixels, and its mean is exact.
    fine = image.repeat(views.ROWS, axis=1).repeat(views.COLS, axis=2)
    tile = pixels  # = fine size / GRID
    expected = fine.reshape(2, views.ROWS, tile, views.COLS, tile, 3).mean(axis=(2, 4))
    got = np.asarray(views.ViewMeans()(image))
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)  # float32 sums


def test_the_path_keeps_which_view_saw_a_colour():
    import keras

    images = keras.Input((100, 100, 3))
    net = keras.Model(images, views.view_colours(images, 4))
    blank = np.zeros((2, 100, 100, 3), np.float32)
    blank[0, :10, :10] = 255.0  # view (0, 0) sees white
    blank[1, :10, 90:] = 255.0  # view (0, 9) sees white
    a, b = np.asarray(net(blank)).reshape(2, views.ROWS, views.COLS, 4)
    assert not np.allclose(a, b)
    np.testing.assert_allclose(a[1:], b[1:])  # only the first row of views differs
    np.testing.assert_allclose(a[0, 1:9], b[0, 1:9])
