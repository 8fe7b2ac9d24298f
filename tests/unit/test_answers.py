"""The typed answers that cross process boundaries (shared/): a prediction and a render outcome,
and their JSON round-trips."""

import json

import pytest

from shared.classes import CLASSES
from shared.prediction import Prediction
from shared.render_outcome import RenderOutcome


def test_a_prediction_round_trips_and_its_label_is_the_most_probable_class():
    p = Prediction.from_scores([0.1, 0.05, 0.6, 0.2, 0.05], "models:/m@champion", "3")
    assert p.label == "+Y" and p.confidence == 0.6
    assert list(p.probabilities) == list(CLASSES)
    obj = json.loads(json.dumps(p.as_json("part.stl")))
    assert set(obj) == {"input", "label", "probabilities", "model_uri", "model_version"}
    assert Prediction.from_json(obj) == ("part.stl", p)


@pytest.mark.parametrize(
    "probabilities, message",
    [
        ({"cat": 0.9, "dog": 0.1}, r"answered for the classes \['cat', 'dog'\]"),
        (dict.fromkeys(CLASSES, "x"), "not numbers"),
        (dict.fromkeys(CLASSES[:4], 0.25), "answered for the classes"),
    ],
)
def test_a_prediction_of_other_classes_is_refused(probabilities, message):
    with pytest.raises(ValueError, match=message):
        Prediction.from_probabilities(probabilities, "uri")


def test_a_json_label_that_disagrees_with_the_probabilities_is_refused():
    obj = Prediction.from_scores([0.9, 0.1, 0, 0, 0], "uri").as_json("a.png")
    obj["label"] = "+Z"
    with pytest.raises(ValueError, match="not the most probable"):
        Prediction.from_json(obj)
    with pytest.raises(ValueError, match="not a prediction"):
        Prediction.from_json({"label": "+X"})


def test_a_render_outcome_round_trips():
    outcome = RenderOutcome("parts/a.stl", "failed", ("a.png",), "parts/a.stl: render failed")
    assert RenderOutcome.from_json(json.loads(json.dumps(outcome.as_json()))) == outcome
    with pytest.raises(ValueError, match="unknown render status"):
        RenderOutcome("a.stl", "done")
    with pytest.raises(ValueError, match="not a render outcome"):
        RenderOutcome.from_json({"status": "written"})
