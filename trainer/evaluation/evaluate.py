"""Metrics and their pictures: accuracy, loss, macro and per-class precision/recall/F1,
a confusion matrix, training curves and sample meta-images with predicted vs true labels."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from shared import classes, plans
from shared.files.progress import Progress
from trainer.data import dataset as data
from trainer.tracking import registry
from trainer.tracking import runs as tracking

CLASSES = classes.CLASSES


def metrics(
    y_true: np.ndarray,
    probabilities: np.ndarray,
    prefix: str = "",
    true_plans: list[tuple[str, ...]] | None = None,
) -> dict[str, float]:
    """All scalar metrics of a set of predictions, keys prefixed (e.g. 'test_'). With
    `true_plans`, the plan metrics too (a model without a plan head answers its label alone),
    and for a plan head its loss (`plan_loss`: binary cross-entropies summed over directions)."""
    y_true = np.asarray(y_true, dtype=int)
    probabilities, scores = plans.split(probabilities)
    extra = {}
    if true_plans is not None:
        extra = plans.metrics(true_plans, plans.answered(probabilities, scores))
        if scores is not None:
            q = np.clip(np.asarray(scores, dtype=np.float64), 1e-7, 1 - 1e-7)
            t = np.array([plans.targets(plan) for plan in true_plans])
            bce = -(t * np.log(q) + (1 - t) * np.log(1 - q))
            extra["plan_loss"] = float(bce.sum(axis=1).mean())  # as planhead.PlanLoss sums it
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1.0)
    y_pred = p.argmax(axis=1)
    cm = confusion(y_true, y_pred)
    tp = np.diag(cm).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.nan_to_num(tp / cm.sum(axis=0))
        recall = np.nan_to_num(tp / cm.sum(axis=1))
        f1 = np.nan_to_num(2 * precision * recall / (precision + recall))
    out = {
        "loss": float(-np.log(p[np.arange(len(y_true)), y_true]).mean()),
        "accuracy": float((y_pred == y_true).mean()),
        "macro_precision": float(precision.mean()),
        "macro_recall": float(recall.mean()),
        "macro_f1": float(f1.mean()),
    }
    for i, name in enumerate(CLASSES):
        key = class_key(name)
        out[f"precision_{key}"] = float(precision[i])
        out[f"recall_{key}"] = float(recall[i])
        out[f"f1_{key}"] = float(f1[i])
    return {prefix + k: v for k, v in (out | extra).items()}


def class_key(name: str) -> str:
    """'+X' -> 'plus_x' (MLflow metric names allow neither '+' nor '-' at ease)."""
    return ("plus_" if name[0] == "+" else "minus_") + name[1:].lower()


def confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts[true, predicted]."""
    n = len(CLASSES)
    return np.bincount(np.asarray(y_true) * n + np.asarray(y_pred), minlength=n * n).reshape(n, n)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_confusion(cm: np.ndarray, path: Path, title: str) -> Path:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 4.5))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(CLASSES)), CLASSES)
    ax.set_yticks(range(len(CLASSES)), CLASSES)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    for (i, j), v in np.ndenumerate(cm):
        ax.text(
            j, i, str(v), ha="center", va="center", color="white" if v > cm.max() / 2 else "black"
        )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_curves(history: list[dict[str, float]], path: Path) -> Path:
    plt = _pyplot()
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = range(1, len(history) + 1)
    for key, ax in (("loss", a), ("accuracy", b)):
        for prefix in ("train_", "val_"):
            values = [h.get(prefix + key, np.nan) for h in history]
            ax.plot(epochs, values, marker="o", label=prefix.rstrip("_"))
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def plot_samples(
    images: list[np.ndarray], true: list[int], predicted: np.ndarray, path: Path
) -> Path:
    """Up to 8 meta-images with their true label, predicted label and confidence."""
    plt = _pyplot()
    n = min(8, len(images))
    fig, axes = plt.subplots(2, 4, figsize=(12, 6.5))
    for k, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if k >= n:
            continue
        guess = int(predicted[k].argmax())
        ax.imshow(images[k])
        ok = "ok" if guess == true[k] else "WRONG"
        ax.set_title(
            f"true {CLASSES[true[k]]}, predicted {CLASSES[guess]} {predicted[k, guess]:.0%} ({ok})",
            fontsize=9,
        )
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def evaluate_model(
    folder: Path, model_uri: str | None, experiment: str, batch: int = 32, progress: bool = True
) -> dict:
    """Score a registered model on every usable image of a dataset; log it as an MLflow run.

    Returns {'metrics', 'confusion', 'model_uri', 'model_version', 'images', 'run_id'}.
    """
    dataset = data.load(folder, progress=progress)
    model, uri, version = registry.load(model_uri)
    family = tracking.family(model)
    y = np.array([e.y for e in dataset.examples])
    inputs = family.example_inputs(dataset.examples)  # a mesh model analyses each part once
    bar = Progress(len(y), unit="images scored", enabled=progress)
    chunks = []
    for i in range(0, len(y), batch):
        chunks.append(tracking.predict_output(model, inputs[i : i + batch]))
        bar.update(min(i + batch, len(y)))
    bar.close()
    output = np.concatenate(chunks)
    scores = metrics(y, output, "eval_", [e.plan for e in dataset.examples])
    cm = confusion(y, plans.split(output)[0].argmax(axis=1))
    tags = {"type": "evaluation", "model_uri": uri, "model_version": version}
    with tracking.run(experiment, name=f"evaluate {uri}", tags=tags) as run_id:
        tracking.log_params(
            {
                "data": str(folder),
                "images": len(y),
                "dataset_fingerprint": data.fingerprint(dataset.examples),
                "skipped_rows": data.skipped_summary(dataset),
            }
        )
        tracking.log_metrics(scores)
        with tempfile.TemporaryDirectory() as tmp:
            tracking.log_artifact(
                plot_confusion(cm, Path(tmp) / "confusion_matrix.png", f"{folder.name}: {uri}")
            )
    return {
        "metrics": scores,
        "confusion": cm.tolist(),
        "model_uri": uri,
        "model_version": version,
        "images": len(y),
        "run_id": run_id,
    }


def score_model(uri: str, examples: list) -> registry.Score:
    """Accuracy and macro-F1 of a registered model on dataset examples (the champion check)."""
    loaded, _, _ = registry.load(uri)
    inputs = tracking.family(loaded).example_inputs(examples)
    m = metrics(
        np.array([e.y for e in examples]),
        tracking.predict_output(loaded, inputs),
        true_plans=[e.plan for e in examples],
    )
    return registry.Score(m["accuracy"], m["macro_f1"], m["plan_exact"])


def format_report(report: dict, folder: Path) -> str:
    """`evaluate_model`'s report as the lines `evaluate` prints: scores, then the confusion."""
    m = report["metrics"]
    lines = [
        f"{report['model_uri']} (version {report['model_version']}) on {report['images']} "
        f"images of {folder}:",
        f"accuracy {m['eval_accuracy']:.4f}  macro-F1 {m['eval_macro_f1']:.4f}  "
        f"macro-precision {m['eval_macro_precision']:.4f}  macro-recall "
        f"{m['eval_macro_recall']:.4f}",
        f"setup plans: exact {m['eval_plan_exact']:.4f}  primary {m['eval_plan_primary']:.4f}",
        "confusion (rows true, columns predicted):",
        "      " + "".join(f"{c:>6}" for c in CLASSES),
    ]
    lines += [
        f"{c:>6}" + "".join(f"{v:>6}" for v in row)
        for c, row in zip(CLASSES, report["confusion"], strict=True)
    ]
    return "\n".join(lines)
