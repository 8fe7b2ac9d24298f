"""The geometric setup analysis reproduces every label of `trainer parts`: each one-setup part of
every family, analysed with the stock that labels.csv records for it, needs exactly one setup,
from its label's side."""

import csv
from collections import Counter

import pytest

from blender_addon.inference.analysis import EmbreeCaster
from shared import axisrays, plans, setups, stl
from trainer.synth.machining import FAMILIES
from trainer.synth.parts import PartsConfig, generate

pytestmark = pytest.mark.slow
COUNT = 525  # 75 of each family, 105 of each label


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    out = tmp_path_factory.mktemp("parts")
    rows = []
    for k, family in enumerate(FAMILIES):  # the same number of each family
        folder = out / family
        generate(
            PartsConfig(COUNT // len(FAMILIES), 100 + k, folder, progress=False, families=(family,))
        )
        with (folder / "labels.csv").open() as f:
            rows += [dict(row, path=folder / row["file"]) for row in csv.DictReader(f)]
    return rows


def test_every_synthetic_part_gets_exactly_its_label(parts):
    assert len(parts) == COUNT and {r["family"] for r in parts} == set(FAMILIES)
    wrong = []
    for row in parts:
        stock = setups.Stock.parse(row["stock"])
        assert (stock.kind == "bar") == (row["family"] in ("disc", "ring")), row
        triangles = stl.read_stl(row["path"]).triangles
        a = setups.analyse(triangles, stock, EmbreeCaster(triangles))
        if a.directions != (row["label"],) or a.alternatives != [(row["label"],)]:
            wrong.append((row["file"], row["family"], row["label"], a.alternatives, a.undercut))
        elif a.undercut > setups.TOLERANCE:
            wrong.append((row["file"], row["family"], "undercut", a.undercut))
    assert not wrong, wrong[:10]


def test_the_numpy_caster_gives_the_same_plans(parts):
    for row in parts[:: len(parts) // 20]:  # 21 parts, every family
        triangles = stl.read_stl(row["path"]).triangles
        stock = setups.Stock.parse(row["stock"])
        a = setups.analyse(triangles, stock, axisrays.Caster(triangles))
        b = setups.analyse(triangles, stock, EmbreeCaster(triangles))
        assert a.alternatives == b.alternatives == [(row["label"],)], row["file"]
        for d in setups.TIE_ORDER:
            assert a.reach[d] == pytest.approx(b.reach[d], abs=1e-3), (row["file"], d)


@pytest.fixture(scope="module")
def multi(tmp_path_factory):
    out = tmp_path_factory.mktemp("multi")
    generate(PartsConfig(120, 11, out, progress=False, sides=(2, 4)))
    with (out / "labels.csv").open() as f:
        return [dict(row, path=out / row["file"]) for row in csv.DictReader(f)]


def test_multi_side_parts_get_exactly_their_plan(multi):
    """Embree, with 20k samples, finds the plan that the generator's 3k-sample numpy check
    kept: the same sides in the same order, the only smallest set, nothing undercut."""
    sizes = Counter(len(plans.parse(r["plan"])) for r in multi)
    assert set(sizes) == {2, 3, 4} and min(sizes.values()) > 20, sizes
    assert any("-Z" in r["plan"] for r in multi)  # the part is flipped for a setup
    wrong = []
    for row in multi:
        plan = plans.parse(row["plan"])
        assert plan[0] == row["label"] and row["stock"] == "box"
        mesh = stl.read_stl(row["path"])
        assert mesh.dropped == 0 and len(mesh) == int(row["triangles"])
        a = setups.analyse(mesh.triangles, caster=EmbreeCaster(mesh.triangles))
        if set(a.directions) != set(plan) or len(a.alternatives) != 1 or a.undercut > 1e-3:
            wrong.append((row["file"], plan, a.alternatives, a.undercut))
    assert not wrong, wrong[:10]
