"""Ikomia STUDIO parameter panels built from one declarative description per task (PyQt6).

A plugin's ``*_widget.py`` lists its parameters as `Section`s of `Field`s -- a configuration's settings
through `fields_from_config` (label, help, range as `mnas.settings` declares them), the task's own with
`choice`, `integer`, `flag`, `folder`, `arch` -- and subclasses `FormWidgetFactory`; everything else --
the controls, their tooltips, file dialogs, the architecture string checked as you type, turning the
form into the task's string parameters and back -- lives here once.

The form opens on the values of the parameter object it is given (the defaults are the parameter
class's, from the same declarations). Kept apart from `mnas`, which never imports ikomia or Qt.
"""

from __future__ import annotations

import dataclasses
from typing import Sequence

from ikomia import core, dataprocess
from ikomia.utils import qtconversion
from PyQt6.QtCore import Qt
from PyQt6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from mnas import settings
from mnas.arch import ArchStringError, format_arch, parse_arch
from mnas.settings import TRUE_WORDS

ERROR_STYLE = "color: #c62828;"  # Material red 800: readable on STUDIO's dark and on light themes


@dataclasses.dataclass(frozen=True)
class Field:
    """One parameter of a task: its key in the string parameters, how it is shown and edited."""

    key: str
    label: str
    tooltip: str
    kind: str                          # choice | integer | number | flag | text | file | folder | arch
    choices: tuple[str, ...] = ()
    minimum: float = 0
    maximum: float = 0
    step: float = 1
    decimals: int = 0
    special: str = ""                  # the text a spin box shows at its minimum, e.g. "auto"
    special_value: str = ""            # the parameter string written there (default: `special` itself)
    file_filter: str = ""
    empty: str = ""                    # what an empty text or path means, greyed in the empty line edit


@dataclasses.dataclass(frozen=True)
class Section:
    """A titled group of fields: a group box, or, `advanced`, a group collapsed under a toggle (the panel
    opens on the essentials, as a HUB task's does; the rest is one click away)."""

    title: str
    fields: tuple[Field, ...]
    advanced: bool = False


def choice(key: str, label: str, choices: Sequence[str], tooltip: str) -> Field:
    return Field(key, label, tooltip, "choice", choices=tuple(choices))


def integer(key: str, label: str, tooltip: str, minimum: int, maximum: int, step: int = 1,
            special: str = "", special_value: str = "") -> Field:
    return Field(key, label, tooltip, "integer", minimum=minimum, maximum=maximum, step=step,
                 special=special, special_value=special_value)


def flag(key: str, label: str, tooltip: str) -> Field:
    return Field(key, label, tooltip, "flag")


def folder(key: str, label: str, tooltip: str, empty: str) -> Field:
    return Field(key, label, tooltip, "folder", empty=empty)


def arch(key: str, label: str, tooltip: str) -> Field:
    """An architecture string (mnas.arch grammar), checked as it is typed; empty is allowed."""
    return Field(key, label, tooltip, "arch")


# A spin box needs bounds: these stand in where a setting declares none
_SPIN_DEFAULTS = {"integer": dict(minimum=0, maximum=2**31 - 1, step=1, decimals=0),
                  "number": dict(minimum=0.0, maximum=1e9, step=0.1, decimals=4)}


def field_from_setting(s: settings.Setting) -> Field:
    """The form field of a configuration setting: label, tooltip, kind, range as the setting declares."""
    kind = "text" if s.kind == "numbers" else s.kind  # a list of numbers is typed as text
    spin = dict(_SPIN_DEFAULTS.get(kind, {}))
    declared = {"minimum": s.lowest, "maximum": s.highest, "step": s.step, "decimals": s.decimals}
    spin.update({key: value for key, value in declared.items() if value is not None})
    if kind == "integer":  # a QSpinBox holds 32-bit integers
        spin["maximum"] = min(spin["maximum"], _SPIN_DEFAULTS["integer"]["maximum"])
    if kind in _SPIN_DEFAULTS and s.special and s.special_value is None:
        # a slot below the range shows the word (e.g. "auto"): an excluded minimum itself, else a step below
        spin["minimum"] = s.minimum if s.minimum_excluded else spin["minimum"] - spin["step"]
    special_value = "" if s.special_value is None else settings.to_string(s, s.special_value)
    return Field(s.name, s.label, s.help, kind, choices=s.choices, special=s.special,
                 special_value=special_value, empty=s.empty, file_filter=s.file_filter or "All files (*)",
                 **spin)


def fields_from_config(config_class, names: Sequence[str]) -> tuple[Field, ...]:
    """The form fields of the settings `names` (user-facing names) of a configuration dataclass."""
    return tuple(field_from_setting(s) for s in settings.settings_of(config_class, names))


# ----------------------------------------------------------------------------------------------------
# Controls: one per kind, each showing a parameter string and giving one back


class _Control:
    """A Qt editor for one field: `set_text` shows a parameter string, `text` gives it back."""

    def __init__(self, field: Field):
        self.field = field
        self.widget: QWidget = self._build()
        self.widget.setToolTip(field.tooltip)

    def _build(self) -> QWidget:
        raise NotImplementedError

    def set_text(self, text: str) -> None:
        raise NotImplementedError

    def text(self) -> str:
        raise NotImplementedError

    def error(self) -> str:
        """Why the current content cannot be applied ('' when it can)."""
        return ""

    def changed_signal(self):
        """The Qt signal emitted when the user edits the control."""
        raise NotImplementedError


class _ChoiceControl(_Control):
    def _build(self):
        self.combo = QComboBox()
        self.combo.addItems(self.field.choices)
        return self.combo

    def set_text(self, text):
        if self.combo.findText(text) < 0:  # a value from elsewhere is shown as it is, not replaced
            self.combo.addItem(text)
        self.combo.setCurrentText(text)

    def text(self):
        return self.combo.currentText()

    def changed_signal(self):
        return self.combo.currentTextChanged


class _SpinControl(_Control):
    """Integer or decimal spin box; with `special`, its minimum shows that word and writes
    `special_value` (or the word itself, e.g. "auto")."""

    def _build(self):
        field = self.field
        if field.kind == "integer":
            self.spin = QSpinBox()
            self.spin.setRange(int(field.minimum), int(field.maximum))
            self.spin.setSingleStep(int(field.step))
        else:
            self.spin = QDoubleSpinBox()
            self.spin.setDecimals(field.decimals)
            self.spin.setRange(field.minimum, field.maximum)
            self.spin.setSingleStep(field.step)
        if field.special:
            self.spin.setSpecialValueText(field.special)
        self.spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        return self.spin

    def _convert(self, text: str):
        return int(text) if self.field.kind == "integer" else float(text)

    def set_text(self, text):
        text = text.strip()
        if self.field.special and text.lower() in (self.field.special, self.field.special_value, ""):
            self.spin.setValue(self.spin.minimum())
            return
        try:
            self.spin.setValue(self._convert(text))
        except ValueError:  # the parameter class refuses such values; show the minimum rather than fail
            self.spin.setValue(self.spin.minimum())

    def text(self):
        value = self.spin.value()
        if self.field.special and value == self.spin.minimum():
            return self.field.special_value or self.field.special
        return str(value) if self.field.kind == "integer" else format(value, "g")

    def changed_signal(self):
        return self.spin.valueChanged


class _FlagControl(_Control):
    def _build(self):
        self.check = QCheckBox()
        return self.check

    def set_text(self, text):
        self.check.setChecked(text.strip().lower() in TRUE_WORDS)

    def text(self):
        return str(self.check.isChecked())

    def changed_signal(self):
        return self.check.toggled


class _TextControl(_Control):
    def _build(self):
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(f"empty: {self.field.empty}" if self.field.empty else "")
        return self.edit

    def set_text(self, text):
        self.edit.setText(text)

    def text(self):
        return self.edit.text().strip()

    def changed_signal(self):
        return self.edit.textChanged


class _PathControl(_TextControl):
    """A line edit (paths may be typed or pasted) and a "..." button opening a file or folder dialog."""

    def _build(self):
        box = QWidget()
        layout = QHBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        super()._build()  # the line edit, as for plain text
        self.edit.setMinimumWidth(220)
        self.button = QToolButton()
        self.button.setText("...")
        self.button.setToolTip(f"choose the {'folder' if self.field.kind == 'folder' else 'file'}")
        self.button.clicked.connect(self.browse)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.button)
        return box

    def browse(self) -> None:
        caption, start = self.field.label, self.edit.text().strip()
        if self.field.kind == "folder":
            path = QFileDialog.getExistingDirectory(self.widget, caption, start)
        else:
            path, _ = QFileDialog.getOpenFileName(self.widget, caption, start, self.field.file_filter)
        if path:  # cancelled: keep what was there
            self.edit.setText(path)


class _ArchControl(_Control):
    """Architecture string, one block per line, parsed as it is typed; the parser's error shown in red."""

    def _build(self):
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText("empty: the model above; or blocks such as\n"
                                     "r1_k3_s22_e1_i3_o32_conv,\nr2_k3_s22_e6_i32_o24, ...")
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.edit.setFixedHeight(5 * self.edit.fontMetrics().lineSpacing() + 12)
        self.edit.setMinimumWidth(300)
        self.message = QLabel()
        self.message.setStyleSheet(ERROR_STYLE)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.hide()
        self.edit.textChanged.connect(self.validate)
        layout.addWidget(self.edit)
        layout.addWidget(self.message)
        return box

    def _raw(self) -> str:
        return self.edit.toPlainText().strip()

    def validate(self) -> str:
        problem = ""
        if self._raw():
            try:
                parse_arch(self._raw())
            except ArchStringError as error:
                problem = f"{self.field.key}: {error}"
        self.message.setText(problem)
        self.message.setVisible(bool(problem))
        return problem

    def error(self):
        return self.validate()

    def set_text(self, text):
        blocks = [part.strip() for part in text.split(",") if part.strip()]
        self.edit.setPlainText(",\n".join(blocks))

    def text(self):
        raw = self._raw()
        try:
            return format_arch(parse_arch(raw)) if raw else ""
        except ArchStringError:
            return raw  # refused by `error` before it is ever applied

    def changed_signal(self):
        return self.edit.textChanged


_CONTROLS = {"choice": _ChoiceControl, "integer": _SpinControl, "number": _SpinControl,
             "flag": _FlagControl, "text": _TextControl, "file": _PathControl, "folder": _PathControl,
             "arch": _ArchControl}


# ----------------------------------------------------------------------------------------------------
# The form and the Ikomia widget around it


class ParamForm(QWidget):
    """The panel: one group box per section, a label and a control per field, a problem line below."""

    def __init__(self, sections: Sequence[Section], parent: QWidget | None = None):
        super().__init__(parent)
        self.controls: dict[str, _Control] = {}
        self._shown: dict[str, tuple[str, str]] = {}  # key -> (parameter string, control's text then)
        layout = QVBoxLayout(self)
        self._labels: list[QLabel] = []
        self.toggles: dict[str, QToolButton] = {}  # advanced section's title -> its toggle
        for section in sections:
            group = self._group(section)
            layout.addWidget(self._collapsed(section.title, group) if section.advanced else group)
        label_width = max(label.sizeHint().width() for label in self._labels)
        for label in self._labels:  # one label column across the group boxes
            label.setMinimumWidth(label_width)
        self.problem = QLabel()
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setWordWrap(True)
        self.problem.hide()
        layout.addWidget(self.problem)
        layout.addStretch(1)

    def _group(self, section: Section) -> QGroupBox:
        group = QGroupBox(section.title)
        layout = QFormLayout(group)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for field in section.fields:
            if field.key in self.controls:
                raise ValueError(f"parameter {field.key!r} is described twice in the form")
            control = _CONTROLS[field.kind](field)
            label = QLabel(field.label)
            label.setToolTip(field.tooltip)
            label.setBuddy(control.widget)
            self._labels.append(label)
            layout.addRow(label, control.widget)
            control.changed_signal().connect(self._clear_problem)  # it spoke of the old values
            self.controls[field.key] = control
        return group

    def _collapsed(self, title: str, group: QGroupBox) -> QWidget:
        """`group` under a toggle button, hidden until the user opens it."""
        toggle = QToolButton()
        toggle.setText(f"Advanced: {title}")
        toggle.setCheckable(True)
        toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        toggle.setArrowType(Qt.ArrowType.RightArrow)
        toggle.setAutoRaise(True)
        group.setTitle("")
        group.setVisible(False)

        def show(opened: bool) -> None:
            group.setVisible(opened)
            toggle.setArrowType(Qt.ArrowType.DownArrow if opened else Qt.ArrowType.RightArrow)

        toggle.toggled.connect(show)
        self.toggles[title] = toggle
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(toggle)
        column.addWidget(group)
        return box

    def load(self, values: dict[str, str]) -> None:
        """Show parameter strings; every described key must be there and nothing else."""
        missing, extra = set(self.controls) - set(values), set(values) - set(self.controls)
        if missing or extra:
            raise ValueError(f"the form does not match the parameters: not in the parameters "
                             f"{sorted(missing)}, not in the form {sorted(extra)}")
        for key, control in self.controls.items():
            control.set_text(str(values[key]))
            self._shown[key] = (str(values[key]), control.text())
        self.show_problem("")

    def values(self) -> dict[str, str]:
        """The controls as parameter strings; an untouched control gives back the exact string it was
        shown (so '1e-4' does not come back as '0.0001' and needlessly mark the parameters changed)."""
        result = {}
        for key, control in self.controls.items():
            text = control.text()
            shown, text_then = self._shown.get(key, (None, None))
            result[key] = shown if text == text_then else text
        return result

    def errors(self) -> dict[str, str]:
        return {key: problem for key, control in self.controls.items() if (problem := control.error())}

    def _clear_problem(self, *_) -> None:
        self.show_problem("")

    def show_problem(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.setVisible(bool(text))


class FormWidget(core.CWorkflowTaskWidget):
    """A task's STUDIO panel: the form over `param`; Apply writes it into `param` and emits it."""

    def __init__(self, param, sections: Sequence[Section], parent=None):
        core.CWorkflowTaskWidget.__init__(self, parent)
        self.parameters = param
        self.form = ParamForm(sections)
        self.form.load(param.get_values())
        self._layout = QVBoxLayout()  # kept referenced: Ikomia's C++ widget holds only its address
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._layout.addWidget(self.form)
        self.set_layout(qtconversion.PyQtToQt(self._layout))

    def values(self) -> dict[str, str]:
        return self.form.values()

    def on_parameters_changed(self):
        self.form.load(self.parameters.get_values())

    def on_apply(self):
        self.apply()

    def apply(self) -> bool:
        """Write the form into the parameters and emit them; False (parameters untouched, the reason
        shown in red) when a field is invalid or the parameter class refuses the combination."""
        errors = self.form.errors()
        if errors:
            self.form.show_problem("Not applied: " + "; ".join(errors.values()))
            return False
        try:
            self.parameters.set_values(self.form.values())
        except ValueError as error:
            self.form.show_problem(f"Not applied: {error}")
            return False
        self.form.load(self.parameters.get_values())
        self.emit_apply(self.parameters)
        return True


class FormWidgetFactory(dataprocess.CWidgetFactory):
    """Subclass per plugin, giving its name, its form description and its parameter class."""

    def __init__(self, name: str, sections: Sequence[Section], param_class):
        dataprocess.CWidgetFactory.__init__(self)
        self.name = name
        self.sections = tuple(sections)
        self.param_class = param_class

    def create(self, param):
        return FormWidget(param if param is not None else self.param_class(), self.sections, None)
