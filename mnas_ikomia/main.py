"""The README's main job (``bash scripts/run``), offline on its defaults:

1. the whole pipeline through the three Ikomia tasks (`mnas_ikomia.pipeline`): a small MnasNet search on
   CIFAR-10 (``search_mini``), ``train_mnasnet`` on the best child and on the B1 baseline, ``infer_mnasnet``
   on test images, ending with a table found model vs baseline and the search's plots;
2. every named variant's params, MACs and latency measured on this machine;
3. sample photos classified through ``infer_mnasnet`` when ImageNet weights are in the torch hub cache
   (otherwise: where they were looked for).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import mnas.weights.published as mnas_weights
from mnas.__main__ import main as mnas_main
from mnas.models import VARIANTS
from mnas.settings import deprecated_flag
from mnas.weights.published import IMAGENET_WEIGHTS, imagenet_checkpoint_path, missing_imagenet_message
from mnas_ikomia.plugins import install_plugins, quiet_workflow_runs

SAMPLE_PHOTOS = ("chelsea", "astronaut", "coffee", "rocket")  # skimage.data: cat, person, cup, rocket
# the ImageNet variants in order of preference for the demo
PREFERRED_IMAGENET = ("mnasnet1_0", "mnasnet1_3", "mnasnet0_75", "mnasnet0_5")


def print_variant_summary(input_size: int = 224, threads: int = 1, repeats: int = 20) -> int:
    """Params, MACs and measured latency of every named variant (``python -m mnas summary``)."""
    return mnas_main(["summary", "--input-size", str(input_size), "--latency-threads", str(threads),
                      "--repeats", str(repeats)])


def find_imagenet_weights(preferred: tuple[str, ...] = PREFERRED_IMAGENET) -> str | None:
    """The first variant whose ImageNet checkpoint is on this machine (the torch hub cache, the Ikomia HUB
    plugin's folder: `mnas.weights.published.find_imagenet_weights`), or None."""
    return next((name for name in preferred if mnas_weights.find_imagenet_weights(name).path), None)


def sample_photos(names=SAMPLE_PHOTOS) -> dict:
    from skimage import data

    return {name: getattr(data, name)() for name in names}


def classify_photos(photos: dict, params: dict, top_k: int = 3) -> dict[str, list[tuple[str, float]]]:
    """Classify each photo with ``infer_mnasnet`` in an Ikomia workflow; top-k (class, confidence)."""
    os.environ.setdefault("IKOMIA_AUTO_COMPLETION", "0")
    install_plugins()  # idempotent: the registry must find this repository's plugin, not Ikomia HUB's
    from ikomia.dataprocess.workflow import Workflow

    quiet_workflow_runs()
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True, public_hub=False)
    task.set_parameters(params)
    results = {}
    for name, image in photos.items():
        workflow.run_on(array=image)
        results[name] = [(label, float(conf)) for label, conf in task.get_whole_image_results()[:top_k]]
    return results


def print_classifications(results: dict[str, list[tuple[str, float]]]) -> None:
    for photo, ranked in results.items():
        print(f"  {photo:<10} " + ", ".join(f"{label} {conf:.1%}" for label, conf in ranked))


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1 (argparse reports anything else as ``error: ...``, exit 2)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def check_arguments(args: argparse.Namespace) -> None:
    """Files and folders named on the command line exist, checked before minutes of pipeline."""
    for flag, value in (("--model-weight-file", args.model_weight_file), ("--class-file", args.class_file)):
        if value and not Path(value).expanduser().is_file():
            raise FileNotFoundError(f"{flag} {value!r} does not exist or is not a file")
    if args.model_name and args.model_name not in VARIANTS:
        raise ValueError(f"--model-name {args.model_name!r}: expected one of {', '.join(VARIANTS)}")
    if args.data is not None and not args.no_pipeline:
        from mnas.data.folders import find_dataset_splits

        find_dataset_splits(args.data)  # the layout, with what was expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mnas_ikomia.main", description=__doc__.split("\n")[0])
    parser.add_argument("--model-weight-file", default="",
                        help="classify with this model file / state dict instead of ImageNet weights")
    parser.add_argument("--model-name", default="", help="variant for --model-weight-file or ImageNet")
    parser.add_argument("--class-file", default="")
    parser.add_argument("--top-k", type=positive_int, default=3)
    parser.add_argument("--repeats", type=positive_int, default=20, help="latency repeats per variant")
    parser.add_argument("--threads", type=positive_int, default=1, help="CPU threads for the latency figures")
    parser.add_argument("--no-summary", action="store_true", help="skip the variant summary")
    parser.add_argument("--data", default=None,
                        help="dataset folder (<root>/train/<class>/*, test/ or val/) for the pipeline; "
                             "default: CIFAR-10 from ../shared/datasets")
    parser.add_argument("--download-data", dest="download", action="store_true",
                        help="download CIFAR-10 through torchvision when it is not found locally")
    deprecated_flag(parser, "--download", "--download-data", "download")
    parser.add_argument("--output", default=None, help="where the pipeline writes everything (default: "
                        "pipeline under $MNAS_OUTPUT_DIR or ~/mnas-runs)")
    parser.add_argument("--no-pipeline", action="store_true", help="skip search -> train -> infer")
    parser.add_argument("--search-on", choices=("auto", "live", "surrogate"), default="auto",
                        help="live: the paper's loop on the data, children proxy-trained and timed; surrogate: "
                             "8,000 children under the hard rule looked up in the surrogate benchmark (seconds), "
                             "then the same live final comparison; auto (default): surrogate once the shipped "
                             "surrogate meets its acceptance figures (docs/search/surrogate.md), live until then")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return run(args)
    except (ValueError, FileNotFoundError, FileExistsError) as error:  # a bad input: the message says what to fix
        print(f"error: {error}", file=sys.stderr)
        return 2


def search_on(choice: str, surrogate_file: str = "") -> str:
    """`choice`, or for "auto" what the shipped surrogate's (or `surrogate_file`'s) acceptance allows;
    says which and why."""
    if choice != "auto":
        return choice
    from mnas.search.surrogate.shipped import DEFAULT_SURROGATE, shipped_acceptance

    verdict = shipped_acceptance(surrogate_file or DEFAULT_SURROGATE)
    if verdict["accepted"]:
        print("search: on the surrogate benchmark (the shipped surrogate meets every acceptance figure)")
        return "surrogate"
    open_figures = [f["name"] for f in verdict["figures"] if f["met"] is not True] or ["none recorded"]
    print(f"search: live (the shipped surrogate is not accepted yet: {'; '.join(open_figures)}; "
          "--search-on surrogate to use it anyway)")
    return "live"


def run(args: argparse.Namespace) -> int:
    check_arguments(args)
    install_plugins()  # idempotent: the registry must find this repository's tasks, never try Ikomia HUB
    if not args.no_pipeline:
        import dataclasses

        from mnas.utils import paths
        from mnas_ikomia.pipeline import PipelineSettings, run_pipeline

        settings = PipelineSettings.fast() if paths.fast() else PipelineSettings()
        run_pipeline(args.data, args.output, dataclasses.replace(settings, search_on=search_on(args.search_on)),
                     download=args.download)
        print()
    if not args.no_summary:
        print_variant_summary(threads=args.threads, repeats=args.repeats)
        print()
    params = {"model_weight_file": args.model_weight_file, "class_file": args.class_file}
    model_name = args.model_name
    if not args.model_weight_file:
        model_name = args.model_name if args.model_name in IMAGENET_WEIGHTS else find_imagenet_weights()
        if model_name is None:
            print("Sample photos not classified: no ImageNet weights in the torch hub cache.")
            print(missing_imagenet_message(PREFERRED_IMAGENET[0]))
            print("Also looked for: " + ", ".join(str(imagenet_checkpoint_path(name))
                                                  for name in PREFERRED_IMAGENET[1:]))
            return 0
    if model_name:
        params["model_name"] = model_name
    source = args.model_weight_file or mnas_weights.find_imagenet_weights(model_name).path or Path(
        imagenet_checkpoint_path(model_name))
    print(f"Sample photos (skimage.data) classified by infer_mnasnet in an Ikomia workflow, "
          f"weights {source}:")
    print_classifications(classify_photos(sample_photos(), params, args.top_k))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
