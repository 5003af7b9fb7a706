"""The training configuration: every setting declared once (`mnas.settings`), its checks and its automatic values."""

from __future__ import annotations

import dataclasses
import math
import numbers

from mnas.preprocess import IMAGENET_MEAN, IMAGENET_STD, MAX_INPUT_SIZE
from mnas.settings import check_values, setting
from mnas.utils.device import AUTO, check_device_spec

OPTIMIZERS = ("sgd", "rmsprop")


SCHEDULES = ("cosine", "step")


MAX_EPOCHS = 10_000


SEED_LIMIT = 2**64 - 1  # torch.manual_seed's range (the search's children get seeds beyond 2**31)


# batch_size and learning_rate "auto" (the surfaces' default; `auto_defaults`): from scratch, the engine's
# own defaults (CIFAR-scale training); fine-tuning ImageNet weights, the values of the Ikomia HUB's
# train_torchvision_mnasnet (batch 8, lr 0.001), where a from-scratch lr of 0.05 would wreck the weights
SCRATCH_BATCH_SIZE, SCRATCH_LR = 128, 0.05


FINE_TUNING_BATCH_SIZE, FINE_TUNING_LR = 8, 0.001


@dataclasses.dataclass
class TrainConfig:
    """Hyper-parameters of one training run (all validated in `__post_init__`)."""

    epochs: int = setting(10, "passes over the training set", minimum=1, maximum=MAX_EPOCHS)
    # The surfaces default these two to "auto" (`auto_defaults`); the engine's own defaults are the
    # from-scratch values (the search's proxy runs)
    batch_size: int = setting(SCRATCH_BATCH_SIZE, f"images per optimisation step; auto: {FINE_TUNING_BATCH_SIZE} "
                              f"when fine-tuning ImageNet weights (pretrained; the Ikomia HUB's default), else "
                              f"{SCRATCH_BATCH_SIZE}", minimum=2, maximum=4096, special="auto", special_default=True)
    learning_rate: float = setting(SCRATCH_LR, f"peak learning rate (after warm-up); auto: {FINE_TUNING_LR:g} when "
                        f"fine-tuning ImageNet weights (pretrained; the Ikomia HUB's default), else {SCRATCH_LR:g}",
                        old_names=("lr",), minimum=0.0, minimum_excluded=True, step=0.005,
                        decimals=6, special="auto", special_default=True)  # no maximum: TrainingDiverged
    optimizer: str = setting("sgd", "sgd: Nesterov momentum; rmsprop: the MnasNet paper's settings",
                             choices=OPTIMIZERS)
    momentum: float = setting(0.9, "momentum of sgd and rmsprop", minimum=0.0, maximum=1.0,
                              maximum_excluded=True, step=0.01, decimals=3)
    weight_decay: float = setting(4e-5, "L2 penalty on conv and linear weights (not on batch norm or biases)",
                                  minimum=0.0, maximum=0.1, step=1e-5, decimals=6)
    schedule: str = setting("cosine", "cosine: decays to 0 over the run; step: x lr_step_gamma every "
                            "lr_step_epochs (the paper: x0.97 every 2.4 epochs)", choices=SCHEDULES)
    warmup_epochs: float = setting(0.0, "linear warm-up of the learning rate from 0, in epochs (per step)",
                                   label="Warm-up epochs", minimum=0.0, maximum=float(MAX_EPOCHS),
                                   maximum_excluded=True, step=0.5, decimals=2)  # and < epochs (__post_init__)
    lr_step_epochs: float = setting(2.4, "step schedule: epochs between two decays", label="Step every (epochs)",
                                    minimum=0.0, minimum_excluded=True, maximum=1000.0, step=0.1, decimals=2)
    lr_step_gamma: float = setting(0.97, "step schedule: factor of each decay", label="Step factor",
                                   minimum=0.0, minimum_excluded=True, maximum=1.0, step=0.01, decimals=3)
    label_smoothing: float = setting(0.0, "weight moved from the true class to the others in the loss (0: "
                                     "none, 0.1 is common)", minimum=0.0, maximum=1.0, maximum_excluded=True,
                                     step=0.05, decimals=2)
    # The surfaces default to "auto" (mnas.train.job.default_input_size: 32 for CIFAR-scale images, else
    # 224); 32 is the engine's own default (the search's proxy runs)
    input_size: int = setting(32, "side of the square training images are resized to, in pixels; auto: 32 "
                              "when the dataset's images are at most 64 px (CIFAR scale), else 224",
                              minimum=8, maximum=MAX_INPUT_SIZE, step=8, special="auto", special_default=True)
    seed: int = setting(0, "random seed of initialisation, shuffling and augmentation", minimum=0,
                        maximum=SEED_LIMIT)
    augment: bool = setting(True, "augment the training images (pad-and-crop up to 64 px, random-resized crop "
                            "above; horizontal flip)", label="Augmentation")
    num_workers: int = setting(0, "batches a background thread prepares while the model trains (0: in the "
                               "training loop)", label="Batches prepared ahead", minimum=0, maximum=8)
    decode_workers: int = setting(0, "processes decoding a streamed dataset (mnas.data.stream); 0 (auto): one per "
                                  "core", label="Decoding processes", minimum=0, maximum=64, special="auto",
                                  special_value=0)
    freeze_backbone: bool = setting(False, "train the classifier only, backbone weights and batch-norm "
                                    "statistics fixed (needs ImageNet weights: a frozen random backbone would "
                                    "give random features)", aliases=("feature_extract",))
    eval_batch_size: int = 256
    # Batch-norm statistics recomputed exactly on this many training images (no augmentation) after
    # each epoch: with BN momentum 0.01 a short proxy run of ~100 steps leaves the running statistics
    # far from the weights' (precise BN, as in pycls); 0 turns it off.
    precise_bn_images: int = 2048
    # NHWC tensors and weights: faster training on the CPU (bench/train_cifar.py); the uint8 NHWC images
    # become channels-last with no extra copy
    channels_last: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD
    device: str = setting(AUTO, "where training runs: auto (the GPU when torch sees one, else the CPU), cpu, "
                          "cuda, or cuda:N for GPU N")
    mixed_precision: bool = setting(True, "on a GPU, train in bfloat16/float16 autocast (faster, less memory); "
                                    "no effect on the CPU")

    def __post_init__(self):
        check_values(self)
        self.mean, self.std = tuple(map(float, self.mean)), tuple(map(float, self.std))
        self.device = check_device_spec(self.device)
        checks = [  # rules between settings, and the fields no surface offers
            ("warmup_epochs", self.warmup_epochs < self.epochs, "a number in [0, epochs)"),
            ("eval_batch_size", _is_count(self.eval_batch_size, 1), "an integer >= 1"),
            ("precise_bn_images", _is_count(self.precise_bn_images, 0), "an integer >= 0"),
            ("mean", len(self.mean) == 3 and all(map(math.isfinite, self.mean)), "three finite numbers"),
            ("std", len(self.std) == 3 and all(0 < v < math.inf for v in self.std),
             "three finite numbers > 0"),
        ]
        for name, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name} must be {expected}, got {getattr(self, name)!r}")


def auto_defaults(pretrained: bool) -> dict[str, int | float]:
    """Field -> the value "auto" stands for, for the settings whose default depends on whether training
    starts from ImageNet weights (`pretrained`): fine-tuning takes the Ikomia HUB's batch 8 and lr 0.001."""
    if pretrained:
        return {"batch_size": FINE_TUNING_BATCH_SIZE, "learning_rate": FINE_TUNING_LR}
    return {"batch_size": SCRATCH_BATCH_SIZE, "learning_rate": SCRATCH_LR}


def _is_count(value, minimum: int) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= minimum
