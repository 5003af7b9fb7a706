"""Every setting of a search, declared once: `SearchConfig` (validated on creation; errors name the field)."""

from __future__ import annotations

import dataclasses

from mnas.latency.meter import ENGINES
from mnas.search.controller import PPOConfig
from mnas.search.reward import SOFT_W
from mnas.settings import check_values, setting
from mnas.train.config import TrainConfig
from mnas.utils.device import AUTO, check_device_spec

SAMPLERS = ("rl", "random", "evolution")
EVALUATORS = ("live", "table", "surrogate")
LOOKUP_EVALUATORS = ("table", "surrogate")  # children looked up, not trained: nothing to retrain after
INPUT_SIZE = 32
PRECISE_BN_IMAGES = 512  # BN statistics re-estimated after the short proxy run (engine's precise BN)
# Settings a budget change may alter on resume; every other one must match the log's.
RESUMABLE_CHANGES = {"budget_children", "budget_minutes", "compare_random", "baseline_widths",
                     "train_threads", "executor", "ray_address", "max_retries", "train_device", "final_top_k",
                     "final_b1_widths", "final_epochs", "final_train_per_class", "final_val_per_class",
                     "final_test_per_class"}
EXECUTORS = ("local", "ray")
# Settings that change how one child is trained or timed: a benchmark table's entries depend on these
# only (strategy, budget and final-comparison settings do not touch an entry).
CHILD_MEASUREMENT = ("proxy_epochs", "train_images", "val_images", "batch_size", "learning_rate", "seed",
                     "latency_engine", "latency_threads", "latency_rounds", "latency_burst", "width", "predictor")


@dataclasses.dataclass
class SearchConfig:
    """Every setting of a search (validated on creation; errors name the field)."""

    budget_children: int = setting(24, "children the sampler proposes and trains (the search's budget)",
                                   label="Children", minimum=1, maximum=100000)
    budget_minutes: float = setting(0.0, "no new child starts after this many minutes of children; 0 (none): "
                                    "no time budget", label="Time budget (min)", minimum=0.0, maximum=100000.0,
                                    step=5.0, decimals=1, special="none", special_value=0.0)
    target_latency_ms: float = setting(
        0.0, "T of the reward, in ms (made a ratio through the reference's ms); 0 (B1 skeleton): T is the "
        "B1 skeleton's own latency at the base width, every child timed as a ratio to it",
        label="Target latency T (ms)", minimum=0.0, step=0.5, decimals=2, special="B1 skeleton",
        special_value=0.0)  # no maximum: a hard constraint with T = 1e6 ms never binds (tests/test_search.py)
    constraint: str = setting("soft", "soft: alpha = beta = w; hard: alpha = 0, beta = -1 (the paper's hard "
                              "constraint)", choices=("soft", "hard"))
    w: float = setting(SOFT_W, "exponent of the soft constraint (the paper: -0.07); <= 0", label="w",
                       minimum=-2.0, maximum=0.0, step=0.01, decimals=3)
    proxy_epochs: int = setting(1, "epochs of each child's short proxy training", label="Epochs per child",
                                minimum=1, maximum=1000)
    train_images: int = setting(1600, "proxy training images, a stratified subset of train/",
                                label="Training images", minimum=2, maximum=10_000_000, step=100)
    val_images: int = setting(800, "held-out validation images, also a stratified subset of train/ (test/ "
                              "is never read)", label="Validation images", minimum=1, maximum=10_000_000, step=100)
    batch_size: int = setting(32, "proxy training batch size (small batches: more steps per image seen in a "
                              "short run)", minimum=2, maximum=4096)
    learning_rate: float = setting(0.02, "proxy training learning rate (the best of 0.02 / 0.05 / 0.1 for a 50-step "
                        "proxy run)", old_names=("lr",), minimum=0.0, minimum_excluded=True,
                        step=0.005, decimals=6)  # no maximum: a diverging run is reported as such
    seed: int = setting(0, "seed of the controller, the random search and the proxy trainings",
                        minimum=0, maximum=2**31 - 1)
    sampler: str = setting("rl", "rl: the PPO-trained LSTM controller (MnasNet); random: uniform random "
                           "search; evolution: regularised evolution", choices=SAMPLERS)
    latency_engine: str = setting("onnxruntime", "runtime each child's latency is measured with (batch 1); "
                                  "onnxruntime is the one infer_mnasnet ships", choices=ENGINES)
    # the field keeps its name (search logs and benchmark tables record it); users see latency_threads
    latency_threads: int = setting(1, "CPU threads of the latency measurement (the paper: one phone core)",
                           old_names=("threads",), minimum=1, maximum=256)
    # One by default: on a 2-core machine shared with other jobs, two proxy-training threads were far
    # slower than one (bench/search_bench.py)
    train_threads: int = setting(1, "CPU threads of the proxy training; 0 (all): every core",
                                 label="Training threads", minimum=0, maximum=256, special="all",
                                 special_value=0)
    # train_device: where children train, not the device the latency targets (latency_engine,
    # latency_threads); named as train_threads is
    train_device: str = setting(AUTO, "where children's proxy training runs: auto (the GPU when torch sees one, "
                          "else the CPU), cpu, cuda, or cuda:N (latency is measured by latency_engine)",
                          old_names=("device",), label="Training device")
    latency_rounds: int = setting(40, "paired rounds per latency measurement: a burst of the reference, one "
                                  "of the child", minimum=3, maximum=1000)
    latency_burst: int = setting(10, "calls per burst (the fastest counts; the median ratio over the quieter "
                                 "half of the rounds is reported)", minimum=1, maximum=1000)
    width: float = setting(0.5, "the B1 skeleton's base width (children's filters are 0.75-1.25 x this)",
                           label="Skeleton width", minimum=0.0, minimum_excluded=True, maximum=4.0, step=0.05,
                       decimals=3)
    baseline_widths: tuple[float, ...] = setting(
        (0.35, 0.5, 0.75, 1.0), "widths of the MnasNet-B1 skeleton trained as baselines, comma-separated",
        empty="no baselines", minimum=0.0, minimum_excluded=True, maximum=4.0, decimals=3)  # as width
    compare_random: bool = setting(False, "also run random search with the same budget and trainer",
                                   label="Also random search")
    predictor: bool = setting(True, "predict each child's latency from the per-layer lookup table too "
                              "(reported beside the measured one)", label="Latency predictor")
    executor: str = setting("local", "local: one child at a time in this process; ray: the children of each "
                            "batch in parallel on Ray, timed by one actor on the node that declares the "
                            "latency_device resource", choices=EXECUTORS)
    ray_address: str = setting("", "ray: empty starts a local Ray instance; auto or ray://host:port joins a "
                               "running cluster", empty="a local Ray instance")
    max_retries: int = setting(2, "ray: times a child whose worker died is retried", minimum=0, maximum=100)
    evaluator: str = setting("live", "live: children proxy-trained and timed here; table: looked up in a "
                             "benchmark table of a sub-space (mnas.search.table.build); surrogate: predicted for the "
                             "whole space at the final recipe by a model fitted on measured architectures "
                             "(mnas.search.surrogate); both for strategy comparisons over many seeds",
                             choices=EVALUATORS)
    table_file: str = setting("", "table: a packed table (python -m mnas table pack); empty: the one shipped "
                              "with mnas", kind="file", empty="the table shipped with mnas")
    surrogate_file: str = setting("", "surrogate: packed measurements (python -m mnas surrogate pack) the "
                                  "surrogate is fitted on; empty: the ones shipped with mnas", kind="file",
                                  empty="the measurements shipped with mnas")
    population: int = setting(20, "evolution: population size (the oldest ages out)", minimum=2, maximum=10000)
    tournament: int = setting(5, "evolution: members drawn per tournament (at most the population)",
                              minimum=1, maximum=10000)
    final_top_k: int = setting(
        0, "after the search, retrain this many top children and the B1 skeleton at several widths "
        "identically, choose the winner on validation and compare it with B1's curve on test/ (95 % "
        "interval); 0 (none): no final comparison", label="Finalists", minimum=0, maximum=100, special="none",
        special_value=0)
    final_b1_widths: int = setting(3, "B1 widths retrained alike, spanning the finalists' latencies",
                                   label="Final B1 widths", minimum=2, maximum=20)
    final_epochs: int = setting(4, "epochs of each final training", minimum=1, maximum=1000)
    final_train_per_class: int = setting(450, "final training images per class, from train/",
                                         minimum=1, maximum=1_000_000, step=50)
    final_val_per_class: int = setting(50, "final validation images per class (the next ones of train/)",
                                       minimum=1, maximum=1_000_000, step=10)
    final_test_per_class: int = setting(0, "final test images per class, from test/ (or val/); 0 (all): every "
                                        "image", minimum=0, maximum=1_000_000, step=100, special="all",
                                        special_value=0)
    controller_hidden: int = setting(64, "rl: hidden units of the LSTM controller", minimum=1, maximum=4096)
    ppo_lr: float = setting(PPOConfig.lr, "rl: the controller's learning rate (Adam)", label="PPO learning rate",
                            minimum=0.0, minimum_excluded=True, maximum=1.0, step=0.001, decimals=6)
    ppo_batch: int = setting(PPOConfig.batch, "rl: children per controller update", label="PPO batch",
                             minimum=1, maximum=1000)
    entropy_weight: float = setting(PPOConfig.entropy_weight, "rl: weight of the entropy bonus (keeps the "
                                    "controller exploring)", minimum=0.0, maximum=10.0, step=0.01, decimals=4)
    ppo_normalize: bool = setting(PPOConfig.normalize_advantages, "rl: divide the controller's advantages by "
                                  "the running standard deviation of the rewards (scale-free updates)",
                                  label="Normalise advantages")

    def __post_init__(self):
        check_values(self, "search setting")  # inf / nan would reach the reward and the PPO logits
        self.baseline_widths = tuple(map(float, self.baseline_widths))
        self.train_device = check_device_spec(self.train_device, "search setting train_device")
        if self.tournament > self.population:
            raise ValueError(f"search setting tournament must be at most the population ({self.population}), "
                             f"got {self.tournament!r}")
        if self.final_top_k and self.evaluator in LOOKUP_EVALUATORS:
            raise ValueError(f"search setting final_top_k must be 0 in {self.evaluator} mode (nothing to "
                             f"retrain), got {self.final_top_k!r}")

    def evaluations(self) -> int:
        """How many networks a whole search evaluates (what its progress counts): the baselines (none
        when children are looked up: the B1 widths are in no table nor surrogate), the sampled
        children, and as many random ones with compare_random."""
        baselines = 0 if self.evaluator in LOOKUP_EVALUATORS else len(self.baseline_widths)
        return baselines + self.budget_children * (2 if self.compare_random else 1)

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(epochs=self.proxy_epochs, batch_size=self.batch_size, learning_rate=self.learning_rate,
                           input_size=INPUT_SIZE, seed=seed, precise_bn_images=PRECISE_BN_IMAGES,
                           device=self.train_device)
