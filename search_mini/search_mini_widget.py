"""Ikomia STUDIO panel of search_mini: its parameters described once, the form built by
`mnas_ikomia.widgets` (PyQt6, as ikomia 0.16 loads it)."""

from mnas.latency import ENGINES
from mnas.search.loop import EXECUTORS, SAMPLERS
from mnas_ikomia.widgets import FormWidgetFactory, Section, choice, flag, folder, integer, number, text
from search_mini.search_mini_process import PLUGIN_NAME, SearchMiniParam

FORM = (
    Section("Search", (
        choice("sampler", "Sampler", SAMPLERS,
               "rl: the PPO-trained LSTM controller (MnasNet); random: uniform random search"),
        integer("budget_children", "Children", "children the sampler proposes and trains (the search's "
                "budget)", minimum=1, maximum=100000),
        number("budget_minutes", "Time budget (min)", "no new child starts after this many minutes of "
               "children; none: no time budget", minimum=0.0, maximum=100000.0, step=5.0, decimals=1,
               special="none", special_value="0"),
        integer("seed", "Seed", "seed of the controller, the random search and the proxy trainings",
                minimum=0, maximum=2**31 - 1),
        flag("compare_random", "Also random search", "also run random search with the same budget and "
             "trainer, for comparison"),
        text("baseline_widths", "Baseline widths", "widths of the MnasNet-B1 skeleton trained as "
             "baselines, comma-separated (e.g. 0.35,0.5,0.75,1)", "no baselines"),
    )),
    Section("Reward: ACC x (LAT/T)^w", (
        number("target_latency_ms", "Target latency T (ms)", "T of the reward, in ms (made a ratio through "
               "the reference's ms); B1 skeleton: T is the skeleton's own latency, every child timed as a "
               "ratio to it", minimum=0.0, maximum=100000.0, step=0.5, decimals=2, special="B1 skeleton",
               special_value="0"),
        choice("constraint", "Constraint", ("soft", "hard"),
               "soft: alpha = beta = w; hard: alpha = 0, beta = -1 (the paper's hard constraint)"),
        number("w", "w", "exponent of the soft constraint (the paper: -0.07); <= 0", minimum=-2.0,
               maximum=0.0, step=0.01, decimals=3),
    )),
    Section("Proxy training", (
        integer("proxy_epochs", "Epochs per child", "epochs of each child's short proxy training",
                minimum=1, maximum=1000),
        integer("train_images", "Training images", "proxy training images, a stratified subset of "
                "train/", minimum=2, maximum=10_000_000, step=100),
        integer("val_images", "Validation images", "held-out validation images, also from train/ "
                "(test/ is never read)", minimum=1, maximum=10_000_000, step=100),
        integer("train_threads", "Training threads", "CPU threads of the proxy training; all: every "
                "core", minimum=0, maximum=256, special="all", special_value="0"),
        text("device", "Device", "where children's proxy training runs: auto (the GPU when torch sees "
             "one, else the CPU), cpu, cuda, or cuda:N"),
    )),
    Section("Final comparison (did the search help?)", (
        integer("final_top_k", "Finalists", "after the search, retrain this many top children and the B1 "
                "skeleton at >= 3 widths identically, choose the winner on validation and compare it with "
                "B1's curve on test/ (95 % interval); none: no final comparison", minimum=0, maximum=100,
                special="none", special_value="0"),
        integer("final_epochs", "Final epochs", "epochs of each final training", minimum=1, maximum=1000),
    )),
    Section("Where children train", (
        choice("executor", "Executor", EXECUTORS, "local: one child at a time in this process; ray: the "
               "children of each PPO batch in parallel on a Ray cluster, timed on its latency_device node"),
        text("ray_address", "Ray address", "ray: empty starts a local Ray instance on this machine; auto "
             "or ray://host:port joins a running cluster", "a local Ray instance"),
    )),
    Section("Latency and output", (
        choice("latency_engine", "Latency engine", ENGINES, "runtime the latency of each child is "
               "measured with (batch 1)"),
        integer("threads", "Latency threads", "CPU threads of the latency measurement (the paper: one "
                "phone core)", minimum=1, maximum=256),
        folder("output_folder", "Output folder", "where the log, plots and summary go; a folder holding "
               "a search resumes it; empty: a new folder under ~/mnas-runs",
               "a new folder under ~/mnas-runs"),
    )),
)


class SearchMiniWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, SearchMiniParam)
