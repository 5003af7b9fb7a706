"""Install the plugin folders into Ikomia's plugin directory, by symlink (a clone you edit) or by copy
(what STUDIO users and the Ikomia HUB do).

The folders are found in a clone of the repository (beside ``mnas_ikomia/``) or, after a non-editable
``pip install .``, under ``<prefix>/share/mnas/plugins`` where the wheel puts them. Either way the copied
plugins import ``mnas`` and ``mnas_ikomia`` from the installed package, so they load from any folder.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
import sysconfig
from pathlib import Path

PLUGINS = ("infer_mnasnet", "train_mnasnet", "search_mini")
REPO_ROOT = Path(__file__).resolve().parent.parent
# what a copy leaves out: byte-code and editor litter, never needed by Ikomia
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".*")


class NoPluginsFoundError(FileNotFoundError):
    """No plugin folder where they were looked for: the message lists the places."""


def python_plugins_dir(home: str | os.PathLike | None = None) -> Path:
    """Where the Ikomia registry (and STUDIO) looks for Python plugins: ~/Ikomia/Plugins/Python."""
    return Path(home or Path.home()).expanduser() / "Ikomia" / "Plugins" / "Python"


def candidate_sources() -> list[Path]:
    """Folders that may hold the plugin folders: the clone this package runs from, then the wheel's."""
    data_root = Path(sysconfig.get_path("data", vars={"base": sys.prefix}))
    return [REPO_ROOT, data_root / "share" / "mnas" / "plugins"]


def is_plugin_folder(folder: Path, name: str) -> bool:
    return (folder / f"{name}.py").is_file() and (folder / f"{name}_process.py").is_file()


def find_plugin_sources(source: str | os.PathLike | None = None) -> dict[str, Path]:
    """name -> plugin folder; from `source` alone when given, else from the first candidate holding any.
    Raises `NoPluginsFoundError` naming every place looked in when none is found."""
    places = [Path(source).expanduser()] if source else candidate_sources()
    for place in places:
        found = {name: place / name for name in PLUGINS if is_plugin_folder(place / name, name)}
        if found:
            return found
    looked = ", ".join(str(place) for place in places)
    raise NoPluginsFoundError(
        f"no plugin folder ({', '.join(PLUGINS)}) found in {looked}: give --source <folder holding "
        "them> (a clone of the repository), or install the package from one with `pip install <clone>`")


def install_plugins(home: str | os.PathLike | None = None, *, copy: bool = False,
                    source: str | os.PathLike | None = None, replace: bool = False) -> list[Path]:
    """Symlink (default) or copy every plugin folder into Ikomia's plugin directory; idempotent.

    A folder already there that is not ours (a link elsewhere, or a directory when linking) is an error
    unless `replace`: it may be the Ikomia HUB version. A copy replaces an earlier copy of ours.
    """
    sources = find_plugin_sources(source)
    target_dir = python_plugins_dir(home)
    _check_plugins_dir(target_dir)
    target_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for name, folder in sources.items():
        target = target_dir / name
        _clear_target(target, folder, copy=copy, replace=replace)
        if copy:
            shutil.copytree(folder, target, ignore=COPY_IGNORE, dirs_exist_ok=True)
        elif not target.is_symlink():
            target.symlink_to(folder.resolve(), target_is_directory=True)
        installed.append(target)
    return installed


def _check_plugins_dir(target_dir: Path) -> None:
    """A clear error, before anything is made, when a part of the plugin directory's path is a file."""
    existing = next(p for p in (target_dir, *target_dir.parents) if p.exists())
    if not existing.is_dir():
        raise ValueError(f"plugin directory {str(target_dir)!r} cannot be made: {str(existing)!r} is a file, "
                         "not a folder: expected --home to be the home folder holding (or to hold) Ikomia/")


def _is_our_copy(target: Path, name: str) -> bool:
    """A plain folder holding this plugin (an earlier copy): a new copy may replace it."""
    return target.is_dir() and not target.is_symlink() and is_plugin_folder(target, name)


def _clear_target(target: Path, source: Path, *, copy: bool, replace: bool) -> None:
    """Remove what stands where the plugin goes, when that is allowed; keep a link that is already right."""
    if target.is_symlink():
        if not copy and target.resolve() == source.resolve() and not replace:
            return
        target.unlink()
    elif target.exists():
        if replace or (copy and _is_our_copy(target, target.name)):
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        else:
            raise FileExistsError(f"{target} exists and is not a link to {source}: move it away (it may be "
                                  "the Ikomia HUB version), or use --copy to replace a copy, or --replace")


def quiet_workflow_runs() -> None:
    """Ikomia logs one INFO line per workflow run; a loop over images would print one per image."""
    logging.getLogger("ikomia.dataprocess.workflow").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="install the MnasNet Ikomia plugins")
    parser.add_argument("--home", help="home folder holding Ikomia/ (default: ~)")
    parser.add_argument("--copy", action="store_true",
                        help="copy the folders (as STUDIO and the Ikomia HUB do) instead of symlinking")
    parser.add_argument("--source", help="folder holding the plugin folders (default: this clone, or the "
                                         "installed package's share/mnas/plugins)")
    parser.add_argument("--replace", action="store_true", help="replace any folder of the same name")
    args = parser.parse_args(argv)
    try:
        installed = install_plugins(args.home, copy=args.copy, source=args.source, replace=args.replace)
    except (ValueError, FileNotFoundError, FileExistsError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # e.g. a read-only home: say where, not a traceback
        print(f"error: cannot install the plugins into {python_plugins_dir(args.home)}: {error.strerror or error}",
              file=sys.stderr)
        return 2
    for target in installed:
        print(f"[plugins] {target} -> {target.resolve()}" if target.is_symlink() else f"[plugins] {target} (copy)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
