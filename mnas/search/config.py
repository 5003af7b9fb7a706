"""Every setting of a search, declared once: `SearchConfig` (validated on creation; errors name the field)."""

from __future__ import annotations

import dataclasses
import math

from ..device import AUTO, check_device_spec
from ..latency import ENGINES
from ..train import TrainConfig
from .controller import PPOConfig
from .reward import SOFT_W

SAMPLERS = ("rl", "random", "evolution")
EVALUATORS = ("live", "table")
INPUT_SIZE = 32
PRECISE_BN_IMAGES = 512  # BN statistics re-estimated after the short proxy run (engine's precise BN)
# Settings a budget change may alter on resume; every other one must match the log's.
RESUMABLE_CHANGES = {"budget_children", "budget_minutes", "compare_random", "baseline_widths",
                     "train_threads", "executor", "ray_address", "max_retries", "device", "final_top_k",
                     "final_b1_widths", "final_epochs", "final_train_per_class", "final_val_per_class",
                     "final_test_per_class"}
EXECUTORS = ("local", "ray")
# Settings that change how one child is trained or timed: a benchmark table's entries depend on these
# only (strategy, budget and final-comparison settings do not touch an entry).
CHILD_MEASUREMENT = ("proxy_epochs", "train_images", "val_images", "batch_size", "lr", "seed",
                     "latency_engine", "threads", "latency_rounds", "latency_burst", "width", "predictor")


@dataclasses.dataclass
class SearchConfig:
    """Every setting of a search (validated on creation; errors name the field)."""

    budget_children: int = 24
    budget_minutes: float = 0.0          # 0: no time budget; else no new child starts after it
    target_latency_ms: float = 0.0       # T in ms; 0: T is the reference's (B1 skeleton's) latency
    constraint: str = "soft"             # soft (alpha = beta = w) | hard (alpha = 0, beta = -1)
    w: float = SOFT_W
    proxy_epochs: int = 1
    train_images: int = 1600             # proxy training images from train/ (stratified)
    val_images: int = 800                # held-out validation images from train/ (stratified)
    batch_size: int = 32                 # small batches: more steps per image seen in a short run
    lr: float = 0.02                     # best of 0.02 / 0.05 / 0.1 for a 50-step proxy run (measured)
    seed: int = 0
    sampler: str = "rl"
    latency_engine: str = "onnxruntime"  # the runtime infer_mnasnet ships (chosen by bench/latency_bench.py)
    threads: int = 1                     # latency threads (the paper: one phone core)
    # Proxy-training threads (0: all cores). One by default: on this 2-core machine shared with other
    # jobs (load ~5), the B1 skeleton's proxy run took 19 s with one thread and 160 s with two.
    train_threads: int = 1
    device: str = AUTO                   # proxy training: auto (CUDA when available) | cpu | cuda[:N]
    latency_rounds: int = 10             # paired rounds: one burst of the reference, one of the child
    latency_burst: int = 10              # calls per burst; the fastest of a burst counts
    width: float = 0.5                   # skeleton base width (filters 0.75-1.25 x this)
    baseline_widths: tuple[float, ...] = (0.35, 0.5, 0.75, 1.0)
    compare_random: bool = False         # also run random search with the same budget
    predictor: bool = True               # predict each child's latency from the per-layer table
    # where children train: "local" (this process, one at a time) or "ray" (Ray tasks in parallel,
    # latency timed by one actor on the node that declares the latency_device resource)
    executor: str = "local"
    ray_address: str = ""                # ray: "" starts a local instance; "auto" or ray://host:port joins
    max_retries: int = 2                 # ray: times a child whose worker died is retried
    # "live": children proxy-trained and timed here; "table": looked up in a benchmark table of a
    # sub-space (mnas.search.table) in milliseconds, for strategy comparisons over many seeds
    evaluator: str = "live"
    table_file: str = ""                 # table: a packed table; empty: the one shipped with mnas
    population: int = 20                 # evolution: population size (oldest ages out)
    tournament: int = 5                  # evolution: members drawn per tournament
    # the fair final comparison after the search (mnas.search.final): 0 children: none
    final_top_k: int = 0                 # top children by proxy reward retrained and tested
    final_b1_widths: int = 3             # B1 widths retrained alike, spanning the finalists' latencies
    final_epochs: int = 4
    final_train_per_class: int = 450     # from train/ (the final validation: the next val_per_class)
    final_val_per_class: int = 50
    final_test_per_class: int = 0        # from test/ (or val/); 0: every image
    controller_hidden: int = 64
    ppo_lr: float = PPOConfig.lr
    ppo_batch: int = PPOConfig.batch
    entropy_weight: float = PPOConfig.entropy_weight

    def __post_init__(self):
        self.baseline_widths = tuple(float(w) for w in self.baseline_widths)
        self.device = check_device_spec(self.device, "search setting device")
        for field in dataclasses.fields(self):  # inf / nan would reach the reward and the PPO logits
            value = getattr(self, field.name)
            if field.type in ("int", "float") and not (isinstance(value, (int, float))
                                                       and math.isfinite(value)):
                raise ValueError(f"search setting {field.name} must be a finite number, got {value!r}")
        if not all(map(math.isfinite, self.baseline_widths)):
            raise ValueError(f"search setting baseline_widths must be finite numbers, got {self.baseline_widths}")
        checks = [
            ("budget_children", self.budget_children >= 1, "an integer >= 1"),
            ("budget_minutes", self.budget_minutes >= 0, "a number >= 0 (0: no time budget)"),
            ("target_latency_ms", self.target_latency_ms >= 0, "a number >= 0 (0: measure the baseline)"),
            ("constraint", self.constraint in ("soft", "hard"), "'soft' or 'hard'"),
            ("w", self.w <= 0, "a number <= 0, e.g. -0.07"),
            ("proxy_epochs", self.proxy_epochs >= 1, "an integer >= 1"),
            ("train_images", self.train_images >= 2, "an integer >= 2"),
            ("val_images", self.val_images >= 1, "an integer >= 1"),
            ("batch_size", self.batch_size >= 2, "an integer >= 2"),
            ("lr", self.lr > 0, "a number > 0"),
            ("sampler", self.sampler in SAMPLERS, f"one of {', '.join(SAMPLERS)}"),
            ("latency_engine", self.latency_engine in ENGINES, f"one of {', '.join(ENGINES)}"),
            ("threads", self.threads >= 1, "an integer >= 1"),
            ("train_threads", self.train_threads >= 0, "an integer >= 0 (0: all cores)"),
            ("latency_rounds", self.latency_rounds >= 3, "an integer >= 3"),
            ("latency_burst", self.latency_burst >= 1, "an integer >= 1"),
            ("width", self.width > 0, "a number > 0"),
            ("baseline_widths", all(w > 0 for w in self.baseline_widths), "numbers > 0"),
            ("executor", self.executor in EXECUTORS, f"one of {', '.join(EXECUTORS)}"),
            ("max_retries", self.max_retries >= 0, "an integer >= 0"),
            ("evaluator", self.evaluator in EVALUATORS, f"one of {', '.join(EVALUATORS)}"),
            ("population", self.population >= 2, "an integer >= 2"),
            ("tournament", 1 <= self.tournament <= self.population, "an integer in 1..population"),
            ("final_top_k", self.final_top_k >= 0 and not (self.final_top_k and self.evaluator == "table"),
             "an integer >= 0 (0: no final comparison), and 0 in table mode (nothing to retrain)"),
            ("final_b1_widths", self.final_b1_widths >= 2, "an integer >= 2"),
            ("final_epochs", self.final_epochs >= 1, "an integer >= 1"),
            ("final_train_per_class", self.final_train_per_class >= 1, "an integer >= 1"),
            ("final_val_per_class", self.final_val_per_class >= 1, "an integer >= 1"),
            ("final_test_per_class", self.final_test_per_class >= 0, "an integer >= 0 (0: every image)"),
            ("controller_hidden", self.controller_hidden >= 1, "an integer >= 1"),
            ("ppo_lr", self.ppo_lr > 0, "a number > 0"),
            ("ppo_batch", self.ppo_batch >= 1, "an integer >= 1"),
            ("entropy_weight", self.entropy_weight >= 0, "a number >= 0"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"search setting {name} must be {expected}, got {getattr(self, name)!r}")

    def train_config(self, seed: int) -> TrainConfig:
        return TrainConfig(epochs=self.proxy_epochs, batch_size=self.batch_size, lr=self.lr,
                           input_size=INPUT_SIZE, seed=seed, precise_bn_images=PRECISE_BN_IMAGES,
                           device=self.device)
