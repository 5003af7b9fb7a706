"""int8 vs float: ONNX Runtime static quantisation, its top-1 change on CIFAR-10 test/ and its speed.

1. A model trained by the training engine (the one train_mnasnet runs): by default mnasnet0_5 at
   32 px for a few epochs on a CIFAR-10 train/ subset (or `--model-file`, e.g. train_mnasnet's output).
2. Calibration on `--calibration-images` images of the model's own dataset (CIFAR-10 train/, spread
   over the classes), through the same pre-processing as inference (`mnas.preprocess`).
3. Top-1 on CIFAR-10 test/ of: eager torch, ONNX Runtime float, ONNX Runtime int8 in both formats
   (QDQ and QOperator), and how often int8's top-1 equals float's.
4. ONNX Runtime latency, batch 1, median of calls in rotated blocks (bench/infer_timing.py): float
   vs int8 (both formats) for the trained model and, at 224 px, for the ImageNet-size variants
   (random weights: speed does not depend on them; calibrated on CIFAR images resized to 224).
   Eager torch's latency is in bench/infer_bench.py.

    python bench/infer_int8_bench.py                 # trains first: minutes on a quiet 2-core machine
    python bench/infer_int8_bench.py --model-file runs/cifar/model.pt   # a train_mnasnet model
    python bench/infer_int8_bench.py --tiny          # a quick check that everything runs
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from infer_timing import median_ms_in_blocks  # noqa: E402  (bench/, beside this file)

from mnas import runtime  # noqa: E402
from mnas.data.decode import load_split
from mnas.data.splits import stratified_split  # noqa: E402
from mnas.models import create_model  # noqa: E402
from mnas.preprocess import Preprocessor  # noqa: E402
from mnas.train.config import TrainConfig
from mnas.train.engine import seed_everything, train  # noqa: E402
from mnas.weights.model_file import load_model_file, save_model_file  # noqa: E402

CIFAR10_ROOT = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpg"
FORMATS = runtime.QUANT_FORMATS


def spread_over_classes(dataset, count: int) -> np.ndarray:
    """`count` image indices taking classes in turn (the first images of each class)."""
    per_class = [torch.nonzero(dataset.labels == c).flatten().tolist() for c in range(dataset.num_classes)]
    picked = [members[n] for n in range(max(map(len, per_class))) for members in per_class
              if n < len(members)]
    return np.array(picked[:count])


def preprocess_images(images: torch.Tensor, preprocessor: Preprocessor) -> np.ndarray:
    return preprocessor.batch([image.numpy() for image in images])


def trained_model(args, train_all):
    if args.model_file:
        model, info = load_model_file(args.model_file)
        print(f"model: {args.model_file} ({info['arch'][:60]}..., {info['input_size']} px)")
        return model, info["input_size"]
    train_set, val_set = stratified_split(train_all, 0.1)  # test/ stays unseen until the comparison
    seed_everything(0)
    model = create_model(args.model, num_classes=train_set.num_classes, input_size=args.input_size)
    config = TrainConfig(epochs=args.epochs, batch_size=128, learning_rate=0.1, input_size=args.input_size,
                         precise_bn_images=min(2048, len(train_set)))
    started = time.perf_counter()
    result = train(model, train_set, val_set, config,
                   on_epoch_end=lambda s: print(f"  epoch {s.epoch}: val top-1 {s.top1:.1%} "
                                                f"({s.images_per_second:.0f} img/s)", flush=True))
    print(f"trained {args.model} at {args.input_size} px, {args.epochs} epochs on {len(train_set)} images "
          f"in {time.perf_counter() - started:.0f} s: val top-1 {result.final.top1:.1%}")
    path = save_model_file(Path(args.out) / f"{args.model}_{args.input_size}px.pt", model,
                           class_names=train_set.class_names, input_size=args.input_size)
    print(f"saved {path}")
    return model.eval(), args.input_size


def predicted_classes(backend, batch: np.ndarray, chunk: int = 500) -> np.ndarray:
    return np.concatenate([backend.probabilities(batch[n:n + chunk]).argmax(axis=1)
                           for n in range(0, len(batch), chunk)])


def latency_table(contenders: dict, image: np.ndarray, warmup: int, repeats: int) -> dict[str, float]:
    calls = {key: (lambda backend=backend: backend.probabilities(image))
             for key, backend in contenders.items()}
    return median_ms_in_blocks(calls, warmup, repeats)


def int8_backends(model, input_size, calibration, cache_dir, threads):
    backends = {"float": runtime.OnnxRuntimeBackend(runtime.onnx_model_path(model, input_size, cache_dir),
                                                    threads)}
    for quant_format in FORMATS:
        path = runtime.int8_model_path(model, input_size, calibration, cache_dir, quant_format)
        backends[f"int8 {quant_format}"] = runtime.OnnxRuntimeBackend(path, threads)
    return backends


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=str(CIFAR10_ROOT), help="CIFAR-10 folder with train/ and test/")
    parser.add_argument("--model-file", default="", help="a trained mnas model file (skips training)")
    parser.add_argument("--model", default="mnasnet0_5")
    parser.add_argument("--input-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-per-class", type=int, default=1000)
    parser.add_argument("--test-per-class", type=int, default=None, help="default: all of test/")
    parser.add_argument("--calibration-images", type=int, default=200)
    parser.add_argument("--latency-models", nargs="*", default=["mnasnet0_5", "mnasnet1_0", "mnasnet_a1"])
    parser.add_argument("--threads", type=int, default=None, help="default: the machine's")
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--out", default=str(REPO_ROOT / "runs" / "int8_bench"))
    parser.add_argument("--tiny", action="store_true", help="a quick check: 1 epoch, small subsets")
    args = parser.parse_args(argv)
    if args.tiny:
        args.epochs, args.train_per_class, args.test_per_class = 1, 30, 20
        args.calibration_images, args.latency_models, args.repeats, args.warmup = 10, ["mnasnet0_5"], 3, 1
    threads = args.threads or runtime.default_threads()
    print(f"machine: {os.cpu_count()} cores, ONNX Runtime threads {threads}, torch threads "
          f"{torch.get_num_threads()}; load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")

    data = Path(args.data)
    train_all = load_split(data / "train", limit_per_class=args.train_per_class)
    test_set = load_split(data / "test", classes=train_all.class_names, limit_per_class=args.test_per_class)
    model, input_size = trained_model(args, train_all)
    preprocessor = Preprocessor(input_size)
    calibration_set = load_split(data / "train", classes=train_all.class_names,
                                 limit_per_class=max(1, args.calibration_images // train_all.num_classes + 1))
    calibration = preprocess_images(
        calibration_set.images[spread_over_classes(calibration_set, args.calibration_images)], preprocessor)
    test_batch = preprocess_images(test_set.images, preprocessor)
    labels = test_set.labels.numpy()

    with tempfile.TemporaryDirectory(prefix="mnas-int8-bench-") as cache_dir:
        backends = {"torch": runtime.TorchBackend(model),
                    **int8_backends(model, input_size, calibration, cache_dir, threads)}
        predictions = {key: predicted_classes(backend, test_batch) for key, backend in backends.items()}
        print(f"\nTop-1 on CIFAR-10 test/ ({len(labels)} images, {input_size} px), int8 calibrated on "
              f"{len(calibration)} train/ images")
        print(f"{'engine':<16} {'top-1':>7} {'change':>8} {'same top-1 as float':>20}")
        reference = predictions["float"]
        float_top1 = (reference == labels).mean()
        for key, predicted in predictions.items():
            accuracy = (predicted == labels).mean()
            print(f"{key:<16} {accuracy:>7.2%} {(accuracy - float_top1) * 100:>+7.2f}pp "
                  f"{(predicted == reference).mean():>20.2%}")
        onnx_backends = {key: backend for key, backend in backends.items() if key != "torch"}
        rows = {f"{Path(args.model_file).name if args.model_file else args.model} @ {input_size}px (trained)":
                latency_table(onnx_backends, test_batch[:1], args.warmup, args.repeats)}

        calibration_224 = None
        for name in args.latency_models:
            if calibration_224 is None:
                calibration_224 = preprocess_images(calibration_set.images[:len(calibration)],
                                                    Preprocessor(224))
            torch.manual_seed(0)
            variant = create_model(name, num_classes=1000, input_size=224).eval()
            contenders = int8_backends(variant, 224, calibration_224, cache_dir, threads)
            rows[f"{name} @ 224px"] = latency_table(contenders, calibration_224[:1], args.warmup,
                                                    args.repeats)

    print(f"\nONNX Runtime latency per image, batch 1, median of {args.repeats} calls in 3 rotated blocks "
          "(ms)")
    keys = ["float", *[f"int8 {f}" for f in FORMATS]]
    print(f"{'model':<40}" + "".join(f"{k:>16}" for k in keys) + "  int8 speed-up (qdq, qoperator)")
    for label, medians in rows.items():
        speedups = ", ".join(f"{medians['float'] / medians[f'int8 {f}']:.2f}x" for f in FORMATS)
        print(f"{label:<40}" + "".join(f"{medians[k]:>16.2f}" for k in keys) + f"  {speedups}")
    print(f"load average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
