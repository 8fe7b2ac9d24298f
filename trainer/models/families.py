"""Model families: the image model and the face-normal model, and whatever comes next.

A family says what its models are registered as, what they take (a meta-image or a mesh), how
a user's inputs and a dataset's examples become that input, and how the logged model turns a
column of it into a batch. `predict`, `evaluate`, the logged pyfunc and the registry look the
family up here instead of comparing names. Heavy imports stay inside the methods.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shared.facenormals import FEATURES, PLAN_BLOCK
from trainer.config import MODEL_NAME
from trainer.data import inputs
from trainer.errors import TrainerError
from trainer.models import facemodel as facenormals

"""Face-normal features of models logged before the inner-wall block (their config lacks it)."""


class ModelMismatchError(TrainerError):
    """A logged model that this code cannot feed (it was built for other features)."""

    exit_code = 1


@dataclass(frozen=True)
class Family:
    name: str
    """The `family` tag of runs and versions, and the logged model's config."""
    registered_name: str
    column: str
    """The logged pyfunc's input column."""
    tags: tuple[tuple[str, str], ...] = ()

    def read_inputs(self, paths: list[str]) -> tuple[list[tuple[str, Any]], list[str]]:
        """([(input, value of `column`)], error lines) for files a user named."""
        raise NotImplementedError

    def example_inputs(self, examples: list) -> list:
        """Values of `column` for dataset examples (data.Example)."""
        raise NotImplementedError

    def logged_example(self, example) -> bytes:
        """One input, as a client would send it, logged with the model."""
        raise NotImplementedError

    def prepare_batch(self, values: list, config: dict) -> np.ndarray:
        """The network's input for a column of values (bytes, or arrays) in the logged model."""
        raise NotImplementedError

    def cannot_run(self, config: dict) -> str:
        """Why this code cannot run a model with this logged config (or version tags); ''."""
        return ""


class ImageFamily(Family):
    def read_inputs(self, paths):
        return inputs.meta_images(paths)

    def example_inputs(self, examples):
        return [e.path.read_bytes() for e in examples]

    def logged_example(self, example):
        return example.path.read_bytes()

    def prepare_batch(self, values, config):
        from trainer.data import preprocess  # TensorFlow: only where images are fed

        return preprocess.prepare(values, int(config["image_size"]))


class FaceNormalFamily(Family):
    def read_inputs(self, paths):
        return inputs.meshes(paths)

    def example_inputs(self, examples):
        """The examples' features themselves (1-D arrays): each part analysed once, not once
        per turn as its turned meshes would be."""
        return [facenormals.features(*part) for part in facenormals.described(examples)]

    def logged_example(self, example):
        return Path(example.source).read_bytes()

    def prepare_batch(self, values, config):
        if why := self.cannot_run(config):
            raise ModelMismatchError(why)
        if values and all(np.ndim(v) == 1 for v in values):  # features (example_inputs)
            return np.stack(values).astype(np.float32)
        return facenormals.mesh_features(values)

    def cannot_run(self, config):
        got = config.get("features")
        block = config.get("plan_block", "zero-radius")
        if got is not None and int(got) == FEATURES and block == PLAN_BLOCK:
            return ""
        if got is not None and int(got) == FEATURES:
            return (
                f"the model's plan features came from the {block} analysis and this code reads "
                f"the {PLAN_BLOCK} one: train it again (python -m trainer baseline)"
            )
        read = "an unrecorded number of" if got is None else str(got)
        return (
            f"the model was trained on {read} mesh features and this code computes {FEATURES}: "
            "train it again (python -m trainer baseline)"
        )


IMAGE = ImageFamily(
    "image",
    MODEL_NAME,
    "image",
    (("model", "efficientnet"),),
)
FACE_NORMALS = FaceNormalFamily(
    "face-normals",
    f"{MODEL_NAME}-face-normals",
    "mesh",
    (("model", "mlp"),),
)
FAMILIES: dict[str, Family] = {f.name: f for f in (IMAGE, FACE_NORMALS)}


def get(name: str) -> Family:
    """The family called `name` (a run's or a model's `family`)."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown model family {name!r}; known: {', '.join(FAMILIES)}") from None


def registered_names() -> list[str]:
    return [f.registered_name for f in FAMILIES.values()]
