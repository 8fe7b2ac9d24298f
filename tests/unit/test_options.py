"""Run options are declared once, in the config dataclasses, and the command line is made from
them: every setting is an option with its help and default, and parses back to the config."""

import dataclasses

import pytest

from trainer.cli.main import build_parser
from trainer.config import BaselineConfig, TrainConfig
from trainer.options import config_from_args


def _options(command: str) -> dict[str, str]:
    sub = build_parser()._subparsers._group_actions[0].choices[command]
    return {a.dest: (a.help or "").replace("%%", "%") for a in sub._actions if a.option_strings}


@pytest.mark.parametrize(
    "command, cls, skipped",
    [
        ("train", TrainConfig, {"more_data"}),  # more_data: the folders after --data's first
        ("tune", TrainConfig, {"variant", "checkpoints", "checkpoint_dir", "more_data"}),
        ("baseline", BaselineConfig, {"more_data"}),
    ],
)
def test_every_setting_is_an_option_with_its_help_and_default(command, cls, skipped):
    options = _options(command)
    for f in dataclasses.fields(cls):
        if f.name in skipped:
            assert f.name not in options
            continue
        assert f.name in options, f"{command}: no option for {f.name}"
        assert options[f.name].startswith(f.metadata["help"])
        shown = f.metadata["show_default"] and f.default not in (dataclasses.MISSING, None)
        if shown and f.type not in ("bool",):
            assert f"(default: {f.default})" in options[f.name], f.name


def test_options_parse_back_to_the_config():
    parser = build_parser()
    args = parser.parse_args(
        [
            *("train", "--data", "d", "--variant", "b1", "--epochs", "3", "--no-checkpoints"),
            *("--shuffle-tiles", "--quiet", "--tracking-uri", "sqlite:///x.db"),
            *("--no-half-turns", "--pooling", "max"),
        ]
    )
    config = config_from_args(TrainConfig, args)
    expected = TrainConfig(
        data="d",
        variant="B1",
        epochs=3,
        checkpoints=False,
        shuffle_tiles=True,
        half_turns=False,
        pooling="max",
        progress=False,
        tracking_uri="sqlite:///x.db",
    )
    assert config == expected and config.image_size == 240
    untouched = config_from_args(TrainConfig, parser.parse_args(["train", "--data", "d"]))
    assert untouched == TrainConfig(data="d")


def test_the_baseline_has_its_own_defaults():
    args = build_parser().parse_args(["baseline", "--data", "d", "--hidden", "64"])
    config = config_from_args(BaselineConfig, args)
    assert (config.epochs, config.patience, config.batch_size, config.hidden) == (300, 30, 32, 64)
    assert "variant" not in _options("baseline")


def test_resume_refuses_other_training_options(capsys):
    from trainer.cli.main import main

    with pytest.raises(SystemExit) as stop:
        main(["train", "--resume", "--epochs", "3", "--no-checkpoints"])
    assert stop.value.code == 2
    assert "drop --epochs, --no-checkpoints" in capsys.readouterr().err


def test_the_base_is_the_view_colour_path_unless_a_variant_or_weights_file_is_named():
    from trainer.config import ConfigError

    plain, scratch = TrainConfig(data="d"), TrainConfig(data="d", weights="none")
    for config in (plain, scratch):  # the logbook: pretrained or not, EfficientNet did worse
        assert (config.base, config.image_size, config.pretrained) == ("none", 100, False)
    lite = TrainConfig(data="d", variant="lite0")
    assert (lite.base, lite.variant, lite.image_size, lite.pretrained) == (
        "efficientnet",
        "LITE0",
        224,
        True,
    )
    named = TrainConfig(data="d", variant="b1", weights="none")
    assert (named.base, named.image_size, named.pretrained) == ("efficientnet", 240, False)
    assert TrainConfig(data="d", weights="w.weights.h5").base == "efficientnet"
    assert TrainConfig(data="d", weights="none", base="efficientnet").image_size == 224
    assert not TrainConfig(data="d", base="none").pretrained  # no base: nothing to load
    with pytest.raises(ConfigError, match="--view-units"):
        TrainConfig(data="d", base="none", view_units=0)
