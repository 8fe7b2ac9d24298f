"""Batch planning without bpy: inputs, names, labels, rotations, up-to-date checks."""

import re
from collections import Counter

import numpy as np
import pytest

from blender_addon.batch import jobs
from samples.meshes import box
from shared import metaimage, png, rotations
from shared.classes import CLASSES as CLASSES_ORDER
from shared.geometry.stl import write_stl


@pytest.fixture
def parts(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for p in ("a/p1.stl", "a/p2.STL", "b/p1.stl"):
        write_stl(tmp_path / p, box())
    (tmp_path / "a/notes.txt").write_text("not a part")
    return tmp_path


def test_find_inputs(parts):
    (parts / "a/p3.step").write_text("ISO-10303-21;")  # a STEP part: found, read later
    files, errors = jobs.find_inputs(
        [str(parts / "a"), str(parts / "b/p1.stl"), str(parts / "a/p1.stl"), str(parts / "nope")]
    )
    assert [f.relative_to(parts).as_posix() for f in files] == [
        "a/p1.stl",
        "a/p2.STL",
        "a/p3.step",
        "b/p1.stl",
    ]
    assert [str(e) for e in errors] == [f"{parts / 'nope'}: file not found"]
    assert [e.input for e in errors] == [str(parts / "nope")]
    empty = parts / "empty"
    empty.mkdir()
    files, errors = jobs.find_inputs([str(empty)])
    assert files == [] and [str(e) for e in errors] == [
        f"{empty}: folder holds no .stl or .step files"
    ]


def test_part_ids_are_unique(parts):
    files, _ = jobs.find_inputs([str(parts / "a"), str(parts / "b")])
    planned, errors = jobs.plan(files, None)
    assert not errors
    ids = [p.part_id for p in planned]
    assert len(set(ids)) == 3
    assert ids[1] == "p2"
    assert ids[0].startswith("p1-") and ids[2].startswith("p1-")  # same stem, different folders
    assert [v.image for v in planned[1].variants] == ["p2.png"]


def test_labels_csv(parts):
    csv = parts / "a" / "labels.csv"
    csv.write_text("file,label\np1.stl,+Y\np2.STL,-X\n")
    labels = jobs.read_labels(csv)
    files, _ = jobs.find_inputs([str(parts / "a"), str(parts / "b")])
    planned, errors = jobs.plan(files, labels, turns=20)
    # b/p1.stl is found by its file name, as the only 'p1.stl' in the CSV
    assert [p.label for p in planned] == ["+Y", "-X", "+Y"]
    assert not errors
    variants = planned[0].variants
    assert len(variants) == 20
    assert variants[0].image.endswith(".png") and variants[0].augmentation == "none"
    quarter = next(v for v in variants if v.rotation == "+Y-X+Z")
    assert quarter.label == "-X" and quarter.augmentation == "rot:+Y-X+Z"
    assert quarter.image == f"{planned[0].part_id}__r+Y-X+Z.png"


def test_a_plan_column_turns_with_every_variant(parts):
    csv = parts / "a" / "labels.csv"
    csv.write_text("file,label,plan\np1.stl,+Y,+Y -Z +X\np2.STL,-X,\n")
    labels = jobs.read_labels(csv)
    setup_plans = jobs.read_plans(csv, labels)
    files, _ = jobs.find_inputs([str(parts / "a")])
    planned, errors = jobs.plan(files, labels, turns=20, setup_plans=setup_plans)
    assert not errors and planned[1].variants[0].plan == ("-X",)  # empty: the label alone
    for v in planned[0].variants:
        turn = rotations.parse_rotation(v.rotation)
        expected = tuple(rotations.rotate_label(d, turn) for d in ("+Y", "-Z", "+X"))
        assert v.plan == expected and v.plan[0] == v.label
    csv.write_text("file,label,plan\np1.stl,+Y,+X +Y\n")
    with pytest.raises(jobs.UsageError, match="line 2: the plan does not start with the label"):
        jobs.read_plans(csv, jobs.read_labels(csv))
    csv.write_text("file,label,plan\np1.stl,+Y,+Y +Y\n")
    with pytest.raises(jobs.UsageError, match="line 2: plan '\\+Y \\+Y': a direction is rep"):
        jobs.read_plans(csv, jobs.read_labels(csv))
    csv.write_text("file,label\np1.stl,+Y\n")
    assert jobs.read_plans(csv, jobs.read_labels(csv)) == {}


def test_missing_label_is_a_per_file_error(parts):
    csv = parts / "labels.csv"
    csv.write_text("file,label\na/p1.stl,+Z\n")
    files, _ = jobs.find_inputs([str(parts / "a")])
    planned, errors = jobs.plan(files, jobs.read_labels(csv))
    assert [p.part_id for p in planned] == ["p1"]
    assert [str(e) for e in errors] == [
        f"{parts / 'a/p2.STL'}: no label for this file in the labels CSV"
    ]


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,side\na.stl,+X\n", "needs the columns 'file' and 'label'"),
        ("file,label\na.stl,-Z\n", "line 2: unknown label '-Z'"),
    ],
)
def test_bad_labels_csv(tmp_path, text, message):
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(jobs.UsageError, match=message):
        jobs.read_labels(tmp_path / "l.csv")
    with pytest.raises(jobs.UsageError, match="labels file not found"):
        jobs.read_labels(tmp_path / "none.csv")


def test_is_current(tmp_path):
    record = metaimage.provenance("cd" * 32, "none", 600, "embree")
    image = tmp_path / "x.png"
    assert not jobs.is_current(image, record)
    image.write_bytes(
        png.encode_rgb(np.zeros((4, 4, 3), np.uint8), metaimage.provenance_text(record))
    )
    assert jobs.is_current(image, record)
    assert not jobs.is_current(image, metaimage.provenance("cd" * 32, "none", 300, "embree"))
    assert not jobs.is_current(image, metaimage.provenance("ef" * 32, "none", 600, "embree"))
    # engines differ on edge pixels: an image drawn by another one is not this one
    assert not jobs.is_current(image, metaimage.provenance("cd" * 32, "none", 600, "cycles"))


@pytest.mark.parametrize("count", [1, 5, 7, 10, 19])
def test_some_rotations_spread_over_the_classes_and_depend_only_on_seed_and_part(count):
    picked = jobs.pick_rotations("+X", "part_0001", count, seed=3)
    assert len(picked) == count == len({name for name, _ in picked})
    per_class = Counter(label for _, label in picked)
    assert max(per_class.values()) - min(per_class.values()) <= 1
    assert len(per_class) == min(count, 5)
    all_turns = {(n, new) for n, _, new in rotations.label_preserving("+X")}
    assert set(picked) <= all_turns
    assert jobs.pick_rotations("+X", "part_0001", count, seed=3) == picked
    others = {tuple(jobs.pick_rotations("+X", f"part_{i:04d}", count, 3)) for i in range(20)}
    assert len(others) > 1  # parts differ
    assert len(jobs.pick_rotations("+X", "part_0001", 20, seed=3)) == 20


def test_chosen_variants_depend_on_the_parts_bytes_not_its_name(parts):
    files, _ = jobs.find_inputs([str(parts / "a")])
    planned, _ = jobs.plan(files, dict.fromkeys((f.resolve() for f in files), "+Z"), turns=5)
    part = planned[0]
    assert len(part.variants) == 20
    chosen = jobs.choose_variants(part, "digest-1", 5, seed=0)
    assert sorted(v.label for v in chosen) == sorted(CLASSES_ORDER)
    assert jobs.choose_variants(part, "digest-1", 5, seed=0) == chosen
    assert {jobs.choose_variants(part, f"digest-{i}", 5, 0) for i in range(10)} != {chosen}
    assert jobs.choose_variants(part, "digest-1", 0, seed=0) == part.variants
    assert jobs.choose_variants(part, "digest-1", 20, seed=0) == part.variants


def test_shard_auto_reads_slurm_and_kubernetes():
    slurm = {
        "SLURM_ARRAY_TASK_ID": "5",
        "SLURM_ARRAY_TASK_MIN": "1",
        "SLURM_ARRAY_TASK_COUNT": "16",
    }
    assert jobs.parse_shard("auto", slurm) == (4, 16)
    assert jobs.parse_shard("auto/16", slurm) == (4, 16)
    assert jobs.parse_shard("auto/4", {"JOB_COMPLETION_INDEX": "3"}) == (3, 4)
    assert jobs.parse_shard("1/3", slurm) == (1, 3)  # explicit wins
    for text, env, message in [
        ("auto", {}, "neither SLURM_ARRAY_TASK_ID"),
        ("auto", {"JOB_COMPLETION_INDEX": "3"}, "give --shard auto/N"),
        ("auto/8", slurm, "the Slurm array has 16 tasks"),
        ("auto/2", {"JOB_COMPLETION_INDEX": "3"}, "need 0 <= I < N, got 3/2"),
        ("auto", {**slurm, "SLURM_ARRAY_TASK_ID": "x"}, "SLURM_ARRAY_TASK_ID='x' is not a number"),
        ("auto/x", {"JOB_COMPLETION_INDEX": "0"}, "expected I/N"),
    ]:
        with pytest.raises(jobs.UsageError, match=re.escape(message)):
            jobs.parse_shard(text, env)
