"""The Ikomia HUB MnasNet tasks' parameters, given to ours in real workflows, with the HUB's meaning.

train_torchvision_mnasnet: model_name "mnasnet" (torchvision mnasnet1_0), use_pretrained, feature_extract
(train the head on the ImageNet backbone), export_pth (save a .pth). infer_torchvision_mnasnet:
model_path (the weights file), classes_path / class_file, dataset ImageNet or Custom. Typos get the right
"did you mean", another task's parameter gets a note, and every error names parameters the task has.
ImageNet weights are torchvision checkpoints with random weights placed in a private torch hub cache,
where the real loading path looks.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from ikomia.dataprocess.workflow import Workflow
from skimage import data

from helpers import train_workflow
from mnas.data.splits import link_subset
from mnas.models import create_model, variant_arch
from mnas.weights.convert import convert_torchvision_state_dict
from mnas.weights.model_file import load_model_file
from mnas.weights.published import imagenet_checkpoint_path
from weights_helpers import save_state_dict, torchvision_mnasnet

CLASSES = ["automobile", "frog", "ship"]
pytestmark = pytest.mark.usefixtures("one_thread")

# train_torchvision_mnasnet's own defaults, as a HUB user's script sets them (input_size 32 for speed)
HUB_TRAIN = {"model_name": "mnasnet", "batch_size": "8", "epochs": "1", "learning_rate": "0.001",
             "momentum": "0.9", "weight_decay": "1e-4", "num_workers": "0", "input_size": "32",
             "use_pretrained": "True", "feature_extract": "True", "export_pth": "True", "export_onnx": "False"}


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty private torch hub cache (downloads are off in the tests: MNAS_OFFLINE=1)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home"


@pytest.fixture(scope="module")
def cifar3(cifar10_root, tmp_path_factory):
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar3"),
                       {"train": ("train", 0, 40), "test": ("test", 0, 10)}, CLASSES)



def infer_workflow(params):
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"cuda": "False", "backend": "torch", **params})
    return workflow, task


# ---------------------------------------------------------------------------------------------- train

def test_the_hub_trainers_parameters_fine_tune_the_head_of_the_imagenet_backbone(cifar3, torch_home,
                                                                                  mlflow_file_store, tmp_path):
    reference = torchvision_mnasnet("mnasnet1_0", seed=3)  # the HUB's "mnasnet": torchvision mnasnet1_0
    save_state_dict(reference, imagenet_checkpoint_path("mnasnet1_0"))
    output = tmp_path / "run"
    workflow, task = train_workflow(cifar3, {**HUB_TRAIN, "output_folder": str(output)})
    params = task.get_parameters()
    assert {key: params[key] for key in ("model_name", "pretrained", "freeze_backbone", "batch_size",
                                         "learning_rate")} == {
        "model_name": "mnasnet1_0", "pretrained": "True", "freeze_backbone": "True", "batch_size": "8",
        "learning_rate": "0.001"}
    assert not {"use_pretrained", "feature_extract", "export_pth"} & set(params)  # read as ours, not kept

    workflow.run()

    model, meta = load_model_file(output / "model.pth")  # export_pth: the .pth is written
    assert meta["arch"] == variant_arch("mnasnet1_0", 32) and meta["class_names"] == CLASSES
    expected = convert_torchvision_state_dict(reference.state_dict(), create_model("mnasnet1_0"))
    trained = model.state_dict()
    for key, value in trained.items():  # feature_extract: the ImageNet backbone untouched, BN included
        if key.startswith("features."):
            assert torch.equal(value, expected[key]), key
    assert trained["classifier.weight"].shape == (3, 1280)
    assert task.outcome.result.history[0].train_loss > 0


def test_a_missing_imagenet_file_says_what_train_mnasnet_can_do_instead(cifar3, torch_home, mlflow_file_store,
                                                                       tmp_path):
    output = tmp_path / "run"
    workflow, task = train_workflow(cifar3, {**HUB_TRAIN, "output_folder": str(output)})
    with pytest.raises(RuntimeError, match="ImageNet weights for mnasnet1_0 not found") as caught:
        workflow.run()
    message = str(caught.value)
    assert "turn pretrained off to train from scratch" in message
    assert "model_weight_file" not in message  # an infer_mnasnet parameter: train_mnasnet has none
    assert not output.exists()


def test_export_pth_false_is_said_not_to_be_followed_and_a_bad_value_is_refused(mlflow_file_store):
    _, task = train_workflow("", {})
    with pytest.warns(UserWarning, match="export_pth=False is not followed: model.pth is always written"):
        task.set_parameters({"export_pth": "False"})
    before = task.get_parameters()
    with pytest.raises(ValueError, match="export_pth must be True or False, got 'sometimes'"):
        task.set_parameters({"export_pth": "sometimes"})
    with pytest.raises(ValueError, match=r"use_pretrained \(read as pretrained\) is 'True' but pretrained is "
                                         "'False': give one of them"):
        task.set_parameters({"use_pretrained": "True", "pretrained": "False"})
    assert task.get_parameters() == before


@pytest.mark.parametrize("task_name, key, expected", [
    ("train_mnasnet", "feature_extrct", "(did you mean 'freeze_backbone'?)"),   # near the HUB's name: ours
    ("train_mnasnet", "use_pretrain", "(did you mean 'pretrained'?)"),
    ("train_mnasnet", "freeze", "(did you mean 'freeze_backbone'?)"),
    ("train_mnasnet", "model_path", "(an infer_mnasnet parameter: train_mnasnet trains model_name"),
    ("train_mnasnet", "model_weight_file", "(an infer_mnasnet parameter"),
    ("infer_mnasnet", "model_pth", "(did you mean 'model_weight_file'?)"),
    ("infer_mnasnet", "classes_pth", "(did you mean 'class_file'?)"),
])
def test_hints_point_at_the_parameter_meant(task_name, key, expected, mlflow_file_store):
    task = Workflow().add_task(name=task_name, auto_connect=True)
    with pytest.raises(ValueError, match=f"unknown {task_name} parameter.*'{key}' ") as caught:
        task.set_parameters({key: "1"})
    message = str(caught.value)
    assert expected in message
    listed = message.split("expected some of ")[1].split(", ")
    assert set(listed) == set(task.get_parameters())  # only the task's own parameters are offered


@pytest.mark.parametrize("task_name, key, wrong", [
    ("train_mnasnet", "weights", "weight_decay"),         # infer_mnasnet's earlier name: nothing here
    ("search_mini", "pretrained", "train_threads"),
    ("search_mini", "feature_extract", "learning_rate"),  # what train_mnasnet answered before
    ("search_mini", "model_path", "model_name"),
])
def test_a_key_near_nothing_meant_gets_no_hint_rather_than_a_wrong_one(task_name, key, wrong,
                                                                        mlflow_file_store):
    task = Workflow().add_task(name=task_name, auto_connect=True)
    with pytest.raises(ValueError, match=f"unknown {task_name} parameter.*'{key}'") as caught:
        task.set_parameters({key: "1"})
    assert "did you mean" not in str(caught.value) and f"'{wrong}'?" not in str(caught.value)


# ---------------------------------------------------------------------------------------------- infer

def test_the_hub_inference_parameters_give_the_same_results_as_ours(tmp_path, torch_home):
    weights = save_state_dict(torchvision_mnasnet("mnasnet1_0", seed=7), tmp_path / "mnasnet_custom.pth")
    image = np.ascontiguousarray(data.chelsea())
    hub_workflow, hub = infer_workflow({"model_name": "mnasnet", "dataset": "Custom", "model_path": str(weights),
                                        "input_size": "224"})
    ours_workflow, ours = infer_workflow({"model_name": "mnasnet1_0", "model_weight_file": str(weights),
                                          "input_size": "224"})
    assert hub.get_parameters() == ours.get_parameters()
    hub_workflow.run_on(array=image)
    ours_workflow.run_on(array=image)
    assert hub.get_whole_image_results() == ours.get_whole_image_results()
    assert len(hub.get_whole_image_results()) == 1000  # ImageNet's classes: a 1000-class state dict

    # dataset ImageNet: the variant's ImageNet weights, the weights file cleared (none here, offline)
    hub.set_parameters({"dataset": "ImageNet"})
    assert hub.get_parameters()["model_weight_file"] == ""
    with pytest.raises(RuntimeError, match="ImageNet weights for mnasnet1_0 not found.*give model_weight_file"):
        hub_workflow.run_on(array=image)


def test_hub_inference_switches_are_checked(tmp_path):
    _, task = infer_workflow({})
    before = task.get_parameters()
    with pytest.raises(ValueError, match="dataset 'Custom' needs your model's weights file: set "
                                         "model_weight_file"):
        task.set_parameters({"dataset": "Custom"})
    with pytest.raises(ValueError, match="dataset must be ImageNet or Custom .*got 'COCO'"):
        task.set_parameters({"dataset": "COCO"})
    with pytest.raises(ValueError, match="dataset 'ImageNet' sets model_weight_file to '', but "
                                         "model_weight_file is given as"):
        task.set_parameters({"dataset": "ImageNet", "model_path": str(tmp_path / "m.pth")})
    assert task.get_parameters() == before
    classes = tmp_path / "classes.txt"
    task.set_parameters({"classes_path": str(classes), "model_name": "MnasNet"})
    assert task.get_parameters()["class_file"] == str(classes)
    assert task.get_parameters()["model_name"] == "mnasnet1_0"
    deprecated = r"parameter 'weights' is deprecated \(removed in 1.0\): use 'model_weight_file'"
    with pytest.warns(FutureWarning, match=deprecated):
        task.set_parameters({"weights": str(tmp_path / "w.pth")})  # our own earlier name, in the task too
    assert task.get_parameters()["model_weight_file"] == str(tmp_path / "w.pth")
