"""Weights: torchvision checkpoint equivalence, ImageNet weights through the torch hub cache, model files,
class files, and the clear errors of every bad weights input. Checkpoints are made here from torchvision
models with random weights (ImageNet weights cannot be downloaded on this machine)."""

import collections
import os

import numpy as np
import pytest
import torch
import torchvision
from skimage import data

from mnas.models import create_model
from mnas.preprocess import preprocess
from mnas.weights.classes import read_class_file, write_class_file
from mnas.weights.convert import convert_torchvision_state_dict
from mnas.weights.loading import load_classifier_weights
from mnas.weights.model_file import read_checkpoint, save_model_file
from mnas.weights.published import (
    IMAGENET_WEIGHTS,
    WeightsNotFoundError,
    imagenet_categories,
    imagenet_checkpoint_path,
    load_imagenet_state_dict,
)
from mnas.weights.state_dict import WeightsMismatchError
from weights_helpers import randomize_, save_state_dict, torchvision_mnasnet

B1 = list(IMAGENET_WEIGHTS)


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A private, empty torch hub cache; downloads off whatever the environment says."""
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.delenv("MNAS_DOWNLOAD_WEIGHTS", raising=False)
    return home


@pytest.fixture(scope="module")
def photo_batch():
    return torch.from_numpy(preprocess(data.chelsea(), 224))


@pytest.mark.slow
@pytest.mark.parametrize("name", B1)
def test_b1_logits_equal_torchvision_with_the_same_checkpoint_file(name, tmp_path, photo_batch):
    reference = torchvision_mnasnet(name, seed=B1.index(name))
    path = save_state_dict(reference, tmp_path / f"{name}.pth")
    loaded = load_classifier_weights(name, path)
    with torch.no_grad():
        expected, ours = reference(photo_batch), loaded.model(photo_batch)
    assert expected.std() > 0.1  # the random weights give non-trivial logits
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-5)
    assert loaded.class_names == imagenet_categories() and loaded.input_size == 224


def test_imagenet_weights_come_from_the_torch_hub_cache(torch_home, photo_batch):
    weights = torchvision.models.MNASNet0_75_Weights.IMAGENET1K_V1
    path = imagenet_checkpoint_path("mnasnet0_75")
    assert path == torch_home / "hub" / "checkpoints" / os.path.basename(weights.url)
    assert path.name == "mnasnet0_75-7090bc5f.pth"
    reference = torchvision_mnasnet("mnasnet0_75", seed=7)
    save_state_dict(reference, path)

    loaded = load_classifier_weights("mnasnet0_75")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert str(path) in loaded.source
    assert loaded.class_names == list(weights.meta["categories"])
    assert len(loaded.class_names) == 1000 and loaded.class_names[0] == "tench"


def test_missing_imagenet_weights_say_where_they_were_looked_for(torch_home):
    path = imagenet_checkpoint_path("mnasnet1_0")
    with pytest.raises(WeightsNotFoundError) as error:
        load_classifier_weights("mnasnet1_0")
    message = str(error.value)
    assert str(path) in message and str(torch_home) in message
    assert "mnasnet1.0_top1_73.512-f206786ef8.pth" in message and "MNAS_OFFLINE=1" in message
    assert "Offline: not downloaded" in message
    assert not path.exists()


def test_weights_of_another_variant_fail_clearly(tmp_path):
    path = save_state_dict(torchvision_mnasnet("mnasnet0_5"), tmp_path / "half.pth")
    with pytest.raises(WeightsMismatchError,
                       match=r"different architecture: .*half\.pth.*'layers\.0\.weight' has shape "
                             r"\(16, 3, 3, 3\) where mnasnet1_0 .*\(32, 3, 3, 3\)"):
        load_classifier_weights("mnasnet1_0", path)
    with pytest.raises(WeightsMismatchError, match="holds 262 weight tensors where mnasnet_a1 .* has 279"):
        load_classifier_weights("mnasnet_a1", path)


def test_converter_maps_torchvision_keys_by_position():
    reference = torchvision_mnasnet("mnasnet0_5")
    model = create_model("mnasnet0_5")
    converted = convert_torchvision_state_dict(reference.state_dict(), model)
    assert list(converted) == list(model.state_dict())
    assert torch.equal(converted["classifier.weight"], reference.state_dict()["classifier.1.weight"])
    assert torch.equal(converted["features.0.0.body.0.1.num_batches_tracked"],
                       reference.state_dict()["layers.1.num_batches_tracked"])


def test_checkpoints_without_batch_norm_counters_load(tmp_path, photo_batch):
    """Checkpoints saved before PyTorch 0.4.1 have no num_batches_tracked; inference does not need them."""
    reference = torchvision_mnasnet("mnasnet1_0", seed=4)
    old_style = {k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "old.pth"
    torch.save(old_style, path)
    loaded = load_classifier_weights("mnasnet1_0", path)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_corrupt_weights_files_fail_clearly(content, tmp_path):
    path = tmp_path / "broken.pth"
    if content == "truncated":
        torch.save(create_model("mnasnet0_5").state_dict(), path)
        content = path.read_bytes()[:5000]
    path.write_bytes(content)
    with pytest.raises(ValueError, match=r"model_weight_file '.*broken\.pth' is not a readable PyTorch "
                                         r"checkpoint"):
        load_classifier_weights("mnasnet0_5", path)


def test_missing_weights_file_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"model_weight_file '.*nowhere\.pth' does not exist"):
        load_classifier_weights("mnasnet0_5", tmp_path / "nowhere.pth")


class NotATensor:
    """Anything but tensors and plain containers must be refused by weights_only loading."""


def test_every_load_is_weights_only(tmp_path, torch_home):
    payload = {"state_dict": create_model("mnasnet0_5").state_dict(), "extra": NotATensor()}
    unsafe = tmp_path / "unsafe.pth"
    torch.save(payload, unsafe)
    with pytest.raises(ValueError, match="weights_only loading refuses"):
        read_checkpoint(unsafe)
    with pytest.raises(ValueError, match="weights_only loading refuses"):
        load_classifier_weights("mnasnet0_5", unsafe)
    # the hub path too: torchvision's loader is called with weights_only=True
    hub_file = imagenet_checkpoint_path("mnasnet0_5")
    hub_file.parent.mkdir(parents=True)
    torch.save(payload, hub_file)
    with pytest.raises(ValueError, match=f"ImageNet weights file '{hub_file}' is not a readable"):
        load_imagenet_state_dict("mnasnet0_5")
    # a plain OrderedDict keeps torchvision's _metadata (its layout version) through weights_only
    save_state_dict(torchvision_mnasnet("mnasnet0_5"), hub_file)
    assert isinstance(load_imagenet_state_dict("mnasnet0_5"), collections.OrderedDict)


def test_custom_weights_with_a_class_file(tmp_path, photo_batch):
    reference = torchvision_mnasnet("mnasnet0_5", num_classes=4)
    path = save_state_dict(reference, tmp_path / "four.pth")
    class_file = write_class_file(tmp_path / "classes.txt", ["cat", "dog", "bird", "fish"])
    loaded = load_classifier_weights("mnasnet0_5", path, class_file)
    assert loaded.class_names == ["cat", "dog", "bird", "fish"] and loaded.model.num_classes == 4
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)


def test_class_file_line_count_must_match_the_head(tmp_path):
    path = save_state_dict(torchvision_mnasnet("mnasnet0_5", num_classes=4), tmp_path / "four.pth")
    class_file = write_class_file(tmp_path / "three.txt", ["cat", "dog", "bird"])
    with pytest.raises(ValueError, match=r"class_file '.*three\.txt' has 3 class names .* head has 4"):
        load_classifier_weights("mnasnet0_5", path, class_file)
    with pytest.raises(ValueError, match="class_file is needed: .* has 4 classes"):
        load_classifier_weights("mnasnet0_5", path)


@pytest.mark.slow
def test_model_file_alone_is_enough(tmp_path):
    model = randomize_(create_model("mnasnet_small", num_classes=3, input_size=32))
    path = save_model_file(tmp_path / "model.pt", model, class_names=["a", "b", "c"], input_size=32,
                           mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25))
    loaded = load_classifier_weights("mnasnet1_0", path)  # the model name is not used
    assert loaded.model.arch == model.arch and loaded.class_names == ["a", "b", "c"]
    assert (loaded.input_size, loaded.mean, loaded.std) == (32, (0.5,) * 3, (0.25,) * 3)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(x), model(x), rtol=0, atol=0)
    renamed = write_class_file(tmp_path / "names.txt", ["x", "y", "z"])
    assert load_classifier_weights(weight_file=path, class_file=renamed).class_names == ["x", "y", "z"]
    with pytest.raises(ValueError, match="has 2 class names .* head has 3"):
        load_classifier_weights(weight_file=path, class_file=write_class_file(tmp_path / "2.txt", "uv"))


def test_class_files_round_trip_and_reject_bad_content(tmp_path):
    names = ["tabby cat", "golden retriever", "x"]
    path = write_class_file(tmp_path / "c.txt", names)
    assert path.read_text() == "tabby cat\ngolden retriever\nx\n"
    assert read_class_file(path, expected=3) == names
    (tmp_path / "empty.txt").write_text("\n\n")
    with pytest.raises(ValueError, match="holds no class name"):
        read_class_file(tmp_path / "empty.txt")
    (tmp_path / "binary.txt").write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(ValueError, match="is not UTF-8 text"):
        read_class_file(tmp_path / "binary.txt")
    with pytest.raises(FileNotFoundError, match="class_file .* does not exist"):
        read_class_file(tmp_path / "absent.txt")
    with pytest.raises(ValueError, match="single-line"):
        write_class_file(tmp_path / "bad.txt", ["a\nb"])


def test_probabilities_of_the_loaded_model_are_not_trivial(tmp_path):
    """Guards the other tests: the randomised checkpoints give clearly peaked predictions."""
    path = save_state_dict(torchvision_mnasnet("mnasnet0_5"), tmp_path / "w.pth")
    model = load_classifier_weights("mnasnet0_5", path).model
    with torch.no_grad():
        probabilities = torch.softmax(model(torch.from_numpy(preprocess(data.coffee(), 224))), 1)
    assert float(probabilities.max()) > 10 / 1000
    assert np.isfinite(probabilities.numpy()).all()
