"""The typed answers that cross process boundaries (shared/): a prediction and a render outcome,
and their JSON round-trips."""

import json

import numpy as np
import pytest

from shared import plans, rotations
from shared.classes import CLASSES
from shared.prediction import Prediction
from shared.render_outcome import RenderOutcome


def test_a_prediction_round_trips_and_its_label_is_the_most_probable_class():
    p = Prediction.from_scores([0.1, 0.05, 0.6, 0.2, 0.05], "models:/m@champion", "3")
    assert p.label == "+Y" and p.confidence == 0.6
    assert list(p.probabilities) == list(CLASSES)
    obj = json.loads(json.dumps(p.as_json("part.stl")))
    assert set(obj) == {"input", "label", "probabilities", "model_uri", "model_version", "plan"}
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


def test_a_plan_starts_with_the_label_and_takes_every_direction_at_or_above_the_threshold():
    p = Prediction.from_scores([0.1, 0.05, 0.6, 0.2, 0.05], "uri", "3")
    planned = p.with_plan([0.2, 0.1, 0.4, 0.7, 0.1, 0.9])  # +Y's own sigmoid is under 0.5
    assert [s.direction for s in planned.plan] == ["+Y", "-Z", "-Y"]
    assert planned.plan[0].probability == pytest.approx(0.4)
    shared = planned.with_shares({"+Y": 0.7, "-Z": 0.2})
    assert [s.share for s in shared.plan] == [0.7, 0.2, None]
    obj = json.loads(json.dumps(shared.as_json("part.stl")))
    assert obj["plan"][1] == {"direction": "-Z", "probability": 0.9, "share": 0.2}
    assert Prediction.from_json(obj) == ("part.stl", shared)
    old = {k: v for k, v in obj.items() if k != "plan"}  # a writer from before plans
    assert Prediction.from_json(old)[1].plan == ()


@pytest.mark.parametrize(
    "plan, message",
    [
        ([{"direction": "+Q", "probability": 1}], "not a list of setups"),
        ([{"direction": "+Y"}], "not a list of setups"),
        ("+Y", "not a list of setups"),
        ([{"direction": "+Z", "probability": 1}], "plan starts with \\+Z, not the label \\+Y"),
    ],
)
def test_a_bad_plan_in_json_is_refused(plan, message):
    obj = Prediction.from_scores([0.1, 0.05, 0.6, 0.2, 0.05], "uri").as_json("a.stl")
    obj["plan"] = plan
    with pytest.raises(ValueError, match=message):
        Prediction.from_json(obj)


def test_plans_parse_rotate_and_score():
    assert plans.parse("+Z -Z") == ("+Z", "-Z") and plans.text(("+Z", "-X")) == "+Z -X"
    for bad in ("+Z +Z", "+Z up"):
        with pytest.raises(ValueError, match="plan"):
            plans.parse(bad)
    quarter = rotations.parse_rotation("+Y-X+Z")  # x -> +Y about +Z
    assert plans.rotate(("+X", "-Z"), quarter) == ("+Y", "-Z")
    assert plans.targets(("-Z", "+X")).tolist() == [1, 0, 0, 0, 0, 1]
    m = plans.metrics([("+Z", "-Z"), ("+X",), ("+Y", "-Y")], [("+Z", "-Z"), ("+X", "-Z"), ("-Y",)])
    assert m["plan_exact"] == pytest.approx(1 / 3) and m["plan_primary"] == pytest.approx(2 / 3)
    assert m["plan_precision_minus_z"] == 0.5 and m["plan_recall_minus_z"] == 1.0
    assert m["plan_recall_plus_y"] == 0.0 and m["plan_f1_plus_y"] == 0.0
    assert m["plan_f1_minus_x"] == 1.0  # never needed, never answered
    output = np.hstack([np.eye(5)[[4, 0]], [[0, 0, 0, 0, 0.9, 0.8], [0.7, 0, 0, 0, 0, 0.2]]])
    probabilities, scores = plans.split(output)
    assert probabilities.shape == (2, 5) and scores.shape == (2, 6)
    assert plans.answered(probabilities, scores) == [("+Z", "-Z"), ("+X",)]
    assert plans.split(probabilities)[1] is None
    assert plans.answered(probabilities, None) == [("+Z",), ("+X",)]
