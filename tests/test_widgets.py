"""The STUDIO panels of the three tasks, headless (QT_QPA_PLATFORM=offscreen, set by conftest).

Each widget is made the way Ikomia STUDIO makes it, `IkomiaPlugin().get_widget_factory().create(param)`
with the registry's plugin module, over the parameter object of a task in a real workflow; Apply then
has to change what that task does on its next run.
"""

from __future__ import annotations

import importlib
import json

import numpy as np
import pytest
from ikomia.core import IODataType
from ikomia.dataprocess import CPathIO
from ikomia.dataprocess.workflow import Workflow
from skimage import data

from mnas.arch import format_arch, parse_arch
from mnas.data.splits import link_subset
from mnas.infer.classifier import Classifier
from mnas.models import create_model
from mnas.weights.classes import write_class_file
from mnas.weights.model_file import load_model_file, save_model_file
from weights_helpers import randomize_

TINY_ARCH = ("r1_k3_s11_e1_i3_o8_conv, r1_k3_s22_e3_i8_o16_se0.25, r1_k3_s22_e3_i16_o24, "
             "r1_k1_s11_e1_i24_o32_conv")
BAD_KERNEL_ARCH = "r1_k3_s11_e1_i3_o8_conv, r1_k4_s22_e3_i8_o16"
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="session")
def qt_app():
    from PyQt6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([])


def plugin(name: str):
    """The plugin module's IkomiaPlugin, imported as the registry imports it."""
    return importlib.import_module(f"{name}.{name}").IkomiaPlugin()


def task_widget(qt_app, task):
    """The task's panel over the task's own parameter object, as STUDIO opens it."""
    widget = plugin(task.name).get_widget_factory().create(task.get_param_object())
    assert widget is not None and widget.parameters is task.get_param_object()
    return widget


def set_controls(widget, values: dict[str, object]) -> None:
    """Change the controls as a user would (the Qt widgets' own setters)."""
    from PyQt6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QPlainTextEdit, QSpinBox

    for key, value in values.items():
        control = widget.form.controls[key].widget
        editor = control if not control.layout() else control.layout().itemAt(0).widget()
        if isinstance(editor, (QSpinBox, QDoubleSpinBox)):
            editor.setValue(value)
        elif isinstance(editor, QComboBox):
            assert editor.findText(value) >= 0, f"{key}: {value!r} not offered"
            editor.setCurrentText(value)
        elif isinstance(editor, QCheckBox):
            editor.setChecked(value)
        elif isinstance(editor, QPlainTextEdit):
            editor.setPlainText(value)
        elif isinstance(editor, QLineEdit):
            editor.setText(value)
        else:
            raise TypeError(f"{key}: no setter for {type(editor).__name__}")


def same_value(shown: str, given: str) -> bool:
    try:
        return float(shown) == float(given)
    except ValueError:
        return shown == given or shown == format_arch(parse_arch(given))


@pytest.mark.parametrize("name", ["infer_mnasnet", "train_mnasnet", "search_mini"])
def test_widget_comes_from_the_plugin_and_shows_the_given_parameters(qt_app, name):
    factory = plugin(name).get_widget_factory()
    assert factory.name == name
    param = plugin(name).get_param_factory().create()
    # defaults shown as they are, whatever the parameter class's defaults are
    assert factory.create(param).values() == param.get_values()
    given = {"infer_mnasnet": {"model_name": "mnasnet_a1", "input_size": "96", "backend": "torch",
                               "model_weight_file": "/data/model.pt", "int8": "True", "threads": "3",
                               "cuda": "False"},
             "train_mnasnet": {"arch": TINY_ARCH, "epochs": "7", "optimizer": "rmsprop",
                               "learning_rate": "1e-4", "val_fraction": "0.2", "export_onnx": "True",
                               "output_folder": "/runs/x", "schedule": "step"},
             "search_mini": {"budget_children": "5", "budget_minutes": "2.5", "constraint": "hard",
                             "w": "-0.1", "sampler": "random", "compare_random": "True",
                             "baseline_widths": "0.5,1", "train_threads": "2", "target_latency_ms": "3.25",
                             "latency_engine": "onnxruntime"}}[name]
    param.set_values(given)
    widget = factory.create(param)
    assert widget.values() == param.get_values()
    for key, value in given.items():  # and on screen, not only in the strings read back
        assert same_value(widget.form.controls[key].text(), value), key
    shown_key, shown_text = {"infer_mnasnet": ("input_size", "96"),
                             "train_mnasnet": ("learning_rate", "0.000100"),
                             "search_mini": ("target_latency_ms", "3.25")}[name]
    assert widget.form.controls[shown_key].spin.text() == shown_text

    # parameters changed from the task side show up when Ikomia says so
    param.set_values({"infer_mnasnet": {"cuda": "True"}, "train_mnasnet": {"epochs": "11"},
                      "search_mini": {"seed": "11"}}[name])
    widget.on_parameters_changed()
    assert widget.values() == param.get_values()

    # untouched controls give back the exact strings: applying changes nothing, reloads nothing
    param.update = False
    assert widget.apply() and not param.update and param.get_values() == widget.values()


@pytest.fixture
def small_model_file(tmp_path):
    model = randomize_(create_model("mnasnet_small", num_classes=3, input_size=32), seed=3)
    return save_model_file(tmp_path / "small.pt", model, class_names=["ant", "bee", "cow"], input_size=32)


def test_applied_infer_parameters_drive_the_next_run(qt_app, small_model_file, tmp_path):
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"model_weight_file": str(small_model_file), "cuda": "False", "backend": "torch"})
    image = data.chelsea()
    workflow.run_on(array=image)
    assert task.classifier.input_size == 32 and sorted(task.classifier.class_names) == ["ant", "bee", "cow"]
    before = dict(task.get_whole_image_results())

    classes = write_class_file(tmp_path / "classes.txt", ["aardvark", "bison", "camel"])
    widget = task_widget(qt_app, task)
    assert widget.values()["model_weight_file"] == str(small_model_file)
    set_controls(widget, {"input_size": 48, "class_file": str(classes), "backend": "onnxruntime",
                          "threads": 1})
    widget.on_apply()
    assert task.get_parameters()["input_size"] == "48" and task.get_parameters()["backend"] == "onnxruntime"

    workflow.run_on(array=image)
    assert task.loads == 2
    assert task.classifier.input_size == 48 and task.classifier.backend.name == "onnxruntime"
    results = dict(task.get_whole_image_results())
    assert sorted(results) == ["aardvark", "bison", "camel"]
    reference = Classifier.load(weight_file=small_model_file, class_file=classes, input_size=48,
                                device="cpu", backend="torch")
    expected = reference.predict(image)[0]
    np.testing.assert_allclose([float(results[name]) for name in reference.class_names], expected,
                               atol=1e-4)
    # at 48 px the confidences are not the 32 px ones under new names
    assert not np.allclose(sorted(float(c) for c in results.values()),
                           sorted(float(c) for c in before.values()), atol=1e-4)


@pytest.fixture
def tiny_dataset(cifar10_root, tmp_path):
    """Real CIFAR-10 images: 2 classes, 16 training images each."""
    return link_subset(cifar10_root, tmp_path / "tiny", {"train": ("train", 0, 16)}, ("cat", "ship"))


def test_applied_train_parameters_drive_the_training_run(qt_app, tiny_dataset, mlflow_file_store,
                                                         tmp_path):
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(tiny_dataset)))
    task = workflow.add_task(name="train_mnasnet", auto_connect=True)
    widget = task_widget(qt_app, task)
    output = tmp_path / "run"
    set_controls(widget, {"arch": TINY_ARCH.replace(", ", ",\n"), "input_size": 24, "epochs": 2,
                          "batch_size": 16, "optimizer": "rmsprop", "learning_rate": 0.01,
                          "val_fraction": 0.25, "output_folder": str(output), "seed": 5})
    widget.on_apply()
    applied = task.get_parameters()
    assert applied["arch"] == TINY_ARCH and applied["epochs"] == "2"
    assert applied["output_folder"] == str(output)

    workflow.run()
    model, meta = load_model_file(output / "model.pth")
    assert meta["arch"] == model.arch == TINY_ARCH
    assert meta["input_size"] == 24 and meta["class_names"] == ["cat", "ship"]
    assert [stats.epoch for stats in task.outcome.result.history] == [1, 2]


@pytest.mark.slow
def test_applied_search_parameters_drive_the_search(qt_app, tiny_dataset, mlflow_file_store, tmp_path):
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(tiny_dataset)))
    task = workflow.add_task(name="search_mini", auto_connect=True)
    task.set_parameters({"train_threads": "0"})
    widget = task_widget(qt_app, task)
    # 0 means "every core" / "measure T here": the spin boxes say so
    controls = widget.form.controls
    assert controls["train_threads"].spin.text() == "all"
    assert controls["target_latency_ms"].spin.text() == "B1 skeleton"
    output = tmp_path / "search"
    set_controls(widget, {"budget_children": 2, "sampler": "random", "train_images": 16,
                          "val_images": 8, "baseline_widths": "", "train_threads": 1,
                          "target_latency_ms": 50.0, "constraint": "hard", "output_folder": str(output)})
    widget.on_apply()
    assert task.get_parameters()["target_latency_ms"] == "50" and task.get_parameters()["sampler"] == "random"

    workflow.run()
    children = [json.loads(line) for line in (output / "children.jsonl").read_text().splitlines()]
    assert len(children) == 2 and {child["sampler"] for child in children} == {"random"}
    for child in children:  # the hard constraint with T = 50 ms: no penalty under T, else reward 0 ...
        factor = 1.0 if child["latency_ms"] <= 50 else (child["latency_ms"] / 50) ** -1
        assert child["reward"] == pytest.approx(child["accuracy"] * factor)


def test_an_invalid_architecture_cannot_be_applied(qt_app):
    param = plugin("train_mnasnet").get_param_factory().create()
    param.set_values({"arch": TINY_ARCH, "epochs": "3"})
    param.update = False
    before = param.get_values()
    widget = plugin("train_mnasnet").get_widget_factory().create(param)
    control = widget.form.controls["arch"]
    assert control.message.isHidden()

    set_controls(widget, {"arch": BAD_KERNEL_ARCH, "epochs": 9})
    assert not control.message.isHidden()  # shown as soon as it is typed, before Apply
    assert "block 1 'r1_k4_s22_e3_i8_o16': kernel must be odd" in control.message.text()
    assert not widget.apply()
    widget.on_apply()
    assert param.get_values() == before and not param.update
    assert "kernel must be odd" in widget.form.problem.text() and not widget.form.problem.isHidden()

    set_controls(widget, {"arch": "r1_k3_s11_e1_i3_o8_conv, r1_k3_s22_e3_i16_o16"})
    assert "input channels i16 must equal the previous block's output channels o8" in control.message.text()
    assert widget.form.problem.isHidden()  # the last refusal spoke of text that is gone
    assert not widget.apply() and param.get_values() == before

    set_controls(widget, {"arch": ""})  # empty: back to the named model, which is fine
    assert control.message.isHidden() and widget.apply()
    assert param.get_values()["arch"] == "" and param.get_values()["epochs"] == "9" and param.update
    assert widget.form.problem.isHidden()


@pytest.mark.parametrize("name, edits, message", [
    ("train_mnasnet", {"freeze_backbone": True, "pretrained": False},
     "freeze_backbone needs pretrained=True"),
    ("search_mini", {"baseline_widths": "half, one", "budget_children": 7},
     "baseline_widths must be comma-separated numbers"),
])
def test_values_the_task_refuses_are_not_applied_and_the_panel_says_why(qt_app, name, edits, message):
    param = plugin(name).get_param_factory().create()
    before = param.get_values()
    widget = plugin(name).get_widget_factory().create(param)
    set_controls(widget, edits)
    assert not widget.apply() and param.get_values() == before
    assert message in widget.form.problem.text() and not widget.form.problem.isHidden()


def test_spin_box_ranges_keep_values_the_search_would_refuse_out_of_reach(qt_app):
    widget = plugin("search_mini").get_widget_factory().create(None)
    set_controls(widget, {"w": 0.5, "budget_children": 0})  # a positive w would reward slower models
    assert widget.values()["w"] == "0" and widget.values()["budget_children"] == "1"
    assert widget.apply()


def test_the_file_button_opens_a_dialog_whose_choice_fills_the_field(qt_app, small_model_file):
    from PyQt6.QtCore import QTimer
    from PyQt6.QtWidgets import QApplication, QDialogButtonBox

    widget = plugin("infer_mnasnet").get_widget_factory().create(None)
    control = widget.form.controls["model_weight_file"]
    seen = {}

    def choose_in_the_dialog():
        """Select the file and press Open, as a user would (an exception here would abort Qt)."""
        dialog = QApplication.activeModalWidget()
        try:
            seen["dialog"] = type(dialog).__name__
            dialog.selectFile(str(small_model_file))
            dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Open).click()
        except Exception as error:  # noqa: BLE001 -- reported by the assertions below
            seen["error"] = repr(error)
            dialog.reject()

    QTimer.singleShot(0, choose_in_the_dialog)
    control.button.click()
    assert seen == {"dialog": "QFileDialog"}
    assert widget.values()["model_weight_file"] == str(small_model_file)


def test_a_form_that_does_not_match_its_parameters_is_refused_by_name(qt_app):
    from infer_mnasnet.infer_mnasnet_widget import FORM
    from mnas_ikomia.widgets import FormWidgetFactory, Section

    param = plugin("infer_mnasnet").get_param_factory().create()
    without_threads = [Section(s.title, tuple(f for f in s.fields if f.key != "threads")) for s in FORM]
    with pytest.raises(ValueError, match=r"not in the form \['threads'\]"):
        FormWidgetFactory("infer_mnasnet", without_threads, type(param)).create(param)


@pytest.mark.parametrize("name, most_shown", [("search_mini", 7), ("train_mnasnet", 8), ("infer_mnasnet", 6)])
def test_each_panel_opens_on_its_essentials_and_the_rest_is_one_click_away(qt_app, name, most_shown):
    """A HUB task shows 5-10 fields; ours open on the essentials, every other setting in a collapsed
    group whose toggle shows it, and the form still covers every parameter."""
    task = plugin(name)
    param = task.get_param_factory().create()
    widget = task.get_widget_factory().create(param)
    form = widget.form
    form.show()
    qt_app.processEvents()

    def visible() -> set[str]:
        return {key for key, control in form.controls.items() if control.widget.isVisibleTo(form)}

    shown = visible()
    assert 3 <= len(shown) <= most_shown, sorted(shown)
    assert form.toggles, "no advanced group"
    assert set(form.controls) == set(param.get_values())
    for toggle in form.toggles.values():
        toggle.click()
    qt_app.processEvents()
    assert visible() == set(form.controls)
    form.hide()
