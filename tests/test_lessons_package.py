"""The lessons travel inside the package: pyproject.toml maps notebooks/ to the package data mnas/notebooks,
so ``python -m mnas lessons copy`` works from a wheel with no clone anywhere (the install itself:
tests/test_packaging.py). Here: the package list misses no package of the tree, and a wheel built from a
copy of the sources, merely extracted and put on the path, copies every lesson from its own files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from mnas.lessons.copies import lesson_notebooks
from mnas_ikomia.plugins import PLUGINS

LESSON_PACKAGES = {"mnas.notebooks": "notebooks", "mnas.notebooks.solutions": "notebooks/solutions"}


def test_the_listed_packages_are_the_trees_and_the_lessons():
    """Packages are listed (the lessons' mapping needs it): a new folder of the package must be added."""
    config = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    in_tree = {".".join(folder.relative_to(REPO_ROOT).parts)
               for top in ("mnas", "mnas_ikomia") for folder in [REPO_ROOT / top, *(REPO_ROOT / top).rglob("*")]
               if folder.is_dir() and folder.name != "__pycache__" and "__pycache__" not in folder.parts
               and any(p.is_file() for p in folder.iterdir())}
    assert set(config["packages"]) == in_tree | set(LESSON_PACKAGES)
    assert config["package-dir"] == {"mnas.notebooks": "notebooks"}
    assert set(config["package-data"]["mnas.notebooks"]) == {"*.ipynb", "README.md"}


@pytest.mark.slow
def test_a_wheel_carries_the_lessons_and_copies_them_without_the_repository(tmp_path):
    source = tmp_path / "src"
    for item in ("pyproject.toml", "LICENSE", "README.md", "mnas", "mnas_ikomia", "notebooks", *PLUGINS):
        path = REPO_ROOT / item
        if path.is_dir():
            shutil.copytree(path, source / item,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "outputs", ".ipynb_checkpoints"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / item)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp_path / "dist"), str(source)], check=True, cwd=tmp_path, timeout=600)
    wheel = next((tmp_path / "dist").glob("mnasnet_ikomia-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    lessons = [p.name for p in lesson_notebooks()]
    assert lessons and {f"mnas/notebooks/{name}" for name in lessons} <= names
    assert {f"mnas/notebooks/solutions/{p.name}" for p in (REPO_ROOT / "notebooks" / "solutions").glob("*.py")} \
        <= names and "mnas/notebooks/README.md" in names
    assert not any("/outputs/" in name for name in names)

    extracted = tmp_path / "extracted"
    zipfile.ZipFile(wheel).extractall(extracted)
    shutil.rmtree(source)  # no copy of the sources left either: only the wheel's files
    env = {**os.environ, "PYTHONPATH": str(extracted)}
    code = ("import sys, mnas, mnas.lessons.copies as lessons; print(mnas.__file__); print(lessons.LESSONS_DIR); "
            "from mnas.__main__ import main; sys.exit(main(['lessons', 'copy', sys.argv[1]]))")
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path / "class")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    module_file, lessons_dir = done.stdout.splitlines()[:2]
    assert Path(module_file).is_relative_to(extracted), module_file  # the wheel's mnas, not the clone's
    assert Path(lessons_dir) == extracted / "mnas" / "notebooks"
    assert sorted(p.name for p in (tmp_path / "class").glob("*.ipynb")) == lessons
