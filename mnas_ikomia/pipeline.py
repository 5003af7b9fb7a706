"""The whole pipeline through the three Ikomia tasks: search, a fair final comparison, a verdict.

1. ``search_mini`` on the dataset folder (CIFAR-10 from ../shared/datasets by default): the miniature
   MnasNet search, proxy-training children on a split of ``train/``, every latency a paired ratio to
   the B1 skeleton.
2. The fair final comparison (`mnas.search.final`): ``train_mnasnet`` retrains the top-k children by
   proxy reward and the B1 skeleton at >= 3 widths spanning their latencies, identically, on a larger
   subset of ``train/`` with a held-out ``val/`` (symlinks); the winner is chosen on that validation.
3. ``infer_mnasnet`` (given only each model file) classifies every test image (``test/``, first seen
   here: all 10,000 for CIFAR-10), and the verdict compares the winner with B1's accuracy-latency curve
   at the winner's paired latency, with a 95 % bootstrap interval.

It writes ``<output>/pipeline.md`` (table and verdict), ``pipeline.json`` and ``final.png`` (test
accuracy against paired latency, B1's curve drawn in) beside the search's plots. MLflow logs go to a
file store in ``<output>/mlruns`` (no server is started).
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

import numpy as np

from mnas.data.folders import files_by_class
from mnas.data.splits import link_subset
from mnas.utils import paths
from mnas.utils.fileio import atomic_write_text

SEARCH_ON = ("live", "surrogate")


@dataclasses.dataclass
class PipelineSettings:
    """Sizes of each stage; the defaults keep the whole run within about 12 minutes on a quiet 2-core CPU."""

    budget_children: int = 24
    search_train_images: int = 1600
    search_val_images: int = 800
    baseline_widths: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0)
    top_k: int = 3                      # children retrained at the final fidelity
    b1_widths: int = 3                  # B1 widths retrained (spanning the finalists' latencies)
    train_per_class: int = 450          # final training images per class (from train/)
    val_per_class: int = 50             # held out from train/: the final validation, chooses the winner
    epochs: int = 4
    test_per_class: int = 0             # test/ images per class for infer_mnasnet; 0: all of them
    seed: int = 0
    # "live": the paper's loop on the user's data (proxy-trained, timed children); "surrogate": the search
    # looks its children up in the surrogate benchmark (the paper's 8,000 children, hard rule, seconds),
    # and the final comparison below retrains and tests for real as in live mode
    search_on: str = "live"
    surrogate_children: int = 8000

    def __post_init__(self):
        if self.search_on not in SEARCH_ON:
            raise ValueError(f"search_on must be one of {', '.join(SEARCH_ON)}, got {self.search_on!r}")

    @classmethod
    def fast(cls) -> "PipelineSettings":
        """A smoke-test size (tests, MNAS_FAST=1): every stage runs, on a few images."""
        return cls(budget_children=3, search_train_images=60, search_val_images=30,
                   baseline_widths=(0.35, 0.5, 0.75), top_k=2, train_per_class=12, val_per_class=3, epochs=1,
                   test_per_class=3, surrogate_children=200)

    def search_parameters(self) -> dict[str, str]:
        """search_mini's parameters for this pipeline's search."""
        common = {"seed": str(self.seed), "baseline_widths": ",".join(f"{w:g}" for w in self.baseline_widths)}
        if self.search_on == "surrogate":
            return {**common, "evaluator": "surrogate", "budget_children": str(self.surrogate_children),
                    "constraint": "hard"}  # T: the B1 skeleton's latency
        return {**common, "budget_children": str(self.budget_children), "train_images": str(self.search_train_images),
                "val_images": str(self.search_val_images)}


def _folder_workflow(task_name: str, folder: Path, params: dict[str, str]):
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(folder)))
    task = workflow.add_task(name=task_name, auto_connect=True, public_hub=False)
    task.set_parameters(params)
    return workflow, task


def _test_images(test_root: Path, per_class: int) -> tuple[list[np.ndarray], list[str]]:
    """Every test image (or `per_class` per class, 0: all), decoded once, with its class name."""
    from torchvision.io import ImageReadMode, decode_image

    files, labels = files_by_class(test_root, per_class)
    images = [np.ascontiguousarray(decode_image(str(path), mode=ImageReadMode.RGB).permute(1, 2, 0).numpy())
              for path in files]
    return images, labels


def _infer_tester(images: list[np.ndarray], labels: list[str]):
    """Tester for the final comparison: infer_mnasnet, given only the model file, on every test image."""
    from ikomia.dataprocess.workflow import Workflow

    def correct(model_file: str) -> np.ndarray:
        workflow = Workflow()
        task = workflow.add_task(name="infer_mnasnet", auto_connect=True, public_hub=False)
        task.set_parameters({"model_weight_file": model_file, "cuda": "False"})
        hits = np.zeros(len(images), dtype=bool)
        for index, (image, label) in enumerate(zip(images, labels)):
            workflow.run_on(array=image)
            hits[index] = task.get_whole_image_results()[0][0] == label
        return hits

    return correct


def _train_task_trainer(data_dir: Path, output: Path, settings: "PipelineSettings"):
    """Trainer for the final comparison: train_mnasnet, identical settings for every model."""
    def train(name: str, arch: str) -> dict:
        folder = output / "final" / name.replace(" ", "_")
        workflow, _ = _folder_workflow("train_mnasnet", data_dir, {
            "arch": arch, "input_size": "32", "epochs": str(settings.epochs), "batch_size": "64",
            "seed": str(settings.seed), "output_folder": str(folder), "overwrite": "True"})
        workflow.run()
        history = json.loads((folder / "history.json").read_text())
        # model.pth holds the epoch of the best validation top-1 (keep_best): that epoch's, not the last's
        return {"model_file": str(folder / "model.pth"), "val_accuracy": history["val_top1"]}

    return train


def run_pipeline(data: str | os.PathLike | None = None, output: str | os.PathLike | None = None,
                 settings: PipelineSettings | None = None, download: bool = False,
                 log=print) -> dict:
    """`_run_pipeline` holding the output folder's lock (`mnas.utils.locks`): a second pipeline there is refused.
    `output` None: ``pipeline`` under $MNAS_OUTPUT_DIR or ~/mnas-runs (rerunning resumes its search)."""
    from mnas.utils.locks import output_folder_lock
    from mnas.utils.paths import output_root

    with output_folder_lock(output or output_root() / "pipeline", "pipeline") as folder:
        return _run_pipeline(data, folder, settings, download, log)


def _run_pipeline(data: str | os.PathLike | None, output: Path, settings: PipelineSettings | None,
                  download: bool, log) -> dict:
    """Search -> retrain the finalists and B1's widths -> test them all; returns the final comparison."""
    from mnas.data.cifar10 import cifar10_root
    from mnas.search.final import final_comparison, format_final_table, write_final
    from mnas.search.log import ChildLog
    from mnas.search.space import SearchSpace
    from mnas_ikomia.plugins import quiet_workflow_runs
    from mnas_ikomia.tracking import use_file_store

    started = time.perf_counter()
    if settings is None:
        settings = PipelineSettings.fast() if paths.fast() else PipelineSettings()
    data_root = Path(data) if data else cifar10_root(download=download)
    output = Path(output).expanduser().resolve()
    test_root = next((data_root / n for n in ("test", "val") if (data_root / n).is_dir()), None)
    if test_root is None:
        raise ValueError(f"{data_root} has no test/ (or val/) folder for infer_mnasnet to classify")
    use_file_store(output / "mlruns")
    quiet_workflow_runs()

    children_count = settings.surrogate_children if settings.search_on == "surrogate" else settings.budget_children
    where = "the surrogate benchmark" if settings.search_on == "surrogate" else str(data_root)
    log(f"[pipeline] 1/3 search_mini on {where} ({children_count} children)")
    search_dir = output / "search"
    workflow, _ = _folder_workflow("search_mini", data_root, {
        **settings.search_parameters(),
        "output_folder": str(search_dir)})
    workflow.run()
    search_config = json.loads((search_dir / "search_config.json").read_text())["config"]
    children = ChildLog(search_dir / "children.jsonl").read()
    baselines = ChildLog(search_dir / "baselines.jsonl").read()

    data_dir = output / "data"
    link_subset(data_root, data_dir, {"train": ("train", 0, settings.train_per_class),
                                      "val": ("train", settings.train_per_class, settings.val_per_class)})
    images, labels = _test_images(test_root, settings.test_per_class)

    def on_stage(stage: str, models: int) -> None:
        if stage == "train":
            log(f"[pipeline] 2/3 train_mnasnet: {models} models (the top {settings.top_k} children and B1 at "
                f"{settings.b1_widths} widths), {settings.epochs} epochs on {settings.train_per_class} images "
                "per class")
        else:
            log(f"[pipeline] 3/3 infer_mnasnet: {models} models on {len(images):,} images of {test_root}")

    result = final_comparison(
        children, baselines, SearchSpace(width=search_config["width"]), len(set(labels)),
        _train_task_trainer(data_dir, output, settings), _infer_tester(images, labels),
        top_k=settings.top_k, b1_widths=settings.b1_widths, engine=search_config["latency_engine"],
        threads=search_config["latency_threads"], rounds=search_config["latency_rounds"],
        burst=search_config["latency_burst"], seed=settings.seed, log=log, on_stage=on_stage)
    files = write_final(result, output)
    result.update(search_summary=str(search_dir / "summary.json"), settings=dataclasses.asdict(settings),
                  plots=[str(files["final.png"]), str(search_dir / "pareto.png"), str(search_dir / "curves.png")],
                  seconds=time.perf_counter() - started)
    table = format_final_table(result)
    atomic_write_text(output / "pipeline.json", json.dumps(result, indent=2, default=str))
    atomic_write_text(output / "pipeline.md", table + "\n\n" + result["verdict"]["words"] + "\n")
    log(table)
    log(result["verdict"]["words"])
    log(f"[pipeline] plots: {', '.join(result['plots'])}; {result['seconds']:.0f} s in all")
    return result
