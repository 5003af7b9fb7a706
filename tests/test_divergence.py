"""A training that diverges stops with a clear error and writes no model; non-finite weights are refused on
save, on load and by the ONNX backend check."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import TINY_ARCH, tiny_job, train_command
from mnas.__main__ import main as mnas_main
from mnas.train.config import TrainConfig
from mnas.train.engine import TrainingDiverged, divergence_limit
from mnas.train.job import TrainJob, run_training_job

CLASSES = ["cat", "ship"]  # the classes of the cifar2 fixture
pytestmark = pytest.mark.usefixtures("one_thread")


# --------------------------------------------------------------------------------------------- divergence

def test_a_diverging_training_stops_naming_epoch_and_step_and_writes_no_model(cifar2, tmp_path):
    output = tmp_path / "run"
    # lr 1e6: the loss turns NaN within the first epoch, or the weights / BN statistics overflow
    with pytest.raises(TrainingDiverged, match=r"training diverged: (the loss is (nan|inf) at epoch 1, step "
                                               r"\d+ of 2|(the weights became non-finite|the mean \w+ loss is) .* at "
                                               r"epoch 1, step \d+ of \d+)"
                                               r".*lower the learning rate, e.g. to 100000"):
        run_training_job(tiny_job(cifar2, output, learning_rate=1e6))
    assert not (output / "model.pth").exists()
    assert mnas_main(train_command(cifar2, tmp_path / "cli", "--epochs", "1", "--lr", "inf")[3:]) == 2
    with pytest.raises(ValueError, match="learning_rate must be a finite number, got inf"):
        TrainConfig(learning_rate=math.inf)


def test_a_finite_blow_up_is_divergence_too(cifar2, tmp_path):
    """lr 1e6 on MnasNet-B1 x0.5, one step: every loss stays finite (the validation loss reaches ~1e9, from 0.69), which
    used to be saved as a success; it is ten times a uniform guess's loss, so the training stops."""
    output = tmp_path / "run"
    job = TrainJob(data=str(cifar2), model="mnasnet0_5", output_folder=str(output),
                   config=TrainConfig(epochs=1, batch_size=64, input_size=32, precise_bn_images=32, learning_rate=1e6))
    with pytest.raises(TrainingDiverged, match=r"the mean (training|validation) loss is [0-9.e+]+, above 6.93 "
                                               r"\(10 x ln 2.* at epoch 1, step 1 of 1"):
        run_training_job(job)
    assert not (output / "model.pth").exists() and not (output / "history.json").exists()
    assert divergence_limit(10) == pytest.approx(10 * math.log(10))


def test_non_finite_weights_are_refused_on_save_and_on_load(tmp_path):
    from mnas.models import create_model
    from mnas.weights.loading import load_classifier_weights
    from mnas.weights.model_file import load_model_file, save_model_file

    model = create_model(TINY_ARCH, num_classes=2, input_size=32)
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite values .* 'classifier.weight'"):
        save_model_file(tmp_path / "m.pth", model, class_names=CLASSES, input_size=32)
    payload = {"format": "mnas-model/1", "arch": model.arch, "num_classes": 2, "dropout": 0.2,
               "class_names": CLASSES, "input_size": 32, "mean": [0.5] * 3, "std": [0.25] * 3,
               "metadata": {}, "state_dict": model.state_dict()}
    torch.save(payload, tmp_path / "nan.pth")  # as a diverged run of an older version wrote it
    for load in (load_model_file, lambda path: load_classifier_weights(weight_file=path)):
        with pytest.raises(ValueError, match="nan.pth' holds non-finite values .*smaller learning rate"):
            load(tmp_path / "nan.pth")


def test_the_onnx_backend_check_never_passes_on_nan(tmp_path, monkeypatch):
    from mnas.models import create_model
    from mnas.runtime import TorchBackend, create_backend

    monkeypatch.setenv("MNAS_CACHE", str(tmp_path / "cache"))
    model = create_model(TINY_ARCH, num_classes=2, input_size=32).eval()
    with torch.no_grad():
        model.classifier.bias.fill_(float("nan"))
    choice = create_backend(model, 32, backend="auto", device="cpu", cache_dir=tmp_path / "onnx")
    assert isinstance(choice.backend, TorchBackend) and "differ from torch's by nan" in choice.reason
