"""mnas export: a trained model file to ExecuTorch (XNNPACK), checked against torch on real images and
timed beside ONNX Runtime."""

from __future__ import annotations

import json

import pytest
import torch

from mnas.__main__ import main as mnas_main
from mnas.data.splits import link_subset
from mnas.export import LOGIT_TOLERANCE, ExecuTorchModel
from mnas.train.config import TrainConfig
from mnas.train.job import TrainJob, run_training_job
from mnas.weights.model_file import load_model_file

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def trained(cifar10_root, tmp_path_factory):
    """A B1 x0.5 trained for one epoch on real CIFAR-10 images (two classes), and 16 test images."""
    data = link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 40), "test": ("test", 0, 8)}, ["cat", "ship"])
    output = tmp_path_factory.mktemp("run")
    config = TrainConfig(epochs=1, batch_size=16, learning_rate=0.05, input_size=32, precise_bn_images=32)
    run_training_job(TrainJob(data=str(data), model="mnasnet0_5", output_folder=str(output), config=config))
    return output / "model.pth", data / "test"


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_export_matches_torch_on_real_images_and_is_timed_beside_onnxruntime(trained, tmp_path, capsys):
    model_file, images = trained
    target = tmp_path / "phone.pte"
    assert mnas_main(["export", str(model_file), "--images", str(images), "--output", str(target),
                      "--rounds", "5"]) == 0
    report = json.loads(target.with_suffix(".json").read_text())
    assert report["agreement"]["images"] == 16
    assert report["agreement"]["max_abs_logit_difference"] <= LOGIT_TOLERANCE
    assert report["agreement"]["top1_agreement"] == 1.0
    for runtime in ("onnxruntime", "executorch", "torch"):
        assert report["latency"][runtime]["median_ms"] > 0
    assert "x ONNX Runtime" in capsys.readouterr().out
    # the file on its own, as a phone would load it, gives the trained model's logits (not near zero)
    model, _ = load_model_file(model_file)
    image = torch.rand(1, 3, 32, 32)
    with torch.inference_mode():
        expected = model(image)
    assert expected.abs().max() > 0.1
    assert torch.allclose(ExecuTorchModel(target)(image), expected, atol=LOGIT_TOLERANCE)


@pytest.mark.slow
def test_export_refuses_a_bad_output_name_and_missing_images_before_exporting(trained, tmp_path, capsys):
    model_file, images = trained
    assert mnas_main(["export", str(model_file), "--images", str(images), "--output", str(tmp_path / "x.onnx")]) == 2
    assert "expected a file name ending in .pte" in capsys.readouterr().err
    assert mnas_main(["export", str(model_file), "--images", str(tmp_path / "nowhere")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.pte"))
