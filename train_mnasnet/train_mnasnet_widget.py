"""Ikomia STUDIO panel of train_mnasnet: its parameters described once, the form built by
`mnas_ikomia.widgets` (PyQt6, as ikomia 0.16 loads it)."""

from mnas.models import VARIANTS
from mnas.train import OPTIMIZERS, SCHEDULES
from mnas_ikomia.widgets import FormWidgetFactory, Section, arch, choice, flag, folder, integer, number, text
from train_mnasnet.train_mnasnet_process import AUTO, PLUGIN_NAME, TrainMnasnetParam

FORM = (
    Section("Model", (
        choice("model_name", "Model", VARIANTS, "named MnasNet variant to train; not used when an "
               "architecture string is given"),
        arch("arch", "Architecture string",
             "blocks in the mnas/arch.py grammar (e.g. a search_mini result), one per line or comma-"
             "separated; when given it replaces Model. Checked as you type"),
        flag("pretrained", "ImageNet weights", "start from the published ImageNet weights of Model "
             "(torchvision's for B1, timm's for A1 and small; downloaded when missing unless MNAS_OFFLINE=1); "
             "the classifier is replaced for the dataset's classes"),
        flag("freeze_backbone", "Freeze backbone", "train the classifier only (needs ImageNet weights: a "
             "frozen random backbone would give random features)"),
        integer("input_size", "Input size", "side of the square training images are resized to, in "
                "pixels (32 for CIFAR-scale data, 224 for ImageNet-like photos)", minimum=8, maximum=1024,
                step=8),
    )),
    Section("Optimisation", (
        integer("epochs", "Epochs", "passes over the training set", minimum=1, maximum=10000),
        integer("batch_size", "Batch size", "images per optimisation step", minimum=2, maximum=4096),
        number("learning_rate", "Learning rate", "peak learning rate (after warm-up)", minimum=1e-6,
               maximum=10.0, step=0.005, decimals=6),
        choice("optimizer", "Optimizer", OPTIMIZERS, "sgd: Nesterov momentum 0.9; rmsprop: the MnasNet "
               "paper's settings"),
        number("weight_decay", "Weight decay", "L2 penalty on conv and linear weights (not on batch norm "
               "or biases)", minimum=0.0, maximum=0.1, step=1e-5, decimals=6),
        choice("schedule", "Schedule", SCHEDULES, "cosine: decays to 0 over the run; step: x0.97 every "
               "2.4 epochs (the paper)"),
        number("warmup_epochs", "Warm-up epochs", "linear warm-up of the learning rate from 0, in epochs",
               minimum=0.0, maximum=100.0, step=0.5, decimals=2),
        number("label_smoothing", "Label smoothing", "weight moved from the true class to the others in "
               "the loss (0: none, 0.1 is common)", minimum=0.0, maximum=0.9, step=0.05, decimals=2),
        integer("seed", "Seed", "random seed of initialisation, shuffling and augmentation",
                minimum=0, maximum=2**31 - 1),
    )),
    Section("Data and output", (
        number("val_fraction", "Validation fraction", "share of train/ held out for validation; auto: "
               "the dataset's val/ (or test/) folder when present, else 0.1", minimum=0.0, maximum=0.9,
               step=0.05, decimals=2, special=AUTO),
        text("device", "Device", "where training runs: auto (the GPU when torch sees one, else the CPU), "
             "cpu, cuda, or cuda:N for GPU N"),
        flag("mixed_precision", "Mixed precision", "on a GPU, train in bfloat16/float16 autocast (faster, "
             "less memory); no effect on the CPU"),
        number("memory_budget_gb", "Memory budget (GB)", "when the decoded images would take more, they "
               "are streamed from their files, decoded by worker processes while training; auto: half of "
               "the memory available", minimum=0.0, maximum=4096.0, step=1.0, decimals=1, special=AUTO),
        integer("decode_workers", "Decoding processes", "processes decoding a streamed dataset; auto: one "
                "per core", minimum=0, maximum=64, special=AUTO, special_value="0"),
        integer("num_workers", "Batches prepared ahead", "batches a background thread prepares while the "
                "model trains (0: in the training loop)", minimum=0, maximum=8),
        folder("output_folder", "Output folder", "where model.pth, classes.txt and checkpoints are "
               "written; empty: a new folder under ~/mnas-runs", "a new folder under ~/mnas-runs"),
        flag("export_onnx", "Export ONNX", "also write model.onnx (dynamic batch axis) beside model.pth"),
        flag("resume", "Resume", "continue from the checkpoint in Output folder instead of starting over"),
        flag("overwrite", "Overwrite", "replace the run already in Output folder (its files are deleted); "
             "without it, or Resume, a folder holding a run is refused"),
    )),
)


class TrainMnasnetWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, TrainMnasnetParam)
