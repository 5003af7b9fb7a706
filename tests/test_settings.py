"""Every setting of every configuration is offered by the command line, the Ikomia task's parameters
and the STUDIO form with the same name and the same default (`mnas.settings`), and earlier names still
work with a deprecation message. No training runs here: the surfaces are built and read, nothing more.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math

import pytest

from mnas import settings
from mnas.infer.classifier import InferSettings
from mnas.search.config import SearchConfig
from mnas.train.config import MAX_EPOCHS, TrainConfig
from mnas.train.job import TrainJob

# Fields no surface offers as a setting, each with the reason. A new field must be declared with
# `mnas.settings.setting` (and so appear everywhere) or be listed here.
NOT_OFFERED = {
    (TrainConfig, "eval_batch_size"): "memory only: evaluation results do not depend on it",
    (TrainConfig, "precise_bn_images"): "engine detail of the search's short proxy runs",
    (TrainConfig, "channels_last"): "memory layout: same results, chosen for speed",
    (TrainConfig, "mean"): "ImageNet normalisation, fixed by the pretrained weights; saved in the model file",
    (TrainConfig, "std"): "ImageNet normalisation, fixed by the pretrained weights; saved in the model file",
    (TrainJob, "data"): "the task's input 0 (a folder), the CLI's required --data: no default",
    (TrainJob, "model"): "model_name or arch in the task, --model or --arch in the CLI",
    (TrainJob, "output_folder"): "the task's output_folder, the CLI's --output as in every command",
    (TrainJob, "config"): "the TrainConfig, whose settings are offered one by one",
    (TrainJob, "limit_per_class"): "CLI only (--limit-per-class): quick runs from the command line",
    (TrainJob, "cache_dir"): "Python API only: where decoded datasets are cached",
    (TrainJob, "auto_values"): "a record: the settings left to auto and what they became (train_job.auto_choices)",
}

# (configuration, plugin, command-line module, options the CLI needs to parse)
SURFACES = [
    (SearchConfig, "search_mini", "mnas.search.cli", []),
    (TrainConfig, "train_mnasnet", "mnas.train.cli", ["--data", "data"]),
    (TrainJob, "train_mnasnet", "mnas.train.cli", ["--data", "data"]),
    (InferSettings, "infer_mnasnet", "mnas.infer.cli", ["image.jpg"]),
]
IDS = [config.__name__ for config, *_ in SURFACES]


def cli_parser(module_name: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    importlib.import_module(module_name).add_arguments(parser)
    return parser


def task_defaults(plugin: str) -> dict[str, str]:
    return importlib.import_module(f"{plugin}.{plugin}_process").DEFAULTS if plugin != "infer_mnasnet" else \
        importlib.import_module(f"{plugin}.{plugin}_process").InferMnasnetParam().get_values()


def form_fields(plugin: str) -> dict:
    form = importlib.import_module(f"{plugin}.{plugin}_widget").FORM
    return {field.key: field for section in form for field in section.fields}


@pytest.mark.parametrize("config", [SearchConfig, TrainConfig, TrainJob, InferSettings], ids=lambda c: c.__name__)
def test_every_field_is_a_setting_or_listed_with_its_reason(config):
    declared = {s.field for s in settings.settings_of(config)}
    listed = {name for owner, name in NOT_OFFERED if owner is config}
    assert declared.isdisjoint(listed), f"{config.__name__}: declared settings also listed as not offered"
    missing = {f.name for f in dataclasses.fields(config)} - declared - listed
    assert not missing, f"{config.__name__}: fields neither declared with setting() nor in NOT_OFFERED: {missing}"


@pytest.mark.parametrize("config, plugin, cli_module, required", SURFACES, ids=IDS)
def test_the_cli_offers_every_setting_with_its_default(config, plugin, cli_module, required):
    parser = cli_parser(cli_module)
    options = {option for action in parser._actions for option in action.option_strings}
    parsed = vars(parser.parse_args(required))
    for s in settings.settings_of(config):
        assert s.flag in options, f"{cli_module} has no {s.flag}"
        expected = s.special_value if s.special_default else s.default
        assert parsed[s.field] == expected, f"{s.flag}: default {parsed[s.field]!r}, declared {expected!r}"


@pytest.mark.parametrize("config, plugin, cli_module, required", SURFACES, ids=IDS)
def test_the_task_offers_every_setting_with_its_default(config, plugin, cli_module, required):
    defaults = task_defaults(plugin)
    for s in settings.settings_of(config):
        assert defaults.get(s.name) == settings.default_string(s), f"{plugin} parameter {s.name}"
        # and the string reads back as the default itself
        expected = s.special_value if s.special_default else s.default
        assert settings.parse_string(s, defaults[s.name]) == expected, s.name


@pytest.mark.parametrize("config, plugin, cli_module, required", SURFACES, ids=IDS)
def test_the_form_offers_every_setting_and_can_show_its_default(config, plugin, cli_module, required):
    fields = form_fields(plugin)
    for s in settings.settings_of(config):
        field = fields.get(s.name)
        assert field is not None, f"{plugin}'s form has no field {s.name}"
        assert (field.label, field.tooltip) == (s.label, s.help)
        if field.kind in ("integer", "number") and not s.special_default:  # the spin box reaches the default
            assert field.minimum <= s.default <= field.maximum, s.name
        if field.kind == "choice":
            assert s.default in field.choices, s.name


@pytest.mark.parametrize("plugin", ["search_mini", "train_mnasnet", "infer_mnasnet"])
def test_the_form_and_the_task_have_the_same_parameters(plugin):
    assert set(form_fields(plugin)) == set(task_defaults(plugin))


def test_task_defaults_build_the_configurations_defaults():
    from search_mini.search_mini_process import DEFAULTS as SEARCH_DEFAULTS
    from search_mini.search_mini_process import config_from_values
    from train_mnasnet.train_mnasnet_process import DEFAULTS as TRAIN_DEFAULTS
    from train_mnasnet.train_mnasnet_process import job_from_values

    assert config_from_values(SEARCH_DEFAULTS) == SearchConfig()
    job = job_from_values(TRAIN_DEFAULTS)
    assert job.config == TrainConfig(input_size=224)  # input_size auto, no dataset known yet: 224
    assert (job.pretrained, job.val_fraction, job.memory_budget_gb) == (False, None, None)


def test_input_size_auto_follows_the_dataset(cifar10_root, tmp_path):
    from PIL import Image
    from skimage import data

    from mnas.train.job import default_input_size

    assert default_input_size(cifar10_root) == 32  # 32 x 32 images
    photo = tmp_path / "photos" / "train" / "cat"
    photo.mkdir(parents=True)
    Image.fromarray(data.chelsea()).save(photo / "chelsea.jpg")
    assert default_input_size(tmp_path / "photos") == 224
    assert default_input_size("") == 224


@pytest.mark.parametrize("cli_module, required, old, new, field, value, parsed", [
    ("mnas.train.cli", ["--data", "d"], "--lr", "--learning-rate", "learning_rate", "0.1", 0.1),
    ("mnas.train.cli", ["--data", "d"], "--threads", "--train-threads", "train_threads", "3", 3),
    ("mnas.search.cli", [], "--lr", "--learning-rate", "learning_rate", "0.1", 0.1),
    ("mnas.search.cli", [], "--threads", "--latency-threads", "latency_threads", "2", 2),
    ("mnas.infer.cli", ["x.jpg"], "--weights", "--model-weight-file", "model_weight_file", "m.pth", "m.pth"),
    ("mnas.infer.cli", ["x.jpg"], "--classes", "--class-file", "class_file", "c.txt", "c.txt"),
    ("mnas.latency.cli", [], "--threads", "--latency-threads", "latency_threads", "2", 2),
    ("mnas.latency.cli", [], "--engine", "--latency-engine", "latency_engine", "onnxruntime", "onnxruntime"),
    ("mnas.train.cli", ["--data", "d"], "--model", "--model-name", "model_name", "mnasnet1_0", "mnasnet1_0"),
    ("mnas.search.cli", [], "--device", "--train-device", "train_device", "cpu", "cpu"),
])
def test_old_option_names_still_work_and_say_so(cli_module, required, old, new, field, value, parsed, capsys):
    parser = cli_parser(cli_module)
    assert getattr(parser.parse_args([*required, old, value]), field) == parsed
    assert f"warning: {old} is deprecated (removed in 1.0): use {new}" in capsys.readouterr().err
    assert getattr(parser.parse_args([*required, new, value]), field) == parsed
    assert "deprecated" not in capsys.readouterr().err


@pytest.mark.parametrize("cli_module, required, old, new", [
    ("mnas.search.cli", [], "--download", "--download-data"),        # the dataset
    ("mnas.infer.cli", ["x.jpg"], "--download", "--download-weights"),   # the ImageNet weights
])
def test_old_flag_names_still_work_and_say_so(cli_module, required, old, new, capsys):
    parser = cli_parser(cli_module)
    assert parser.parse_args(required).download is False
    assert parser.parse_args([*required, old]).download is True
    assert f"warning: {old} is deprecated (removed in 1.0): use {new}" in capsys.readouterr().err
    assert parser.parse_args([*required, new]).download is True
    assert "deprecated" not in capsys.readouterr().err


def visible_options(parser: argparse.ArgumentParser, where: str) -> dict[str, list[tuple[str, str]]]:
    """Option string -> [(command, help)] of every option `parser` and its sub-commands show."""
    found: dict[str, list[tuple[str, str]]] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                for flag, uses in visible_options(sub, f"{where} {name}").items():
                    found.setdefault(flag, []).extend(uses)
        elif action.help != argparse.SUPPRESS:
            for flag in action.option_strings:
                found.setdefault(flag, []).append((where, action.help or ""))
    return found


def test_one_option_name_per_meaning_across_the_commands():
    from mnas.__main__ import COMMANDS

    options: dict[str, list[tuple[str, str]]] = {}
    for command, (module, _) in COMMANDS.items():
        for flag, uses in visible_options(cli_parser(module), command).items():
            options.setdefault(flag, []).extend(uses)
    assert "--download" not in options and "--model" not in options  # each meant two things
    assert [command for command, _ in options["--download-data"]] == ["search"]
    assert [command for command, _ in options["--download-weights"]] == ["infer"]
    assert {"train", "infer"} <= {command for command, _ in options["--model-name"]}
    # --device: where this command's network runs, in every command that has it (the search's proxy
    # training device is --train-device, beside --train-threads: latency has its own settings)
    assert "search" not in {command for command, _ in options["--device"]}
    for command, help_text in options["--device"]:
        assert help_text.startswith("where") or help_text.startswith("auto"), (command, help_text)
        assert "auto" in help_text and "cuda:N" in help_text, (command, help_text)


@pytest.mark.parametrize("plugin, old, new, value", [
    ("search_mini", "threads", "latency_threads", "2"),
    ("search_mini", "lr", "learning_rate", "0.1"),
    ("train_mnasnet", "lr", "learning_rate", "0.01"),
])
def test_old_parameter_names_still_work_and_say_so(plugin, old, new, value):
    process = importlib.import_module(f"{plugin}.{plugin}_process")
    param = getattr(process, {"search_mini": "SearchMiniParam", "train_mnasnet": "TrainMnasnetParam"}[plugin])()
    with pytest.warns(FutureWarning, match=f"parameter '{old}' is deprecated \\(removed in 1.0\\): use '{new}'"):
        param.set_values({old: value})
    assert param.get_values()[new] == value and old not in param.get_values()


def test_errors_name_the_setting_as_the_user_knows_it():
    from search_mini.search_mini_process import DEFAULTS, config_from_values

    with pytest.raises(ValueError, match="search setting learning_rate must be a number > 0"):
        config_from_values({**DEFAULTS, "learning_rate": "-1"})
    with pytest.raises(ValueError, match="search setting ppo_lr must be a number > 0"):  # not learning_rate
        config_from_values({**DEFAULTS, "ppo_lr": "-1"})
    with pytest.raises(ValueError, match="latency_threads must be an integer, got 'two'"):
        config_from_values({**DEFAULTS, "latency_threads": "two"})


def test_a_workflow_task_takes_an_old_parameter_name(mlflow_file_store):
    from ikomia.dataprocess.workflow import Workflow

    task = Workflow().add_task(name="search_mini", auto_connect=True)
    deprecated = r"parameter 'threads' is deprecated \(removed in 1.0\): use 'latency_threads'"
    with pytest.warns(FutureWarning, match=deprecated):
        task.set_parameters({"threads": "2"})  # Ikomia itself would drop a key its parameters lack
    assert task.get_parameters()["latency_threads"] == "2" and "threads" not in task.get_parameters()


# ----------------------------------------------------------------------------------------------------
# The checks: every configuration refuses what its declarations refuse, and nothing else

CONFIGS = [SearchConfig, TrainConfig, TrainJob, InferSettings]
REQUIRED = {TrainJob: {"data": "data"}}  # fields without a default
# Settings bounded by another one too: the other's value that lets the declared bound be reached
COMPANIONS = {(TrainConfig, "warmup_epochs"): {"epochs": MAX_EPOCHS},
              (SearchConfig, "tournament"): {"population": 10000},
              (SearchConfig, "population"): {"tournament": 1}}


def fields_with(config, s: settings.Setting, value) -> dict:
    return {**REQUIRED.get(config, {}), **COMPANIONS.get((config, s.field), {}), s.field: value}


def refusal(config, s: settings.Setting, value) -> tuple[str, str]:
    """The messages of the configuration made directly (naming the field) and through `settings.build`
    as every surface does (naming the setting as the user knows it)."""
    messages = []
    for make in (lambda fields: config(**fields), lambda fields: settings.build(config, fields)):
        with pytest.raises(ValueError) as error:
            make(fields_with(config, s, value))
        messages.append(str(error.value))
    return messages[0], messages[1]


def number_text(value) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def bound_cases():
    for config in CONFIGS:
        for s in settings.settings_of(config):
            for side, bound, excluded in (("minimum", s.minimum, s.minimum_excluded),
                                          ("maximum", s.maximum, s.maximum_excluded)):
                if bound is not None:
                    yield pytest.param(config, s, side, bound, excluded, id=f"{config.__name__}-{s.name}-{side}")


def as_value(s: settings.Setting, number):
    return (number,) if s.kind == "numbers" else number


@pytest.mark.parametrize("config, s, side, bound, excluded", list(bound_cases()))
def test_a_value_just_beyond_a_bound_is_refused_naming_the_setting_and_the_bound_is_accepted(
        config, s, side, bound, excluded):
    outward = -1 if side == "minimum" else 1
    if s.kind == "integer":
        outside, inside = int(bound) + outward, int(bound)
    else:  # a hair beyond (not math.nextafter: a library may flush subnormal numbers to zero)
        hair = outward * max(abs(bound), 1.0) * 1e-12
        outside, inside = (bound, bound - hair) if excluded else (bound + hair, bound)
    direct, built = refusal(config, s, as_value(s, outside))
    sign = (">" if side == "minimum" else "<") + ("" if excluded else "=")
    assert f"{s.field} must be " in direct and f"{sign} {number_text(bound)}" in direct, direct
    assert f"{s.name} must be " in built, built  # learning_rate, latency_threads: not lr, threads
    made = config(**fields_with(config, s, as_value(s, inside)))
    assert getattr(made, s.field) == as_value(s, inside)


CHOICE_CASES = [pytest.param(config, s, id=f"{config.__name__}-{s.name}")
                for config in CONFIGS for s in settings.settings_of(config) if s.choices]


@pytest.mark.parametrize("config, s", CHOICE_CASES)
def test_a_choice_outside_the_list_is_refused_and_each_choice_is_accepted(config, s):
    direct, built = refusal(config, s, "nonesuch")
    assert f"{s.field} must be one of {', '.join(s.choices)}, got 'nonesuch'" in direct
    assert f"{s.name} must be one of" in built
    for choice in s.choices:
        assert getattr(config(**fields_with(config, s, choice)), s.field) == choice


# A value of the wrong type per kind, and what the message then expects
WRONG_TYPES = {"integer": [(1.5, "an integer"), (True, "an integer"), ("3", "an integer")],
               "number": [("0.5", "a number"), (math.nan, "a finite number"), (math.inf, "a finite number")],
               "flag": [(1, "True or False"), ("yes", "True or False")],
               "numbers": [("0.5,1", "numbers"), ((0.5, math.nan), "numbers")],
               "text": [(3, "text")], "file": [(3, "text")], "folder": [(3, "text")]}
TYPE_CASES = [pytest.param(config, s, value, words, id=f"{config.__name__}-{s.name}-{value!r}")
              for config in CONFIGS for s in settings.settings_of(config) if not s.choices
              for value, words in WRONG_TYPES[s.kind]]


@pytest.mark.parametrize("config, s, value, words", TYPE_CASES)
def test_a_value_of_the_wrong_type_is_refused_naming_the_setting(config, s, value, words):
    direct, _ = refusal(config, s, value)
    assert direct.removeprefix("search setting ").startswith(f"{s.field} must be {words}"), direct


@pytest.mark.parametrize("config, s", [pytest.param(config, s, id=f"{config.__name__}-{s.name}")
                                       for config in CONFIGS for s in settings.settings_of(config)])
def test_none_is_a_value_only_where_the_type_allows_it_and_special_values_are_accepted(config, s):
    if s.optional:
        assert getattr(config(**fields_with(config, s, None)), s.field) is None
    else:
        direct, _ = refusal(config, s, None)
        assert f"{s.field} must be" in direct and direct.endswith("got None")
    if s.special and s.special_value is not None:
        assert getattr(config(**fields_with(config, s, s.special_value)), s.field) == s.special_value
        assert f"({number_text(s.special_value)}: {s.special})" in refusal(config, s, None)[0]


def test_cross_setting_rules_stay_with_the_configuration():
    with pytest.raises(ValueError, match=r"^search setting tournament must be at most the population \(20\)"):
        SearchConfig(tournament=21)
    assert SearchConfig(tournament=20).tournament == 20
    with pytest.raises(ValueError, match="^search setting final_top_k must be 0 in table mode"):
        SearchConfig(final_top_k=1, evaluator="table")
    with pytest.raises(ValueError, match=r"^warmup_epochs must be a number in \[0, epochs\), got 3"):
        TrainConfig(epochs=3, warmup_epochs=3)
    assert TrainConfig(epochs=3, warmup_epochs=2.99).warmup_epochs == 2.99


@pytest.mark.parametrize("config, plugin, cli_module, required", SURFACES, ids=IDS)
def test_the_form_offers_exactly_the_values_the_configuration_accepts(config, plugin, cli_module, required):
    """Each spin box's ends are accepted and one shown step beyond is refused (the 'auto' slot below the
    range aside, and ends the declaration leaves open: no maximum, or beyond a spin box's 32 bits)."""
    fields = form_fields(plugin)
    for s in settings.settings_of(config):
        field = fields[s.name]
        if field.kind not in ("integer", "number"):
            continue
        kind, shown_step = (int, 1) if field.kind == "integer" else (float, 10.0 ** -field.decimals)
        low = s.lowest if s.special and s.special_value is None else field.minimum
        assert field.minimum <= low, s.name
        for end in (low, field.maximum):
            config(**fields_with(config, s, kind(end)))
        refusal(config, s, kind(low) - shown_step)
        if s.maximum is not None and field.maximum < 2**31 - 1:
            refusal(config, s, kind(field.maximum) + shown_step)


def test_a_strict_bound_needs_the_decimals_the_form_shows():
    with pytest.raises(ValueError, match="an excluded bound needs the bound and the decimals"):
        settings.setting(0.5, "a share", minimum=0.0, minimum_excluded=True)


def test_earlier_names_are_removed_by_their_removal_version():
    """Deprecated names live until REMOVED_IN: bumping the version to it makes this fail until they go."""
    import tomllib

    from conftest import REPO_ROOT
    from mnas.settings import REMOVED_IN

    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    as_numbers = lambda text: tuple(int(part) for part in text.split(".")[:2])  # noqa: E731
    assert as_numbers(version) < as_numbers(REMOVED_IN), (
        f"version {version} reached {REMOVED_IN}: remove old_names, DeprecatedOption and deprecated_flag uses")
