"""Per-image latency of infer_mnasnet next to the two references it is judged against, in one run.

For each model, on one 480x640 RGB photo, batch 1, at `--input-size` px:

  (a) infer_mnasnet      our Ikomia task in a workflow, default parameters (backend auto)
  (b) eager task         an Ikomia task written the way the public MnasNet task works: cv2.resize,
                         torchvision ToTensor + Normalize, eager PyTorch model, softmax, sorted results
  (c) bare ORT           an ONNX Runtime session fed by the same pre-processing as (a), nothing else
  (f) Ikomia floor       for context: a no-op classification task in a workflow that only reads its
                         input image and sets 1000 whole-image results, the part of (a) and (b) that
                         belongs to Ikomia itself

They run side by side in blocks whose order rotates over three passes (see bench/infer_timing.py), so
that load from other processes hits them alike; each figure is the median of `--repeats` calls, each
block after `--warmup` untimed calls. Model loading (the first run of a fresh task: build, weights,
ONNX export or cache, session, torch check) is timed separately, with an empty export cache and again
with a warm one. Goals (issue 5): (a) <= 1.15 x (c) and <= 0.33 x (b).

ImageNet weights cannot be downloaded here, so each model gets random weights saved as an mnas model
file (1000 classes); latency does not depend on the weights' values.

    python bench/infer_bench.py                      # mnasnet0_5, mnasnet1_0, mnasnet_a1 at 224 px
    python bench/infer_bench.py --tiny               # a quick check that everything runs
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
# a private HOME (Ikomia registry, caches) so the bench neither reads nor writes the user's
_HOME = tempfile.mkdtemp(prefix="mnas-infer-bench-")
atexit.register(shutil.rmtree, _HOME, ignore_errors=True)
os.environ["HOME"] = _HOME
os.environ["MNAS_CACHE"] = os.path.join(_HOME, "mnas-cache")
os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")

from mnas_ikomia.plugins import install_plugins  # noqa: E402

install_plugins(_HOME)

import numpy as np  # noqa: E402
import torch  # noqa: E402
from ikomia import core, dataprocess  # noqa: E402
from ikomia.dataprocess.workflow import Workflow  # noqa: E402

import cv2  # noqa: E402  (after ikomia: its bundled OpenCV, as inside a task)
import torchvision.transforms as transforms  # noqa: E402

from mnas import runtime  # noqa: E402
from mnas.latency import onnxruntime_session  # noqa: E402
from mnas.models import create_model  # noqa: E402
from mnas.preprocess import preprocess  # noqa: E402
from mnas.weights import save_model_file  # noqa: E402
from infer_timing import median_ms_in_blocks  # noqa: E402  (bench/, beside this file)

MODELS = ("mnasnet0_5", "mnasnet1_0", "mnasnet_a1")
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class EagerTaskParam(core.CWorkflowTaskParam):
    def __init__(self, input_size: int = 224):
        core.CWorkflowTaskParam.__init__(self)
        self.input_size = input_size

    def set_values(self, params):
        self.input_size = int(params["input_size"])

    def get_values(self):
        return {"input_size": str(self.input_size)}


class EagerTask(dataprocess.CClassificationTask):
    """(b): the public Ikomia MnasNet task's way (Ikomia-hub/infer_torchvision_mnasnet ``predict``)."""

    def __init__(self, model, class_names, input_size: int):
        dataprocess.CClassificationTask.__init__(self, "eager_mnasnet_reference")
        self.set_param_object(EagerTaskParam(input_size))
        self.model = model.eval()
        self.set_names(class_names)
        self.device = torch.device("cpu")

    def predict(self, image, input_size):
        input_img = cv2.resize(image, (input_size, input_size))
        trs = transforms.Compose([transforms.ToTensor(),
                                  transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD)])
        input_tensor = trs(input_img).to(self.device).unsqueeze(0)
        with torch.no_grad():
            output = self.model(input_tensor)
            return torch.nn.functional.softmax(output[0], dim=0)

    def run(self):
        self.begin_task_run()
        param = self.get_param_object()
        predictions = self.predict(self.get_input(0).get_image(), param.input_size)
        ranked = sorted(zip(predictions.flatten().tolist(), self.get_names()), reverse=True)
        self.set_whole_image_results([name for _, name in ranked], [str(conf) for conf, _ in ranked])
        self.end_task_run()


class FloorTask(dataprocess.CClassificationTask):
    """(f): what any whole-image classification task pays Ikomia: read the input, publish N results."""

    def __init__(self, class_names):
        dataprocess.CClassificationTask.__init__(self, "ikomia_floor")
        self.set_names(class_names)
        self.confidences = ["%.9g" % (1.0 / len(class_names))] * len(class_names)

    def run(self):
        self.begin_task_run()
        self.get_input(0).get_image()
        self.set_whole_image_results(self.get_names(), self.confidences)
        self.forward_input_image(0, 0)
        self.end_task_run()


def photo(height: int = 480, width: int = 640) -> np.ndarray:
    import skimage.data

    return np.ascontiguousarray(cv2.resize(skimage.data.coffee(), (width, height)))


def infer_mnasnet_workflow(weight_file: Path, threads: int | None):
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    parameters = {"model_weight_file": str(weight_file)}  # everything else: defaults
    if threads:
        parameters["threads"] = str(threads)
    task.set_parameters(parameters)
    return workflow, task


def eager_workflow(model, class_names, input_size):
    workflow = Workflow()
    workflow.add_task(task=EagerTask(model, class_names, input_size), auto_connect=True)
    return workflow


def bare_session(model, input_size, threads: int):
    """(c): export (cached), a plain session, the same pre-processing as infer_mnasnet."""
    session = onnxruntime_session(str(runtime.onnx_model_path(model, input_size)), threads)

    def classify(image):
        (logits,) = session.run(None, {"input": preprocess(image, input_size)})
        return runtime.softmax(logits)

    return classify


def first_run(make_and_run):
    """(what `make_and_run` returns, its duration in ms)."""
    start = time.perf_counter()
    result = make_and_run()
    return result, (time.perf_counter() - start) * 1000.0


def bench_model(name: str, args, image: np.ndarray, folder: Path) -> dict:
    torch.manual_seed(0)
    model = create_model(name, num_classes=1000, input_size=args.input_size).eval()
    class_names = [f"class_{n}" for n in range(1000)]
    weight_file = save_model_file(folder / f"{name}.pt", model, class_names=class_names,
                                  input_size=args.input_size)

    def fresh_a():
        workflow, task = infer_mnasnet_workflow(weight_file, args.threads)
        workflow.run_on(array=image)
        return workflow, task

    def fresh_b():
        eager_model = create_model(name, num_classes=1000, input_size=args.input_size)
        eager_model.load_state_dict(torch.load(weight_file, weights_only=True)["state_dict"])
        workflow = eager_workflow(eager_model, class_names, args.input_size)
        workflow.run_on(array=image)
        return workflow

    def fresh_c():
        classify = bare_session(model, args.input_size, args.threads or runtime.default_threads())
        classify(image)
        return classify

    loading = {}
    _, loading["a_cold_cache"] = first_run(fresh_a)
    (workflow_a, task_a), loading["a_warm_cache"] = first_run(fresh_a)
    workflow_b, loading["b"] = first_run(fresh_b)
    classify_c, loading["c_warm_cache"] = first_run(fresh_c)

    workflow_f = Workflow()
    workflow_f.add_task(task=FloorTask(class_names), auto_connect=True)
    contenders = {"a": lambda: workflow_a.run_on(array=image), "b": lambda: workflow_b.run_on(array=image),
                  "c": lambda: classify_c(image), "f": lambda: workflow_f.run_on(array=image)}
    medians = median_ms_in_blocks(contenders, args.warmup, args.repeats)
    backend = task_a.get_parameters().get("backend", "?")
    return {"model": name, "medians": medians, "loading": loading, "backend": backend}


def print_report(rows, args, load_before, load_after) -> None:
    threads_ort, threads_torch = args.threads or runtime.default_threads(), torch.get_num_threads()
    print(f"\nPer-image latency, 480x640 RGB photo -> {args.input_size} px, batch 1, median of "
          f"{args.repeats} calls in 3 rotated blocks, {args.warmup} warm-up calls per block")
    print(f"machine: {os.cpu_count()} cores; ONNX Runtime threads {threads_ort}, torch threads "
          f"{threads_torch}; load average before {load_before}, after {load_after}")
    header = (f"{'model':<12} {'(a) infer_mnasnet':>18} {'(b) eager task':>15} {'(c) bare ORT':>13} "
              f"{'a/c (<=1.15)':>13} {'a/b (<=0.33)':>13} {'(f) Ikomia floor':>17}")
    print(header)
    for row in rows:
        m = row["medians"]
        print(f"{row['model']:<12} {m['a']:>16.2f}ms {m['b']:>13.2f}ms {m['c']:>11.2f}ms "
              f"{m['a'] / m['c']:>13.2f} {m['a'] / m['b']:>13.2f} {m['f']:>15.2f}ms")
    print("\nModel loading (first run of a fresh task, including that run's inference)")
    print(f"{'model':<12} {'(a) empty cache':>16} {'(a) warm cache':>15} {'(b) eager':>10} "
          f"{'(c) warm cache':>15}")
    for row in rows:
        ld = row["loading"]
        print(f"{row['model']:<12} {ld['a_cold_cache']:>14.0f}ms {ld['a_warm_cache']:>13.0f}ms "
              f"{ld['b']:>8.0f}ms {ld['c_warm_cache']:>13.0f}ms")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="pin every contender to this many CPU threads (default: what each uses "
                             "out of the box: the machine's cores)")
    parser.add_argument("--tiny", action="store_true", help="a quick run: mnasnet0_5, 3 rounds")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tiny:
        args.models, args.repeats, args.warmup = ["mnasnet0_5"], 3, 1
    image = photo()
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="mnas-bench-weights-") as folder:
        rows = [bench_model(name, args, image, Path(folder)) for name in args.models]
    print_report(rows, args, load_before, " ".join(f"{v:.2f}" for v in os.getloadavg()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
