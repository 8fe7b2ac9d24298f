"""The best model across families: the `best` alias, what `serve` and `predict` answer with.

Each family keeps its own `champion` (the best of its own runs: registry.py). Which family
answers best is asked on the same data for all: each family's champion is scored on the
real-part benchmark first, where `bench/real.py --tracking-uri` recorded that on the version
(tags `real_plan_exact`, `real_accuracy`), then on the new run's test split (or, from
bench/real.py, the versions' own test scores). The winner gets the `best` alias, taken from
the other families' models; a training run logs the comparison (`best_model.json`, tag
`best_model`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from trainer.config import CHAMPION
from trainer.console import say
from trainer.errors import TrainerError
from trainer.models import families
from trainer.tracking import registry
from trainer.tracking import runs as tracking

BEST = registry.BEST
REAL_TAGS = ("real_plan_exact", "real_accuracy")
"""A version's real-part scores: exact plans over all the benchmark's cases, then the
one-setup accuracy (bench/real.py's plan_score)."""
TEST_TAGS = ("test_plan_exact", "test_accuracy", "test_macro_f1")


def decide_best(
    rescore: Callable[[str], registry.Score] | None = None, fingerprint: str = ""
) -> dict:
    """Compare every family's champion (the real parts first, then `rescore(uri)` on this
    run's test split, whose `fingerprint` a version tested on it already carries; without
    it, the versions' own test scores), give the winner the `best` alias and log the
    comparison to the active run; the comparison as a dict."""
    client = MlflowClient()
    rows = []
    for family in families.FAMILIES.values():
        try:
            v = client.get_model_version_by_alias(family.registered_name, CHAMPION)
        except MlflowException:
            continue
        uri = f"models:/{v.name}/{v.version}"
        test = [float(v.tags.get(t, -1)) for t in TEST_TAGS]
        if rescore is not None and v.tags.get("test_fingerprint") != fingerprint:
            try:
                s = rescore(uri)
            except TrainerError as e:  # e.g. an image-only dataset cannot feed the mesh model
                say(f"best model: {uri} left out: {e}")
                continue
            test = [s.plan_exact, s.accuracy, s.macro_f1]
        real = [float(v.tags[t]) for t in REAL_TAGS if t in v.tags]
        real = real if len(real) == len(REAL_TAGS) else None
        rows.append({"family": family.name, "model": uri, "real": real, "test": test})
    if not rows:
        return {}
    with_real = all(r["real"] is not None for r in rows)
    winner = max(rows, key=lambda r: (r["real"] if with_real else [], r["test"]))
    name, _, version = winner["model"][len("models:/") :].partition("/")
    for other in families.registered_names():
        if other != name:
            with contextlib.suppress(MlflowException):  # no such model, or no alias
                client.delete_registered_model_alias(other, BEST)
    client.set_registered_model_alias(name, BEST, version)
    how = "the real-part benchmark, then the test split" if with_real else "the test split"
    comparison = {"best": winner["model"], "compared_on": how, "models": rows}
    if mlflow.active_run() is not None:
        tracking.log_dict(comparison, "best_model.json")
        tracking.set_tags({"best_model": winner["model"]})
    say(f"best model: {winner['model']} ({winner['family']} family), compared on {how}")
    return comparison


def record_real(family: str, plan_exact: float, accuracy: float) -> None:
    """Record the real-part scores of `family`'s champion on its version (bench/real.py)."""
    name = families.get(family).registered_name
    version = registry.champion_version(name)
    if version is None:
        return
    for tag, value in zip(REAL_TAGS, (plan_exact, accuracy), strict=True):
        MlflowClient().set_model_version_tag(name, version, tag, f"{value:.6f}")
