"""Ikomia STUDIO panel of search_mini (PyQt6, as ikomia 0.16 loads it): one line edit per parameter.

A plain form: every parameter string is edited as text and checked by the parameter class itself on
Apply; a refused value is shown in red and leaves the task's parameters unchanged.
"""

from ikomia import core, dataprocess
from ikomia.utils import qtconversion
from PyQt6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout

from search_mini.search_mini_process import DEFAULTS, PLUGIN_NAME, SearchMiniParam

TOOLTIPS = {
    "budget_children": "children the sampler proposes and trains (the search's budget)",
    "budget_minutes": "no new child starts after this many minutes of children; 0: no time budget",
    "target_latency_ms": "T of the reward ACC x (LAT/T)^w, in ms; 0: measure the B1 skeleton here",
    "constraint": "soft: alpha = beta = w; hard: alpha = 0, beta = -1 (the paper's)",
    "w": "exponent of the soft constraint (the paper: -0.07)",
    "proxy_epochs": "epochs of each child's proxy training",
    "train_images": "proxy training images, a stratified subset of train/",
    "val_images": "held-out validation images, also from train/ (test/ is never read)",
    "seed": "seed of the controller, the random search and the proxy trainings",
    "output_folder": "where the log, plots and summary go; a folder holding a search resumes it; "
                     "empty: a new folder under ~/mnas-runs",
    "latency_engine": "torch or onnxruntime, for the measured latency",
    "threads": "CPU threads of the latency measurement (the paper: one phone core)",
    "sampler": "rl: the PPO-trained LSTM controller; random: uniform random search",
    "compare_random": "True: also run random search with the same budget and trainer",
    "baseline_widths": "widths of the MnasNet-B1 skeleton trained as baselines, comma-separated",
    "train_threads": "CPU threads of the proxy training; 0: all cores",
}


class SearchMiniWidget(core.CWorkflowTaskWidget):
    def __init__(self, param, parent):
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = param if param is not None else SearchMiniParam()
        self._layout = QVBoxLayout()  # kept: Qt deletes the controls with a collected layout
        layout = self._layout
        form = QFormLayout()
        self.edits: dict[str, QLineEdit] = {}
        values = self.parameters.get_values()
        for key in DEFAULTS:
            edit = QLineEdit(values[key])
            edit.setToolTip(TOOLTIPS[key])
            label = QLabel(key.replace("_", " "))
            label.setToolTip(TOOLTIPS[key])
            form.addRow(label, edit)
            self.edits[key] = edit
        layout.addLayout(form)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #c62828;")
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        self.set_layout(qtconversion.PyQtToQt(layout))

    def on_apply(self):
        values = {key: edit.text().strip() for key, edit in self.edits.items()}
        try:
            self.parameters.set_values(values)
        except ValueError as error:  # the parameters keep their previous values
            self.problem.setText(str(error))
            self.problem.show()
            return
        self.problem.hide()
        self.emit_apply(self.parameters)


class SearchMiniWidgetFactory(dataprocess.CWidgetFactory):
    def __init__(self):
        dataprocess.CWidgetFactory.__init__(self)
        self.name = PLUGIN_NAME

    def create(self, param):
        return SearchMiniWidget(param, None)
