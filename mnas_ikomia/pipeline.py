"""The whole pipeline through the three Ikomia tasks: search, train the best child, classify test images.

1. ``search_mini`` on the dataset folder (CIFAR-10 from ../shared/datasets by default): the miniature
   MnasNet search, proxy-training children on a split of ``train/``.
2. ``train_mnasnet`` trains the best child found and, identically, the MnasNet-B1 skeleton at the base
   width (the reference the reward's T was measured on), on a subset of ``train/`` (symlinks, with a
   held-out ``val/`` from train/ as well).
3. ``infer_mnasnet`` classifies test images (``test/``, first seen here) with each trained model file.

It ends with a table found model vs B1 baseline: test accuracy, measured latency (batch 1, the search's
thread count), parameters and MACs, written to ``<output>/pipeline.md`` and ``pipeline.json`` beside the
search's plots. MLflow logs go to a file store in ``<output>/mlruns`` (no server is started).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from mnas.data import link_subset
from mnas.fileio import atomic_write_text

FAST_ENV = "MNAS_FAST"  # "1": smoke-test sizes (set by the test suite)


@dataclasses.dataclass
class PipelineSettings:
    """Sizes of each stage; the defaults keep the whole run under 10 minutes on a quiet 2-core CPU."""

    budget_children: int = 24
    search_train_images: int = 1600
    search_val_images: int = 800
    baseline_widths: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0)
    train_per_class: int = 450          # final training images per class (from train/)
    val_per_class: int = 50             # held out from train/ for the final training's validation
    epochs: int = 4
    test_per_class: int = 50            # test/ images classified by infer_mnasnet per class
    seed: int = 0

    @classmethod
    def fast(cls) -> "PipelineSettings":
        """A smoke-test size (tests, MNAS_FAST=1): every stage runs, on a few images."""
        return cls(budget_children=3, search_train_images=60, search_val_images=30, baseline_widths=(0.5,),
                   train_per_class=12, val_per_class=3, epochs=1, test_per_class=3)


def _folder_workflow(task_name: str, folder: Path, params: dict[str, str]):
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(folder)))
    task = workflow.add_task(name=task_name, auto_connect=True, public_hub=False)
    task.set_parameters(params)
    return workflow, task


def _classify(model_file: Path, test_root: Path, per_class: int) -> float:
    """Top-1 accuracy of infer_mnasnet (given only the model file) on `per_class` test images per class."""
    from ikomia.dataprocess.workflow import Workflow
    from torchvision.io import ImageReadMode, decode_image

    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True, public_hub=False)
    task.set_parameters({"model_weight_file": str(model_file), "cuda": "False"})
    hits = total = 0
    for class_dir in sorted(p for p in test_root.iterdir() if p.is_dir()):
        for path in sorted(class_dir.iterdir())[:per_class]:
            image = decode_image(str(path), mode=ImageReadMode.RGB).permute(1, 2, 0).numpy()
            workflow.run_on(array=np.ascontiguousarray(image))
            hits += task.get_whole_image_results()[0][0] == class_dir.name
            total += 1
    return hits / total


def _model_figures(arch: str, num_classes: int, threads: int) -> dict:
    from mnas.latency import measure_latency
    from mnas.models import count_macs, count_params, create_model

    model = create_model(arch, num_classes, 32)
    latency = measure_latency(model, 32, threads=threads, repeats=30)
    return {"latency_ms": latency.median_ms, "latency_cv": latency.cv, "params": count_params(model),
            "macs": count_macs(model, 32)}


def format_table(rows: list[dict]) -> str:
    lines = ["| model | test accuracy | latency (ms) | params | MACs | architecture |",
             "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['model']} | {row['test_accuracy']:.1%} | {row['latency_ms']:.2f} | "
                     f"{row['params']:,} | {row['macs'] / 1e6:.1f}M | `{row['arch']}` |")
    return "\n".join(lines)


def run_pipeline(data: str | os.PathLike | None = None, output: str | os.PathLike = "runs/pipeline",
                 settings: PipelineSettings | None = None, download: bool = False,
                 log=print) -> dict:
    """`_run_pipeline` holding the output folder's lock (`mnas.locks`): a second pipeline there is refused."""
    from mnas.locks import output_folder_lock

    with output_folder_lock(output, "pipeline") as folder:
        return _run_pipeline(data, folder, settings, download, log)


def _run_pipeline(data: str | os.PathLike | None, output: Path, settings: PipelineSettings | None,
                  download: bool, log) -> dict:
    """Search -> train the best child and the B1 baseline -> classify test images; returns the table."""
    from mnas.data import cifar10_root
    from mnas_ikomia.plugins import quiet_workflow_runs
    from mnas_ikomia.tracking import use_file_store

    started = time.perf_counter()
    if settings is None:
        settings = PipelineSettings.fast() if os.environ.get(FAST_ENV) == "1" else PipelineSettings()
    data_root = Path(data) if data else cifar10_root(download=download)
    output = Path(output).resolve()
    use_file_store(output / "mlruns")
    quiet_workflow_runs()

    log(f"[pipeline] 1/3 search_mini on {data_root} ({settings.budget_children} children)")
    search_dir = output / "search"
    workflow, search = _folder_workflow("search_mini", data_root, {
        "budget_children": str(settings.budget_children), "train_images": str(settings.search_train_images),
        "val_images": str(settings.search_val_images), "seed": str(settings.seed),
        "baseline_widths": ",".join(f"{w:g}" for w in settings.baseline_widths),
        "output_folder": str(search_dir)})
    workflow.run()
    summary = json.loads((search_dir / "summary.json").read_text())
    search_config = json.loads((search_dir / "search_config.json").read_text())["config"]
    best_arch = summary["best"]["arch"]
    from mnas.search.space import SearchSpace

    baseline_arch = SearchSpace(width=search_config["width"]).skeleton_arch()
    log(f"[pipeline] best child: {best_arch}")

    data_dir = output / "data"
    link_subset(data_root, data_dir, {"train": ("train", 0, settings.train_per_class),
                                      "val": ("train", settings.train_per_class, settings.val_per_class)})
    test_root = next((data_root / n for n in ("test", "val") if (data_root / n).is_dir()), None)
    if test_root is None:
        raise ValueError(f"{data_root} has no test/ (or val/) folder for infer_mnasnet to classify")
    rows = []
    for name, arch, folder in (("found by search_mini", best_arch, "train_best"),
                               ("MnasNet-B1 skeleton (T)", baseline_arch, "train_b1")):
        log(f"[pipeline] 2/3 train_mnasnet: {name}")
        train_dir = output / folder
        workflow, trainer = _folder_workflow("train_mnasnet", data_dir, {
            "arch": arch, "input_size": "32", "epochs": str(settings.epochs), "batch_size": "64",
            "seed": str(settings.seed), "output_folder": str(train_dir)})
        workflow.run()
        log(f"[pipeline] 3/3 infer_mnasnet on {test_root}: {name}")
        accuracy = _classify(train_dir / "model.pth", test_root, settings.test_per_class)
        figures = _model_figures(arch, len(list((data_dir / "train").iterdir())), search_config["threads"])
        rows.append({"model": name, "test_accuracy": accuracy, **figures, "arch": arch,
                     "model_file": str(train_dir / "model.pth")})
    table = format_table(rows)
    result = {"rows": rows, "search_summary": str(search_dir / "summary.json"),
              "plots": [str(search_dir / "pareto.png"), str(search_dir / "curves.png")],
              "settings": dataclasses.asdict(settings), "seconds": time.perf_counter() - started}
    atomic_write_text(output / "pipeline.json", json.dumps(result, indent=2))
    atomic_write_text(output / "pipeline.md", table + "\n")
    log(table)
    log(f"[pipeline] plots: {', '.join(result['plots'])}; {result['seconds']:.0f} s in all")
    return result
