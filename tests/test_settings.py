"""Every setting of every configuration is offered by the command line, the Ikomia task's parameters
and the STUDIO form with the same name and the same default (`mnas.settings`), and earlier names still
work with a deprecation message. No training runs here: the surfaces are built and read, nothing more.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib

import pytest

from mnas import settings
from mnas.infer import InferSettings
from mnas.search.config import SearchConfig
from mnas.train import TrainConfig
from mnas.train_job import TrainJob

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
}

# (configuration, plugin, command-line module, options the CLI needs to parse)
SURFACES = [
    (SearchConfig, "search_mini", "mnas.search.cli", []),
    (TrainConfig, "train_mnasnet", "mnas.train_cli", ["--data", "data"]),
    (TrainJob, "train_mnasnet", "mnas.train_cli", ["--data", "data"]),
    (InferSettings, "infer_mnasnet", "mnas.infer", ["image.jpg"]),
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
    from search_mini.search_mini_process import DEFAULTS as SEARCH_DEFAULTS, config_from_values
    from train_mnasnet.train_mnasnet_process import DEFAULTS as TRAIN_DEFAULTS, job_from_values

    assert config_from_values(SEARCH_DEFAULTS) == SearchConfig()
    job = job_from_values(TRAIN_DEFAULTS)
    assert job.config == TrainConfig(input_size=224)  # input_size auto, no dataset known yet: 224
    assert (job.pretrained, job.val_fraction, job.memory_budget_gb) == (False, None, None)


def test_input_size_auto_follows_the_dataset(cifar10_root, tmp_path):
    from mnas.train_job import default_input_size
    from skimage import data
    from PIL import Image

    assert default_input_size(cifar10_root) == 32  # 32 x 32 images
    photo = tmp_path / "photos" / "train" / "cat"
    photo.mkdir(parents=True)
    Image.fromarray(data.chelsea()).save(photo / "chelsea.jpg")
    assert default_input_size(tmp_path / "photos") == 224
    assert default_input_size("") == 224


@pytest.mark.parametrize("cli_module, required, old, new, field, value, parsed", [
    ("mnas.train_cli", ["--data", "d"], "--lr", "--learning-rate", "lr", "0.1", 0.1),
    ("mnas.train_cli", ["--data", "d"], "--threads", "--train-threads", "train_threads", "3", 3),
    ("mnas.search.cli", [], "--lr", "--learning-rate", "lr", "0.1", 0.1),
    ("mnas.search.cli", [], "--threads", "--latency-threads", "threads", "2", 2),
    ("mnas.infer", ["x.jpg"], "--weights", "--model-weight-file", "model_weight_file", "m.pth", "m.pth"),
    ("mnas.infer", ["x.jpg"], "--classes", "--class-file", "class_file", "c.txt", "c.txt"),
    ("mnas.summary", [], "--threads", "--latency-threads", "latency_threads", "2", 2),
    ("mnas.summary", [], "--engine", "--latency-engine", "latency_engine", "onnxruntime", "onnxruntime"),
])
def test_old_option_names_still_work_and_say_so(cli_module, required, old, new, field, value, parsed, capsys):
    parser = cli_parser(cli_module)
    assert getattr(parser.parse_args([*required, old, value]), field) == parsed
    assert f"warning: {old} is deprecated: use {new}" in capsys.readouterr().err
    assert getattr(parser.parse_args([*required, new, value]), field) == parsed
    assert "deprecated" not in capsys.readouterr().err


@pytest.mark.parametrize("plugin, old, new, value", [
    ("search_mini", "threads", "latency_threads", "2"),
    ("search_mini", "lr", "learning_rate", "0.1"),
    ("train_mnasnet", "lr", "learning_rate", "0.01"),
])
def test_old_parameter_names_still_work_and_say_so(plugin, old, new, value):
    process = importlib.import_module(f"{plugin}.{plugin}_process")
    param = getattr(process, {"search_mini": "SearchMiniParam", "train_mnasnet": "TrainMnasnetParam"}[plugin])()
    with pytest.warns(FutureWarning, match=f"parameter '{old}' is deprecated: use '{new}'"):
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
    with pytest.warns(FutureWarning, match="parameter 'threads' is deprecated: use 'latency_threads'"):
        task.set_parameters({"threads": "2"})  # Ikomia itself would drop a key its parameters lack
    assert task.get_parameters()["latency_threads"] == "2" and "threads" not in task.get_parameters()
