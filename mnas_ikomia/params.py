"""Task parameters kept as strings: a class that checks them as a whole set (train_mnasnet, search_mini;
their parsing is `mnas.settings`'), a task mixin that refuses unknown keys and renames earlier ones, the
boolean parser of infer_mnasnet's own cuda, and the parameter factory.

The keys a user gives are read in the task's own names first (`canonical_params`): earlier names with a
deprecation warning, the Ikomia HUB MnasNet tasks' names (``use_pretrained``, ``feature_extract``,
``model_path``: declared as `mnas.settings` aliases) silently, other words for a value (the HUB's model
name ``mnasnet``), and HUB switches that have no setting of their own turned into ours (a parameter
class's `hub_only`). Then an unknown key is refused, naming the nearest parameter the task has.
"""

from __future__ import annotations

import difflib
from typing import Callable, Mapping

from ikomia import dataprocess
from ikomia.core.task import TaskParam

from mnas.settings import FALSE_WORDS, TRUE_WORDS, rename_aliases, rename_old_keys

# A HUB parameter with no setting of its own: (its value, the other keys given with it, the current
# values) -> the values of our parameters it stands for (a `ValueError` naming it when it cannot be met)
HubOnly = Callable[[str, Mapping[str, str], Mapping[str, str]], dict[str, str]]


def parse_bool(value: str, name: str) -> bool:
    """A boolean parameter from its string; a `ValueError` naming the parameter otherwise."""
    text = str(value).strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise ValueError(f"{name} must be True or False, got {value!r}")


def nearest_name(key: str, names) -> str | None:
    """The name of `names` nearest to `key`, or None when none is near enough to be what was meant.

    Letters in common (difflib's ratio), with a bonus for a whole word in common (``freeze`` ->
    ``freeze_backbone``); letters alone are not enough when they are not most of both names
    (``feature_extract`` and ``learning_rate``, ``weights`` and ``weight_decay`` share letters, not
    meaning)."""
    words = set(key.lower().split("_"))

    def score(name: str) -> float:
        ratio = difflib.SequenceMatcher(None, key.lower(), name.lower()).ratio()
        return ratio + (0.15 if words & set(name.lower().split("_")) else 0.0)

    best = max(names, key=score, default=None)
    return best if best is not None and score(best) >= 0.65 else None


def check_known_keys(params, known, task_name: str, aliases: Mapping[str, str] | None = None,
                     elsewhere: Mapping[str, str] | None = None) -> None:
    """A `ValueError` naming each unknown key of `params` and the nearest known one (a typo is never
    silently dropped). `aliases` (another accepted name -> the parameter it is read as) are accepted too,
    and a key near one of them gets that parameter as its hint; a key of `elsewhere` (another task's
    parameter) gets its note instead of a hint (``model_path`` is no misspelt ``model_name``). The error
    lists only the task's own parameters."""
    aliases, elsewhere = dict(aliases or {}), dict(elsewhere or {})
    unknown = sorted(set(params) - set(known) - set(aliases))
    if not unknown:
        return
    hints = []
    for key in unknown:
        if key in elsewhere:
            hints.append(f"{key!r} ({elsewhere[key]})")
            continue
        nearest = nearest_name(key, [*known, *aliases])
        nearest = aliases.get(nearest, nearest)
        hints.append(f"{key!r}" + (f" (did you mean {nearest!r}?)" if nearest else ""))
    raise ValueError(f"unknown {task_name} parameter(s) {', '.join(hints)}: expected some of "
                     f"{', '.join(known)}")


def canonical_params(params, param, task_name: str) -> dict[str, str]:
    """`params` in the names of the parameter object `param` (see the module doc), unknown keys refused.

    `param` may declare `old_names` (earlier name -> current), `aliases` (another name -> ours),
    `value_aliases` (parameter -> {word: value}), `hub_only` (HUB name -> `HubOnly`) and `elsewhere`
    (another task's parameter -> what to do instead, said when it is given here)."""
    params = rename_old_keys(params, getattr(param, "old_names", {}))
    hub_only: dict[str, HubOnly] = getattr(param, "hub_only", {})
    aliases = getattr(param, "aliases", {})
    current = param.get_values()
    check_known_keys(params, list(current), task_name, {**aliases, **{k: k for k in hub_only}},
                     getattr(param, "elsewhere", {}))
    values = rename_aliases({k: v for k, v in params.items() if k not in hub_only}, aliases)
    for key, words in getattr(param, "value_aliases", {}).items():
        if key in values and str(values[key]).strip().lower() in words:
            values[key] = words[str(values[key]).strip().lower()]
    for key, meaning in hub_only.items():
        if key in params:
            for name, value in meaning(str(params[key]), values, current).items():
                if name in values and str(values[name]).strip() != value:
                    raise ValueError(f"{key} {str(params[key])!r} sets {name} to {value!r}, but {name} is "
                                     f"given as {str(values[name])!r}: give one of them")
                values[name] = value
    return values


class CheckedKeysTask:
    """Mixin for a task class (first base): `set_parameters` refuses unknown keys.

    Ikomia's C++ ``CWorkflowTask.set_parameters`` keeps only the keys its parameter object already has
    and drops the rest silently before `CheckedParams.set_values` sees them, so ``{"epoch": "3"}`` would
    leave epochs at its default; this check runs first, where the user's own keys are still there.
    """

    def set_parameters(self, params):
        param = self.get_param_object()
        super().set_parameters(canonical_params(params, param, getattr(param, "task_name", "") or self.name))


class CheckedParams(TaskParam):
    """Strings in `cfg` (TrainProcess logs `cfg` to MLflow). `set_values` checks the whole new set with
    `check` before keeping any of it, so a bad value leaves the old parameters intact; any change sets
    `update` so the task rebuilds what depends on them."""

    task_name: str = ""
    defaults: dict[str, str] = {}
    old_names: dict[str, str] = {}     # an earlier parameter name -> its current one (deprecated, still read)
    aliases: dict[str, str] = {}       # another name of the same meaning (the Ikomia HUB's) -> ours
    value_aliases: dict[str, dict[str, str]] = {}  # parameter -> {another word for a value: the value}
    hub_only: dict[str, HubOnly] = {}  # a HUB parameter with no setting of its own -> what it sets
    elsewhere: dict[str, str] = {}     # another task's parameter -> what to do here instead
    check: Callable[[dict[str, str]], object]

    def __init__(self):
        TaskParam.__init__(self)
        self.cfg = dict(self.defaults)
        self.update = False

    def set_values(self, params):
        params = canonical_params(params, self, self.task_name)
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
