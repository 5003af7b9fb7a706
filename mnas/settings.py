"""Settings declared once, on the configuration dataclass, and offered everywhere from there.

A configuration field made with `setting(default, help, ...)` carries its user-facing name, help text,
range, choices and how a form shows it. From that one declaration:

- `add_arguments(parser, cls)` adds the command-line options (``--name-with-dashes``; booleans as
  ``--name/--no-name``; tuples of numbers comma-separated) and `values_from_args(cls, args)` reads them;
- `string_defaults(cls)` and `parse_strings(cls, values)` give an Ikomia task's string parameters and
  turn them back into typed values (each error names the parameter and what was expected);
- `settings_of(cls)` lists them for the STUDIO forms (`mnas_ikomia.widgets.fields_from_config`);
- `check_values(config, what)` checks a configuration's values against the same declarations (type,
  finite, range, choices, special value), called by each configuration's ``__post_init__``.

A field without `setting` metadata is internal: no surface offers it. The user-facing `name` is the
field's unless declared otherwise; `old_names` keep earlier names working with a deprecation warning
(options, task parameters) and, through `stored_fields`, in the files earlier versions wrote (a search's
settings, a table's build, a checkpoint: ``lr`` reads as ``learning_rate``); `aliases` are other names a task
parameter may carry for the same meaning (the Ikomia HUB tasks' ``use_pretrained`` for ``pretrained``),
read as the setting with no warning; `value_aliases` are other words for a choice (the HUB's model name
``mnasnet`` for ``mnasnet1_0``). No Ikomia import here.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import numbers
import re
import sys
import warnings
from typing import Any, Iterable, Sequence

# Every earlier name (old_names, DeprecatedOption, deprecated_flag) is read, with a warning, until this
# version; tests/test_settings.py fails once the package reaches it, so that they are removed then.
REMOVED_IN = "1.0"

KINDS = ("integer", "number", "flag", "choice", "text", "numbers", "file", "folder")
_TYPE_KINDS = {"int": "integer", "float": "number", "bool": "flag", "str": "text"}
TRUE_WORDS, FALSE_WORDS = ("true", "1", "yes", "on"), ("false", "0", "no", "off")
_METADATA_KEY = "mnas_setting"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One user-facing setting: what every surface (CLI, task parameters, form) needs to offer it."""

    field: str                         # the dataclass field
    name: str                          # the user-facing name (CLI --name-with-dashes, task parameter key)
    kind: str                          # one of KINDS
    default: Any
    help: str
    label: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None       # the true bounds, enforced by `check_values`
    maximum: float | None = None
    minimum_excluded: bool = False     # `minimum` itself is refused (lr > 0)
    maximum_excluded: bool = False
    step: float | None = None
    decimals: int | None = None
    special: str = ""                  # a word standing for `special_value` (e.g. "none" for 0)
    special_value: Any = None          # what `special` means; None: "decide later" (e.g. from the data)
    special_default: bool = False      # the surfaces default to `special` rather than to `default`
    empty: str = ""                    # what an empty text or path means
    file_filter: str = ""              # a file setting's dialog filter, e.g. "Model files (*.pth)"
    old_names: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()      # other task parameter names of the same meaning, read silently
    value_aliases: tuple[tuple[str, str], ...] = ()  # (word, choice): another word for a choice
    optional: bool = False             # None is a valid value (the field's type says ``| None``)

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def lowest(self) -> float | None:
        """The smallest value a form offers: `minimum`, or one shown step above it when excluded."""
        return self.minimum if not self.minimum_excluded else self.minimum + 10.0 ** -self.decimals

    @property
    def highest(self) -> float | None:
        """The largest value a form offers: `maximum`, or one shown step below it when excluded."""
        return self.maximum if not self.maximum_excluded else self.maximum - 10.0 ** -self.decimals


def setting(default, help: str, *, name: str | None = None, label: str | None = None,
            choices: Sequence[str] | None = None, minimum: float | None = None, maximum: float | None = None,
            minimum_excluded: bool = False, maximum_excluded: bool = False,
            step: float | None = None, decimals: int | None = None, special: str = "",
            special_value: Any = None, special_default: bool = False, empty: str = "", kind: str | None = None,
            file_filter: str = "", old_names: Sequence[str] = (), aliases: Sequence[str] = (),
            value_aliases: dict[str, str] | None = None):
    """A dataclass field with its default and the metadata every surface derives its option from.

    `kind` is taken from the field's type unless given (``file`` / ``folder`` for paths, ``choice`` is
    implied by `choices`). `minimum` and `maximum` are the true bounds (`check_values` refuses anything
    beyond them, and the forms reach no further); `minimum_excluded` / `maximum_excluded` make a bound
    strict, for numbers shown with `decimals` (the form stops one shown step inside). `special` is a word
    the surfaces accept and show in place of `special_value`. `old_names` are earlier names (read with a
    deprecation warning, CLI options too); `aliases` other task parameter names of the same meaning (the
    Ikomia HUB tasks', read with no warning); `value_aliases` other words for some of the `choices`.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"setting kind must be one of {', '.join(KINDS)}, got {kind!r}")
    for bound, excluded in ((minimum, minimum_excluded), (maximum, maximum_excluded)):
        if excluded and (bound is None or decimals is None):
            raise ValueError("an excluded bound needs the bound and the decimals the form shows")
    words = tuple((word.lower(), choice) for word, choice in (value_aliases or {}).items())
    if any(choice not in (choices or ()) for _, choice in words):
        raise ValueError("value_aliases must name some of the choices")
    metadata = dict(name=name, label=label, choices=tuple(choices or ()), minimum=minimum, maximum=maximum,
                    minimum_excluded=minimum_excluded, maximum_excluded=maximum_excluded, step=step,
                    decimals=decimals, special=special, special_value=special_value,
                    special_default=special_default, empty=empty, kind=kind, file_filter=file_filter,
                    old_names=tuple(old_names), aliases=tuple(aliases), value_aliases=words, help=help)
    if isinstance(default, (list, dict, set)):
        raise TypeError("a setting's default must be immutable (use a tuple)")
    return dataclasses.field(default=default, metadata={_METADATA_KEY: metadata})


def _kind(field: dataclasses.Field, meta: dict) -> str:
    if meta["kind"]:
        return meta["kind"]
    if meta["choices"]:
        return "choice"
    type_name = field.type if isinstance(field.type, str) else getattr(field.type, "__name__", "")
    if type_name.startswith("tuple[float"):
        return "numbers"
    if type_name not in _TYPE_KINDS:
        raise TypeError(f"setting {field.name}: no kind for type {type_name!r}; give kind=")
    return _TYPE_KINDS[type_name]


def _allows_none(field: dataclasses.Field) -> bool:
    type_text = field.type if isinstance(field.type, str) else repr(field.type)
    return re.search(r"\bNone\b", type_text) is not None


def settings_of(cls, names: Iterable[str] | None = None) -> list[Setting]:
    """The settings of the configuration class `cls` in field order (only `names`, user-facing, if given)."""
    found = []
    for field in dataclasses.fields(cls):
        meta = field.metadata.get(_METADATA_KEY)
        if meta is None:
            continue
        name = meta["name"] or field.name
        rest = {key: value for key, value in meta.items() if key not in ("name", "label", "kind")}
        found.append(Setting(field=field.name, name=name, kind=_kind(field, meta), default=field.default,
                             label=meta["label"] or name.replace("_", " ").capitalize(),
                             optional=_allows_none(field), **rest))
    if names is None:
        return found
    by_name = {s.name: s for s in found}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting(s) {', '.join(unknown)}: expected some of "
                         f"{', '.join(by_name)}")
    return [by_name[name] for name in names]


# ----------------------------------------------------------------------------------------------------
# Checking a configuration's values against the declarations


def check_values(config, what: str = "") -> None:
    """A `ValueError` for the first setting of the configuration instance `config` whose value its
    declaration refuses: ``"<what> <field> must be <what the declaration allows>, got <value>"``.

    The field's own name is given (what a Python caller typed; `build` turns it into the user-facing
    name for the other surfaces). Only what one setting's metadata says is checked here; rules between
    settings (e.g. warm-up shorter than the run) stay with the configuration."""
    prefix = f"{what} " if what else ""
    for s in settings_of(type(config)):
        value = getattr(config, s.field)
        expected = _refusal(s, value)
        if expected:
            raise ValueError(f"{prefix}{s.field} must be {expected}, got {value!r}")


def _refusal(s: Setting, value) -> str:
    """What `s` expects, when `value` is not that; '' when it is."""
    if value is None and s.optional:
        return ""
    if s.kind in ("integer", "number"):
        if not _is_number(value, s.kind):
            return _allowed(s)
        if not math.isfinite(value):
            return "a finite number"
        if s.special and value == s.special_value:
            return ""
        return "" if _in_range(s, value) else _allowed(s)
    if s.kind == "numbers":
        ok = isinstance(value, (tuple, list)) and all(_is_number(v, "number") and math.isfinite(v)
                                                     and _in_range(s, v) for v in value)
        return "" if ok else _allowed(s)
    if s.kind == "choice":
        return "" if value in s.choices else _allowed(s)
    if s.kind == "flag":
        return "" if isinstance(value, bool) else _allowed(s)
    return "" if isinstance(value, str) else _allowed(s)  # text, file, folder: a path is given as text


def _is_number(value, kind: str) -> bool:
    wanted = numbers.Integral if kind == "integer" else numbers.Real
    return isinstance(value, wanted) and not isinstance(value, bool)


def _in_range(s: Setting, value) -> bool:
    low, high = s.minimum, s.maximum
    return ((low is None or value > low or (value == low and not s.minimum_excluded))
            and (high is None or value < high or (value == high and not s.maximum_excluded)))


def _allowed(s: Setting) -> str:
    """What the declaration of `s` allows, in words: "an integer >= 1 and <= 100 (0: none)"."""
    if s.kind == "choice":
        return "one of " + ", ".join(s.choices)
    if s.kind not in ("integer", "number", "numbers"):
        return {"flag": "True or False"}.get(s.kind, "text")
    limits = ((">", s.minimum, s.minimum_excluded), ("<", s.maximum, s.maximum_excluded))
    bounds = [f"{sign}{'' if excluded else '='} {_number_text(bound)}"
              for sign, bound, excluded in limits if bound is not None]
    words = {"integer": "an integer", "number": "a number", "numbers": "numbers"}[s.kind]
    text = " ".join([words, " and ".join(bounds)]).strip()
    if s.special and s.special_value is not None:
        return f"{text} ({_number_text(s.special_value)}: {s.special})"
    return f"{text} (or {s.special})" if s.optional and s.special else text


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# ----------------------------------------------------------------------------------------------------
# Strings both ways (Ikomia task parameters, and the command line's values)


def to_string(s: Setting, value) -> str:
    """The parameter string of `value` (numbers as they read best: 0.05, 4e-05, 0.35,0.5)."""
    if value is None and s.special:
        return s.special
    if s.kind == "numbers":
        return ",".join(format(float(v), "g") for v in value)
    if s.kind == "number":
        return repr(float(value))
    return str(value)


def default_string(s: Setting) -> str:
    return s.special if s.special_default else to_string(s, s.default)


def _expected(s: Setting) -> str:
    words = {"integer": "an integer", "number": "a number", "flag": "True or False",
             "numbers": "comma-separated numbers such as 0.35,0.5,0.75"}.get(s.kind, "text")
    return words + (f" (or {s.special})" if s.special else "")


def parse_string(s: Setting, text: str):
    """The typed value of one parameter string; a `ValueError` naming the parameter when it is not of
    the setting's type. Ranges and choices are checked when the configuration is made (`check_values`)."""
    raw = str(text).strip()
    if s.special and (raw.lower() == s.special.lower() or (raw == "" and s.special_value is None)):
        return s.special_value
    try:
        return _convert(s, raw)
    except ValueError:
        raise ValueError(f"{s.name} must be {_expected(s)}, got {text!r}") from None


def _convert(s: Setting, raw: str):
    if s.kind == "integer":
        return int(raw)
    if s.kind == "number":
        return float(raw)
    if s.kind == "flag":
        if raw.lower() in TRUE_WORDS:
            return True
        if raw.lower() in FALSE_WORDS:
            return False
        raise ValueError(raw)
    if s.kind == "numbers":
        return tuple(float(part) for part in raw.split(",") if part.strip())
    if s.kind == "choice":
        return dict(s.value_aliases).get(raw.lower(), raw.lower())
    return raw


def string_defaults(cls, names: Iterable[str] | None = None) -> dict[str, str]:
    """User-facing name -> the default as a parameter string, for the settings `names` (all if None)."""
    return {s.name: default_string(s) for s in settings_of(cls, names)}


def parse_strings(cls, values: dict[str, str], names: Iterable[str] | None = None) -> dict[str, Any]:
    """Field name -> typed value of each parameter string in `values` among `names` (all if None).

    Settings absent from `values` are left out (the dataclass's defaults apply)."""
    return {s.field: parse_string(s, values[s.name]) for s in settings_of(cls, names) if s.name in values}


def old_names(cls, names: Iterable[str] | None = None) -> dict[str, str]:
    """Earlier name -> current name of every renamed setting of `cls`."""
    return {old: s.name for s in settings_of(cls, names) for old in s.old_names}


def stored_fields(cls, stored: dict) -> dict:
    """A configuration of `cls` as an earlier version stored it (a search log's settings, a table's build,
    a checkpoint) with every field renamed since under its current name (`old_names`), so that files
    written before a rename still resume and compare; where both names are present the current one wins."""
    renamed = {old: s.field for s in settings_of(cls) for old in s.old_names}
    return {renamed.get(key, key): value for key, value in stored.items()
            if not (key in renamed and renamed[key] in stored)}


def aliases(cls, names: Iterable[str] | None = None) -> dict[str, str]:
    """Other name -> current name of every setting of `cls` that has aliases (the Ikomia HUB's names)."""
    return {alias: s.name for s in settings_of(cls, names) for alias in s.aliases}


def rename_aliases(values: dict[str, str], aliased: dict[str, str]) -> dict[str, str]:
    """`values` with each alias (a key of `aliased`) replaced by the name it stands for, silently; a
    `ValueError` when a value is given under both names and they differ."""
    values = dict(values)
    for alias, name in aliased.items():
        if alias not in values:
            continue
        value = values.pop(alias)
        if name in values and str(values[name]).strip() != str(value).strip():
            raise ValueError(f"{alias} (read as {name}) is {str(value)!r} but {name} is {str(values[name])!r}: "
                             f"give one of them")
        values.setdefault(name, value)
    return values


def rename_old_keys(values: dict[str, str], renamed: dict[str, str]) -> dict[str, str]:
    """`values` with each earlier parameter name (a key of `renamed`) replaced by its current one, with a
    deprecation warning; the current name wins when both are given."""
    values = dict(values)
    for old, new in renamed.items():
        if old in values:
            warnings.warn(f"parameter {old!r} is deprecated (removed in {REMOVED_IN}): use {new!r}", FutureWarning,
                          stacklevel=3)
            value = values.pop(old)
            values.setdefault(new, value)
    return values


def build(cls, fields: dict[str, Any]):
    """`cls(**fields)`; its `ValueError` speaks of the user-facing name where a field was renamed (the
    configuration names its fields; a user typed ``learning_rate``, not ``lr``)."""
    try:
        return cls(**fields)
    except ValueError as error:
        message = str(error)
        for s in settings_of(cls):
            pattern = rf"\b{s.field} must"  # \b: `lr` is not the end of `ppo_lr`
            if s.name != s.field and re.search(pattern, message):
                raise ValueError(re.sub(pattern, f"{s.name} must", message, count=1)) from None
        raise


# ----------------------------------------------------------------------------------------------------
# The command line


class DeprecatedOption(argparse.Action):
    """An old option name: still works, and says which one replaces it. ``nargs=0`` with ``const``
    makes it a flag (``--download`` for ``--download-data``: it stores `const`)."""

    def __init__(self, *args, new_flag: str, **kwargs):
        self.new_flag = new_flag
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated (removed in {REMOVED_IN}): use {self.new_flag}",
              file=sys.stderr)
        setattr(namespace, self.dest, self.const if self.nargs == 0 else values)


def deprecated_flag(parser, old: str, new: str, dest: str) -> None:
    """`old`, a flag (no value) that `new` replaced, kept working and hidden."""
    parser.add_argument(old, dest=dest, action=DeprecatedOption, nargs=0, const=True, new_flag=new,
                        default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def _argument_type(s: Setting):
    def convert(text: str):
        try:
            return parse_string(s, text)
        except ValueError as error:  # argparse reports "argument --x: <message>", exit status 2
            raise argparse.ArgumentTypeError(str(error).replace(s.name, s.flag, 1)) from None

    convert.__name__ = s.kind  # argparse names the type in its own messages
    return convert


def add_arguments(parser: argparse.ArgumentParser, cls, names: Iterable[str] | None = None) -> None:
    """One option per setting of `cls` (only `names` if given); the option's dest is the field name."""
    for s in settings_of(cls, names):
        help_text = s.help.replace("%", "%%")  # argparse expands %(default)s and the like
        if s.kind == "flag":
            parser.add_argument(s.flag, dest=s.field, action=argparse.BooleanOptionalAction, default=s.default,
                                help=f"{help_text} (default: {'on' if s.default else 'off'})")
            continue
        default = s.special_value if s.special_default else s.default
        shown = default_string(s) or ("empty: " + s.empty if s.empty else "empty")
        parser.add_argument(s.flag, dest=s.field, type=_argument_type(s), default=default,
                            help=f"{help_text} (default: {shown})", choices=s.choices or None,
                            metavar=None if s.choices else s.name.upper())
        for old in s.old_names:
            parser.add_argument("--" + old.replace("_", "-"), dest=s.field, action=DeprecatedOption,
                                new_flag=s.flag, type=_argument_type(s), default=argparse.SUPPRESS,
                                help=argparse.SUPPRESS)


def values_from_args(cls, args: argparse.Namespace, names: Iterable[str] | None = None) -> dict[str, Any]:
    """Field name -> value of every setting of `cls` the parsed `args` hold."""
    given = vars(args)
    return {s.field: given[s.field] for s in settings_of(cls, names) if s.field in given}
