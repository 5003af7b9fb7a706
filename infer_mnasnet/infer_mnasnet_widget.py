"""Ikomia STUDIO panel of infer_mnasnet: which parameters go in which section; the model and runtime
fields (label, help, range) come from `mnas.infer.classifier.InferSettings` and the task's `PublishSettings`,
the form from `mnas_ikomia.widgets`
(PyQt6)."""

from infer_mnasnet.infer_mnasnet_process import PLUGIN_NAME, InferMnasnetParam, PublishSettings
from mnas.infer.classifier import InferSettings
from mnas_ikomia.widgets import FormWidgetFactory, Section, fields_from_config, flag

FORM = (
    Section("Model", fields_from_config(InferSettings, ("model_name", "model_weight_file", "class_file",
                                                        "input_size"))),
    Section("Runtime", (
        flag("cuda", "Use CUDA", "run on the GPU; falls back to the CPU with a warning when none is there"),
        *fields_from_config(InferSettings, ("backend", "int8", "calibration_folder", "threads")),
    ), advanced=True),
    Section("Results", fields_from_config(PublishSettings, ("top_k",))),
)


class InferMnasnetWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, InferMnasnetParam)
