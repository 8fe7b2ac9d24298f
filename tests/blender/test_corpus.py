"""A corpus of broken and awkward meshes, made here: one batch over all of them (and over the
files that are not meshes at all) renders every usable file and names the reason for each other.
"""

from samples.meshes import write_corpus
from shared import manifest, metaimage
from tests.blender.conftest import cli, load


def test_one_batch_over_the_corpus_renders_every_usable_file(tmp_path):
    parts = tmp_path / "parts"
    awkward_meshes, bad = write_corpus(parts)
    assert len(awkward_meshes["million_triangles"]) > 990_000

    out = tmp_path / "out"
    done = cli("render", str(parts), "--out", str(out), "--size", "100", "--workers", "2")
    assert done.returncode == 1, done.stderr[-3000:]  # the bad ones failed, the batch finished
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == len(bad)
    for name, reason in bad.items():
        assert any(f"{name}.stl: " in e and reason in e for e in errors), name

    rows = {r.part_id: r for r in manifest.read(out / "manifest.csv")}
    assert set(rows) == set(awkward_meshes)
    for name in awkward_meshes:
        image = load(out / rows[name].image)
        assert image.shape == (100, 100, 3)
        assert metaimage.read_provenance(out / rows[name].image) is not None
        assert (image.reshape(-1, 3).max(axis=1) > 0).mean() > 0.02, name  # the part is visible
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [f"{n}.png" for n in awkward_meshes] + ["manifest.csv", "sources.json"]
    )
