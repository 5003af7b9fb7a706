"""Task parameters kept as strings: a class that checks them as a whole set (train_mnasnet, search_mini;
their parsing is `mnas.settings`'), a task mixin that refuses unknown keys and renames earlier ones, the
boolean parser of infer_mnasnet's own cuda, and the parameter factory."""

from __future__ import annotations

import difflib
from typing import Callable

from ikomia import dataprocess
from ikomia.core.task import TaskParam

from mnas.settings import FALSE_WORDS, TRUE_WORDS, rename_old_keys


def parse_bool(value: str, name: str) -> bool:
    """A boolean parameter from its string; a `ValueError` naming the parameter otherwise."""
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be True or False, got {value!r}")


def check_known_keys(params, known, task_name: str) -> None:
    """A `ValueError` naming each unknown key of `params` and the nearest known one (a typo is never
    silently dropped)."""
    unknown = sorted(set(params) - set(known))
    if not unknown:
        return
    hints = []
    for key in unknown:
        nearest = difflib.get_close_matches(key, list(known), n=1, cutoff=0.5)
        hints.append(f"{key!r}" + (f" (did you mean {nearest[0]!r}?)" if nearest else ""))
    raise ValueError(f"unknown {task_name} parameter(s) {', '.join(hints)}: expected some of "
                     f"{', '.join(known)}")


class CheckedKeysTask:
    """Mixin for a task class (first base): `set_parameters` refuses unknown keys.

    Ikomia's C++ ``CWorkflowTask.set_parameters`` keeps only the keys its parameter object already has
    and drops the rest silently before `CheckedParams.set_values` sees them, so ``{"epoch": "3"}`` would
    leave epochs at its default; this check runs first, where the user's own keys are still there.
    """

    def set_parameters(self, params):
        param = self.get_param_object()
        params = rename_old_keys(params, getattr(param, "old_names", {}))
        check_known_keys(params, param.get_values(), getattr(param, "task_name", "") or self.name)
        super().set_parameters(params)


class CheckedParams(TaskParam):
    """Strings in `cfg` (TrainProcess logs `cfg` to MLflow). `set_values` checks the whole new set with
    `check` before keeping any of it, so a bad value leaves the old parameters intact; any change sets
    `update` so the task rebuilds what depends on them."""

    task_name: str = ""
    defaults: dict[str, str] = {}
    old_names: dict[str, str] = {}     # an earlier parameter name -> its current one (deprecated, still read)
    check: Callable[[dict[str, str]], object]

    def __init__(self):
        TaskParam.__init__(self)
        self.cfg = dict(self.defaults)
        self.update = False

    def set_values(self, params):
        params = rename_old_keys(params, self.old_names)
        check_known_keys(params, self.defaults, self.task_name)
        values = {key: str(params.get(key, current)) for key, current in self.cfg.items()}
        type(self).check(values)
        self.update = self.update or values != self.cfg
        self.cfg = values

    def get_values(self):
        return dict(self.cfg)


def param_factory(param_class) -> type[dataprocess.CTaskParamFactory]:
    """The Ikomia parameter factory of `param_class` (its `task_name` is the factory's name: the registry
    matches it)."""

    class Factory(dataprocess.CTaskParamFactory):
        def __init__(self):
            dataprocess.CTaskParamFactory.__init__(self)
            self.name = param_class.task_name

        def create(self):
            return param_class()

    Factory.__name__ = Factory.__qualname__ = f"{param_class.__name__}Factory"
    return Factory
