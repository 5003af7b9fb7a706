"""Pretrained MnasNet-A1 and MnasNet-small from timm's checkpoints (`mnas.weights.timm`), found in the
torch hub cache like torchvision's, downloaded when online (a local HTTP server stands in for the
release page: nothing can be downloaded on this machine), offline by switch.

timm's models are built here with random (perturbed) weights: the same logits within 1e-5 after the
conversion show the architectures and the mapping agree.
"""

from __future__ import annotations

import pytest
import torch
from skimage import data

timm = pytest.importorskip("timm")

from mnas.preprocess import preprocess  # noqa: E402
from mnas.weights.loading import build_model, load_classifier_weights  # noqa: E402
from mnas.weights.model_file import load_model_file  # noqa: E402
from mnas.weights.published import (  # noqa: E402
    WeightsNotFoundError,
    imagenet_categories,
    imagenet_checkpoint_path,
    published_weights,
)
from mnas.weights.timm import TIMM_WEIGHTS, from_timm_model  # noqa: E402
from mnas.weights.timm import main as convert_main  # noqa: E402
from weights_helpers import randomize_, save_state_dict  # noqa: E402

PAIRS = [("mnasnet_a1", "semnasnet_100"), ("mnasnet_small", "mnasnet_small")]


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A private, empty torch hub cache."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    return tmp_path / "torch-home"


@pytest.fixture(scope="module")
def photo_batch():
    return torch.from_numpy(preprocess(data.chelsea(), 224))


def timm_model(name: str, seed: int = 0) -> torch.nn.Module:
    return randomize_(timm.create_model(name, pretrained=False), seed)


@pytest.mark.slow
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_converted_timm_models_give_the_same_logits(ours, theirs, photo_batch):
    reference = timm_model(theirs, seed=3)
    model = from_timm_model(reference)
    assert model.arch == create_arch(ours)
    with torch.no_grad():
        expected, got = reference(photo_batch), model(photo_batch)
    assert expected.std() > 0.1  # non-trivial logits
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def create_arch(name: str) -> str:
    from mnas.models import variant_arch

    return variant_arch(name, 224)


@pytest.mark.slow
@pytest.mark.parametrize("ours, theirs", PAIRS)
def test_timm_weights_come_from_the_torch_hub_cache_with_their_published_accuracy(ours, theirs, torch_home,
                                                                                   photo_batch):
    path = imagenet_checkpoint_path(ours)
    assert path == torch_home / "hub" / "checkpoints" / TIMM_WEIGHTS[ours]["url"].rsplit("/", 1)[1]
    reference = timm_model(theirs, seed=5)
    save_state_dict(reference, path)  # timm's own key names, as its release file has them
    loaded = load_classifier_weights(ours)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert loaded.class_names == imagenet_categories() and str(path) in loaded.source
    published = published_weights(ours)
    assert loaded.metadata == published.metadata()
    assert (published.top1, published.top5) == {"mnasnet_a1": (75.452, 92.608),
                                                 "mnasnet_small": (66.204, 86.470)}[ours]
    assert published.origin.startswith(f"timm {theirs}.")


def test_b1_metadata_carries_torchvision_published_accuracy():
    assert published_weights("mnasnet1_0").metadata()["imagenet_top1"] == 73.456
    assert published_weights("mnasnet0_5").origin == "torchvision MNASNet0_5_Weights.IMAGENET1K_V1"


def test_train_mnasnet_pretrained_starts_from_timm_weights(torch_home):
    reference = timm_model("mnasnet_small", seed=8)
    save_state_dict(reference, imagenet_checkpoint_path("mnasnet_small"))
    model = build_model("mnasnet_small", num_classes=3, input_size=32, pretrained=True)
    converted = from_timm_model(reference)
    backbone = {k: v for k, v in converted.state_dict().items() if not k.startswith("classifier")}
    for key, value in backbone.items():
        assert torch.equal(model.state_dict()[key], value), key
    assert model.classifier.out_features == 3
    assert model.pretrained_metadata["weights"] == "timm mnasnet_small.lamb_in1k"


@pytest.mark.slow
def test_a_timm_checkpoint_given_as_a_file_converts_and_another_variant_fails(tmp_path, photo_batch):
    reference = timm_model("semnasnet_100", seed=9)
    path = save_state_dict(reference, tmp_path / "a1.pth")
    loaded = load_classifier_weights("mnasnet_a1", path)
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    with pytest.raises(ValueError, match="different architecture"):
        load_classifier_weights("mnasnet_small", path)
    output = tmp_path / "a1-model.pth"
    assert convert_main([str(path), "--variant", "mnasnet_a1", "--output", str(output)]) == 0
    model, metadata = load_model_file(output)
    with torch.no_grad():
        torch.testing.assert_close(model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert metadata["metadata"]["converted_from"] == "timm semnasnet_100"



@pytest.mark.slow
def test_weights_download_by_default_and_not_offline(torch_home, release_server, monkeypatch, photo_batch):
    served, base_url = release_server
    name = TIMM_WEIGHTS["mnasnet_small"]["url"].rsplit("/", 1)[1]
    monkeypatch.setitem(TIMM_WEIGHTS["mnasnet_small"], "url", base_url + name)
    reference = timm_model("mnasnet_small", seed=2)
    save_state_dict(reference, served / name)
    path = imagenet_checkpoint_path("mnasnet_small")

    monkeypatch.setenv("MNAS_OFFLINE", "1")  # the switch: nothing fetched, the message says where to put it
    with pytest.raises(WeightsNotFoundError, match=rf"looked for {path}.*Copy {name} \(from {base_url}"):
        load_classifier_weights("mnasnet_small")
    assert not path.exists()
    with pytest.raises(WeightsNotFoundError, match="Offline: not downloaded"):
        load_classifier_weights("mnasnet_small", download=False)  # the parameter, whatever the env says

    monkeypatch.delenv("MNAS_OFFLINE")  # online by default: downloaded into the torch hub cache
    loaded = load_classifier_weights("mnasnet_small")
    assert path.is_file()
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)


def test_a_failed_download_names_the_file_and_where_to_put_it(torch_home, release_server, monkeypatch):
    _, base_url = release_server  # serves nothing: 404
    monkeypatch.setitem(TIMM_WEIGHTS["mnasnet_a1"], "url", base_url + "mnasnet_a1-d9418771.pth")
    monkeypatch.delenv("MNAS_OFFLINE", raising=False)
    path = imagenet_checkpoint_path("mnasnet_a1")
    with pytest.raises(WeightsNotFoundError,
                       match=rf"looked for {path}.*Copy mnasnet_a1-d9418771.pth .*The download failed: HTTPError"):
        load_classifier_weights("mnasnet_a1")
    assert not path.exists()


def test_infer_mnasnet_classifies_with_a1_imagenet_weights_from_the_cache(torch_home, photo_batch):
    from ikomia.dataprocess.workflow import Workflow

    reference = timm_model("semnasnet_100", seed=12)
    save_state_dict(reference, imagenet_checkpoint_path("mnasnet_a1"))
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"model_name": "mnasnet_a1", "cuda": "False", "backend": "torch"})
    workflow.run_on(array=data.chelsea())
    name, confidence = task.get_whole_image_results()[0]
    with torch.no_grad():
        probabilities = reference(photo_batch).softmax(1)[0]
    assert name == imagenet_categories()[int(probabilities.argmax())]
    assert float(confidence) == pytest.approx(float(probabilities.max()), abs=1e-3)
