"""`train_baseline(config) -> TrainResult`: the face-normal model (see models/facemodel.py), trained
on the same parts with the same split by part as the image model, tracked with the same metrics
and registered the same way, as its own model so that Blender keeps asking the image model."""

from __future__ import annotations

import time
from pathlib import Path

import keras
import numpy as np

from shared import progress, stl
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


def features_of(examples: list[data.Example], show: bool) -> np.ndarray:
    """(N, FEATURES): each example's source part, turned as its augmentation says."""
    parts: dict[str, tuple] = {}  # source: (triangles, analysis), each part analysed once
    out = np.empty((len(examples), facenormals.FEATURES), dtype=np.float32)
    bar = progress.Progress(len(examples), unit="parts described", enabled=show)
    for i, e in enumerate(examples):
        if e.source not in parts:
            try:
                triangles = facenormals.source_triangles(e.source, "none")
            except stl.StlError as err:
                raise data.DataError(str(err)) from None
            parts[e.source] = triangles, facenormals.analysis(triangles)
        out[i] = facenormals.turned_features(*parts[e.source], e.augmentation)
        bar.update(i + 1)
    bar.close()
    return out


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
    x = {s: features_of(ready.sets[s], config.progress) for s in data.SPLITS}
    y = {s: data.plan_targets(ready.sets[s]) for s in data.SPLITS}
    tags = dict(FACE_NORMALS.tags) | {"family": FACE_NORMALS.name}
    with tracking.run(config.experiment, tags=tags) as run_id, tracking.scratch_dir() as tmp:
        scratch = Path(tmp)
        layout = (
            f"{len(facenormals.NORMAL_BINS)} normal directions x (area + {facenormals.BINS} "
            f"depth bins) + {len(facenormals.AXES)} axes x {facenormals.BINS} inner-wall "
            f"depth bins + {facenormals.PLAN_FEATURES} from the setup analysis "
            f"({facenormals.ANALYSIS_SAMPLES} points) = {facenormals.FEATURES}"
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
            plan=True,
        )
