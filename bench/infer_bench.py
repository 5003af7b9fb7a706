"""Per-image latency of infer_mnasnet next to the references it is judged against, in one run.

For each model, on one 480x640 RGB photo, batch 1, at `--input-size` px:

  (a) infer_mnasnet      our Ikomia task in a workflow, default parameters (backend auto)
  (b) eager task         an Ikomia task written the way the public MnasNet task works: cv2.resize,
                         torchvision ToTensor + Normalize, eager PyTorch model, softmax, sorted results
  (h) the HUB task       mnasnet1_0 only, with `--hub-task DIR` (a checkout of the public task,
                         github.com/Ikomia-hub/infer_torchvision_mnasnet): the real task, installed as
                         an Ikomia plugin in the bench's private home, torchvision's random-initialised
                         weights placed where it looks for the ImageNet ones (nothing downloaded)
  (c) bare ORT           an ONNX Runtime session fed by the same pre-processing as (a), nothing else
  (f) Ikomia floor       for context: a no-op classification task in a workflow that only reads its
                         input image and sets 1000 whole-image results, the part of (a) and (b) that
                         belongs to Ikomia itself
  (m) minimal task       the least any Ikomia task can do with this network: (c)'s bare session inside
                         (f)'s task, publishing constant result strings (no ranking, no formatting).
                         Unlike (f) it runs a real network between two publishings, so its Ikomia and
                         Python work meet caches the network has just evicted, as (a)'s do

They run side by side in blocks whose order rotates over three passes (see bench/infer_timing.py), so
that load from other processes hits them alike; each figure is the median of `--repeats` calls, each
block after `--warmup` untimed calls. Model loading (the first run of a fresh task: build, weights,
ONNX export or cache, session, torch check) is timed separately, with an empty export cache and again
with a warm one. Goals (issue 15): (a) <= 0.33 x (b) (and (h)), and (a) - (f) <= 1.10 x (c). Every
ratio comes with a 95 % bootstrap interval over the run's calls; (m)'s ratios say what any task can reach.

For the first model, the pieces of one infer_mnasnet run are timed inside real runs and alone (Ikomia's
own calls are C++ and invisible to cProfile); for each of `--cli-models` (default: the first model and
mnasnet1_0, the issue's model), the command line's images/s on `--cli-images` CIFAR-10 test/ images
(classes in turn) at the same input size: `mnas.infer.files.classify_files` batched (`--batch-size`, decoding
ahead) against one image at a time, the way ``python -m mnas infer`` worked before batching (read,
predict, top-5 per file) and through classify_files at batch 1. Goal: batched >= 1.5 x one at a time.

ImageNet weights cannot be downloaded here, so each model gets random weights saved as an mnas model
file (1000 classes); latency does not depend on the weights' values.

    python bench/infer_bench.py                      # mnasnet0_5, mnasnet1_0, mnasnet_a1 at 224 px
    python bench/infer_bench.py --models mnasnet1_0 --parts latency     # or: pieces cli
    python bench/infer_bench.py --tiny               # a quick check that everything runs
    git clone https://github.com/Ikomia-hub/infer_torchvision_mnasnet /tmp/hub   # when online
    python bench/infer_bench.py --hub-task /tmp/hub  # the real public task too
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import statistics
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

from mnas_ikomia.plugins import install_plugins, quiet_workflow_runs  # noqa: E402

install_plugins(_HOME)
quiet_workflow_runs()

import cv2  # noqa: E402  (after ikomia: its bundled OpenCV, as inside a task)
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torchvision.transforms as transforms  # noqa: E402
from ikomia import core, dataprocess  # noqa: E402
from ikomia.dataprocess.workflow import Workflow  # noqa: E402
from infer_timing import median_figure_interval, median_ms_in_blocks, samples_ms_in_blocks, timed_ms  # noqa: E402  (bench/, beside this file)

from mnas import runtime  # noqa: E402
from mnas.infer.classifier import Classifier, confidence_texts
from mnas.infer.files import classify_files
from mnas.models import create_model  # noqa: E402
from mnas.preprocess import (
    preprocess,  # noqa: E402
    read_image,  # noqa: E402
)
from mnas.weights.model_file import save_model_file  # noqa: E402

MODELS = ("mnasnet0_5", "mnasnet1_0", "mnasnet_a1")
CIFAR10_ROOT = REPO_ROOT.parent / "shared" / "datasets" / "cifar10-jpg"
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
    """(f): what any whole-image classification task pays Ikomia: read the input, publish N results.
    (m): the same with `classify` (the bare session) run on the input, its output unused."""

    def __init__(self, class_names, classify=None):
        dataprocess.CClassificationTask.__init__(self, "ikomia_floor")
        self.set_names(class_names)
        self.confidences = ["%.9g" % (1.0 / len(class_names))] * len(class_names)
        self.classify = classify

    def run(self):
        self.begin_task_run()
        image = self.get_input(0).get_image()
        if self.classify is not None:
            self.classify(image)
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
    """(c): export (cached), a session with the same settings, the same pre-processing as infer_mnasnet."""
    session = runtime.create_session(runtime.onnx_model_path(model, input_size), threads)

    def classify(image):
        (logits,) = session.run(None, {"input": preprocess(image, input_size)})
        return runtime.softmax(logits)

    return classify


HUB_TASK = "infer_torchvision_mnasnet"
HUB_WEIGHTS = "mnasnet1.0_top1_73.512-f206786ef8.pth"  # the file torchvision's MNASNet1_0 weights load from


def install_hub_task(checkout: Path) -> None:
    """The public task into the private home's plugin folder, with weights where it loads them (its
    own torch hub folder); it registers on first use, like any plugin."""
    import torchvision

    from mnas_ikomia.plugins import python_plugins_dir

    if not (checkout / f"{HUB_TASK}_process.py").is_file():
        raise SystemExit(f"--hub-task {checkout}: expected a checkout of Ikomia-hub/{HUB_TASK} "
                         f"(with {HUB_TASK}_process.py)")
    target = python_plugins_dir() / HUB_TASK
    shutil.copytree(checkout, target, ignore=shutil.ignore_patterns(".git"), dirs_exist_ok=True)
    weights = target / "weights" / "checkpoints" / HUB_WEIGHTS
    weights.parent.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.mnasnet1_0().state_dict(), weights)


def hub_workflow():
    workflow = Workflow()
    workflow.add_task(name=HUB_TASK, auto_connect=True)
    return workflow


# the figures judged (goals from issue 15), each from the contenders' medians
RATIOS = {"a/b (<=0.33)": lambda m: m["a"] / m["b"], "a/h (<=0.33)": lambda m: m["a"] / m["h"],
          "(a-f)/c (<=1.10)": lambda m: (m["a"] - m["f"]) / m["c"], "a/m": lambda m: m["a"] / m["m"],
          "m/b": lambda m: m["m"] / m["b"], "m/h": lambda m: m["m"] / m["h"],
          "(m-f)/c": lambda m: (m["m"] - m["f"]) / m["c"]}
RATIO_INPUTS = {label: set(re.findall(r"[abcfhm]", label.split(" ")[0])) for label in RATIOS}


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
    workflow_m = Workflow()
    workflow_m.add_task(task=FloorTask(class_names, classify_c), auto_connect=True)
    contenders = {"a": lambda: workflow_a.run_on(array=image), "b": lambda: workflow_b.run_on(array=image),
                  "c": lambda: classify_c(image), "f": lambda: workflow_f.run_on(array=image),
                  "m": lambda: workflow_m.run_on(array=image)}
    if args.hub_task and name == "mnasnet1_0":
        workflow_h = hub_workflow()
        _, loading["h"] = first_run(lambda: workflow_h.run_on(array=image))
        contenders["h"] = lambda: workflow_h.run_on(array=image)
    samples = samples_ms_in_blocks(contenders, args.warmup, args.repeats)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    backend = task_a.get_parameters().get("backend", "?")
    ratios = {label: median_figure_interval(samples, figure) for label, figure in RATIOS.items()
              if all(key in samples for key in RATIO_INPUTS[label])}
    row = {"model": name, "medians": medians, "ratios": ratios, "loading": loading, "backend": backend}
    if "pieces" in args.parts and name == args.models[0]:
        row["pieces"] = task_pieces(workflow_a, task_a, image, args)
    return row


def task_pieces(workflow, task, image: np.ndarray, args) -> dict[str, dict[str, float]]:
    """Median ms of each step of an infer_mnasnet run, twice: timed inside real workflow runs (each
    call the task makes wrapped with a timer), and alone in a tight loop (rotated blocks). The two
    differ because a real run's steps follow the network, which has evicted their data from the caches."""
    classifier, param = task.classifier, task.get_param_object()
    batch = classifier.preprocess(image)
    probabilities = classifier.predict(image)[0]
    names, confidences = classifier.ranked(probabilities)
    texts = confidence_texts(confidences)
    alone = {
        "reload check": task._get_classifier,
        "pre-processing": lambda: classifier.preprocess(image),
        "ONNX Runtime run + softmax": lambda: classifier.backend.probabilities(batch),
        "ranked (argsort, names)": lambda: classifier.ranked(probabilities, param.top_k),
        "confidences to text (%.9g)": lambda: confidence_texts(confidences),
        "set_whole_image_results": lambda: task.set_whole_image_results(names, texts),
        "forward_input_image": lambda: task.forward_input_image(0, 0),
    }
    in_runs = pieces_in_runs(workflow, task, image, args)
    return {"in real runs": in_runs, "alone": median_ms_in_blocks(alone, args.warmup, args.repeats)}


def pieces_in_runs(workflow, task, image: np.ndarray, args) -> dict[str, float]:
    """Each call infer_mnasnet's run makes, timed where it makes it (instance and module attributes
    wrapped for the measurement, restored after); the rest is Ikomia's workflow and task calls."""
    samples: dict[str, list[float]] = {}
    plugin = sys.modules[type(task).__module__]

    def timed(name, call):
        def wrapper(*arguments, **keywords):
            start = time.perf_counter()
            result = call(*arguments, **keywords)
            samples.setdefault(name, []).append((time.perf_counter() - start) * 1000.0)
            return result
        return wrapper

    wrapped = {(task, "_get_classifier"): "reload check", (task.classifier, "preprocess"): "pre-processing",
               (task.classifier.backend, "probabilities"): "ONNX Runtime run + softmax",
               (task.classifier, "ranked"): "ranked (argsort, names)",
               (plugin, "confidence_texts"): "confidences to text (%.9g)",
               (task, "set_whole_image_results"): "set_whole_image_results",
               (task, "forward_input_image"): "forward_input_image"}
    saved = {(owner, attribute): getattr(owner, attribute) for owner, attribute in wrapped}
    try:
        for (owner, attribute), name in wrapped.items():
            setattr(owner, attribute, timed(name, saved[owner, attribute]))
        for _ in range(args.warmup):
            workflow.run_on(array=image)
        samples.clear()
        totals = [timed_ms(lambda: workflow.run_on(array=image)) for _ in range(args.repeats)]
    finally:
        for (owner, attribute), original in saved.items():
            if owner is plugin:
                setattr(owner, attribute, original)
            else:
                delattr(owner, attribute)  # the instance attribute goes; the class's method shows again
    medians = {name: statistics.median(values) for name, values in samples.items()}
    medians["the rest: Ikomia's calls, run()'s own lines"] = statistics.median(totals) - sum(medians.values())
    medians["whole workflow run"] = statistics.median(totals)
    return medians


def cifar_test_files(count: int) -> list[Path]:
    """`count` CIFAR-10 test/ files, the classes in turn."""
    return runtime.calibration_files(CIFAR10_ROOT / "test", count)


def cli_throughput(weight_file: Path, args) -> dict[str, float]:
    """Images/s on CIFAR-10 test/ files: batched with decoding ahead, vs one image at a time."""
    classifier = Classifier.load(weight_file=weight_file, device="cpu", threads=args.threads)
    files = cifar_test_files(args.cli_images)

    def one_at_a_time():  # python -m mnas infer before batching: read, predict, top-k per file
        for path in files:
            classifier.top_k(classifier.predict(read_image(path))[0], 5)

    def batched(size):
        return lambda: list(classify_files(classifier, files, batch_size=size, top_k=5))

    contenders = {"one at a time": one_at_a_time, "classify_files, batch 1": batched(1)}
    contenders.update({f"classify_files, batch {size}": batched(size) for size in args.batch_size})
    batched(max(args.batch_size))()  # warm-up: the OS file cache and ONNX Runtime's buffers
    medians = median_ms_in_blocks(contenders, 0, args.cli_passes, passes=args.cli_passes)
    return {name: len(files) / (ms / 1000) for name, ms in medians.items()}


def print_report(rows, args, load_before, load_after) -> None:
    threads_ort, threads_torch = args.threads or runtime.default_threads(), torch.get_num_threads()
    print(f"\nPer-image latency, 480x640 RGB photo -> {args.input_size} px, batch 1, median of "
          f"{args.repeats} calls in 3 rotated blocks, {args.warmup} warm-up calls per block")
    print(f"machine: {os.cpu_count()} cores; ONNX Runtime threads {threads_ort}, torch threads "
          f"{threads_torch}; load average before {load_before}, after {load_after}")
    labels = {"a": "(a) infer_mnasnet", "b": "(b) HUB task way", "h": "(h) HUB task", "c": "(c) bare ORT",
              "f": "(f) Ikomia floor", "m": "(m) minimal task"}
    print(f"{'model':<12}" + "".join(f" {label:>18}" for label in labels.values()))
    for row in rows:
        print(f"{row['model']:<12}" + "".join(f" {row['medians'][k]:>16.2f}ms" if k in row["medians"] else
                                             f" {'-':>18}" for k in labels))
    print("\nRatios of medians, each with its 95 % bootstrap interval over this run's calls")
    for row in rows:
        print(f"{row['model']:<12} " + "; ".join(f"{label} {value:.2f} ({low:.2f}-{high:.2f})"
                                               for label, (value, low, high) in row["ratios"].items()))
    print("\nModel loading (first run of a fresh task, including that run's inference)")
    print(f"{'model':<12} {'(a) empty cache':>16} {'(a) warm cache':>15} {'(b) eager':>10} "
          f"{'(c) warm cache':>15}")
    for row in rows:
        ld = row["loading"]
        hub = f"; (h) {ld['h']:.0f} ms" if "h" in ld else ""
        print(f"{row['model']:<12} {ld['a_cold_cache']:>14.0f}ms {ld['a_warm_cache']:>13.0f}ms "
              f"{ld['b']:>8.0f}ms {ld['c_warm_cache']:>13.0f}ms{hub}")


def print_pieces(rows) -> None:
    for row in rows:
        if "pieces" in row:
            in_runs, alone = row["pieces"]["in real runs"], row["pieces"]["alone"]
            print(f"\nOne infer_mnasnet run of {row['model']}, piece by piece (median ms)")
            print(f"  {'piece':<44} {'in real runs':>12} {'alone':>8}")
            for piece, ms in in_runs.items():
                print(f"  {piece:<44} {ms:12.3f} {alone[piece]:8.3f}" if piece in alone else
                      f"  {piece:<44} {ms:12.3f}")


def print_cli(model: str, figures: dict[str, float], args) -> None:
    print(f"\nCommand line, {args.cli_images} CIFAR-10 test/ images -> {args.input_size} px, {model}, "
          f"median of {args.cli_passes} passes")
    base = figures["one at a time"]
    for name, per_second in figures.items():
        print(f"  {name:<28} {per_second:8.1f} images/s ({per_second / base:.2f}x)")


def cli_models(args) -> list[str]:
    if args.cli_models:
        return args.cli_models
    return list(dict.fromkeys([args.models[0]] + ([] if args.tiny else ["mnasnet1_0"])))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--input-size", type=int, default=224)
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--threads", type=int, default=None,
                        help="pin every contender to this many CPU threads (default: what each uses "
                             "out of the box: the machine's cores)")
    parser.add_argument("--parts", nargs="+", choices=("latency", "pieces", "cli"),
                        default=["latency", "pieces", "cli"])
    parser.add_argument("--hub-task", type=Path, default=None,
                        help="a checkout of Ikomia-hub/infer_torchvision_mnasnet: time the real public "
                             "task too (mnasnet1_0)")
    parser.add_argument("--cli-models", nargs="+", default=None,
                        help="models of the command-line part (default: the first of --models, and mnasnet1_0)")
    parser.add_argument("--cli-images", type=int, default=1000)
    parser.add_argument("--cli-passes", type=int, default=3)
    parser.add_argument("--batch-size", type=int, nargs="+", default=[4, 32])
    parser.add_argument("--tiny", action="store_true", help="a quick run: mnasnet0_5, 3 rounds")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.tiny:
        args.models, args.repeats, args.warmup, args.cli_images, args.cli_passes = ["mnasnet0_5"], 3, 1, 64, 1
    if args.hub_task:
        install_hub_task(args.hub_task)
    image = photo()
    load_before = " ".join(f"{v:.2f}" for v in os.getloadavg())
    rows, cli = [], {}
    with tempfile.TemporaryDirectory(prefix="mnas-bench-weights-") as folder:
        if "latency" in args.parts or "pieces" in args.parts:
            rows = [bench_model(name, args, image, Path(folder)) for name in args.models]
        for name in cli_models(args) if "cli" in args.parts else ():
            torch.manual_seed(0)
            model = create_model(name, num_classes=1000, input_size=args.input_size)
            cli[name] = cli_throughput(save_model_file(Path(folder) / f"cli-{name}.pt", model,
                                                       input_size=args.input_size,
                                                       class_names=[f"class_{n}" for n in range(1000)]), args)
    load_after = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if rows:
        print_report(rows, args, load_before, load_after)
        print_pieces(rows)
    for name, figures in cli.items():
        print_cli(name, figures, args)
    print(f"\nload average before {load_before}, after {load_after}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
