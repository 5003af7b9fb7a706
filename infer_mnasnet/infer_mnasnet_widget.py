"""Ikomia STUDIO panel of infer_mnasnet: its parameters described once, the form built by
`mnas_ikomia.widgets` (PyQt6, as ikomia 0.16 loads it)."""

from infer_mnasnet.infer_mnasnet_process import ALL, AUTO, PLUGIN_NAME, InferMnasnetParam
from mnas.models import VARIANTS
from mnas.runtime import BACKENDS
from mnas_ikomia.widgets import FormWidgetFactory, Section, choice, file, flag, folder, integer

FORM = (
    Section("Model", (
        choice("model_name", "Model", VARIANTS,
               "MnasNet variant whose ImageNet weights (or the state dict below) are used; ignored with "
               "an mnas model file, which carries its own architecture"),
        file("model_weight_file", "Weights file",
             "a train_mnasnet model file (architecture, classes and input size inside: enough alone) or "
             "a state dict for Model; empty: Model's ImageNet weights from the torch hub cache",
             "Model's ImageNet weights", "Model files (*.pt *.pth);;All files (*)"),
        file("class_file", "Class file",
             "one class name per line, in label order; empty: the model file's names, else ImageNet's",
             "the model file's, else ImageNet's", "Text files (*.txt);;All files (*)"),
        integer("input_size", "Input size",
                "side of the square each image (or box) is resized to, in pixels; auto: the model "
                "file's input size, else 224", minimum=0, maximum=1024, step=8, special=AUTO),
    )),
    Section("Runtime", (
        flag("cuda", "Use CUDA", "run on the GPU; falls back to the CPU with a warning when none is there"),
        choice("backend", "Backend", BACKENDS,
               "auto: ONNX Runtime on the CPU once its output matches torch's (torch otherwise), torch "
               "on CUDA; torch; onnxruntime"),
        flag("int8", "int8 (ONNX Runtime)",
             "static int8 quantisation, calibrated on the calibration images; faster, slightly less "
             "accurate"),
        folder("calibration_folder", "Calibration images",
               "int8 only: a folder of images of the model's own dataset (200 are taken); empty: the "
               "dataset the model file names", "the dataset the model file names"),
        integer("threads", "CPU threads", "CPU threads for ONNX Runtime; auto: the cores this process "
                "may use", minimum=0, maximum=256, special=AUTO),
    )),
    Section("Results", (
        integer("top_k", "Classes published", "whole-image results: all classes with their confidences "
                "(all), or only the k most probable (about 0.3 ms less per image for 1,000 classes)",
                minimum=0, maximum=100000, special=ALL),
    )),
)


class InferMnasnetWidgetFactory(FormWidgetFactory):
    def __init__(self):
        FormWidgetFactory.__init__(self, PLUGIN_NAME, FORM, InferMnasnetParam)
