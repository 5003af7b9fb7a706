"""search_mini: the MnasNet platform-aware search in miniature, as an Ikomia training task.

A thin adapter over `mnas.search.Search`: string parameters -> `SearchConfig`; input 0 is a dataset
folder (``<root>/train/<class>/*``; only train/ is read: the proxy validation split is carved from it).
Every finished child is logged to MLflow (``log_metrics``, step = child index; baselines and the random
search under their own prefixes) and reported (``emit_step_progress``). Outputs: 0 the best child (its
architecture string and figures, a table), 1 the Pareto plot (accuracy vs measured latency).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ikomia import core, dataprocess

from mnas import settings
from mnas.search.config import SearchConfig
from mnas.search.loop import Search
from mnas.utils.fileio import atomic_write_text
from mnas.utils.locks import expand_folder, unique_run_folder
from mnas_ikomia.folder_train_task import FolderTrainTask
from mnas_ikomia.params import CheckedParams, param_factory
from mnas_ikomia.task_info import one_line, task_factory

logger = logging.getLogger(__name__)

PLUGIN_NAME = "search_mini"
BEST_ARCH_FILE = "best_arch.txt"   # output 2: what train_mnasnet's architecture input reads
# every SearchConfig setting, as it declares it (mnas.settings), and the task's own output folder
DEFAULTS = {**settings.string_defaults(SearchConfig),
            "output_folder": ""}  # empty: a new folder under ~/mnas-runs; a folder with a search resumes


def config_from_values(values: dict[str, str]) -> SearchConfig:
    """The `SearchConfig` the string parameters describe; a `ValueError` naming the first bad one."""
    return settings.build(SearchConfig, settings.parse_strings(SearchConfig, values))


class SearchMiniParam(CheckedParams):
    """Parameters of search_mini, as strings (see `mnas_ikomia.params`)."""

    task_name = PLUGIN_NAME
    defaults = DEFAULTS
    old_names = settings.old_names(SearchConfig)
    check = staticmethod(config_from_values)


SearchMiniParamFactory = param_factory(SearchMiniParam)


def default_output_folder() -> Path:
    """A new folder under $MNAS_OUTPUT_DIR or ~/mnas-runs, unique per run (`mnas.utils.locks`)."""
    from mnas.utils.paths import output_root

    return unique_run_folder(output_root(), "search")


def _figures(record: dict) -> dict[str, float]:
    keys = ("accuracy", "latency_ratio", "latency_ms", "reward", "macs", "params", "seconds", "entropy")
    return {key: float(record[key]) for key in keys if record.get(key) is not None}


class SearchMini(FolderTrainTask):
    """Runs (or resumes) a search on the dataset folder of input 0."""

    param_class = SearchMiniParam

    def __init__(self, name, param):
        FolderTrainTask.__init__(self, name, param)
        self.add_output(dataprocess.CDataStringIO())
        self.add_output(dataprocess.CImageIO())
        # the best architecture string as a file: connect it to train_mnasnet's input 1 (chaining)
        self.add_output(dataprocess.CPathIO(core.IODataType.FILE_PATH))
        self.result = None  # the last run's mnas.search.SearchResult

    def get_progress_steps(self):
        try:
            config = config_from_values(self.get_param_object().get_values())
        except ValueError:
            return 1
        return config.evaluations()

    def work(self, folder: str) -> None:
        self.result = None
        values = self.get_param_object().get_values()
        config = config_from_values(values)
        output_folder = values["output_folder"].strip()
        output = expand_folder(output_folder) if output_folder else default_output_folder()
        self.start_progress(PLUGIN_NAME, "child")
        self.result = Search(folder, output, config).run(on_child=self._on_child, should_stop=self.should_stop)
        self._publish(self.result)

    def _on_child(self, phase: str, record: dict, index: int, total: int) -> None:
        prefix = {"rl": "child", "random": "random"}.get(phase, "baseline")
        self.log_metrics({f"{prefix}/{key}": value for key, value in _figures(record).items()}, step=index)
        self.step_progress(f"{prefix} {index}: accuracy {record['accuracy']:.3f}, latency "
                           f"{record['latency_ratio']:.3f} x T, reward {record['reward']:.4f}")

    def _publish(self, result) -> None:
        summary = result.summary
        table = self.get_output(0)
        table.clear_data()
        best = summary["best"]
        if best:
            labels = ["arch", "accuracy", "latency_ratio", "latency_ms", "reward", "params", "macs",
                      "target_ratio", "target_latency_ms"]
            values = [best["arch"], f"{best['accuracy']:.4f}", f"{best['latency_ratio']:.4f}",
                      f"{best['latency_ms']:.3f}", f"{best['reward']:.4f}", str(best["params"]),
                      str(best["macs"]), f"{summary['target_ratio']:.4f}", f"{summary['target_latency_ms']:.3f}"]
            table.add_value_list(values, "best child", labels)
            self.log_metrics({"best/" + key: float(best[key]) for key in
                              ("accuracy", "latency_ratio", "latency_ms", "reward", "params", "macs")})
        final = summary.get("final")
        if final:  # the fair final comparison ran: its verdict, and its plot instead of the proxy's
            low, high = final["interval"]
            table.add_value_list([final["winner_arch"], final["position"], f"{final['margin']:.4f}",
                                  f"{low:.4f}", f"{high:.4f}", f"{final['latency_ratio']:.4f}", final["words"]],
                                 "final comparison", ["winner_arch", "position vs B1 curve", "margin",
                                                      "interval_low", "interval_high", "latency_ratio", "verdict"])
            self.log_metrics({"final/margin": float(final["margin"]), "final/interval_low": float(low),
                              "final/interval_high": float(high)})
        plot = "final.png" if final else "pareto.png"
        self.get_output(1).set_image(_read_png(result.output_dir / plot))
        if best:
            arch_file = result.output_dir / BEST_ARCH_FILE
            atomic_write_text(arch_file, best["arch"] + "\n")
            self.get_output(2).set_path(str(arch_file))
        for name in ("summary.json", "pareto.png", "curves.png", "children.jsonl", "baselines.jsonl", "final.md",
                     "final.png"):
            if (result.output_dir / name).is_file():
                self.log_artifact(str(result.output_dir / name))
        logger.info("%s: %d children in %s; best %s", PLUGIN_NAME, summary["children"],
                    result.output_dir, best and best["arch"])


def _read_png(path: Path):
    """The plot as an RGB uint8 array for the image output."""
    import matplotlib.image
    import numpy as np

    image = matplotlib.image.imread(str(path))[..., :3]
    return np.ascontiguousarray((image * 255).round().astype(np.uint8))


SearchMiniFactory = task_factory(
    SearchMini, name=PLUGIN_NAME, algo_type=core.AlgoType.TRAIN,
    short_description="MnasNet platform-aware architecture search, in miniature (CIFAR scale, CPU)",
    description=one_line("""
        Reproduces the MnasNet search loop on a laptop: an LSTM controller trained with PPO samples
        per-block choices (conv / depthwise separable / MBConv e3 or e6, kernel 3 or 5,
        squeeze-and-excitation, skip op, filters, layers) of a 32 px MnasNet-B1 skeleton; each child
        gets a short proxy training on a split of the dataset's train/ folder, its latency is measured
        on this machine (batch 1, one thread by default) and the reward ACC x (LAT/T)^w trains the
        controller. Outputs the best architecture string (for train_mnasnet's arch parameter), the
        Pareto plot against the B1 skeleton at several widths, and the best architecture as a file to
        connect to train_mnasnet's input 1; logs every child to MLflow; resumes from its output folder."""),
    keywords="mnasnet,nas,neural architecture search,reinforcement learning,ppo,latency,mobile")
