"""The model registry: register a run's model, resolve and load model URIs, and the champion.

The champion rule: a new version takes the `champion` alias only if it beats the current
champion on the same test data. When the two runs were tested on different data (their test
fingerprints differ), the champion is re-evaluated on the new run's test split first.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from trainer.config import CHAMPION, MODEL_NAME
from trainer.console import say
from trainer.models import families
from trainer.tracking import runs as tracking
from trainer.tracking.runs import TrackingError

DECIDE_TRIES = 5
"""How often the decision is taken again when the champion moves while it is being taken (by
hand in the MLflow UI: runs of this code wait for each other's decisions)."""
LOCK_SUFFIX = ".champion-lock"
LOCK_STALE_S = 900.0
"""A decision lock older than this is taken to be left by a run that died deciding."""


@dataclass(frozen=True)
class Score:
    accuracy: float
    macro_f1: float
    plan_exact: float = -1.0
    """Share of test parts whose whole setup plan is right (a model without a plan head answers
    its label alone); -1: not measured (a version registered before plans)."""

    def beats(self, other: Score) -> bool:
        """Plans first, then the class: (exact plan, accuracy, macro-F1), compared in order."""
        mine = (self.plan_exact, self.accuracy, self.macro_f1)
        return mine > (other.plan_exact, other.accuracy, other.macro_f1)

    def __str__(self) -> str:
        plan = f"exact plan {self.plan_exact:.4f}, " if self.plan_exact >= 0 else ""
        return f"{plan}accuracy {self.accuracy:.4f}, macro-F1 {self.macro_f1:.4f}"


def register(model_uri: str, tags: dict, name: str = MODEL_NAME) -> str:
    """Register the model as a new version of `name`; return the version number.

    A run registers once: a resumed run that was killed after registering gets its version back.
    """
    if run_id := tags.get("run_id"):
        query = f"name = '{name}' and run_id = '{run_id}'"
        if found := MlflowClient().search_model_versions(query):
            return str(found[0].version)
    version = mlflow.register_model(model_uri, name, tags={k: str(v) for k, v in tags.items()})
    return str(version.version)


def champion_uri(name: str = MODEL_NAME) -> str:
    return f"models:/{name}@{CHAMPION}"


CHAMPION_URI = champion_uri()


BEST = "best"
"""The alias of the best model across families (best.py decides it)."""


def best_uri() -> str | None:
    """The URI of the model with the `best` alias, or None before any comparison."""
    client = MlflowClient()
    for name in families.registered_names():
        try:
            client.get_model_version_by_alias(name, BEST)
        except MlflowException:
            continue
        return f"models:/{name}@{BEST}"
    return None


def resolve(uri: str | None = None) -> tuple[str, str]:
    """(model URI, registry version or '') for a URI (default: the best model across families,
    else, in a store from before that, the image family's champion); checks it exists."""
    uri = uri or best_uri() or CHAMPION_URI
    if not uri.startswith(("models:/", "runs:/")):
        # A model is code (a pyfunc) that loading runs: take it only from the tracking store.
        raise TrackingError(
            f"{uri}: not a model of the tracking store; use models:/NAME@ALIAS, "
            "models:/NAME/VERSION, models:/MODEL_ID or runs:/RUN_ID/model"
        )
    registered = uri.startswith("models:/") and ("@" in uri or uri.count("/") == 2)
    if not registered:
        return uri, ""
    name, _, ref = uri[len("models:/") :].replace("@", "/@", 1).partition("/")
    client = MlflowClient()
    try:
        if ref.startswith("@"):
            return uri, str(client.get_model_version_by_alias(name, ref[1:]).version)
        client.get_model_version(name, ref)
        return uri, ref
    except MlflowException:
        if ref == f"@{CHAMPION}":
            raise TrackingError(
                f"no {CHAMPION} model of {name} in this store yet: train one first "
                f"(python -m trainer train --data DIR), or name one with --model URI"
            ) from None
        raise TrackingError(f"{uri}: no such model in the registry") from None


def load(uri: str | None = None):
    """(pyfunc model, resolved URI, version) for a model URI (default: `resolve`'s)."""
    uri, version = resolve(uri)
    return tracking.load_model(uri), uri, version


def register_and_decide(
    run_id: str,
    model_uri: str,
    name: str,
    score: Score,
    fingerprints: dict[str, str],
    rescore: Callable[[str], Score],
    tags: dict,
) -> tuple[str, bool, str]:
    """Register the run's model under `name` and let the champion rule decide (`rescore(uri)`
    scores the champion on this run's test split if it was tested on other data); tag the run.
    (version, moved, why)."""
    version = register(
        model_uri,
        tags
        | fingerprints
        | {"run_id": run_id, "test_accuracy": score.accuracy, "test_macro_f1": score.macro_f1}
        | {"test_plan_exact": score.plan_exact},
        name,
    )
    moved, decision = decide_champion(
        version, score, fingerprints["test_fingerprint"], rescore, name
    )
    tracking.set_tags(
        {"registered_version": version, "champion_decision": decision, "champion": moved}
    )
    return version, moved, decision


def champion_version(name: str = MODEL_NAME) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
    except MlflowException:
        return None


def decide_champion(
    version: str,
    score: Score,
    test_fingerprint: str,
    evaluate: Callable[[str], Score],
    name: str = MODEL_NAME,
) -> tuple[bool, str]:
    """Move the champion alias of `name` to `version` if it beats the current champion; say why.

    Runs finishing at the same time decide one after the other: a file lock beside a sqlite
    store, else a lock in the registry itself (see `_registry_lock`). If the champion still moved
    while the decision was taken (by hand, in the UI), it is taken again, up to DECIDE_TRIES
    times, and the decision says so if it still moved.
    """
    client = MlflowClient()
    with _champion_lock(name):
        for _ in range(DECIDE_TRIES):
            current = champion_version(name)
            moved, decision = _decide(version, score, test_fingerprint, evaluate, name, current)
            if champion_version(name) == current:
                break
        else:
            decision += (
                f" (warning: the champion moved during each of {DECIDE_TRIES} tries; decided "
                f"against v{current}, check with `python -m trainer ui`)"
            )
            say(f"warning: {name}: {decision}")
        if moved:
            client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "champion_decision", decision)
    return moved, decision


@contextlib.contextmanager
def _champion_lock(name: str) -> Iterator[None]:
    """An exclusive lock for the champion decision of `name`, on any store."""
    uri = mlflow.get_tracking_uri()
    if uri.startswith("sqlite:///"):
        lock = tracking.sqlite_path(uri).with_name(f".{name}.champion.lock")
        with tracking.file_lock(lock):  # released by the kernel even after SIGKILL
            yield
    else:
        with _registry_lock(name):
            yield


@contextlib.contextmanager
def _registry_lock(name: str) -> Iterator[None]:
    """Hold the registered model `<name>.champion-lock` while deciding.

    Creating a registered model is the one compare-and-set MLflow's API offers: the store's
    unique key on the name lets exactly one of two concurrent creates succeed, on a server with
    PostgreSQL as on any SQL store. The lock names its holder (host, process, token). A lock
    whose holder is a dead process on this host, or older than LOCK_STALE_S, is broken.
    """
    client = MlflowClient()
    lock = f"{name}{LOCK_SUFFIX}"
    host, pid = socket.gethostname(), os.getpid()
    holder = f"{host}:{pid}:{uuid.uuid4().hex[:12]}"
    waiting = False
    while True:
        try:
            client.create_registered_model(
                lock,
                tags={"holder": holder},
                description=f"held while a training run decides the champion of {name}",
            )
            break
        except MlflowException as e:
            # MLflow's SQL store answers a lost create with a read of the winner's lock: if that
            # was released in between, the answer is "does not exist". Both mean: try again.
            if e.error_code not in ("RESOURCE_ALREADY_EXISTS", "RESOURCE_DOES_NOT_EXIST"):
                raise
        try:
            held = client.get_registered_model(lock)
        except MlflowException:
            continue  # released between our create and this read
        theirs = held.tags.get("holder", "")
        if theirs == holder:  # our create landed but its answer was lost and retried
            break
        if _abandoned(theirs, held.creation_timestamp, host):
            say(f"warning: {name}: breaking the champion lock left by {theirs}")
            with contextlib.suppress(MlflowException):
                client.delete_registered_model(lock)
            continue
        if not waiting:
            say(f"{name}: waiting for the champion decision of {theirs}")
            waiting = True
        time.sleep(0.05 + random.random() * 0.1)
    try:
        yield
    finally:
        with contextlib.suppress(MlflowException):
            if client.get_registered_model(lock).tags.get("holder") == holder:
                client.delete_registered_model(lock)


def _abandoned(holder: str, created_ms: int, host: str) -> bool:
    their_host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if their_host == host and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
        return False
    return time.time() - created_ms / 1000 > LOCK_STALE_S


def _decide(
    version: str,
    score: Score,
    test_fingerprint: str,
    evaluate: Callable[[str], Score],
    name: str,
    current: str | None,
) -> tuple[bool, str]:
    client = MlflowClient()
    if current is None:
        decision, moved = f"v{version} is the first champion ({score})", True
    elif current == version:  # a resumed run that had decided before it was killed
        decision, moved = f"v{version} is the champion ({score})", True
    else:
        tags = client.get_model_version(name, current).tags
        family = next((f for f in families.FAMILIES.values() if f.registered_name == name), None)
        if family is not None and (why := family.cannot_run(tags)):
            decision = f"v{version} ({score}) replaces champion v{current}, which cannot run: {why}"
            return True, decision
        if tags.get("test_fingerprint") == test_fingerprint and "test_plan_exact" in tags:
            theirs = Score(
                float(tags["test_accuracy"]),
                float(tags["test_macro_f1"]),
                float(tags["test_plan_exact"]),
            )
            how = "same test split"
        else:
            theirs = evaluate(f"models:/{name}/{current}")
            how = "champion re-evaluated on this run's test split"
        moved = score.beats(theirs)
        verb = "takes over from" if moved else "does not beat"
        decision = f"v{version} ({score}) {verb} champion v{current} ({theirs}); {how}"
    return moved, decision


def promote(version: str, name: str = MODEL_NAME) -> str:
    """Give `version` the champion alias by hand; recorded on the version."""
    client = MlflowClient()
    try:
        client.get_model_version(name, version)
    except MlflowException:
        raise TrackingError(f"{name} has no version {version}") from None
    with _champion_lock(name):
        previous = champion_version(name)
        client.set_registered_model_alias(name, CHAMPION, version)
        if best_uri() == f"models:/{name}@{BEST}":  # the best family's champion moved
            client.set_registered_model_alias(name, BEST, version)
    decision = f"v{version} promoted by hand (previous champion: v{previous or 'none'})"
    client.set_model_version_tag(name, version, "champion_decision", decision)
    return decision


def version_tags(version: str, name: str = MODEL_NAME) -> dict[str, str]:
    return dict(MlflowClient().get_model_version(name, version).tags)
