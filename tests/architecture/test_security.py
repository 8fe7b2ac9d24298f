"""Security rules, checked on the source: the add-on runs nothing from a user's path, and models
come only from the tracking store."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNSAFE_MODULES = {"pickle", "cPickle", "marshal", "shelve", "dill", "joblib", "runpy", "importlib"}
UNSAFE_CALLS = {"eval", "exec", "compile", "__import__"}


def _sources(folder: str):
    for path in sorted((ROOT / folder).rglob("*.py")):
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text())


@pytest.mark.parametrize("folder", ["blender_addon", "shared"])
def test_nothing_is_unpickled_or_executed(folder):
    found = []
    for name, tree in _sources(folder):
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                modules += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
                found += [
                    f"{name}: import {m}" for m in modules if m.split(".")[0] in UNSAFE_MODULES
                ]
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Name) and f.id in UNSAFE_CALLS:
                    found.append(f"{name}:{node.lineno}: {f.id}()")
                if any(k.arg == "shell" for k in node.keywords):
                    found.append(f"{name}:{node.lineno}: shell=")
            elif isinstance(node, ast.Attribute) and node.attr in ("python_file_run", "load_model"):
                found.append(f"{name}:{node.lineno}: .{node.attr}")
    assert not found, found


def test_models_come_only_from_the_tracking_store(tmp_path):
    from trainer.tracking import registry
    from trainer.tracking import runs as tracking

    tracking.connect(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for uri in (str(tmp_path), f"file://{tmp_path}", "s3://bucket/model", "http://host/model"):
        with pytest.raises(tracking.TrackingError, match="not a model of the tracking store"):
            registry.resolve(uri)
    assert registry.resolve("runs:/abc/model") == ("runs:/abc/model", "")


def test_the_trainer_unpickles_only_through_the_tensors_only_reader():
    """pickle appears in trainer/models/torchfile.py alone, and there behind find_class."""
    users = sorted(
        name
        for name, tree in _sources("trainer")
        for node in ast.walk(tree)
        if isinstance(node, ast.Import) and any(a.name == "pickle" for a in node.names)
    )
    assert users == ["trainer/models/torchfile.py"]
    (tree,) = [t for name, t in _sources("trainer") if name == "trainer/models/torchfile.py"]
    unpicklers = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef) and n.bases]
    assert {f.name for c in unpicklers for f in c.body if isinstance(f, ast.FunctionDef)} >= {
        "find_class",
        "persistent_load",
    }
    loads = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "pickle"
        and n.func.attr in ("load", "loads")
    ]
    assert not loads, "pickle.load/loads would skip the allow-list"
