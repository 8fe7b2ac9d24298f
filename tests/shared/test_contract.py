"""shared/: classes, view schedule, rotations, colour encoding, tiling, PNG provenance."""

import io
import json

import numpy as np
import pytest
from PIL import Image

from shared import classes, metaimage, png, rotations, views


def test_class_list():
    assert classes.CLASSES == ("+X", "-X", "+Y", "-Y", "+Z")
    assert classes.CLAMP not in classes.CLASSES
    for c in classes.CLASSES:
        assert classes.label_of(classes.direction(c)) == c
    with pytest.raises(ValueError, match="unknown"):
        classes.check_label("-Z")


def test_view_schedule_covers_the_sphere():
    d = views.view_directions().reshape(-1, 3)
    assert d.shape == (100, 3)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), 1.0)
    assert len(np.unique(np.round(d, 6), axis=0)) == 100
    # every direction on the sphere is within 20 degrees of some view
    rng = np.random.default_rng(0)
    probe = rng.normal(size=(20000, 3))
    probe /= np.linalg.norm(probe, axis=1, keepdims=True)
    worst = np.degrees(np.arccos(np.clip((probe @ d.T).max(axis=1), -1, 1))).max()
    assert worst < 20.0
    # no view sees an axis-aligned face exactly edge-on (the closest is 1.4 degrees off)
    assert np.abs(d).min() > 0.02


def test_view_rotations_look_along_the_schedule():
    r = views.view_rotations()
    d = views.view_directions()
    for i in range(views.ROWS):
        for j in range(views.COLS):
            m = r[i, j]
            np.testing.assert_allclose(m @ m.T, np.eye(3), atol=1e-12)
            assert np.linalg.det(m) == pytest.approx(1.0)
            np.testing.assert_allclose(m @ d[i, j], [0, 0, 1], atol=1e-12)
            assert (m @ [0, 0, 1])[1] > 0  # the part's +Z points up in the image


def test_cube_rotations():
    rots = rotations.cube_rotations()
    assert len(rots) == 24
    assert next(iter(rots)) == rotations.IDENTITY
    for name, m in rots.items():
        assert round(np.linalg.det(m)) == 1
        assert rotations.rotation_name(m) == name
        np.testing.assert_array_equal(rotations.parse_rotation(name), m)
    with pytest.raises(ValueError, match="not a cube rotation"):
        rotations.parse_rotation("+X+X+Z")


def test_quarter_turn_about_z_maps_x_to_y():
    quarter = rotations.parse_rotation("+Y-X+Z")  # x -> +Y, y -> -X
    assert rotations.rotate_label("+X", quarter) == "+Y"
    assert rotations.rotate_label("+Y", quarter) == "-X"
    assert rotations.rotate_label("+Z", quarter) == "+Z"


@pytest.mark.parametrize("label", classes.CLASSES)
def test_label_preserving_rotations(label):
    turns = rotations.label_preserving(label)
    assert len(turns) == 20
    assert turns[0] == (rotations.IDENTITY, turns[0][1], label)
    new_labels = [new for _, _, new in turns]
    assert classes.CLAMP not in new_labels
    assert sorted(new_labels) == sorted(classes.CLASSES * 4)  # balanced: 4 poses per class


def test_colour_encoding():
    n = np.array([[1, 0, 0], [-1, 0, 0], [0, 0, 1], [0.6, -0.8, 0.0]])
    assert metaimage.encode_normals(n).tolist() == [
        [255, 128, 128],
        [0, 128, 128],
        [128, 128, 255],
        [204, 25, 128],  # 255 * 0.1 is 25.499... in floating point
    ]
    # the formula, with ties rounding up
    v = np.random.default_rng(1).normal(size=(1000, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    expected = np.floor(255 * (v * 0.5 + 0.5) + 0.5)
    np.testing.assert_array_equal(metaimage.encode_normals(v), expected)
    np.testing.assert_allclose(metaimage.decode_colors(metaimage.encode_normals(v)), v, atol=0.01)


def test_normalize_centres_and_scales_by_bounding_sphere():
    t = np.random.default_rng(2).uniform(-5, 30, size=(50, 3, 3))
    n = metaimage.normalize(t).reshape(-1, 3)
    np.testing.assert_allclose((n.min(axis=0) + n.max(axis=0)) / 2, 0, atol=1e-12)
    assert np.linalg.norm(n, axis=1).max() == pytest.approx(1.0)


def test_tile_and_untile():
    views_ = np.arange(10 * 10 * 6 * 6 * 3, dtype=np.int64).reshape(10, 10, 6, 6, 3)
    image = metaimage.tile(views_)
    assert image.shape == (60, 60, 3)
    np.testing.assert_array_equal(image[12:18, 30:36], views_[2, 5])  # tile (row 2, col 5)
    np.testing.assert_array_equal(metaimage.untile(image), views_)
    with pytest.raises(ValueError, match="does not split"):
        metaimage.untile(np.zeros((65, 60, 3)))


@pytest.mark.parametrize("size", [0, 5, 605, 100000])
def test_bad_sizes(size):
    with pytest.raises(ValueError, match="multiple of 10"):
        metaimage.check_size(size)


def test_png_encoding_and_text(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, size=(30, 40, 3), dtype=np.uint8)
    data = png.encode_rgb(rgb, {"a": "1"})
    decoded = Image.open(io.BytesIO(data))
    assert decoded.mode == "RGB"
    np.testing.assert_array_equal(np.asarray(decoded), rgb)
    tagged = png.retag(data, {"b": "two"})
    assert png.read_text(tagged) == {"b": "two"}
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(tagged))), rgb)
    with pytest.raises(ValueError, match="not a complete PNG"):
        png.retag(data[:-20], {})


def test_provenance_is_read_only_from_complete_files(tmp_path):
    record = metaimage.provenance("ab" * 32, "none", 600, "embree")
    data = png.encode_rgb(np.zeros((10, 10, 3), np.uint8), metaimage.provenance_text(record))
    path = tmp_path / "m.png"
    path.write_bytes(data)
    assert metaimage.read_provenance(path) == json.loads(json.dumps(record))
    path.write_bytes(data[:-5])  # cut off: not a finished image
    assert metaimage.read_provenance(path) is None
    path.write_bytes(b"not a png")
    assert metaimage.read_provenance(path) is None
    assert metaimage.read_provenance(tmp_path / "missing.png") is None
