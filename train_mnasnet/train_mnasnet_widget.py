"""Ikomia STUDIO panel of train_mnasnet: which settings go in which section; each field of `TrainConfig`
and `TrainJob` (label, help, range) comes from their declarations, the form from `mnas_ikomia.widgets`
(PyQt6)."""

from mnas.models import VARIANTS
from mnas.train.config import TrainConfig
from mnas.train.job import TrainJob
from mnas_ikomia.widgets import FormWidgetFactory, Section, arch, choice, fields_from_config, folder
from train_mnasnet.train_mnasnet_process import PLUGIN_NAME, TrainMnasnetParam

# The essentials first (the dataset is the task's input); every other setting in a collapsed group
FORM = (
    Section("Model and training", (
        choice("model_name", "Model", VARIANTS, "named MnasNet variant to train; not used when an "
               "architecture string is given"),
        arch("arch", "Architecture string",
             "blocks in the mnas/arch.py grammar (e.g. a search_mini result), one per line or comma-"
             "separated; when given it replaces Model. Checked as you type"),
        *fields_from_config(TrainJob, ("pretrained",)),
        *fields_from_config(TrainConfig, ("freeze_backbone", "epochs", "batch_size", "learning_rate")),
        folder("output_folder", "Output folder", "where model.pth, classes.txt and checkpoints are "
               "written; empty: a new folder under ~/mnas-runs", "a new folder under ~/mnas-runs"),
    )),
    Section("optimisation", fields_from_config(TrainConfig, (
        "input_size", "optimizer", "momentum", "weight_decay", "schedule", "lr_step_epochs", "lr_step_gamma",
        "warmup_epochs", "label_smoothing", "augment", "seed")), advanced=True),
    Section("data, device and outputs", (
        *fields_from_config(TrainJob, ("val_fraction",)),
        *fields_from_config(TrainConfig, ("device", "mixed_precision")),
        *fields_from_config(TrainJob, ("memory_budget_gb",)),
        *fields_from_config(TrainConfig, ("decode_workers", "num_workers")),
        *fields_from_config(TrainJob, ("keep_best", "export_onnx", "resume", "overwrite")),
    ), advanced=True),
)


class TrainMnasnetWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, TrainMnasnetParam)
