"""search_mini -> train_mnasnet -> infer_mnasnet wired in one Ikomia workflow through task outputs, as a
STUDIO user connects them: the best architecture travels as search_mini's output 2 (a file path) into
train_mnasnet's input 1, the trained model file as train_mnasnet's output 0 into infer_mnasnet's
input 2. No string is copied by hand."""

from __future__ import annotations

import numpy as np
import pytest
from ikomia.core import IODataType
from ikomia.dataprocess import CImageIO, CPathIO
from ikomia.dataprocess.workflow import Workflow
from skimage import data

from mnas.data.splits import link_subset
from mnas.weights.model_file import load_model_file

pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]  # the whole file: see tests/README.md


def test_search_train_infer_chain_through_task_outputs(cifar10_root, tmp_path, mlflow_file_store):
    folder = link_subset(cifar10_root, tmp_path / "data", {"train": ("train", 0, 30), "test": ("test", 0, 6)},
                         ["cat", "ship"])
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(folder)))       # global input 0: the dataset
    workflow.add_input(CImageIO(IODataType.IMAGE))                          # global input 1: a photo
    root = workflow.get_task(workflow.get_root_id())
    search = workflow.add_task(name="search_mini", auto_connect=True)
    search.set_parameters({"budget_children": "2", "train_images": "20", "val_images": "10",
                           "baseline_widths": "0.5", "target_latency_ms": "0",
                           "output_folder": str(tmp_path / "search")})
    train = workflow.add_task(name="train_mnasnet")
    workflow.connect_tasks(root, train, [(0, 0)])
    workflow.connect_tasks(search, train, [(2, 1)])                         # best architecture file
    train.set_parameters({"input_size": "32", "epochs": "1", "batch_size": "16",
                          "output_folder": str(tmp_path / "train")})
    infer = workflow.add_task(name="infer_mnasnet")
    workflow.connect_tasks(root, infer, [(1, 0)])
    workflow.connect_tasks(train, infer, [(0, 2)])                          # trained model file
    infer.set_parameters({"cuda": "False"})
    workflow.set_image_input(array=np.ascontiguousarray(data.chelsea()), index=1)
    workflow.run()

    arch_file = search.get_output(2).get_path()
    best_arch = search.get_output(0).get_value_list(0)[0]
    assert open(arch_file).read().strip() == best_arch
    model_file = train.get_output(0).get_path()
    model, payload = load_model_file(model_file)
    assert model.arch == best_arch                      # trained what the search found
    assert train.get_parameters()["arch"] == ""          # from the input, not a parameter copied by hand
    results = infer.get_whole_image_results()
    assert {name for name, _ in results} == {"cat", "ship"}   # the trained model's classes
    assert infer.get_parameters()["model_weight_file"] == model_file


def test_a_missing_architecture_file_on_input_1_is_a_clear_error(tmp_path, cifar10_root, mlflow_file_store):
    folder = link_subset(cifar10_root, tmp_path / "data", {"train": ("train", 0, 4)}, ["cat", "ship"])
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(folder)))
    train = workflow.add_task(name="train_mnasnet", auto_connect=True)
    train.get_input(1).set_path(str(tmp_path / "nowhere.txt"))
    train.set_parameters({"input_size": "32", "epochs": "1", "output_folder": str(tmp_path / "t")})
    with pytest.raises(RuntimeError, match=r"input 1 \(architecture file\) .*nowhere\.txt.* does not exist"):
        workflow.run()
    assert not (tmp_path / "t").exists()
