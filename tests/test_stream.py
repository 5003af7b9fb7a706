"""Datasets larger than memory (`mnas.data.stream`): the streaming path decodes in DataLoader worker processes
and trains to the same weights as the in-memory path; a training job chooses it when the decoded images
exceed the memory budget, and resumes it exactly."""

from __future__ import annotations

import pytest
import torch

from helpers import TINY_ARCH
from mnas.data.splits import link_subset, load_folder_dataset
from mnas.data.stream import FileDataset, decoded_batches, list_folder_dataset, memory_budget_bytes
from mnas.models import create_model
from mnas.train.config import TrainConfig
from mnas.train.engine import seed_everything, train
from mnas.train.job import TrainJob, run_training_job
from mnas.weights.model_file import load_model_file

pytestmark = pytest.mark.usefixtures("one_thread")
CONFIG = TrainConfig(epochs=2, batch_size=16, learning_rate=0.05, decode_workers=2, precise_bn_images=64)


@pytest.fixture(scope="module")
def folder(cifar10_root, tmp_path_factory):
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar3"),
                       {"train": ("train", 0, 40), "test": ("test", 0, 12)}, ["cat", "frog", "ship"])


def tiny_model():
    seed_everything(0)
    return create_model(TINY_ARCH, num_classes=3, input_size=32)


@pytest.mark.parametrize("size", [32, 72])
def test_streamed_batches_are_the_in_memory_images(folder, tmp_path, size):
    memory, _, _ = load_folder_dataset(folder, image_size=size, cache_dir=tmp_path, val_fraction=0.25)
    files, _, _ = list_folder_dataset(folder, image_size=size, val_fraction=0.25)
    assert isinstance(files, FileDataset) and files.class_names == memory.class_names
    assert torch.equal(files.labels, memory.labels)
    batches = list(torch.randperm(len(files), generator=torch.Generator().manual_seed(1)).split(7))
    for index, streamed in zip(batches, decoded_batches(files.images, batches, workers=2)):
        assert torch.equal(streamed, memory.images[index])


def test_streaming_trains_to_the_same_weights_and_metrics(folder, tmp_path):
    memory_train, memory_val, _ = load_folder_dataset(folder, image_size=32, cache_dir=tmp_path)
    file_train, file_val, _ = list_folder_dataset(folder, image_size=32)
    in_memory, streamed = tiny_model(), tiny_model()
    expected = train(in_memory, memory_train, memory_val, CONFIG)
    result = train(streamed, file_train, file_val, CONFIG)
    assert [h.top1 for h in result.history] == [h.top1 for h in expected.history]
    assert [h.train_loss for h in result.history] == [h.train_loss for h in expected.history]
    assert result.per_class_accuracy == expected.per_class_accuracy
    for key, value in in_memory.state_dict().items():  # the same batches and draws: the same bits
        assert torch.equal(value, streamed.state_dict()[key]), key


def test_a_job_over_its_memory_budget_streams_and_resumes_exactly(folder, tmp_path):
    def job(name, **options):
        return TrainJob(data=str(folder), model=TINY_ARCH, output_folder=str(tmp_path / name),
                        config=CONFIG, cache_dir=str(tmp_path / "cache"), **options)

    in_memory = run_training_job(job("memory"))
    assert not in_memory.streamed
    epochs = []
    stopped = run_training_job(job("streamed", memory_budget_gb=1e-6), on_epoch_end=epochs.append,
                               should_stop=lambda: len(epochs) >= 1)
    assert stopped.streamed and stopped.result.stopped
    resumed = run_training_job(job("streamed", memory_budget_gb=1e-6, resume=True))
    assert resumed.streamed and [h.epoch for h in resumed.result.history] == [1, 2]
    assert resumed.result.final.top1 == in_memory.result.final.top1
    a, _ = load_model_file(in_memory.files["model"])
    b, _ = load_model_file(resumed.files["model"])
    for key, value in a.state_dict().items():
        assert torch.equal(value, b.state_dict()[key]), key


def test_budget_is_checked_and_an_unreadable_streamed_file_is_named(folder, tmp_path):
    assert memory_budget_bytes(2.5) == 2_500_000_000 and memory_budget_bytes() > 0
    for bad in (0, -1.0):
        with pytest.raises(ValueError, match="memory_budget_gb must be a number > 0"):
            run_training_job(TrainJob(data=str(folder), model=TINY_ARCH, output_folder=str(tmp_path / "x"),
                                      memory_budget_gb=bad))
    assert not (tmp_path / "x").exists()
    broken = link_subset(folder, tmp_path / "broken", {"train": ("train", 0, 10), "val": ("test", 0, 4)})
    (broken / "train" / "cat" / "zz-not-an-image.jpg").write_text("not a JPEG")
    files, _, _ = list_folder_dataset(broken, image_size=32)
    # skipped while the dataset is listed, as the in-memory path skips it, and counted
    assert all("zz-not-an-image" not in str(path) for path in files.images.files)
    assert any("zz-not-an-image" in str(path) for path in files.images.skipped)


def test_train_task_and_cli_take_the_memory_budget():
    from train_mnasnet.train_mnasnet_process import TrainMnasnetParam, job_from_values

    values = TrainMnasnetParam().get_values()
    assert job_from_values(values).memory_budget_gb is None  # auto
    assert job_from_values({**values, "memory_budget_gb": "0.5"}).memory_budget_gb == 0.5
    with pytest.raises(ValueError, match="memory_budget_gb must be a number > 0"):
        job_from_values({**values, "memory_budget_gb": "-2"})
    with pytest.raises(ValueError, match="decode_workers must be an integer >= 0"):
        job_from_values({**values, "decode_workers": "-1"})
