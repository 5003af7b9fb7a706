"""Ikomia STUDIO panel of search_mini: which settings go in which section; each field (label, help,
range) comes from `SearchConfig`'s declaration, the form from `mnas_ikomia.widgets` (PyQt6)."""

from mnas.search.config import SearchConfig
from mnas_ikomia.widgets import FormWidgetFactory, Section, fields_from_config, folder
from search_mini.search_mini_process import PLUGIN_NAME, SearchMiniParam


def _section(title: str, names: tuple[str, ...], *extra) -> Section:
    return Section(title, fields_from_config(SearchConfig, names) + extra)


FORM = (
    _section("Search", ("sampler", "budget_children", "budget_minutes", "seed", "compare_random",
                        "baseline_widths")),
    _section("Reward: ACC x (LAT/T)^w", ("target_latency_ms", "constraint", "w")),
    _section("Proxy training", ("proxy_epochs", "train_images", "val_images", "batch_size", "learning_rate",
                                "train_threads", "train_device", "width")),
    _section("Controller and evolution", ("controller_hidden", "ppo_lr", "ppo_batch", "entropy_weight",
                                          "ppo_normalize", "population", "tournament")),
    _section("Final comparison (did the search help?)", (
        "final_top_k", "final_b1_widths", "final_epochs", "final_train_per_class", "final_val_per_class",
        "final_test_per_class")),
    _section("Where children train", ("executor", "ray_address", "max_retries", "evaluator", "table_file",
                                      "surrogate_file")),
    _section("Latency and output", ("latency_engine", "latency_threads", "latency_rounds", "latency_burst",
                                    "predictor"),
             folder("output_folder", "Output folder", "where the log, plots and summary go; a folder holding "
                    "a search resumes it; empty: a new folder under ~/mnas-runs",
                    "a new folder under ~/mnas-runs")),
)


class SearchMiniWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, SearchMiniParam)
