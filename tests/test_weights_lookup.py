"""ImageNet weights a user already has: the Ikomia HUB task infer_torchvision_mnasnet's own folder and
timm's Hugging Face cache, looked at before any download and checked as a download is; and
``python -m mnas weights {list,fetch}``. Files are placed under a temporary HOME / HF_HOME (never the
real home), made from torchvision / timm models with random weights; a local HTTP server stands in for
the release page (nothing can be downloaded on this machine)."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest
import torch
from skimage import data

import mnas.weights.published as mnas_weights
from mnas.__main__ import main
from mnas.preprocess import preprocess
from mnas.weights.loading import build_model, load_classifier_weights
from mnas.weights.published import WeightsNotFoundError, find_imagenet_weights, imagenet_checkpoint_path
from mnas.weights.timm import TIMM_WEIGHTS
from weights_helpers import randomize_, save_state_dict, torchvision_mnasnet

B1_FILE = "mnasnet1.0_top1_73.512-f206786ef8.pth"  # torchvision's name: the SHA-256 prefix f206786ef8


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A private HOME with empty torch hub and Hugging Face caches."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("TORCH_HOME", str(home / ".cache" / "torch"))
    for name in ("HF_HOME", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MNAS_OFFLINE", "1")
    return home


@pytest.fixture(scope="module")
def photo_batch():
    return torch.from_numpy(preprocess(data.chelsea(), 224))


def hub_plugin_file(home: Path, name: str = B1_FILE) -> Path:
    """Where infer_torchvision_mnasnet's torch.hub.set_dir(<plugin>/weights) makes torchvision put it."""
    return home / "Ikomia" / "Plugins" / "Python" / "infer_torchvision_mnasnet" / "weights" / "checkpoints" / name


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def pin_sha256(monkeypatch, model_name: str, sha256: str) -> None:
    """The published hash of `model_name` replaced by the placed file's (the real file cannot be had)."""
    published = mnas_weights.published_weights

    def pinned(name):
        weights = published(name)
        return dataclasses.replace(weights, sha256=sha256) if name == model_name else weights

    monkeypatch.setattr(mnas_weights, "published_weights", pinned)


@pytest.mark.slow
def test_the_hub_plugins_weights_are_used_once_their_hash_and_shape_check(home, monkeypatch, photo_batch):
    reference = torchvision_mnasnet("mnasnet1_0", seed=5)
    path = save_state_dict(reference, hub_plugin_file(home))
    cache = imagenet_checkpoint_path("mnasnet1_0")

    # torchvision's name promises SHA-256 f206786ef8...: a random file is not the published one
    with pytest.raises(WeightsNotFoundError) as error:
        load_classifier_weights("mnasnet1_0")
    message = str(error.value)
    assert f"Not used: Ikomia HUB plugin infer_torchvision_mnasnet file {str(path)!r} has SHA-256" in message
    assert "not the expected f206786ef8" in message and str(cache) in message
    assert "model_weight_file" in message  # infer's way out, infer has it

    pin_sha256(monkeypatch, "mnasnet1_0", sha256_of(path)[:10])
    loaded = load_classifier_weights("mnasnet1_0")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert str(path) in loaded.source and not cache.exists()  # used where it is, nothing downloaded
    assert len(loaded.class_names) == 1000


def test_the_torch_hub_cache_comes_before_the_hub_plugins_folder(home, monkeypatch, photo_batch):
    in_cache = save_state_dict(torchvision_mnasnet("mnasnet1_0", seed=1), imagenet_checkpoint_path("mnasnet1_0"))
    save_state_dict(torchvision_mnasnet("mnasnet1_0", seed=2), hub_plugin_file(home))
    found = find_imagenet_weights("mnasnet1_0")
    assert found.path == in_cache and found.label == "torch hub cache"


def test_weights_of_another_width_in_the_hub_folder_are_refused(home, monkeypatch):
    path = save_state_dict(torchvision_mnasnet("mnasnet0_5"), hub_plugin_file(home))
    pin_sha256(monkeypatch, "mnasnet1_0", sha256_of(path))
    with pytest.raises(WeightsNotFoundError, match=r"Not used: .*infer_torchvision_mnasnet.*mnasnet1_0"):
        load_classifier_weights("mnasnet1_0")


timm = pytest.importorskip("timm")


def hf_snapshot(cache: Path, model_name: str, model: torch.nn.Module, file_name: str, *,
                as_blob: bool = True, revision: str = "0123abcd") -> Path:
    """A Hugging Face cache entry as huggingface_hub writes it: refs/main, the snapshot file a link to a
    blob named by its SHA-256 (or, `as_blob` False, a plain file)."""
    info = TIMM_WEIGHTS[model_name]
    repo = cache / f"models--timm--{info['timm_model']}.{info['tag']}"
    snapshot = repo / "snapshots" / revision / file_name
    snapshot.parent.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    written = repo / "tmp-file"
    state_dict = {key: value.contiguous() for key, value in model.state_dict().items()}
    if file_name.endswith(".safetensors"):
        from safetensors.torch import save_file

        save_file(state_dict, str(written))
    else:
        torch.save(state_dict, written)
    if not as_blob:
        written.rename(snapshot)
        return snapshot
    blob = repo / "blobs" / sha256_of(written)
    blob.parent.mkdir()
    written.rename(blob)
    snapshot.symlink_to(os.path.relpath(blob, snapshot.parent))
    return snapshot


@pytest.mark.slow
def test_timm_weights_from_the_hugging_face_cache_under_hf_home(home, tmp_path, monkeypatch, photo_batch):
    pytest.importorskip("safetensors")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    reference = randomize_(timm.create_model("mnasnet_small", pretrained=False), 4)
    snapshot = hf_snapshot(tmp_path / "hf" / "hub", "mnasnet_small", reference, "model.safetensors")
    loaded = load_classifier_weights("mnasnet_small")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert str(snapshot) in loaded.source and not imagenet_checkpoint_path("mnasnet_small").exists()

    assert main(["weights", "list"]) == 0  # through the CLI too


def test_a_damaged_hugging_face_blob_is_not_used(home, tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    snapshot = hf_snapshot(tmp_path / "hub", "mnasnet_a1",
                           randomize_(timm.create_model("semnasnet_100", pretrained=False)), "model.safetensors")
    blob = Path(os.path.realpath(snapshot))
    blob.write_bytes(blob.read_bytes()[:-100])  # truncated: no longer the content its name says
    with pytest.raises(WeightsNotFoundError, match=rf"Not used: timm's Hugging Face cache file '{snapshot}' "
                                                   rf"has SHA-256 [0-9a-f]{{64}}, not the expected {blob.name}"):
        load_classifier_weights("mnasnet_a1")


@pytest.mark.slow
def test_hugging_face_pytorch_model_bin_under_hf_hub_cache_and_the_wrong_variant(home, tmp_path, monkeypatch,
                                                                               photo_batch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    reference = randomize_(timm.create_model("semnasnet_100", pretrained=False), 6)
    snapshot = hf_snapshot(tmp_path / "hub", "mnasnet_a1", reference, "pytorch_model.bin", as_blob=False)
    loaded = load_classifier_weights("mnasnet_a1")
    with torch.no_grad():
        torch.testing.assert_close(loaded.model(photo_batch), reference(photo_batch), rtol=0, atol=1e-5)
    assert str(snapshot) in loaded.source

    # MnasNet-small's weights where A1's should be: refused naming the file, then the usual not-found
    small = randomize_(timm.create_model("mnasnet_small", pretrained=False))
    hf_snapshot(tmp_path / "hub", "mnasnet_small", small, "pytorch_model.bin", as_blob=False)
    wrong = tmp_path / "hub" / "models--timm--mnasnet_small.lamb_in1k" / "snapshots" / "0123abcd" / "pytorch_model.bin"
    os.replace(wrong, snapshot)
    with pytest.raises(WeightsNotFoundError, match=rf"Not used: weights are for a different architecture: timm's "
                                                   rf"Hugging Face cache file '{snapshot}'.*Offline: not downloaded"):
        load_classifier_weights("mnasnet_a1")


def test_training_errors_name_only_train_parameters(home):
    with pytest.raises(WeightsNotFoundError) as error:
        build_model("mnasnet1_0", num_classes=10, input_size=32, pretrained=True)
    message = str(error.value)
    assert "turn pretrained off to train from scratch" in message
    assert "model_weight_file" not in message and "download=False" not in message
    assert "infer_torchvision_mnasnet" in message  # where else it looked


# --------------------------------------------------------------------------------------------------
# python -m mnas weights fetch / list


def test_fetch_offline_names_each_file_and_where_to_put_it(home, capsys):
    assert main(["weights", "fetch", "mnasnet1_0", "mnasnet_a1"]) == 1
    out = capsys.readouterr().out
    for name in ("mnasnet1_0", "mnasnet_a1"):
        path = imagenet_checkpoint_path(name)
        assert f"{name}: not fetched, offline (MNAS_OFFLINE=1): copy {path.name} (from " in out
        assert f"into {path.parent}" in out and not path.exists()
    assert "not fetched: mnasnet1_0, mnasnet_a1" in out


def test_fetch_refuses_an_unknown_name(home, capsys):
    assert main(["weights", "fetch", "resnet50"]) == 2
    assert "no published ImageNet weights for 'resnet50': expected names among mnasnet0_5" in capsys.readouterr().err



def test_fetch_downloads_into_the_torch_hub_cache_and_list_shows_it(home, release_server, monkeypatch, capsys):
    served, base_url = release_server
    name = TIMM_WEIGHTS["mnasnet_small"]["url"].rsplit("/", 1)[1]
    monkeypatch.setitem(TIMM_WEIGHTS["mnasnet_small"], "url", base_url + name)
    monkeypatch.setitem(TIMM_WEIGHTS["mnasnet_a1"], "url", base_url + "mnasnet_a1-d9418771.pth")  # not served
    save_state_dict(randomize_(timm.create_model("mnasnet_small", pretrained=False)), served / name)
    monkeypatch.delenv("MNAS_OFFLINE")

    assert main(["weights", "fetch", "mnasnet_small", "mnasnet_a1"]) == 1
    out = capsys.readouterr().out
    path = imagenet_checkpoint_path("mnasnet_small")
    assert path.is_file() and f"mnasnet_small: fetched and checked: {path}" in out
    a1 = imagenet_checkpoint_path("mnasnet_a1")
    assert "mnasnet_a1: not fetched: HTTPError" in out and f"By hand: copy {a1.name}" in out and not a1.exists()
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left

    assert main(["weights", "fetch", "mnasnet_small"]) == 0  # already there: not fetched again
    assert f"mnasnet_small: present (torch hub cache): {path}" in capsys.readouterr().out

    assert main(["weights", "list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    small = lines.index(next(line for line in lines if line.startswith("mnasnet_small:")))
    assert "present" in lines[small + 1] and str(path) in lines[small + 1]
    assert all("absent" in line for line in lines[small + 2:small + 4])
