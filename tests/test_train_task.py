"""train_mnasnet through the real Ikomia registry and workflow, MLflow into a file:// store; the CLI."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from ikomia.dataprocess.workflow import Workflow

from helpers import TINY_ARCH, no_server_left, train_workflow
from mnas.__main__ import main as mnas_main
from mnas.data.splits import link_subset, load_folder_dataset
from mnas.models import variant_arch
from mnas.weights.classes import read_class_file
from mnas.weights.model_file import load_model_file

CLASSES = ["automobile", "frog", "ship"]
FAST = {"arch": TINY_ARCH, "input_size": "32", "batch_size": "32", "epochs": "1"}
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar3(cifar10_root, tmp_path_factory):
    """A real CIFAR-10 subset in the Ikomia layout: 3 classes, 60 train + 20 test images each."""
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar3"),
                       {"train": ("train", 0, 60), "test": ("test", 0, 20)}, CLASSES)



def mlflow_runs(store):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(store.resolve().as_uri())
    experiments = [e.experiment_id for e in client.search_experiments()]
    return client, client.search_runs(experiments, order_by=["attributes.start_time ASC"])


def infer_top1(model_file, images, labels, class_names):
    """Accuracy of infer_mnasnet given nothing but model_weight_file, one workflow run per image."""
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"model_weight_file": str(model_file), "cuda": "False"})
    hits = 0
    for image, label in zip(images, labels):
        workflow.run_on(array=np.ascontiguousarray(image))
        best_name = task.get_whole_image_results()[0][0]
        hits += best_name == class_names[label]
    return hits / len(labels)


@pytest.mark.slow
def test_task_trains_logs_to_mlflow_and_infer_mnasnet_reproduces_its_accuracy(
        cifar3, mlflow_file_store, tmp_path):
    output = tmp_path / "out"
    workflow, task = train_workflow(cifar3, {"model_name": "mnasnet0_5", "input_size": "32",
                                             "epochs": "2", "batch_size": "32", "learning_rate": "0.05",
                                             "output_folder": str(output), "export_onnx": "True"})
    workflow.run()

    result = task.outcome.result
    assert [s.epoch for s in result.history] == [1, 2] and not result.stopped
    assert {p.name for p in output.iterdir()} == {"model.pth", "last.pth", "classes.txt", "model.onnx",
                                                   "history.json", "curves.png", "split.json", "evaluation",
                                                   "checkpoints"}
    assert read_class_file(output / "classes.txt") == CLASSES
    history = json.loads((output / "history.json").read_text())
    assert [h["top1"] for h in history["history"]] == [s.top1 for s in result.history]

    # every epoch's metrics, read back from the file store
    client, runs = mlflow_runs(mlflow_file_store)
    assert len(runs) == 1 and runs[0].info.status == "FINISHED"
    run_id = runs[0].info.run_id
    for key in ("train_loss", "val_loss", "top1", "top5", "lr", "epoch_time_s", "images_per_s"):
        logged = client.get_metric_history(run_id, key)
        assert [m.step for m in sorted(logged, key=lambda m: m.step)] == [1, 2], key
    top1 = {m.step: m.value for m in client.get_metric_history(run_id, "top1")}
    assert top1 == {s.epoch: pytest.approx(s.top1) for s in result.history}
    per_class = {name: runs[0].data.metrics[f"class_top1/{name}"] for name in CLASSES}
    assert per_class == pytest.approx(result.per_class_accuracy)
    assert runs[0].data.params["model_name"] == "mnasnet0_5"
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"model.pth", "classes.txt"} <= artifacts

    # the model file alone rebuilds the model; infer_mnasnet gets the trainer's validation accuracy
    model, meta = load_model_file(output / "model.pth")
    assert meta["class_names"] == CLASSES and meta["input_size"] == 32
    assert meta["arch"] == model.arch == variant_arch("mnasnet0_5", 32)
    _, val, _ = load_folder_dataset(cifar3, image_size=32)
    reported = result.final.top1
    assert meta["metadata"]["val_top1"] == reported
    assert infer_top1(output / "model.pth", val.images.numpy(), val.labels.tolist(), CLASSES) == \
        pytest.approx(reported, abs=0.005)
    assert no_server_left()


def test_stop_mid_epoch_keeps_the_last_finished_epoch(cifar3, mlflow_file_store, tmp_path):
    output = tmp_path / "out"
    workflow, task = train_workflow(cifar3, {**FAST, "epochs": "200", "output_folder": str(output)})
    checkpoint = output / "checkpoints" / "last.pt"

    def stop_once_an_epoch_is_saved():
        deadline = time.monotonic() + 120
        while not checkpoint.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        task.stop()

    stopper = threading.Thread(target=stop_once_an_epoch_is_saved)
    stopper.start()
    workflow.run()
    stopper.join()
    result = task.outcome.result
    assert result.stopped and 1 <= len(result.history) < 200
    saved = torch.load(checkpoint, weights_only=True)
    assert saved["epoch"] == len(result.history)
    model, meta = load_model_file(output / "model.pth")
    assert meta["metadata"]["stopped"] and meta["metadata"]["epochs_done"] == saved["epoch"]
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved["model"][key]), key


def test_resume_continues_the_run_in_output_folder(cifar3, mlflow_file_store, tmp_path):
    output = tmp_path / "out"
    workflow, task = train_workflow(cifar3, {**FAST, "output_folder": str(output)})
    workflow.run()
    task.set_parameters({"epochs": "2", "resume": "True"})
    workflow.run()
    assert [s.epoch for s in task.outcome.result.history] == [1, 2]
    client, runs = mlflow_runs(mlflow_file_store)
    steps = [m.step for m in client.get_metric_history(runs[-1].info.run_id, "top1")]
    assert steps == [2]  # the resumed run trained (and logged) only the missing epoch


def _dataset(root, classes=CLASSES, splits=("train", "val"), per_class=3):
    from PIL import Image

    for split in splits:
        for c, name in enumerate(classes):
            (root / split / name).mkdir(parents=True, exist_ok=True)
            for n in range(per_class):
                image = Image.fromarray(np.full((32, 32, 3), 50 * c + n, np.uint8))
                image.save(root / split / name / f"{n}.png")
    return root


def _break(kind, root):
    if kind == "missing":
        return root / "nowhere"
    if kind == "no_train":
        return _dataset(root, splits=("val",))
    if kind == "no_classes":
        (root / "train").mkdir(parents=True)
        return root
    if kind == "one_class":
        return _dataset(root, classes=["cat"])
    if kind == "empty_class":
        _dataset(root)
        for path in (root / "val" / "frog").iterdir():
            path.unlink()
        return root
    if kind == "class_mismatch":
        _dataset(root, splits=("train",))
        return _dataset(root, classes=CLASSES[:2], splits=("val",))
    if kind == "all_corrupt":
        _dataset(root)
        for path in (root / "train" / "ship").iterdir():
            path.write_bytes(b"not an image")
        return root
    raise AssertionError(kind)


@pytest.mark.parametrize("kind, message", [
    ("missing", "does not exist"),
    ("no_train", "no train/ subfolder"),
    ("no_classes", "no class folders"),
    ("one_class", "one class folder"),
    ("empty_class", "'frog'.*hold no files"),
    ("class_mismatch", "different classes"),
    ("all_corrupt", "no readable image left in class folder.*'ship'"),
])
def test_bad_datasets_fail_before_training_and_write_nothing(kind, message, mlflow_file_store, tmp_path):
    output = tmp_path / "out"
    workflow, task = train_workflow(_break(kind, tmp_path / "data"), {**FAST, "output_folder": str(output)})
    with pytest.raises(RuntimeError, match=message):
        workflow.run()
    assert not output.exists()
    _, runs = mlflow_runs(mlflow_file_store)
    assert all(run.info.status == "FAILED" for run in runs)


def test_bad_parameters_are_refused_by_name_and_the_workflow_stays_usable(cifar3, mlflow_file_store,
                                                                          tmp_path):
    output = tmp_path / "out"
    workflow, task = train_workflow(cifar3, {**FAST, "output_folder": str(output)})
    for params, message in [
        ({"arch": "r1_k3_s22_e1_i3_o16_conv, r2_k4_s22_e6_i16_o24"},
         "block 1 'r2_k4_s22_e6_i16_o24': kernel must be odd"),
        ({"arch": "r1_k3_s22_e1_i3_o16_conv, r2_k3_s22_e6_i24_o24"}, "input channels i24"),
        ({"arch": "", "model_name": "resnet50"}, "model_name 'resnet50' is not a MnasNet variant"),
        ({"freeze_backbone": "True"}, "freeze_backbone needs pretrained"),
        ({"epochs": "ten"}, "epochs must be an integer"),
        ({"optimizer": "adam"}, "optimizer must be one of sgd, rmsprop"),
        ({"batch_size": "1"}, "batch_size must be"),
        ({"export_onnx": "maybe"}, "export_onnx must be True or False"),
    ]:
        with pytest.raises(Exception, match=message):
            task.set_parameters(params)
    assert task.get_parameters()["arch"] == TINY_ARCH  # the old values are intact
    # ImageNet weights absent offline: a clear error naming where they were looked for
    task.set_parameters({"arch": "", "model_name": "mnasnet0_5", "pretrained": "True"})
    with pytest.raises(RuntimeError, match="ImageNet weights for mnasnet0_5 not found.*hub/checkpoints"):
        workflow.run()
    assert not output.exists()
    task.set_parameters({"arch": TINY_ARCH, "pretrained": "False"})
    workflow.run()
    assert (output / "model.pth").is_file()
    assert no_server_left()


def test_cli_trains_and_exports_onnx_that_matches_torch(cifar3, tmp_path, capsys):
    import onnxruntime as ort

    output = tmp_path / "cli"
    code = mnas_main(["train", "--data", str(cifar3), "--arch", TINY_ARCH, "--epochs", "1",
                      "--batch-size", "32", "--output", str(output), "--export-onnx", "--threads", "1"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "epoch 1/1" in printed and "model:" in printed
    model, meta = load_model_file(output / "model.pth")
    images = torch.rand(4, 3, 32, 32)
    with torch.no_grad():
        expected = model(images).numpy()
    session = ort.InferenceSession(str(output / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(None, {"input": images.numpy()})[0]
    np.testing.assert_allclose(logits, expected, atol=1e-4)

    assert mnas_main(["train", "--data", str(tmp_path / "nowhere"), "--output", str(tmp_path / "x")]) == 2
    assert "does not exist" in capsys.readouterr().err and not (tmp_path / "x").exists()


def test_widget_form_round_trips_the_parameters():
    from PyQt6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from train_mnasnet.train_mnasnet import IkomiaPlugin
    from train_mnasnet.train_mnasnet_process import TrainMnasnetParam

    param = TrainMnasnetParam()
    param.set_values({"arch": TINY_ARCH, "epochs": "7", "optimizer": "rmsprop", "val_fraction": "0.2"})
    widget = IkomiaPlugin().get_widget_factory().create(param)
    assert widget.values() == {**param.get_values(), "val_fraction": "0.2"}
    widget.form.controls["epochs"].spin.setValue(3)  # mnas_ikomia.widgets form
    widget.on_apply()
    assert param.get_values()["epochs"] == "3" and param.update
    assert app is not None


@pytest.mark.slow
def test_fine_tuning_pretrained_weights_takes_the_hub_defaults_keeps_the_best_epoch_and_logs_tensorboard(
        cifar10_root, mlflow_file_store, tmp_path, monkeypatch):
    """ImageNet-shaped weights (torchvision's MnasNet 0.5 layout, random values) placed where torchvision's
    loader looks; fine-tuning with batch_size and learning_rate left to auto."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from mnas.train.engine import best_of
    from mnas.weights.published import imagenet_checkpoint_path
    from weights_helpers import save_state_dict, torchvision_mnasnet

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.manual_seed(4)  # torchvision's initialisation of the convolutions (randomize_ perturbs the rest)
    save_state_dict(torchvision_mnasnet("mnasnet0_5", seed=1), imagenet_checkpoint_path("mnasnet0_5"))
    data = link_subset(cifar10_root, tmp_path / "data", {"train": ("train", 0, 16), "test": ("test", 0, 8)}, CLASSES)
    output = tmp_path / "out"
    workflow, task = train_workflow(data, {"model_name": "mnasnet0_5", "pretrained": "True", "input_size": "32",
                                             "epochs": "3", "output_folder": str(output)})
    workflow.run()

    outcome = task.outcome
    assert outcome.auto_values == {"batch_size": 8, "learning_rate": 0.001}  # input_size was given
    history = outcome.result.history
    best = best_of(history)
    model, meta = load_model_file(output / "model.pth")
    last_model, last_meta = load_model_file(output / "last.pth")
    assert meta["metadata"]["config"]["batch_size"] == 8 and meta["metadata"]["config"]["learning_rate"] == 0.001
    assert meta["metadata"]["pretrained_weights"] is not None
    assert meta["metadata"]["kept"] == "best" and meta["metadata"]["kept_epoch"] == best.epoch
    assert meta["metadata"]["val_top1"] == best.top1
    assert last_meta["metadata"]["kept_epoch"] == 3 and last_meta["metadata"]["val_top1"] == history[-1].top1
    # with these weights and data (one thread) validation top-1 peaks at epoch 2 of 3: model.pth holds that
    # epoch (best.pt's weights), last.pth the third (the resume checkpoint's)
    assert best.epoch < history[-1].epoch
    saved_best = torch.load(output / "checkpoints" / "best.pt", weights_only=True)
    saved_last = torch.load(output / "checkpoints" / "last.pt", weights_only=True)
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved_best["model"][key]), key
        assert torch.equal(last_model.state_dict()[key], saved_last["model"][key]), key
    assert not all(torch.equal(v, last_model.state_dict()[k]) for k, v in model.state_dict().items())
    recorded = json.loads((output / "history.json").read_text())
    assert recorded["best_epoch"] == best.epoch and recorded["auto_settings"]["batch_size"] == 8

    client, runs = mlflow_runs(mlflow_file_store)
    run = runs[-1]
    assert run.data.params["batch_size"] == "auto" and run.data.params["auto/batch_size"] == "8"
    assert run.data.params["auto/learning_rate"] == "0.001"
    assert run.data.metrics["kept_epoch"] == best.epoch
    assert run.data.metrics["evaluation/top1"] == pytest.approx(outcome.evaluation["top1"]["accuracy"])
    evaluation_artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "evaluation")}
    assert {"evaluation/confusion_matrix.png", "evaluation/report.json"} <= evaluation_artifacts
    # TensorBoard: one event file beside the MLflow run, every epoch's scalars and the confusion matrix
    log_dir = run.data.tags["tensorboard_logdir"]
    assert log_dir == str(task.tensorboard.log_dir)
    events = EventAccumulator(log_dir)
    events.Reload()
    assert [(e.step, e.value) for e in events.Scalars("top1")] == [(h.epoch, pytest.approx(h.top1)) for h in history]
    assert [e.value for e in events.Scalars("best_top1")][-1] == pytest.approx(best.top1)
    assert "evaluation/confusion_matrix" in events.Tags()["images"]
    assert "evaluation/report/text_summary" in events.Tags()["tensors"]  # the per-class table

    # the report in the task's outputs: the per-class table, the accuracy table, the matrix, the dict
    report = outcome.evaluation
    per_class, accuracy = task.get_output(1), task.get_output(2)
    assert per_class.get_all_header_labels() == ["precision", "recall", "f1", "images"]
    assert per_class.get_all_label_list()[0] == CLASSES + ["macro average", "weighted average"]
    assert per_class.get_value_list(1)[:3] == pytest.approx([r["recall"] for r in report["per_class"]])
    assert accuracy.get_all_label_list()[0] == ["top-1", "top-3"]
    assert accuracy.get_value_list(0)[0] == pytest.approx(report["top1"]["accuracy"])
    assert accuracy.get_value_list(3) == [24.0, 24.0]  # how many images the figures rest on
    assert task.get_output(3).get_image().shape[2] == 3
    assert task.get_output(4).data["top1"] == report["top1"] and "predictions" not in task.get_output(4).data
    assert no_server_left()


def test_an_explicit_value_wins_over_the_fine_tuning_default():
    from train_mnasnet.train_mnasnet_process import DEFAULTS, job_from_values

    job = job_from_values({**DEFAULTS, "pretrained": "True", "batch_size": "32"})
    assert (job.config.batch_size, job.config.learning_rate) == (32, 0.001)
    assert job.auto_values == {"input_size": 224, "learning_rate": 0.001}
    job = job_from_values({**DEFAULTS, "learning_rate": "0.2"})  # from scratch
    assert (job.config.batch_size, job.config.learning_rate) == (128, 0.2)


def test_a_flat_folder_of_class_folders_trains_on_a_seeded_held_out_split(cifar10_root, mlflow_file_store,
                                                                          tmp_path):
    flat = link_subset(cifar10_root, tmp_path / "links", {"flat": ("train", 0, 20)}, CLASSES) / "flat"
    output = tmp_path / "out"
    workflow, task = train_workflow(flat, {**FAST, "val_fraction": "0.25", "output_folder": str(output)})
    workflow.run()
    outcome = task.outcome
    assert (outcome.num_train, outcome.num_val) == (45, 15)
    split = json.loads((output / "split.json").read_text())
    assert split["layout"] == "flat" and split["validation"]["fraction"] == 0.25 and split["validation"]["seed"] == 0
    held_out = split["validation"]["files"]
    assert split["validation"]["per_class"] == {name: 5 for name in CLASSES}  # stratified
    assert sorted({f.split("/")[0] for f in held_out}) == CLASSES and len(set(held_out)) == 15
    # seeded: the same split again (a fresh listing of the folder), and the evaluation is on exactly these
    from mnas.data.splits import load_folder_dataset

    _, val, _ = load_folder_dataset(flat, image_size=32, val_fraction=0.25, seed=0)
    assert [Path(p).relative_to(flat).as_posix() for p in val.files] == held_out
    assert outcome.evaluation["predictions"]["files"] == held_out
    assert outcome.evaluation["data"]["split"].startswith("validation, held out")
    assert (output / "evaluation" / "confusion_matrix.png").is_file()
