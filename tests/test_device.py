"""Device choice of training and proxy training (`mnas.utils.device`): auto / cpu / cuda[:N], the same
parameter in TrainConfig, SearchConfig, both CLIs and both tasks; a checkpoint resumes on another device.

This machine has no GPU: the CPU path and the refusals run everywhere; the CUDA round trip runs only
where torch sees a GPU.
"""

from __future__ import annotations

import pytest
import torch

from helpers import TINY_ARCH
from mnas.__main__ import main as mnas_main
from mnas.data.splits import link_subset, load_folder_dataset
from mnas.models import create_model
from mnas.search.config import SearchConfig
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.train.config import TrainConfig
from mnas.train.engine import seed_everything, train
from mnas.train.job import TrainJob, run_training_job
from mnas.utils.device import check_device_spec, resolve_device

CUDA = torch.cuda.is_available()
needs_cuda = pytest.mark.skipif(not CUDA, reason="no CUDA GPU here")
no_cuda = pytest.mark.skipif(CUDA, reason="checks what happens without a GPU")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar2_folder(cifar10_root, tmp_path_factory):
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 40), "test": ("test", 0, 10)}, ["cat", "ship"])


@pytest.fixture(scope="module")
def cifar2(cifar2_folder, tmp_path_factory):
    train_set, val_set, _ = load_folder_dataset(cifar2_folder, cache_dir=tmp_path_factory.mktemp("cache"))
    return train_set, val_set


def tiny_model(seed=0):
    seed_everything(seed)
    return create_model(TINY_ARCH, num_classes=2, input_size=32)


def test_device_spellings_are_checked_by_name():
    assert check_device_spec(" CUDA:1 ") == "cuda:1" and check_device_spec("Auto") == "auto"
    for bad in ("gpu", "cuda:", "cpu:0", "cuda:-1", "", None, 0):
        with pytest.raises(ValueError, match=r"device must be auto, cpu, cuda or cuda:N .*got"):
            check_device_spec(bad)
    with pytest.raises(ValueError, match="^device must be"):
        TrainConfig(device="gpu")
    with pytest.raises(ValueError, match="search setting train_device must be"):
        SearchConfig(train_device="tpu")
    assert SearchConfig(train_device="cpu").train_config(seed=3).device == "cpu"  # the proxy trains there


def test_cpu_forced_and_auto_follow_what_torch_sees():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type == ("cuda" if CUDA else "cpu")


@no_cuda
def test_an_unavailable_gpu_is_a_clear_error():
    for spec in ("cuda", "cuda:0"):
        with pytest.raises(ValueError, match=rf"device '{spec}' is not available: .*use device auto or cpu"):
            resolve_device(spec)


@needs_cuda
def test_a_gpu_index_past_the_last_is_a_clear_error():
    with pytest.raises(ValueError, match=r"device 'cuda:99' is not available: torch sees \d+ GPU"):
        resolve_device("cuda:99")


def test_a_checkpoint_resumes_exactly_under_another_device_setting(cifar2, tmp_path):
    """device may change on resume (a run moved between machines); on one device the result is bitwise
    the uninterrupted run's."""
    train_set, val_set = cifar2
    config = TrainConfig(epochs=2, batch_size=16, learning_rate=0.05, device="auto", precise_bn_images=64)
    straight = tiny_model()
    train(straight, train_set, val_set, TrainConfig(**{**vars(config), "device": "cpu"}))

    stopped, epochs_done = tiny_model(), []
    train(stopped, train_set, val_set, config, checkpoint_dir=tmp_path, on_epoch_end=epochs_done.append,
          should_stop=lambda: len(epochs_done) >= 1)
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["trained_on"] == str(resolve_device("auto"))
    resumed = tiny_model(seed=99)
    result = train(resumed, train_set, val_set, TrainConfig(**{**vars(config), "device": "cpu"}),
                   checkpoint_dir=tmp_path, resume=True)
    assert [h.epoch for h in result.history] == [1, 2]
    if not CUDA:  # auto was the CPU too: the same kernels, the same bits
        for key, value in straight.state_dict().items():
            assert torch.equal(value, resumed.state_dict()[key]), key
    assert all(p.device.type == "cpu" for p in resumed.parameters())  # handed back on the CPU


@needs_cuda
@pytest.mark.parametrize("first, second", [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_checkpoint_written_on_one_device_resumes_on_the_other(cifar2, tmp_path, first, second):
    train_set, val_set = cifar2
    config = TrainConfig(epochs=1, batch_size=16, learning_rate=0.05, device=first)
    model = tiny_model()
    train(model, train_set, val_set, config, checkpoint_dir=tmp_path)
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)
    assert saved["trained_on"].startswith(first)
    # resumed with nothing left to train: exactly the checkpoint's weights, now read on `second`
    same = tiny_model(seed=5)
    train(same, train_set, val_set, TrainConfig(**{**vars(config), "device": second}),
          checkpoint_dir=tmp_path, resume=True)
    for key, value in saved["model"].items():
        assert torch.equal(value, same.state_dict()[key]), key
    longer = tiny_model(seed=5)  # and one more epoch trains on `second`
    result = train(longer, train_set, val_set, TrainConfig(**{**vars(config), "device": second, "epochs": 2}),
                   checkpoint_dir=tmp_path, resume=True)
    assert [h.epoch for h in result.history] == [1, 2] and torch.isfinite(torch.tensor(result.final.loss))
    assert load_checkpoint(tmp_path / CHECKPOINT_NAME)["trained_on"].startswith(second)


@no_cuda
def test_a_training_job_on_a_missing_gpu_is_refused_before_anything_is_written(cifar2_folder, tmp_path):
    output = tmp_path / "run"
    job = TrainJob(data=str(cifar2_folder), model=TINY_ARCH, output_folder=str(output),
                   config=TrainConfig(epochs=1, device="cuda"))
    with pytest.raises(ValueError, match="device 'cuda' is not available"):
        run_training_job(job)
    assert not output.exists()


@no_cuda
def test_both_clis_take_device_and_refuse_a_missing_gpu(cifar2_folder, tmp_path, capsys):
    assert mnas_main(["train", "--data", str(cifar2_folder), "--arch", TINY_ARCH, "--epochs", "1",
                      "--device", "cuda:0", "--output", str(tmp_path / "t")]) == 2
    assert "error: device 'cuda:0' is not available" in capsys.readouterr().err
    assert mnas_main(["search", "--data", str(cifar2_folder), "--train-device", "gpu",
                      "--output", str(tmp_path / "s")]) == 2
    assert "search setting train_device must be auto, cpu, cuda or cuda:N" in capsys.readouterr().err
    assert not (tmp_path / "t").exists() and not (tmp_path / "s").exists()


def test_cli_trains_on_the_cpu_when_asked(cifar2_folder, tmp_path):
    assert mnas_main(["train", "--data", str(cifar2_folder), "--arch", TINY_ARCH, "--epochs", "1",
                      "--batch-size", "16", "--device", "cpu", "--output", str(tmp_path / "t")]) == 0
    from mnas.weights.model_file import read_model_file

    assert read_model_file(tmp_path / "t" / "model.pth")["metadata"]["device"] == "cpu"


def test_both_tasks_take_device_and_refuse_a_bad_one():
    from search_mini.search_mini_process import SearchMiniParam, config_from_values
    from train_mnasnet.train_mnasnet_process import TrainMnasnetParam, job_from_values

    train_values = TrainMnasnetParam().get_values()
    assert train_values["device"] == "auto" and train_values["mixed_precision"] == "True"
    assert job_from_values({**train_values, "device": "cpu"}).config.device == "cpu"
    with pytest.raises(ValueError, match="device must be auto, cpu, cuda or cuda:N"):
        job_from_values({**train_values, "device": "gpu0"})
    search_values = SearchMiniParam().get_values()  # search_mini's is train_device: latency has its own
    assert config_from_values({**search_values, "train_device": "CPU"}).train_device == "cpu"
    with pytest.raises(ValueError, match="search setting train_device must be"):
        config_from_values({**search_values, "train_device": "cuda:x"})
    param = SearchMiniParam()
    with pytest.warns(FutureWarning, match="parameter 'device' is deprecated \\(removed in 1.0\\): use 'train_device'"):
        param.set_values({"device": "cpu"})
    assert param.get_values()["train_device"] == "cpu"
