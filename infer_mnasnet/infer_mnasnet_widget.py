"""Ikomia STUDIO form over `InferMnasnetParam` (PyQt6, as ikomia 0.16 loads it)."""

from __future__ import annotations

from ikomia import core, dataprocess
from ikomia.utils import pyqtutils, qtconversion
from PyQt6.QtWidgets import QGridLayout

from infer_mnasnet.infer_mnasnet_process import PLUGIN_NAME, InferMnasnetParam
from mnas.models import VARIANTS
from mnas.preprocess import MIN_IMAGE_SIDE


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

        self.set_layout(qtconversion.PyQtToQt(layout))

    def on_apply(self):
        size = self.spin_input_size.value()
        self.parameters.set_values({
            "model_name": self.combo_model.currentText(),
            "input_size": str(size) if size >= MIN_IMAGE_SIDE else "auto",
            "model_weight_file": self.browse_weights.qedit_file.text(),  # typed or browsed
            "class_file": self.browse_classes.qedit_file.text(),
            "cuda": str(self.check_cuda.isChecked()),
        })
        self.emit_apply(self.parameters)


class InferMnasnetWidgetFactory(dataprocess.CWidgetFactory):
    def __init__(self):
        dataprocess.CWidgetFactory.__init__(self)
        self.name = PLUGIN_NAME

    def create(self, param):
        return InferMnasnetWidget(param, None)
