"""Benchmark (not a test): the training engine on CIFAR-10 at 32 px with a CIFAR-adapted MnasNet-B1 x0.5.

Two parts, one run, same model and same in-memory data:

1. Throughput: training images per second of `mnas.train.engine.train` against a bare hand-written
   torchvision-style loop (pre-normalised float tensors, shuffle, forward, loss, backward, step,
   ``loss.item()`` per step, no augmentation: the cheapest honest loop), in NCHW as torchvision's
   reference scripts run, and in channels-last like the engine's default (the engine's own overhead).
   Each contender trains the same number of images from the same initial weights, alternating, median
   of `--repeats` after a warm-up. Also the engine without augmentation and in NCHW.
2. Accuracy: `--epochs` epochs of the engine on CIFAR-10's training set (or `--limit-per-class` of it),
   test-set top-1 after each epoch, wall time.

    python bench/train_cifar.py                                   # full: 50,000 images, 5 epochs
    python bench/train_cifar.py --limit-per-class 100 --epochs 1  # a quick check

Prints the machine's conditions (threads, cores, load average) with every figure.

Its figures so far: docs/training.md ("The engine, measured").
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnas.data.cifar10 import cifar10_root
from mnas.data.decode import load_split  # noqa: E402
from mnas.data.folders import ImageDataset
from mnas.models import count_macs, count_params, create_model  # noqa: E402
from mnas.train.augment import BatchPreprocessor
from mnas.train.config import TrainConfig
from mnas.train.engine import evaluate, seed_everything, train  # noqa: E402


def bare_loop(model: nn.Module, inputs: torch.Tensor, labels: torch.Tensor, config: TrainConfig,
              channels_last: bool = False) -> float:
    """A hand-written training loop over ready float tensors; returns training images per second."""
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(memory_format=memory_format)
    inputs = inputs.contiguous(memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum, nesterov=True,
                                weight_decay=config.weight_decay)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    generator = torch.Generator().manual_seed(config.seed)
    order = torch.randperm(len(labels), generator=generator)
    model.train()
    started = time.perf_counter()
    seen = 0
    for start in range(0, len(order), config.batch_size):
        index = order[start:start + config.batch_size]
        output = model(inputs[index])
        loss = criterion(output, labels[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        loss.item()  # what a torchvision-style loop logs each step
        seen += len(index)
    return seen / (time.perf_counter() - started)


def engine_loop(model: nn.Module, data: ImageDataset, val: ImageDataset, config: TrainConfig) -> float:
    result = train(model, data, val, config)
    return result.history[-1].images_per_second


BARE = "bare loop (torchvision-style)"


def variant(config: TrainConfig, **changes) -> TrainConfig:
    return TrainConfig(**{**vars(config), **changes})


def conditions(threads: int) -> str:
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return f"{threads} torch thread(s), {os.cpu_count()} cores, load average {load}"


def throughput(model: nn.Module, data: ImageDataset, val: ImageDataset, config: TrainConfig,
               repeats: int) -> dict[str, float]:
    prep = BatchPreprocessor(config.input_size, config.mean, config.std)
    inputs = prep.eval_batch(data.images)  # the bare loop's ready-made float tensors
    contenders = {
        BARE: lambda m: bare_loop(m, inputs, data.labels, config),
        "bare loop, channels-last": lambda m: bare_loop(m, inputs, data.labels, config, channels_last=True),
        "engine (default)": lambda m: engine_loop(m, data, val, config),
        "engine, augment off": lambda m: engine_loop(m, data, val, variant(config, augment=False)),
        "engine, NCHW": lambda m: engine_loop(m, data, val, variant(config, channels_last=False)),
    }
    samples: dict[str, list[float]] = {name: [] for name in contenders}
    for round_ in range(repeats + 1):  # round 0 is the warm-up
        for name, run in contenders.items():
            value = run(copy.deepcopy(model))
            if round_:
                samples[name].append(value)
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=None, help="CIFAR-10 folder (default: mnas.data.cifar10.cifar10_root())")
    parser.add_argument("--model", default="mnasnet0_5")
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--limit-per-class", type=int, default=None, help="training images per class")
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--throughput-images", type=int, default=2560,
                        help="images per throughput measurement (default 20 batches of 128)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    root = Path(args.data) if args.data else cifar10_root()
    started = time.perf_counter()
    train_set = load_split(root / "train", limit_per_class=args.limit_per_class)
    test_set = load_split(root / "test", classes=train_set.class_names)
    print(f"data: {len(train_set)} training, {len(test_set)} test images from {root} "
          f"(decoded or read from cache in {time.perf_counter() - started:.1f} s)")
    seed_everything(0)
    model = create_model(args.model, num_classes=10, input_size=32)
    print(f"model: {args.model} at 32 px, {count_params(model):,} parameters, "
          f"{count_macs(model, 32) / 1e6:.1f}M MACs; arch {model.arch}")

    if not args.skip_throughput:
        report_throughput(model, train_set, test_set, args)
    if not args.skip_accuracy:
        report_accuracy(train_set, test_set, args)
    return 0


def report_throughput(model, train_set: ImageDataset, test_set: ImageDataset, args) -> None:
    config = TrainConfig(epochs=1, batch_size=args.batch_size, learning_rate=args.lr, input_size=32,
                         precise_bn_images=0, eval_batch_size=512)
    count = min(args.throughput_images, len(train_set))
    sample = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(0))[:count]
    subset = train_set.subset(sample)
    tiny_val = test_set.subset(torch.arange(min(64, len(test_set))))
    rates = throughput(model, subset, tiny_val, config, args.repeats)
    bare, bare_cl = rates[BARE], rates["bare loop, channels-last"]
    print(f"\nthroughput, {count} training images per measurement, batch {args.batch_size}, median of "
          f"{args.repeats} after a warm-up; {conditions(args.threads)}")
    print(f"  {'':<30} {'images/s':>9} {'vs bare':>8} {'vs bare CL':>10}")
    for name, rate in rates.items():
        print(f"  {name:<30} {rate:9.1f} {rate / bare:7.3f}x {rate / bare_cl:9.3f}x")
    print("  (bare loops: ready float tensors, no augmentation, loss.item() per step; the engine "
          "gathers, augments and normalises uint8 batches inside its timing)")


def report_accuracy(train_set: ImageDataset, test_set: ImageDataset, args) -> None:
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, learning_rate=args.lr, input_size=32,
                         warmup_epochs=min(1.0, args.epochs / 5), label_smoothing=0.1, weight_decay=5e-5)
    print(f"\naccuracy: {args.epochs} epoch(s) on {len(train_set)} images, SGD lr {args.lr} cosine, "
          f"batch {args.batch_size}, label smoothing 0.1; {conditions(args.threads)}")
    seed_everything(0)
    model = create_model(args.model, num_classes=10, input_size=32)
    started = time.perf_counter()

    def report(stats):
        print(f"  epoch {stats.epoch}: train loss {stats.train_loss:.4f}, test top-1 {stats.top1:.2%}, "
              f"top-5 {stats.top5:.2%}, {stats.epoch_seconds:.0f} s, {stats.images_per_second:.0f} "
              f"images/s", flush=True)

    result = train(model, train_set, test_set, config, on_epoch_end=report)
    wall = time.perf_counter() - started
    final = evaluate(model, test_set, input_size=32)
    print(f"CIFAR-10 test top-1 {final.top1:.2%} (top-5 {final.top5:.2%}) after {len(result.history)} "
          f"epoch(s), {wall / 60:.1f} min wall time; load average now "
          f"{', '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    raise SystemExit(main())
