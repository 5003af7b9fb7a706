"""infer_mnasnet through real Ikomia workflows and the real registry (the temporary HOME of conftest).

Weights are made here: torchvision MnasNet checkpoints with random weights placed in a temporary torch
hub cache (where torchvision's ImageNet loading path looks) and mnas model files.
"""

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from ikomia import dataprocess
from ikomia.dataprocess.registry import ik_registry
from ikomia.dataprocess.workflow import Workflow
from skimage import data

from mnas.infer.classifier import confidence_texts
from mnas.models import create_model
from mnas.preprocess import preprocess
from mnas.weights.classes import write_class_file
from mnas.weights.convert import load_state_dict_into
from mnas.weights.model_file import save_model_file
from mnas.weights.published import imagenet_categories, imagenet_checkpoint_path
from weights_helpers import randomize_, save_state_dict, torchvision_mnasnet

PLUGIN = "infer_mnasnet"
SMALL_CLASSES = ["ant", "bee", "cow"]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty private torch hub cache, downloads off."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("MNAS_DOWNLOAD_WEIGHTS", raising=False)
    return tmp_path / "torch-home"


@pytest.fixture
def imagenet_half(torch_home):
    """torchvision mnasnet0_5 with random weights, placed where its ImageNet weights are looked for."""
    reference = torchvision_mnasnet("mnasnet0_5", seed=11)
    save_state_dict(reference, imagenet_checkpoint_path("mnasnet0_5"))
    model = load_state_dict_into(create_model("mnasnet0_5"), reference.state_dict()).eval()
    return model


@pytest.fixture
def small_model_file(tmp_path):
    model = randomize_(create_model("mnasnet_small", num_classes=3, input_size=32), seed=5)
    path = save_model_file(tmp_path / "small.pt", model, class_names=SMALL_CLASSES, input_size=32)
    return path, model


def new_task(params: dict, upstream=None):
    """A workflow: [optional upstream task ->] infer_mnasnet, found by name in the registry."""
    workflow = Workflow()
    if upstream is not None:
        workflow.add_task(task=upstream, auto_connect=True)
    task = workflow.add_task(name=PLUGIN, auto_connect=True)
    task.set_parameters({"cuda": "False", **params})
    return workflow, task


def whole_image_results(task):
    results = task.get_whole_image_results()
    return [name for name, _ in results], np.array([float(conf) for _, conf in results])


def core_probabilities(model, image, size):
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(preprocess(image, size))), 1)[0].numpy()


def test_registry_finds_the_plugin_through_the_temporary_home():
    link = Path(os.environ["HOME"]) / "Ikomia" / "Plugins" / "Python" / PLUGIN
    assert link.resolve() == (Path(__file__).parent.parent / PLUGIN).resolve()
    task = ik_registry.create_algorithm(name=PLUGIN, public_hub=False)
    assert type(task).__name__ == "InferMnasnet" and isinstance(task, dataprocess.CClassificationTask)
    info = ik_registry.get_algorithm_info(PLUGIN)
    assert info.min_ikomia_version == "0.16.0" and info.name == PLUGIN
    assert (link / info.icon_path).is_file()


@pytest.mark.slow
def test_whole_image_confidences_equal_the_softmax_of_the_core_logits(imagenet_half):
    workflow, task = new_task({"model_name": "mnasnet0_5"})
    photo = data.chelsea()
    workflow.run_on(array=photo)
    names, confidences = whole_image_results(task)

    expected = core_probabilities(imagenet_half, photo, 224)
    order = np.argsort(-expected, kind="stable")
    assert len(confidences) == 1000 and expected.max() > 0.01  # a peaked, non-trivial prediction
    np.testing.assert_allclose(confidences, expected[order], rtol=0, atol=1e-6)
    categories = imagenet_categories()
    assert names[:5] == [categories[i] for i in order[:5]]
    assert np.all(np.diff(confidences) <= 0)  # sorted by confidence


def test_confidence_texts_give_every_float32_back_exactly():
    probabilities = np.random.default_rng(0).dirichlet(np.ones(1000)).astype(np.float32)
    probabilities[:3] = [1.0, 0.0, np.float32(1e-30)]
    texts = confidence_texts(probabilities.tolist())
    assert len(texts) == 1000 and np.array_equal(np.array(texts, dtype=np.float32), probabilities)
    assert confidence_texts([]) == []


class FixedBoxes(dataprocess.CObjectDetectionTask):
    """An upstream detection task that 'detects' fixed boxes (a real Ikomia task, no model)."""

    BOXES = [(10.0, 20.0, 100.0, 80.0),      # inside the image
             (450.0, 400.0, 200.0, 200.0),   # partly outside: clipped
             (300.0, 300.0, 5.0, 5.0)]       # too small to classify: skipped

    def __init__(self):
        dataprocess.CObjectDetectionTask.__init__(self, "fixed_boxes")
        self.set_names(["thing"])

    def run(self):
        self.begin_task_run()
        self.forward_input_image(0, 0)
        for n, box in enumerate(self.BOXES):
            self.add_object(n, 0, 0.9, *box)
        self.end_task_run()


@pytest.mark.slow
def test_objects_of_an_upstream_detection_are_classified_one_by_one(small_model_file):
    path, model = small_model_file
    workflow, task = new_task({"model_weight_file": str(path)}, upstream=FixedBoxes())
    photo = data.astronaut()  # 512 x 512
    workflow.run_on(array=photo)
    objects = task.get_objects_results().get_objects()
    assert not task.get_whole_image_results()
    crops = [photo[20:100, 10:110], photo[400:512, 450:512]]
    assert len(objects) == len(crops)
    for obj, crop, box in zip(objects, crops, FixedBoxes.BOXES):
        expected = core_probabilities(model, crop, 32)
        assert obj.label == SMALL_CLASSES[int(expected.argmax())]
        assert obj.confidence == pytest.approx(float(expected.max()), abs=1e-5)
        assert obj.box == pytest.approx(list(box))


@pytest.mark.slow
def test_a_parameter_change_reloads_the_model_and_nothing_else_does(small_model_file, imagenet_half):
    path, _ = small_model_file
    workflow, task = new_task({"model_weight_file": str(path)})
    workflow.run_on(array=data.coffee())
    workflow.run_on(array=data.chelsea())
    task.set_parameters({"model_weight_file": str(path), "cuda": "False"})  # same values
    workflow.run_on(array=data.coffee())
    assert task.loads == 1 and task.classifier.input_size == 32

    task.set_parameters({"input_size": "64"})
    workflow.run_on(array=data.coffee())
    assert task.loads == 2 and task.classifier.input_size == 64

    task.set_parameters({"model_weight_file": "", "model_name": "mnasnet0_5", "input_size": "auto"})
    workflow.run_on(array=data.coffee())
    assert task.loads == 3 and len(task.classifier.class_names) == 1000

    # a weights file rewritten in place (e.g. by train_mnasnet) is picked up on the next run
    task.set_parameters({"model_weight_file": str(path)})
    workflow.run_on(array=data.coffee())
    retrained = randomize_(create_model("mnasnet_small", num_classes=3, input_size=32), seed=99)
    save_model_file(path, retrained, class_names=["x", "y", "z"], input_size=32)
    os.utime(path, ns=(1, 1))  # a different mtime even on coarse-grained file systems
    workflow.run_on(array=data.coffee())
    assert task.loads == 5 and sorted(whole_image_results(task)[0]) == ["x", "y", "z"]


@pytest.mark.slow
def test_top_k_publishes_the_most_probable_classes_without_reloading(imagenet_half):
    workflow, task = new_task({"model_name": "mnasnet0_5"})
    photo = data.chelsea()
    workflow.run_on(array=photo)
    names, confidences = whole_image_results(task)
    assert len(names) == 1000 and task.get_parameters()["top_k"] == "all"
    task.set_parameters({"top_k": "5"})
    workflow.run_on(array=photo)
    top_names, top_confidences = whole_image_results(task)
    assert top_names == names[:5] and task.loads == 1  # only what is published changed
    np.testing.assert_array_equal(top_confidences, confidences[:5])
    with pytest.raises(RuntimeError, match=r"top_k must be an integer >= 1 and <= 100000 \(or all\), got -2"):
        task.set_parameters({"top_k": "-2"})
    task.set_parameters({"top_k": "all"})
    workflow.run_on(array=photo)
    assert len(task.get_whole_image_results()) == 1000 and task.loads == 1


@pytest.mark.slow
def test_model_weight_file_alone_is_enough(small_model_file):
    path, model = small_model_file
    workflow, task = new_task({"model_weight_file": str(path)})
    photo = data.coffee()
    workflow.run_on(array=photo)
    names, confidences = whole_image_results(task)
    expected = core_probabilities(model, photo, 32)
    assert names == [SMALL_CLASSES[i] for i in np.argsort(-expected, kind="stable")]
    np.testing.assert_allclose(confidences, np.sort(expected)[::-1], atol=1e-6)
    assert task.get_parameters()["input_size"] == "auto" and task.classifier.input_size == 32


@pytest.mark.slow
def test_grey_rgba_and_16_bit_images_are_converted(small_model_file):
    path, model = small_model_file
    workflow, task = new_task({"model_weight_file": str(path)})
    photo, grey = data.chelsea(), data.camera()
    cases = [(grey, np.dstack([grey] * 3), 1e-6),
             (grey[:, :, None], np.dstack([grey] * 3), 1e-6),
             (np.dstack([photo, np.full(photo.shape[:2], 128, np.uint8)]), photo, 1e-6),
             (photo.astype(np.uint16) * 257, photo, 2e-3)]  # only the resize's rounding differs
    for image, equivalent, tolerance in cases:
        workflow.run_on(array=image)
        names, confidences = whole_image_results(task)
        expected = core_probabilities(model, equivalent, 32)
        got = dict(zip(names, confidences))
        np.testing.assert_allclose([got[name] for name in SMALL_CLASSES], expected, atol=tolerance)


def _write(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


BAD_PARAMS = {
    "missing weights file": (lambda tmp, _: {"model_weight_file": str(tmp / "absent.pt")},
                             r"model_weight_file '.*absent\.pt' does not exist"),
    "corrupt weights file": (lambda tmp, _: {"model_weight_file": _write(tmp / "bad.pt", b"\x00junk")},
                             r"model_weight_file '.*bad\.pt' is not a readable PyTorch checkpoint"),
    "weights for another variant": (
        lambda tmp, _: {"model_name": "mnasnet1_0", "model_weight_file": str(save_state_dict(
            torchvision_mnasnet("mnasnet0_5"), tmp / "half.pth"))},
        r"weights are for a different architecture: .*'layers\.0\.weight' has shape \(16, 3, 3, 3\) "
        r"where mnasnet1_0 .* \(32, 3, 3, 3\)"),
    "class file with the wrong line count": (
        lambda tmp, model_file: {"model_weight_file": str(model_file),
                                 "class_file": str(write_class_file(tmp / "two.txt", ["a", "b"]))},
        r"class_file '.*two\.txt' has 2 class names .* head has 3 classes"),
    "ImageNet weights not in the hub cache": (
        lambda tmp, _: {"model_name": "mnasnet1_3"},
        r"ImageNet weights for mnasnet1_3 not found: looked for .*torch-home/hub/checkpoints/"
        r"mnasnet1_3-a4c69d6f\.pth"),
    "A1 with timm's weights missing": (lambda tmp, _: {"model_name": "mnasnet_a1"},
                                       r"ImageNet weights for mnasnet_a1 not found: looked for "
                                       r".*torch-home/hub/checkpoints/mnasnet_a1-d9418771\.pth"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(BAD_PARAMS))
def test_bad_weights_parameters_fail_clearly_and_the_workflow_recovers(case, tmp_path, torch_home,
                                                                      small_model_file):
    path, model = small_model_file
    make_params, message = BAD_PARAMS[case]
    workflow, task = new_task({"model_weight_file": str(path)})
    workflow.run_on(array=data.coffee())  # a good model is loaded first
    task.set_parameters({"model_weight_file": "", "class_file": "", **make_params(tmp_path, path)})
    with pytest.raises(RuntimeError, match=message):
        workflow.run_on(array=data.coffee())
    assert task.classifier is None  # never a stale model after a failed load

    task.set_parameters({"model_name": "mnasnet1_0", "model_weight_file": str(path), "class_file": ""})
    workflow.run_on(array=data.chelsea())
    names, confidences = whole_image_results(task)
    expected = core_probabilities(model, data.chelsea(), 32)
    assert names[0] == SMALL_CLASSES[int(expected.argmax())]
    assert confidences[0] == pytest.approx(float(expected.max()), abs=1e-6)


@pytest.mark.parametrize("image, message", [
    (np.zeros((1, 1, 3), np.uint8), "input image is 1x1 pixels: expected at least 8x8"),
    (np.zeros((0, 0, 3), np.uint8), r"input image is empty \(shape \(0, 0, 3\)\)"),
    (np.zeros((32, 32, 3), np.float32), "input image has dtype float32: expected uint8"),
])
@pytest.mark.slow
def test_bad_images_fail_clearly_and_the_workflow_recovers(image, message, small_model_file):
    path, model = small_model_file
    workflow, task = new_task({"model_weight_file": str(path)})
    with pytest.raises(RuntimeError, match=message):
        workflow.run_on(array=image)
    workflow.run_on(array=data.coffee())
    _, confidences = whole_image_results(task)
    assert confidences[0] == pytest.approx(float(core_probabilities(model, data.coffee(), 32).max()),
                                           abs=1e-6)
    assert task.loads == 1


def test_bad_parameter_values_are_refused_and_leave_the_parameters_intact(small_model_file):
    path, _ = small_model_file
    _, task = new_task({"model_weight_file": str(path)})
    before = task.get_parameters()
    for bad, message in [({"input_size": "big"}, r"input_size must be an integer \(or auto\), got 'big'"),
                         ({"input_size": "4"}, r"input_size must be an integer >= 8 and <= 1024 \(or auto\), got 4"),
                         ({"model_name": "mnasnet9", "input_size": "64"}, "model_name must be one of .*'mnasnet9'"),
                         ({"cuda": "maybe"}, "cuda must be True or False")]:
        with pytest.raises(RuntimeError, match=message):
            task.set_parameters(bad)
        assert task.get_parameters() == before


def test_widget_edits_the_parameters(small_model_file):
    from PyQt6.QtWidgets import QApplication

    from infer_mnasnet.infer_mnasnet import IkomiaPlugin

    app = QApplication.instance() or QApplication([])
    plugin = IkomiaPlugin()
    param = plugin.get_param_factory().create()
    widget = plugin.get_widget_factory().create(param)
    controls = widget.form.controls  # the form of mnas_ikomia.widgets (tests/test_widgets.py)
    assert controls["input_size"].spin.text() == "auto"
    controls["model_name"].combo.setCurrentText("mnasnet_a1")
    controls["input_size"].spin.setValue(96)
    controls["model_weight_file"].edit.setText(str(small_model_file[0]))
    controls["cuda"].check.setChecked(False)
    assert controls["backend"].combo.currentText() == "auto" and controls["threads"].spin.text() == "auto"
    controls["backend"].combo.setCurrentText("onnxruntime")
    controls["threads"].spin.setValue(2)
    assert controls["top_k"].spin.text() == "all"
    controls["top_k"].spin.setValue(5)
    widget.on_apply()
    assert param.get_values() == {"model_name": "mnasnet_a1", "input_size": "96",
                                  "model_weight_file": str(small_model_file[0]), "class_file": "",
                                  "cuda": "False", "backend": "onnxruntime", "int8": "False",
                                  "calibration_folder": "", "threads": "2", "top_k": "5"}
    assert param.update
    assert app is not None


@pytest.mark.slow
def test_main_job_says_where_weights_were_looked_for_then_classifies_when_they_are_there(
        torch_home, capsys):
    from mnas_ikomia.main import main as main_job

    assert main_job(["--no-summary", "--no-pipeline"]) == 0
    out = capsys.readouterr().out
    assert "Sample photos not classified" in out
    for name in ("mnasnet1_0", "mnasnet1_3", "mnasnet0_75", "mnasnet0_5"):
        assert str(imagenet_checkpoint_path(name)) in out

    save_state_dict(torchvision_mnasnet("mnasnet0_5", seed=2), imagenet_checkpoint_path("mnasnet0_5"))
    assert main_job(["--no-summary", "--no-pipeline", "--top-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "weights " + str(imagenet_checkpoint_path("mnasnet0_5")) in lines[0]
    photo_lines = [line.split() for line in lines[1:]]
    assert [words[0] for words in photo_lines] == ["chelsea", "astronaut", "coffee", "rocket"]
    assert all(words[-1].endswith("%") for words in photo_lines)


@pytest.mark.slow
def test_cuda_falls_back_to_the_cpu_when_no_gpu_is_there(small_model_file, caplog):
    path, _ = small_model_file
    workflow, task = new_task({"model_weight_file": str(path), "cuda": "True"})
    workflow.run_on(array=data.coffee())
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert task.classifier.device.type == expected and task.get_whole_image_results()
    if expected == "cpu":
        assert "no CUDA device is available: running on the CPU" in caplog.text
