"""Ikomia STUDIO form over `TrainMnasnetParam` (PyQt6, as ikomia 0.16 loads it)."""

from __future__ import annotations

from ikomia import core, dataprocess
from ikomia.utils import pyqtutils, qtconversion
from PyQt6.QtWidgets import QFileDialog, QGridLayout

from mnas.models import VARIANTS
from mnas.train import OPTIMIZERS, SCHEDULES
from train_mnasnet.train_mnasnet_process import AUTO, PLUGIN_NAME, TrainMnasnetParam, parse_bool


class TrainMnasnetWidget(core.CWorkflowTaskWidget):
    """One control per parameter; Apply copies them into the parameters (checked as a whole)."""

    def __init__(self, param, parent):
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = param if param is not None else TrainMnasnetParam()
        cfg = self.parameters.cfg
        layout = QGridLayout()

        self.combo_model = self._combo(layout, "Model", VARIANTS, cfg["model_name"])
        self.edit_arch = pyqtutils.append_edit(layout, "Architecture string", cfg["arch"])
        self.edit_arch.setToolTip("block string from search_mini (mnas/arch.py grammar); when set it "
                                  "replaces Model")
        self.check_pretrained = pyqtutils.append_check(layout, "ImageNet weights",
                                                       parse_bool(cfg["pretrained"], "pretrained"))
        self.check_freeze = pyqtutils.append_check(layout, "Freeze backbone (needs ImageNet weights)",
                                                   parse_bool(cfg["freeze_backbone"], "freeze_backbone"))
        self.spin_epochs = pyqtutils.append_spin(layout, "Epochs", int(cfg["epochs"]), min=1, max=10000)
        self.spin_batch = pyqtutils.append_spin(layout, "Batch size", int(cfg["batch_size"]), min=2,
                                                max=4096)
        self.spin_lr = pyqtutils.append_double_spin(layout, "Learning rate", float(cfg["learning_rate"]),
                                                    min=1e-6, max=10.0, step=0.005, decimals=5)
        self.combo_optimizer = self._combo(layout, "Optimizer", OPTIMIZERS, cfg["optimizer"])
        self.combo_schedule = self._combo(layout, "Schedule", SCHEDULES, cfg["schedule"])
        self.spin_warmup = pyqtutils.append_double_spin(layout, "Warm-up epochs", float(cfg["warmup_epochs"]),
                                                        min=0.0, max=100.0, step=0.5, decimals=2)
        self.spin_decay = pyqtutils.append_double_spin(layout, "Weight decay", float(cfg["weight_decay"]),
                                                       min=0.0, max=0.1, step=1e-5, decimals=6)
        self.spin_smoothing = pyqtutils.append_double_spin(
            layout, "Label smoothing", float(cfg["label_smoothing"]), min=0.0, max=0.9, step=0.05, decimals=2)
        self.spin_input_size = pyqtutils.append_spin(layout, "Input size", int(cfg["input_size"]), min=8,
                                                     max=1024, step=8)
        # 0 shows as "auto": val/ (or test/) when the dataset has one, else 10 % of train/
        auto_fraction = cfg["val_fraction"].strip().lower() in (AUTO, "")
        self.spin_val_fraction = pyqtutils.append_double_spin(
            layout, "Validation fraction", 0.0 if auto_fraction else float(cfg["val_fraction"]), min=0.0,
            max=0.9, step=0.05, decimals=2)
        self.spin_val_fraction.setSpecialValueText(AUTO)
        self.spin_workers = pyqtutils.append_spin(layout, "Batches prepared ahead", int(cfg["num_workers"]),
                                                  min=0, max=8)
        self.spin_seed = pyqtutils.append_spin(layout, "Seed", int(cfg["seed"]), min=0, max=2**31 - 1)
        self.browse_output = pyqtutils.append_browse_file(
            layout, "Output folder", cfg["output_folder"], tooltip="empty: a new folder under ~/mnas-runs",
            mode=QFileDialog.FileMode.Directory)
        self.check_onnx = pyqtutils.append_check(layout, "Export ONNX",
                                                 parse_bool(cfg["export_onnx"], "export_onnx"))
        self.check_resume = pyqtutils.append_check(layout, "Resume from the output folder's checkpoint",
                                                   parse_bool(cfg["resume"], "resume"))
        self.set_layout(qtconversion.PyQtToQt(layout))

    @staticmethod
    def _combo(layout, label, choices, current):
        combo = pyqtutils.append_combo(layout, label)
        combo.addItems(list(choices))
        combo.setCurrentText(current)
        return combo

    def values(self) -> dict[str, str]:
        """The form as train_mnasnet's string parameters."""
        fraction = self.spin_val_fraction.value()
        return {
            "model_name": self.combo_model.currentText(),
            "arch": self.edit_arch.text().strip(),
            "pretrained": str(self.check_pretrained.isChecked()),
            "freeze_backbone": str(self.check_freeze.isChecked()),
            "epochs": str(self.spin_epochs.value()),
            "batch_size": str(self.spin_batch.value()),
            "learning_rate": str(self.spin_lr.value()),
            "optimizer": self.combo_optimizer.currentText(),
            "schedule": self.combo_schedule.currentText(),
            "warmup_epochs": str(self.spin_warmup.value()),
            "weight_decay": str(self.spin_decay.value()),
            "label_smoothing": str(self.spin_smoothing.value()),
            "input_size": str(self.spin_input_size.value()),
            "val_fraction": str(fraction) if fraction > 0 else AUTO,
            "num_workers": str(self.spin_workers.value()),
            "seed": str(self.spin_seed.value()),
            "output_folder": self.browse_output.qedit_file.text().strip(),
            "export_onnx": str(self.check_onnx.isChecked()),
            "resume": str(self.check_resume.isChecked()),
        }

    def on_apply(self):
        self.parameters.set_values(self.values())  # a bad combination raises, naming the parameter
        self.emit_apply(self.parameters)


class TrainMnasnetWidgetFactory(dataprocess.CWidgetFactory):
    def __init__(self):
        dataprocess.CWidgetFactory.__init__(self)
        self.name = PLUGIN_NAME

    def create(self, param):
        return TrainMnasnetWidget(param, None)
