"""Ikomia STUDIO form over `InferMnasnetParam` (PyQt6, as ikomia 0.16 loads it)."""

from __future__ import annotations

from ikomia import core, dataprocess
from ikomia.utils import pyqtutils, qtconversion
from PyQt6.QtWidgets import QFileDialog, QGridLayout

from infer_mnasnet.infer_mnasnet_process import PLUGIN_NAME, InferMnasnetParam
from mnas.models import VARIANTS
from mnas.preprocess import MIN_IMAGE_SIDE
from mnas.runtime import BACKENDS


class InferMnasnetWidget(core.CWorkflowTaskWidget):
    """One control per parameter; Apply copies them into the parameters and reruns the task."""

    def __init__(self, param, parent):
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = param if param is not None else InferMnasnetParam()
        layout = QGridLayout()

        self.combo_model = pyqtutils.append_combo(layout, "Model")
        self.combo_model.addItems(list(VARIANTS))
        self.combo_model.setCurrentText(self.parameters.model_name)
        self.combo_model.setToolTip("ignored when the weights file is an mnas model file, which carries "
                                    "its own architecture")

        # 0 shows as "auto": the model file's input size, else 224
        self.spin_input_size = pyqtutils.append_spin(layout, "Input size", self.parameters.input_size or 0,
                                                     min=0, max=1024, step=8)
        self.spin_input_size.setSpecialValueText("auto")

        self.browse_weights = pyqtutils.append_browse_file(
            layout, "Weights file", self.parameters.model_weight_file, file_filter="*.pt *.pth",
            tooltip="model file from train_mnasnet, or a state dict; empty: ImageNet weights")
        self.browse_classes = pyqtutils.append_browse_file(
            layout, "Class file", self.parameters.class_file, file_filter="*.txt",
            tooltip="one class name per line; empty: from the model file or ImageNet's")
        self.check_cuda = pyqtutils.append_check(layout, "Use CUDA", self.parameters.cuda)
        self.combo_backend = pyqtutils.append_combo(layout, "Backend")
        self.combo_backend.addItems(list(BACKENDS))
        self.combo_backend.setCurrentText(self.parameters.backend)
        self.combo_backend.setToolTip("auto: ONNX Runtime on CPU once it matches torch, torch on CUDA")
        self.check_int8 = pyqtutils.append_check(layout, "int8 (ONNX Runtime)", self.parameters.int8)
        self.browse_calibration = pyqtutils.append_browse_file(
            layout, "Calibration images", self.parameters.calibration_folder,
            tooltip="int8: images of the model's own dataset; empty: the dataset the model file names",
            mode=QFileDialog.FileMode.Directory)
        self.spin_threads = pyqtutils.append_spin(layout, "CPU threads", self.parameters.threads or 0,
                                                  min=0, max=256)
        self.spin_threads.setSpecialValueText("auto")

        self.set_layout(qtconversion.PyQtToQt(layout))

    def on_apply(self):
        size = self.spin_input_size.value()
        self.parameters.set_values({
            "model_name": self.combo_model.currentText(),
            "input_size": str(size) if size >= MIN_IMAGE_SIDE else "auto",
            "model_weight_file": self.browse_weights.qedit_file.text(),  # typed or browsed
            "class_file": self.browse_classes.qedit_file.text(),
            "cuda": str(self.check_cuda.isChecked()),
            "backend": self.combo_backend.currentText(),
            "int8": str(self.check_int8.isChecked()),
            "calibration_folder": self.browse_calibration.qedit_file.text(),
            "threads": str(self.spin_threads.value() or "auto"),
        })
        self.emit_apply(self.parameters)


class InferMnasnetWidgetFactory(dataprocess.CWidgetFactory):
    def __init__(self):
        dataprocess.CWidgetFactory.__init__(self)
        self.name = PLUGIN_NAME

    def create(self, param):
        return InferMnasnetWidget(param, None)
