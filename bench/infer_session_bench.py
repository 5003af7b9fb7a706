"""ONNX Runtime session settings, measured: which defaults `mnas.runtime.SessionSettings` should have.

For the float and the int8 (QDQ) export of `--model` at 224 px with random weights (speed does not
depend on them), one setting changed at a time from the defaults: graph optimisation level, CPU memory
arena, intra-op thread spinning, intra-op threads. Each is timed two ways, side by side in rotated
blocks (bench/infer_timing.py), median of `--repeats` calls:

- run: ``session.run`` alone on a pre-processed batch 1;
- per image: what infer_mnasnet does per image, a 480x640 photo pre-processed, run, softmax (spinning
  threads compete with the Python work between runs, so this is the figure that decides);
- batch 32: ``session.run`` on 32 images, per image (the CLI's batch mode).

    python bench/infer_session_bench.py                  # mnasnet1_0; int8 calibrated on 32 CIFAR images
    python bench/infer_session_bench.py --model mnasnet0_5 --repeats 60
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("MNAS_CACHE", tempfile.mkdtemp(prefix="mnas-session-bench-"))

from infer_timing import median_ms_in_blocks  # noqa: E402  (bench/, beside this file)

from mnas import runtime  # noqa: E402
from mnas.models import create_model  # noqa: E402
from mnas.preprocess import Preprocessor  # noqa: E402

CIFAR10_ROOT = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpg"
DEFAULT = runtime.SessionSettings()


def variants(threads: int) -> dict[str, tuple[runtime.SessionSettings, int]]:
    """Name -> (settings, threads): the defaults, then one change at a time."""
    found = {"defaults": (DEFAULT, threads)}
    for level in runtime.OPTIMIZATION_LEVELS:
        if level != DEFAULT.optimization:
            found[f"optimization={level}"] = (dataclasses.replace(DEFAULT, optimization=level), threads)
    found[f"memory_arena={not DEFAULT.memory_arena}"] = (
        dataclasses.replace(DEFAULT, memory_arena=not DEFAULT.memory_arena), threads)
    found[f"spinning={not DEFAULT.spinning}"] = (dataclasses.replace(DEFAULT, spinning=not DEFAULT.spinning),
                                                 threads)
    for count in (1, 2, 4):
        if count != threads:
            found[f"threads={count}"] = (DEFAULT, count)
    return found


def calibration_batch(size: int, count: int) -> np.ndarray:
    preprocessor = Preprocessor(size)
    files = runtime.calibration_files(CIFAR10_ROOT, count)
    return preprocessor.batch([cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB) for f in files])


def measure(path: Path, args, photo: np.ndarray) -> dict[str, dict[str, float]]:
    preprocessor = Preprocessor(args.input_size)
    single = preprocessor(photo)
    batch = np.repeat(single, 32, axis=0)
    sessions = {name: runtime.create_session(path, threads, settings)
                for name, (settings, threads) in variants(args.threads).items()}
    results = {}
    for kind in ("run", "per image", "batch 32"):
        def call(session, kind=kind):
            if kind == "run":
                return lambda: session.run(None, {runtime.INPUT_NAME: single})
            if kind == "batch 32":
                return lambda: session.run(None, {runtime.INPUT_NAME: batch})
            return lambda: runtime.softmax(session.run(None, {runtime.INPUT_NAME: preprocessor(photo)})[0])

        medians = median_ms_in_blocks({name: call(s) for name, s in sessions.items()}, args.warmup,
                                      args.repeats)
        results[kind] = {name: value / (32 if kind == "batch 32" else 1) for name, value in medians.items()}
    return results


def print_table(title: str, results: dict[str, dict[str, float]]) -> None:
    print(f"\n{title}: ms per image (ratio to the defaults)")
    kinds = list(results)
    print(f"{'setting':<22}" + "".join(f"{kind:>22}" for kind in kinds))
    for name in results[kinds[0]]:
        cells = [f"{results[k][name]:>12.3f} ({results[k][name] / results[k]['defaults']:.2f}x)" for k in kinds]
        print(f"{name:<22}" + "".join(f"{cell:>22}" for cell in cells))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mnasnet1_0")
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--threads", type=int, default=runtime.default_threads())
    parser.add_argument("--repeats", type=int, default=45)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--calibration-images", type=int, default=32)
    args = parser.parse_args(argv)
    import skimage.data

    photo = np.ascontiguousarray(cv2.resize(skimage.data.coffee(), (640, 480)))
    torch.manual_seed(0)
    model = create_model(args.model, num_classes=1000, input_size=args.input_size).eval()
    float_path = runtime.onnx_model_path(model, args.input_size)
    int8_path = runtime.int8_model_path(model, args.input_size,
                                        calibration_batch(args.input_size, args.calibration_images))
    print(f"{args.model} at {args.input_size} px, {os.cpu_count()} cores, defaults {DEFAULT}, "
          f"{args.threads} threads; load average before {os.getloadavg()[0]:.2f}")
    print_table("float", measure(float_path, args, photo))
    print_table("int8 (QDQ)", measure(int8_path, args, photo))
    print(f"\nload average after {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
