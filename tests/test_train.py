"""mnas.train.engine: the engine behind train_mnasnet and the search's proxy trainer."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from helpers import TINY_ARCH
from mnas.data.folders import ImageDataset
from mnas.data.splits import link_subset, load_folder_dataset
from mnas.models import create_model
from mnas.train.augment import BatchPreprocessor
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.train.config import TrainConfig
from mnas.train.engine import evaluate, learning_rate, seed_everything, train
from mnas.weights.loading import build_model

CLASSES = ["airplane", "cat", "ship"]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar3(cifar10_root, tmp_path_factory):
    """3 CIFAR-10 classes: 60 training and 20 validation images each, 32 px."""
    root = link_subset(cifar10_root, tmp_path_factory.mktemp("cifar3"),
                       {"train": ("train", 0, 60), "test": ("test", 0, 20)}, CLASSES)
    train_set, val_set, _ = load_folder_dataset(root, cache_dir=tmp_path_factory.mktemp("cache"))
    return train_set, val_set


def _tiny_model(seed=0, classes=3):
    seed_everything(seed)
    return create_model(TINY_ARCH, num_classes=classes, input_size=32)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def test_training_lowers_the_loss_and_reports_every_epoch(cifar3):
    train_set, val_set = cifar3
    seen = []
    config = TrainConfig(epochs=3, batch_size=32, learning_rate=0.1, warmup_epochs=0.5, label_smoothing=0.1)
    model = _tiny_model()
    result = train(model, train_set, val_set, config, on_epoch_end=seen.append)
    assert [s.epoch for s in seen] == [1, 2, 3] and result.history == seen and not result.stopped
    assert seen[-1].train_loss < seen[0].train_loss
    assert all(p.is_contiguous() for p in model.parameters())  # channels-last only while training
    assert result.final.top1 > 1 / 3 + 0.1  # well above chance on 3 balanced classes
    for stats in seen:
        assert 0 <= stats.top1 <= stats.top5 <= 1 and stats.images_per_second > 0
        assert set(stats.metrics()) == {"train_loss", "val_loss", "top1", "top5", "lr", "epoch_time_s",
                                        "images_per_s"}
    # per-class accuracy agrees with top-1 (balanced classes) and names the classes
    per_class = result.per_class_accuracy
    assert list(per_class) == CLASSES
    assert sum(per_class.values()) / 3 == pytest.approx(result.final.top1)


def test_resume_after_a_stop_equals_an_uninterrupted_run(cifar3, tmp_path):
    train_set, val_set = cifar3
    config = TrainConfig(epochs=2, batch_size=32, learning_rate=0.05, optimizer="rmsprop", seed=7)
    straight = _tiny_model()
    train(straight, train_set, val_set, config, checkpoint_dir=tmp_path / "straight")

    interrupted = _tiny_model()
    epochs_done = []
    first = train(interrupted, train_set, val_set, config, checkpoint_dir=tmp_path / "resumed",
                  on_epoch_end=epochs_done.append, should_stop=lambda: len(epochs_done) >= 1)
    assert first.stopped and len(first.history) == 1
    assert load_checkpoint(tmp_path / "resumed" / CHECKPOINT_NAME)["epoch"] == 1

    resumed = _tiny_model(seed=123)  # different init: everything must come from the checkpoint
    result = train(resumed, train_set, val_set, config, checkpoint_dir=tmp_path / "resumed", resume=True)
    assert [s.epoch for s in result.history] == [1, 2]
    for key, value in straight.state_dict().items():
        assert torch.equal(value, resumed.state_dict()[key]), key  # bitwise on one thread


def test_keep_best_hands_back_the_best_epoch_and_keeps_it_across_a_resume(cifar3, tmp_path):
    from mnas.train.engine import BEST_CHECKPOINT_NAME

    train_set, val_set = cifar3
    for seed in (3, 0, 1, 2, 4, 5, 6, 7):  # a run whose best epoch is 2+ epochs before its last (3 is, here)
        config = TrainConfig(epochs=4, batch_size=32, learning_rate=0.3, seed=seed)
        model = _tiny_model(seed)
        result = train(model, train_set, val_set, config, keep_best=True, checkpoint_dir=tmp_path / f"s{seed}")
        if result.best_epoch <= 2:
            break
    else:
        pytest.fail("no seed gave a best epoch before the last two")
    history = result.history
    best = max(history, key=lambda h: (h.top1, -h.val_loss))  # the rule, written independently
    assert result.best_epoch == best.epoch == result.returned_epoch and len(history) == 4
    # the model handed back is the best epoch's: its validation is that epoch's, best.pt holds its weights
    assert evaluate(model, val_set).top1 == pytest.approx(best.top1) == result.final.top1
    assert result.last.top1 == history[-1].top1
    saved = torch.load(tmp_path / f"s{seed}" / BEST_CHECKPOINT_NAME, weights_only=True)
    assert saved["epoch"] == best.epoch
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved["model"][key]), key
    # the last epoch's weights are kept beside it: the resume checkpoint's
    last = load_checkpoint(tmp_path / f"s{seed}" / CHECKPOINT_NAME)
    for key, value in result.last_state.items():
        assert torch.equal(value, last["model"][key]), key

    # stopped after epoch 3 (the best is earlier: only best.pt has it) and resumed: the same best epoch
    done = []
    train(_tiny_model(seed), train_set, val_set, config, keep_best=True, checkpoint_dir=tmp_path / "resumed",
          on_epoch_end=done.append, should_stop=lambda: len(done) >= 3)
    resumed_model = _tiny_model(123)
    resumed = train(resumed_model, train_set, val_set, config, keep_best=True, checkpoint_dir=tmp_path / "resumed",
                    resume=True)
    assert resumed.best_epoch == result.best_epoch and resumed.final.top1 == pytest.approx(result.final.top1)
    for key, value in model.state_dict().items():
        assert torch.equal(value, resumed_model.state_dict()[key]), key  # bitwise on one thread


def test_auto_defaults_fine_tune_when_pretrained_and_a_given_value_wins():
    from mnas.train.config import FINE_TUNING_BATCH_SIZE, FINE_TUNING_LR, auto_defaults
    from mnas.train.job import auto_choices, train_config

    assert (FINE_TUNING_BATCH_SIZE, FINE_TUNING_LR) == (8, 0.001)  # the Ikomia HUB's train_torchvision_mnasnet
    assert auto_defaults(True) == {"batch_size": 8, "learning_rate": 0.001}
    scratch = TrainConfig()
    assert auto_defaults(False) == {"batch_size": scratch.batch_size, "learning_rate": scratch.learning_rate}
    fine_tuning = train_config({"batch_size": None, "learning_rate": None, "input_size": 64}, pretrained=True)
    assert (fine_tuning.batch_size, fine_tuning.learning_rate, fine_tuning.input_size) == (8, 0.001, 64)
    given = {"batch_size": 32, "learning_rate": None, "input_size": 64}
    assert auto_choices(given, pretrained=True) == {"learning_rate": 0.001}  # the user's batch size stays
    assert train_config(given, pretrained=True).batch_size == 32


@pytest.mark.parametrize("workers", [0, 1])
def test_stop_mid_epoch_returns_the_last_finished_epoch(cifar3, tmp_path, workers):
    train_set, val_set = cifar3
    config = TrainConfig(epochs=3, batch_size=32, learning_rate=0.05, num_workers=workers)
    model = _tiny_model()
    steps = {"n": 0}

    def stop_in_second_epoch():
        steps["n"] += 1
        return steps["n"] > 8  # 6 steps per epoch: stop in the middle of epoch 2

    result = train(model, train_set, val_set, config, checkpoint_dir=tmp_path,
                   should_stop=stop_in_second_epoch)
    assert result.stopped and len(result.history) == 1
    saved = load_checkpoint(tmp_path / CHECKPOINT_NAME)  # weights_only=True inside
    assert saved["epoch"] == 1
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved["model"][key]), key
    assert evaluate(model, val_set).top1 == pytest.approx(result.final.top1)


def test_background_batches_equal_inline_batches(cifar3):
    train_set, val_set = cifar3
    models = []
    for workers in (0, 2):
        model = _tiny_model()
        train(model, train_set, val_set, TrainConfig(epochs=1, batch_size=32, num_workers=workers))
        models.append(_state(model))
    for key in models[0]:
        assert torch.equal(models[0][key], models[1][key]), key


def test_resume_refuses_another_model(cifar3, tmp_path):
    train_set, val_set = cifar3
    config = TrainConfig(epochs=1, batch_size=32)
    train(_tiny_model(), train_set, val_set, config, checkpoint_dir=tmp_path)
    other = create_model("r1_k3_s22_e1_i3_o8_conv, r1_k1_s11_e1_i8_o16_conv", num_classes=3)
    with pytest.raises(ValueError, match="another model"):
        train(other, train_set, val_set, TrainConfig(epochs=2, batch_size=32), checkpoint_dir=tmp_path,
              resume=True)


def test_freeze_backbone_trains_only_the_classifier(cifar3):
    train_set, val_set = cifar3
    model = _tiny_model()
    before = _state(model)
    train(model, train_set, val_set, TrainConfig(epochs=1, batch_size=32, freeze_backbone=True))
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"classifier.weight", "classifier.bias"}  # BN statistics included


def test_freezing_a_random_backbone_is_refused():
    with pytest.raises(ValueError, match="freeze_backbone needs pretrained"):
        build_model("mnasnet0_5", 10, 32, pretrained=False, freeze_backbone=True)


class _PixelClassifier(nn.Module):
    """Logits that rank classes by how close the image's mean value is to 0, 100, 200 (after norm)."""

    def forward(self, x):
        level = x.mean(dim=(1, 2, 3))[:, None]
        centres = torch.tensor([0.0, 100.0, 200.0])[None] / 255.0
        return -(level - centres) ** 2


def test_evaluate_counts_top1_top5_and_per_class_exactly():
    values = torch.tensor([0, 100, 200, 200, 0, 100, 0])  # image pixel values
    labels = torch.tensor([0, 1, 2, 1, 1, 0, 0])         # 4 of 7 right; the misses are 2nd choices
    images = values.to(torch.uint8)[:, None, None, None].expand(-1, 4, 4, 3).contiguous()
    data = ImageDataset(images, labels, ["a", "b", "c"])
    result = evaluate(_PixelClassifier(), data, mean=(0, 0, 0), std=(1, 1, 1))
    assert result.top1 == pytest.approx(4 / 7)
    assert result.top5 == 1.0  # 3 classes: top-5 is top-3
    assert result.per_class_accuracy == pytest.approx([2 / 3, 1 / 3, 1.0])


def test_augmentation_is_seeded_and_fits_the_input_size(cifar3):
    images = cifar3[0].images[:16]
    small = BatchPreprocessor(32)
    one = small.train_batch(images, torch.Generator().manual_seed(1))
    two = small.train_batch(images, torch.Generator().manual_seed(1))
    assert one.shape == (16, 3, 32, 32) and torch.equal(one, two)
    assert not torch.equal(one, small.eval_batch(images))
    # a padded random crop keeps every pixel's value from the image (or the zero padding)
    assert one.min() >= small.shift.min() - 1e-6
    large = BatchPreprocessor(96)  # random-resized crop; evaluation resizes the whole image
    assert large.train_batch(images, torch.Generator().manual_seed(1)).shape == (16, 3, 96, 96)
    assert large.eval_batch(images).shape == (16, 3, 96, 96)


def test_learning_rate_warms_up_then_follows_the_schedule():
    cosine = TrainConfig(epochs=10, learning_rate=0.1, warmup_epochs=1)
    assert learning_rate(cosine, 0, 100) == pytest.approx(0.001)
    assert learning_rate(cosine, 99, 100) == pytest.approx(0.1)
    assert learning_rate(cosine, 550, 100) == pytest.approx(0.05)
    assert learning_rate(cosine, 999, 100) < 1e-4
    step = TrainConfig(epochs=10, learning_rate=0.1, schedule="step", lr_step_epochs=2.4, lr_step_gamma=0.97)
    assert learning_rate(step, 239, 100) == pytest.approx(0.1)
    assert learning_rate(step, 500, 100) == pytest.approx(0.1 * 0.97 ** 2)


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("batch_size", 1), ("learning_rate", 0.0), ("optimizer", "adam"), ("schedule", "linear"),
    ("warmup_epochs", 10), ("label_smoothing", 1.0), ("weight_decay", -1.0), ("num_workers", -1),
    ("std", (0.2, 0.0, 0.2)),
])
def test_bad_hyper_parameters_are_named(field, value):
    with pytest.raises(ValueError, match=f"^{field} must be"):
        TrainConfig(**{field: value})


def test_mismatched_class_lists_are_refused(cifar3):
    train_set, val_set = cifar3
    other = ImageDataset(val_set.images, val_set.labels, ["x", "y", "z"])
    with pytest.raises(ValueError, match="class lists differ"):
        train(_tiny_model(), train_set, other, TrainConfig(epochs=1))


def test_rmsprop_uses_the_papers_settings():
    from mnas.train.engine import make_optimizer

    optimizer = make_optimizer(_tiny_model(), TrainConfig(optimizer="rmsprop", weight_decay=1e-5))
    group = optimizer.param_groups[0]
    assert isinstance(optimizer, torch.optim.RMSprop)
    assert group["alpha"] == 0.9 and group["momentum"] == 0.9
    assert group["eps"] == pytest.approx(math.sqrt(1e-3))
    assert {g["weight_decay"] for g in optimizer.param_groups} == {1e-5, 0.0}  # none on BN / bias


def test_pretrained_backbone_comes_from_the_torch_hub_cache(tmp_path, monkeypatch):
    import torchvision

    from mnas.weights.convert import convert_torchvision_state_dict
    from mnas.weights.published import WeightsNotFoundError, imagenet_checkpoint_path

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsNotFoundError, match=str(imagenet_checkpoint_path("mnasnet0_5"))):
        build_model("mnasnet0_5", 3, 32, pretrained=True)
    seed_everything(3)
    reference = torchvision.models.mnasnet0_5()
    path = imagenet_checkpoint_path("mnasnet0_5")
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)

    model = build_model("mnasnet0_5", 3, 32, pretrained=True, freeze_backbone=True)
    expected = convert_torchvision_state_dict(reference.state_dict(), create_model("mnasnet0_5"))
    for key, value in model.features.state_dict().items():
        assert torch.equal(value, expected[f"features.{key}"]), key
    assert model.classifier.out_features == 3 and model.num_classes == 3
    with pytest.raises(ValueError, match="not an architecture string"):
        build_model(TINY_ARCH, 3, 32, pretrained=True)


def test_every_file_a_training_writes_is_one_the_output_folder_lock_knows():
    from mnas.train.job import RUN_FILES
    from mnas.utils.locks import KNOWN_OUTPUTS

    assert {name.split("/")[0] for name in RUN_FILES} <= set(KNOWN_OUTPUTS["training"])
