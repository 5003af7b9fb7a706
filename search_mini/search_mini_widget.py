"""Ikomia STUDIO panel of search_mini: which settings go in which section; each field (label, help,
range) comes from `SearchConfig`'s declaration, the form from `mnas_ikomia.widgets` (PyQt6)."""

from mnas.search.config import SearchConfig
from mnas_ikomia.widgets import FormWidgetFactory, Section, fields_from_config, folder
from search_mini.search_mini_process import PLUGIN_NAME, SearchMiniParam


def _section(title: str, names: tuple[str, ...], *extra, advanced: bool = True) -> Section:
    return Section(title, fields_from_config(SearchConfig, names) + extra, advanced)


# The essentials first (the dataset is the task's input 0); every other setting in a collapsed group
FORM = (
    _section("Search", ("sampler", "budget_children", "constraint", "target_latency_ms", "w"),
             folder("output_folder", "Output folder", "where the log, plots and summary go; a folder holding "
                    "a search resumes it; empty: a new folder under ~/mnas-runs",
                    "a new folder under ~/mnas-runs"), advanced=False),
    _section("budget, seed and baselines", ("budget_minutes", "seed", "compare_random", "baseline_widths")),
    _section("proxy training", ("proxy_epochs", "train_images", "val_images", "batch_size", "learning_rate",
                                "train_threads", "train_device", "width")),
    _section("controller and evolution", ("controller_hidden", "ppo_lr", "ppo_batch", "entropy_weight",
                                          "ppo_normalize", "population", "tournament")),
    _section("final comparison (did the search help?)", (
        "final_top_k", "final_b1_widths", "final_epochs", "final_train_per_class", "final_val_per_class",
        "final_test_per_class")),
    _section("where children are evaluated", ("evaluator", "table_file", "surrogate_file", "executor",
                                             "ray_address", "max_retries")),
    _section("latency meter", ("latency_engine", "latency_threads", "latency_rounds", "latency_burst",
                               "predictor")),
)


class SearchMiniWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, SearchMiniParam)
