"""`train_baseline(config) -> TrainResult`: the face-normal model (see models/facemodel.py), trained
on the same parts with the same split by part as the image model, tracked with the same metrics
and registered the same way, as its own model so that Blender keeps asking the image model."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np

from shared import classes, stl
from shared.facenormals import ANALYSIS_SAMPLES
from trainer.config import BaselineConfig
from trainer.console import say
from trainer.data import dataset as data
from trainer.models import facemodel as facenormals
from trainer.models import image as model
from trainer.models.families import FACE_NORMALS
from trainer.tracking import runs as tracking
from trainer.training.callbacks import Validation
from trainer.training.run import Fitted, TrainResult, finish, log_setup, prepare

WEIGHTS = "none (random initialisation)"


def features_of(examples: list[data.Example], show: bool) -> tuple[np.ndarray, list[data.Example]]:
    """(N, FEATURES): each example's source part, turned as its augmentation says; and the
    examples with the answer the model learns: the tool-aware analysis' plan of the turned
    part (what a real cutter needs), its primary setup as the label where that is one of the
    five classes (else the example's own label first). A plan a person corrected is learnt as
    given."""
    if show:
        say(f"analysing {len({e.source for e in examples})} parts with the default tool library")
    try:
        parts = facenormals.described(examples)
    except stl.StlError as err:
        raise data.DataError(str(err)) from None
    out = np.empty((len(examples), facenormals.FEATURES), dtype=np.float32)
    taught = []
    for i, (e, (triangles, analysis)) in enumerate(zip(examples, parts, strict=True)):
        out[i] = facenormals.features(triangles, analysis)
        if e.corrected and e.setup_plan:
            taught.append(e)
            continue
        primary = analysis.primary if analysis.primary in classes.CLASSES else e.label
        plan = (primary, *(d for d in analysis.directions if d != primary))
        taught.append(replace(e, label=primary, setup_plan=plan))
    return out, taught


def train_baseline(config: BaselineConfig) -> TrainResult:
    """Train, test, log and register the face-normal model."""
    start = time.monotonic()
    keras.utils.set_random_seed(config.seed)
    tracking.connect(config.tracking_uri)
    ready = prepare(config)
    missing = sorted({e.source for e in ready.dataset.examples if not Path(e.source).is_file()})
    if missing:
        raise data.DataError(
            f"{missing[0] or config.data / 'manifest.csv'}: the face-normal model needs the source "
            f"STL files named in the manifest's 'source' column ({len(missing)} missing; relative "
            f"ones are looked up under the input roots in {config.data / 'sources.json'}, then "
            "the dataset folder)"
        )
    every = [e for s in data.SPLITS for e in ready.sets[s]]
    features, taught = features_of(every, config.progress)
    moved = sum(a.plan != b.plan for a, b in zip(every, taught, strict=True))
    say(f"face-normal model: the tools change the plan of {moved} of {len(every)} examples")
    x, start_at = {}, 0
    for s in data.SPLITS:
        end = start_at + len(ready.sets[s])
        x[s], ready.sets[s] = features[start_at:end], taught[start_at:end]
        start_at = end
    y = {s: data.plan_targets(ready.sets[s]) for s in data.SPLITS}
    tags = dict(FACE_NORMALS.tags) | {"family": FACE_NORMALS.name}
    with tracking.run(config.experiment, tags=tags) as run_id, tracking.scratch_dir() as tmp:
        scratch = Path(tmp)
        layout = (
            f"{len(facenormals.NORMAL_BINS)} normal directions x (area + {facenormals.BINS} "
            f"depth bins) + {len(facenormals.AXES)} axes x {facenormals.BINS} inner-wall "
            f"depth bins + {facenormals.PLAN_FEATURES} from the tool-aware setup analysis "
            f"({ANALYSIS_SAMPLES} points, the default tool library) = {facenormals.FEATURES}"
        )
        log_setup(config, ready, scratch, family=FACE_NORMALS.name, feature_layout=layout)
        net = facenormals.build(config.hidden, config.dropout, plan=True)
        model.compile_model(net, config.learning_rate, plan=True)
        val = ready.sets["val"]
        labels = np.array([e.y for e in val])
        validation = Validation(x["val"], labels, config.patience, plans=[e.plan for e in val])
        net.fit(
            x["train"],
            y["train"],
            batch_size=config.batch_size,
            epochs=config.epochs,
            callbacks=[validation],
            verbose=0,
        )
        validation.restore_best()
        say(f"face-normal model: {len(validation.history)} epochs")
        fitted = Fitted(run_id, scratch, net, validation.history, validation.best, WEIGHTS, start)
        probabilities = net.predict(x["test"], verbose=0)
        return finish(
            config,
            FACE_NORMALS,
            ready,
            fitted,
            probabilities,
            hidden=config.hidden,
            features=facenormals.FEATURES,
            plan_block=facenormals.PLAN_BLOCK,
            plan=True,
        )
