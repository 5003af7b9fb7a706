"""Register the repository's plugin folders with Ikomia by symlinking them into its plugin directory."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

PLUGINS = ("infer_mnasnet", "train_mnasnet", "search_mini")
REPO_ROOT = Path(__file__).resolve().parent.parent


def python_plugins_dir(home: str | os.PathLike | None = None) -> Path:
    """Where the Ikomia registry (and STUDIO) looks for Python plugins: ~/Ikomia/Plugins/Python."""
    return Path(home or Path.home()) / "Ikomia" / "Plugins" / "Python"


def install_plugins(home: str | os.PathLike | None = None) -> list[Path]:
    """Symlink every plugin folder of the repository into the Ikomia plugin directory; idempotent."""
    target_dir = python_plugins_dir(home)
    target_dir.mkdir(parents=True, exist_ok=True)
    installed = []
    for name in PLUGINS:
        source = REPO_ROOT / name
        if not (source / f"{name}.py").is_file():
            continue
        link = target_dir / name
        if link.is_symlink():
            if link.resolve() == source.resolve():
                installed.append(link)
                continue
            link.unlink()
        elif link.exists():
            raise FileExistsError(f"{link} exists and is not a link to this repository's {name}: "
                                  "move it away (it may be the Ikomia HUB version) and run again")
        link.symlink_to(source, target_is_directory=True)
        installed.append(link)
    return installed


def quiet_workflow_runs() -> None:
    """Ikomia logs one INFO line per workflow run; a loop over images would print one per image."""
    logging.getLogger("ikomia.dataprocess.workflow").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="register this repository's Ikomia plugins")
    parser.add_argument("--home", help="home folder holding Ikomia/ (default: ~)")
    args = parser.parse_args(argv)
    for link in install_plugins(args.home):
        print(f"[plugins] {link.name} -> {link.resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
