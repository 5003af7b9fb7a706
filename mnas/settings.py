"""Settings declared once, on the configuration dataclass, and offered everywhere from there.

A configuration field made with `setting(default, help, ...)` carries its user-facing name, help text,
range, choices and how a form shows it. From that one declaration:

- `add_arguments(parser, cls)` adds the command-line options (``--name-with-dashes``; booleans as
  ``--name/--no-name``; tuples of numbers comma-separated) and `values_from_args(cls, args)` reads them;
- `string_defaults(cls)` and `parse_strings(cls, values)` give an Ikomia task's string parameters and
  turn them back into typed values (each error names the parameter and what was expected);
- `settings_of(cls)` lists them for the STUDIO forms (`mnas_ikomia.widgets.fields_from_config`).

A field without `setting` metadata is internal: no surface offers it. The user-facing `name` may differ
from the field's (``learning_rate`` for the field ``lr``, kept so logs and checkpoints stay readable);
`old_names` keep earlier names working with a deprecation warning. No Ikomia import here.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import warnings
from typing import Any, Iterable, Sequence

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
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    decimals: int | None = None
    special: str = ""                  # a word standing for `special_value` (e.g. "none" for 0)
    special_value: Any = None          # what `special` means; None: "decide later" (e.g. from the data)
    special_default: bool = False      # the surfaces default to `special` rather than to `default`
    empty: str = ""                    # what an empty text or path means
    file_filter: str = ""              # a file setting's dialog filter, e.g. "Model files (*.pth)"
    old_names: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def setting(default, help: str, *, name: str | None = None, label: str | None = None,
            choices: Sequence[str] | None = None, minimum: float | None = None, maximum: float | None = None,
            step: float | None = None, decimals: int | None = None, special: str = "",
            special_value: Any = None, special_default: bool = False, empty: str = "", kind: str | None = None,
            file_filter: str = "", old_names: Sequence[str] = ()):
    """A dataclass field with its default and the metadata every surface derives its option from.

    `kind` is taken from the field's type unless given (``file`` / ``folder`` for paths, ``choice`` is
    implied by `choices`). `special` is a word the surfaces accept and show in place of `special_value`.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"setting kind must be one of {', '.join(KINDS)}, got {kind!r}")
    metadata = dict(name=name, label=label, choices=tuple(choices or ()), minimum=minimum, maximum=maximum,
                    step=step, decimals=decimals, special=special, special_value=special_value,
                    special_default=special_default, empty=empty, kind=kind, file_filter=file_filter,
                    old_names=tuple(old_names), help=help)
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
                             label=meta["label"] or name.replace("_", " ").capitalize(), **rest))
    if names is None:
        return found
    by_name = {s.name: s for s in found}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise ValueError(f"{cls.__name__} has no setting(s) {', '.join(unknown)}: expected some of "
                         f"{', '.join(by_name)}")
    return [by_name[name] for name in names]


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
    the setting's type. Ranges and choices are the configuration's own checks (on creation)."""
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
        return raw.lower()
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


def rename_old_keys(values: dict[str, str], renamed: dict[str, str]) -> dict[str, str]:
    """`values` with each earlier parameter name (a key of `renamed`) replaced by its current one, with a
    deprecation warning; the current name wins when both are given."""
    values = dict(values)
    for old, new in renamed.items():
        if old in values:
            warnings.warn(f"parameter {old!r} is deprecated: use {new!r}", FutureWarning, stacklevel=3)
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
    """An old option name: still works, and says which one replaces it."""

    def __init__(self, *args, new_flag: str, **kwargs):
        self.new_flag = new_flag
        super().__init__(*args, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"warning: {option_string} is deprecated: use {self.new_flag}", file=sys.stderr)
        setattr(namespace, self.dest, values)


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
