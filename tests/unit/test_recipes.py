"""Recipes (trainer/recipe.py): a run's settings from a TOML file, the command line over them,
and a clear one-line refusal of anything that is not a setting. The shipped recipes read."""

from pathlib import Path

import pytest

from trainer.config import BaselineConfig, TrainConfig
from trainer.recipe import RECIPES, RecipeError, read, read_toml

ROOT = Path(__file__).resolve().parents[2]


def _recipe(tmp_path, text: str) -> Path:
    path = tmp_path / "recipe.toml"
    path.write_text(text)
    return path


def test_a_command_table_is_read_with_dashed_keys_and_types(tmp_path):
    path = _recipe(
        tmp_path,
        'top = 1\n[train]\nimage-size = 64\nweights = "none"\nlearning_rate = 1\n'
        'variant = "lite0"\ndata = ["a", "b"]\nhalf-turns = false\n',
    )
    got = read(path, TrainConfig, "train")
    assert got == {
        "image_size": 64,
        "weights": "none",
        "learning_rate": 1.0,
        "variant": "LITE0",
        "data": [Path("a"), Path("b")],
        "half_turns": False,
    }
    config = TrainConfig(**got, progress=False)
    assert config.data == Path("a") and config.more_data == (Path("b"),)


def test_top_level_keys_without_a_table(tmp_path):
    path = _recipe(tmp_path, 'epochs = 7\ndata = "x"\n[demo]\nparts = 3\n')
    assert read(path, BaselineConfig, "baseline") == {"epochs": 7, "data": [Path("x")]}


@pytest.mark.parametrize(
    "text, words",
    [
        ("[train]\nepoch = 3\n", "'epoch' is not a setting of `train`"),
        ('[train]\nepochs = "ten"\n', "'epochs' must be an integer, not 'ten'"),
        ("[train]\nbase = 3\n", "'base' must be a string"),
        ('[train]\npooling = "sum"\n', "'pooling' must be one of max, avg, cells, not 'sum'"),
        ("[train]\nshuffle-tiles = 1\n", "'shuffle-tiles' must be true or false"),
        ("[train\nepochs = 3\n", "not a TOML recipe"),
        ("train = 3\n", "'train' must be a table of settings"),
        ("[train]\ntracking_uri = 1\n", "'tracking_uri' must be a string"),
        ("[train]\nmore_data = 'x'\n", "'more_data' is not a setting"),
    ],
)
def test_what_is_not_a_setting_is_refused_naming_the_file(tmp_path, text, words):
    path = _recipe(tmp_path, text)
    with pytest.raises(RecipeError) as e:
        read(path, TrainConfig, "train")
    message = str(e.value)
    assert message.startswith(f"{path}: ") and words in message and "\n" not in message


def test_a_missing_recipe_names_itself(tmp_path):
    with pytest.raises(RecipeError, match=r"no-such\.toml: no such recipe file"):
        read(tmp_path / "no-such.toml", TrainConfig, "train")


@pytest.mark.parametrize(
    "name, tables", [("demo.toml", ("demo", "train", "baseline")), ("builtin.toml", ("model",))]
)
def test_the_shipped_recipes_hold_settings_that_exist(name, tables):
    document = read_toml(RECIPES / name)
    assert set(tables) <= set(document)
    if "train" in document:
        config = TrainConfig(data="d", **read(RECIPES / name, TrainConfig, "train"))
        assert (config.base, config.image_size, config.weights) == ("none", 100, "none")
    baseline = read(RECIPES / name, BaselineConfig, "baseline")
    BaselineConfig(data="d", **baseline)
