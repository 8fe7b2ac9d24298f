"""`tune(config, trials) -> dict`: an Optuna study over the base model, the pooling, the
view-colour path and the head (variant and pooling only where the run has an EfficientNet base).

Each trial is a whole `train()` run, nested under the study's MLflow run, registered like any
other: the champion rule (not the study) still decides which model serves. Trials are scored on
validation accuracy (then macro-F1) at the epoch whose weights were kept, never on the test split.
"""

from __future__ import annotations

from dataclasses import replace

from trainer.config import TrainConfig
from trainer.console import say
from trainer.tracking import runs as tracking
from trainer.training.train import train

SPACE = {
    "pooling": ["cells", "max", "avg"],
    "view_units": [32, 64, 128],
    "head_units": [0, 128, 256],
    "dropout": (0.1, 0.5),
    "learning_rate": (3e-4, 3e-3),
}


def tune(
    config: TrainConfig,
    trials: int,
    variants: list[str],
    timeout: float | None = None,
    explicit_size: bool = False,
) -> dict:
    """Run the study; return the best trial's parameters, score and run."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    tracking.connect(config.tracking_uri)
    efficientnet = config.base == "efficientnet"
    space = SPACE | {"variant": variants}
    if not efficientnet:
        space = {k: v for k, v in space.items() if k not in ("variant", "pooling")}
    with tracking.run(config.experiment, name="tune", tags={"type": "tuning"}) as parent:
        tracking.log_params(
            {
                "trials": trials,
                "search_space": space,
                "objective": "validation accuracy, then macro-F1, at the kept epoch",
            }
        )

        def objective(trial: optuna.Trial) -> float:
            pick = trial.suggest_categorical
            trial_config = replace(
                config,
                variant=pick("variant", variants) if efficientnet else config.variant,
                image_size=config.image_size if explicit_size else None,
                pooling=pick("pooling", SPACE["pooling"]) if efficientnet else config.pooling,
                view_units=pick("view_units", SPACE["view_units"]),
                head_units=pick("head_units", SPACE["head_units"]),
                dropout=trial.suggest_float("dropout", *SPACE["dropout"]),
                learning_rate=trial.suggest_float(
                    "learning_rate", *SPACE["learning_rate"], log=True
                ),
                checkpoints=False,  # a stopped study starts again; its trials are not resumed
            )
            say(f"trial {trial.number + 1}/{trials}: {trial.params}")
            result = train(trial_config)
            trial.set_user_attr("run_id", result.run_id)
            trial.set_user_attr("version", result.version)
            v = result.val_metrics
            return v.get("val_accuracy", 0.0) + 1e-3 * v.get("val_macro_f1", 0.0)

        sampler = optuna.samplers.TPESampler(seed=config.seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        study.optimize(objective, n_trials=trials, timeout=timeout)
        best = study.best_trial
        summary = {
            "best_params": best.params,
            "best_value": best.value,
            "best_run_id": best.user_attrs["run_id"],
            "best_version": best.user_attrs["version"],
            "trials": len(study.trials),
            "study_run_id": parent,
        }
        tracking.log_params({f"best_{k}": v for k, v in best.params.items()})
        tracking.log_metrics({"best_objective": best.value})
        tracking.set_tags(
            {"best_run_id": summary["best_run_id"], "best_version": summary["best_version"] or ""}
        )
    return summary
