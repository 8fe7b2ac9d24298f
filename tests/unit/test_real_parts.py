"""The real-part benchmark: every file accounted for, and the shipped built-in model held to
its score on it (bench/real.py; its Results pages)."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from bench import real

BENCH = Path(real.BENCH)
BUILTIN_ONE_SETUP = 0.96
"""The shipped built-in model's 5-class accuracy on the real one-setup cases, against the
tool-aware labels (measured: 96.4 %)."""
BUILTIN_MULTI_PLAN = 0.93
"""Its exact plans on the real multi-setup parts (94.0 %)."""
BUILTIN_MULTI_PRIMARY = 0.86
"""Its primary setups there (88.0 %)."""


def test_every_part_has_provenance_and_a_label():
    with (BENCH / "provenance.csv").open(newline="") as f:
        provenance = {row["file"]: row for row in csv.DictReader(f)}
    labels = {row["file"]: row for row in real.read_labels()}
    files = {p.name for p in (BENCH / "parts").glob("*.stl")}
    assert files == set(labels) == set(provenance)
    assert all(row["licence"] and len(row["sha256"]) == 64 for row in provenance.values())
    assert sum((BENCH / "parts" / f).stat().st_size for f in files) < 30 * 2**20
    sources = {row["package"] for row in provenance.values()}
    assert len(sources) >= 3
    one = [row for row in labels.values() if row["kind"] == "one"]
    assert len(one) >= 28 and len(labels) - len(one) >= 40  # the tool-aware labels
    zero_radius = [row for row in real.read_labels(labels="eye") if row["kind"] == "one"]
    assert len(zero_radius) >= 30
    for row in one:
        assert row["label"] in row["one_setup"].split(), row["file"]
    for row in labels.values():
        if row["kind"] == "multi":
            assert row["primary"] in row["needed"].split(), row["file"]


def test_turned_cases_cover_every_class(tmp_path):
    one, _ = real.cases(real.read_labels(), tmp_path)
    assert len(one) == 5 * sum(1 for r in real.read_labels() if r["kind"] == "one")
    # each part's five turned copies: one right answer per class, all different
    first = [right for _, right in one[:5]]
    assert all(first) and len(set.union(*first)) >= 5
    digest = {hashlib.sha256(p.read_bytes()).hexdigest() for p, _ in one[:5]}
    assert len(digest) == 5
    _, multi = real.cases(real.read_labels(), tmp_path)
    flipped = [(p, row) for p, row in multi if p.parent.name == "multi"]
    assert flipped and all(row["primary"] == "+Z" for _, row in flipped)  # -Z turned up
    assert all(row["primary"] != "-Z" and row["primary"] in row["needed"] for _, row in multi)


def test_builtin_model_holds_its_real_part_score(tmp_path):
    one, multi = real.cases(real.read_labels(), tmp_path)
    paths = [p for p, _ in one] + [p for p, _ in multi]
    result = real.score(real.answers_builtin(paths), one, multi)
    assert result["one_setup_accuracy"] >= BUILTIN_ONE_SETUP, result
    assert result["multi_plan_exact"] >= BUILTIN_MULTI_PLAN, result
    assert result["multi_plan_primary"] >= BUILTIN_MULTI_PRIMARY, result
    assert 0.0 <= result["ece"] <= 1.0
