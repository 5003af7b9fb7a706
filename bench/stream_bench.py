"""Benchmark (not a test): the in-memory path against the streaming path (`mnas.data.stream`: files decoded
batch by batch in DataLoader worker processes) on CIFAR-10 at 224 px, one run, side by side.

Both train the same MnasNet-B1 x0.5 from the same weights on the same images for one epoch, alternating,
`--repeats` times: the in-memory path decodes everything first (timed apart, cache off), the streaming
path decodes while it trains. Printed per path: training images/s (`EpochStats.images_per_second`,
steps only) and images/s end to end (decoding included), medians; and what the decoded set would take
in memory at 224 px for all 50,000 training images, the case streaming is for.

    flock /tmp/mnas-timing.lock python bench/stream_bench.py --per-class 40 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mnas.data.cifar10 import cifar10_root
from mnas.data.splits import link_subset, load_folder_dataset  # noqa: E402
from mnas.data.stream import decoded_bytes, default_workers, list_folder_dataset  # noqa: E402
from mnas.models import create_model  # noqa: E402
from mnas.train.config import TrainConfig
from mnas.train.engine import seed_everything, train  # noqa: E402


def one_epoch(train_set, val_set, config: TrainConfig) -> float:
    seed_everything(0)
    model = create_model("mnasnet0_5", num_classes=train_set.num_classes, input_size=config.input_size)
    return train(model, train_set, val_set, config).history[0].images_per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=40, help="training images per class")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=0, help="decoding processes (0: one per core)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = link_subset(cifar10_root(), Path(tmp) / "data", {"train": ("train", 0, args.per_class),
                                                                "val": ("test", 0, 4)})
        config = TrainConfig(epochs=1, batch_size=32, input_size=args.size, precise_bn_images=0,
                             decode_workers=args.workers)
        rows = {"in-memory": [], "streaming": []}
        for _ in range(args.repeats):
            started = time.perf_counter()
            train_set, val_set, _ = load_folder_dataset(root, image_size=args.size, use_cache=False)
            decode_s = time.perf_counter() - started
            started = time.perf_counter()
            steps_rate = one_epoch(train_set, val_set, config)
            total = decode_s + time.perf_counter() - started
            rows["in-memory"].append((steps_rate, len(train_set) / total))
            del train_set, val_set
            files, val_files, _ = list_folder_dataset(root, image_size=args.size)
            started = time.perf_counter()
            steps_rate = one_epoch(files, val_files, config)
            rows["streaming"].append((steps_rate, len(files) / (time.perf_counter() - started)))
    n = 10 * args.per_class
    print(f"CIFAR-10 at {args.size} px, mnasnet0_5, {n} training images, batch 32, {args.threads} torch "
          f"threads, {args.workers or default_workers()} decoding processes, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}; medians of {args.repeats}")
    for name, values in rows.items():
        steps = statistics.median(v[0] for v in values)
        overall = statistics.median(v[1] for v in values)
        print(f"  {name:<10} training {steps:6.1f} images/s, end to end (decoding included) {overall:6.1f} images/s")
    ratio = statistics.median(v[1] for v in rows["streaming"]) / statistics.median(v[1] for v in rows["in-memory"])
    print(f"  streaming / in-memory end to end: {ratio:.2f}x")
    print(f"  decoded in memory, all 50,000 training images at {args.size} px: "
          f"{decoded_bytes(50_000, args.size) / 1e9:.1f} GB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
