"""The project as a new user gets it: a fresh virtual environment, ``pip install .`` (a wheel, not
editable), the plugin folders *copied* (as STUDIO users and the Ikomia HUB do) into a new Ikomia plugins
directory, then each task through ``wf.add_task(name=...)`` in a separate Python process.

The fresh environment reuses the installed third-party packages of the repository's .venv (a ``.pth``
line, so no download and no minutes of install) but holds its own non-editable ``mnas``; the child
process runs outside the repository, so nothing can be imported from the clone by accident.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from conftest import REPO_ROOT
from mnas.data.splits import link_subset
from mnas_ikomia.plugins import PLUGINS, NoPluginsFoundError, install_plugins

pytestmark = pytest.mark.slow  # the whole file: see tests/README.md

# what a wheel is built from: the package, its plugin folders, the lessons and the files pyproject.toml names
SOURCE_ITEMS = ("pyproject.toml", "LICENSE", "README.md", "mnas", "mnas_ikomia", "notebooks", *PLUGINS)

CHILD_SCRIPT = textwrap.dedent('''
    import json, os, sys
    from pathlib import Path

    import mnas, mnas_ikomia
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow
    from mnas_ikomia.tracking import use_file_store

    data, work = Path(sys.argv[1]), Path(sys.argv[2])
    use_file_store(work / "mlruns")
    report = {"mnas": mnas.__file__, "mnas_ikomia": mnas_ikomia.__file__, "status": {}}

    def hub_test(name, task, data_dict):
        """The plugin's own HUB test (``<name>_test.test``), imported from the copied folder."""
        module = __import__(f"{name}.{name}_test", fromlist=["test"])
        result = module.test(task, data_dict)
        params, status = next(result) if hasattr(result, "__next__") else result
        report["status"][name] = status
        report.setdefault("loaded_from", {})[name] = sys.modules[name].__file__

    data_dict = {"datasets": {"classification": {"dataset_classification": str(data)}},
                 "images": {"detection": {"coco": str(next((data / "test").rglob("*.jpg")))}}}

    wf = Workflow()
    wf.add_input(CPathIO(IODataType.FOLDER_PATH, str(data)))
    train = wf.add_task(name="train_mnasnet", auto_connect=True)
    train.set_parameters({"output_folder": str(work / "train"), "num_workers": "0", "seed": "0"})
    hub_test("train_mnasnet", train, data_dict)

    wf = Workflow()
    wf.add_input(CPathIO(IODataType.FOLDER_PATH, str(data)))
    search = wf.add_task(name="search_mini", auto_connect=True)
    search.set_parameters({"output_folder": str(work / "search"), "train_threads": "1"})
    hub_test("search_mini", search, data_dict)
    report["best_arch"] = search.get_output(0).get_value_list(0)[0]

    wf = Workflow()
    infer = wf.add_task(name="infer_mnasnet", auto_connect=True)
    infer.set_parameters({"model_weight_file": str(work / "train" / "model.pth"), "cuda": "False"})
    hub_test("infer_mnasnet", infer, data_dict)
    report["top"] = infer.get_whole_image_results()[0][0]
    print("REPORT " + json.dumps(report))
''')


INSTALLED_TASK_SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path

    import mnas
    from ikomia.dataprocess.workflow import Workflow
    from skimage import data

    from mnas.models import create_model
    from mnas.weights.model_file import save_model_file

    model_file = save_model_file(Path(sys.argv[1]) / "model.pth", create_model("mnasnet0_5", 2, 32),
                                 class_names=["cat", "ship"], input_size=32)
    wf = Workflow()
    infer = wf.add_task(name="infer_mnasnet", auto_connect=True)
    infer.set_parameters({"model_weight_file": str(model_file), "cuda": "False"})
    wf.run_on(array=data.chelsea())
    print("TOP", infer.get_whole_image_results()[0][0])
''')


def _requirement_names(path: Path) -> set[str]:
    """The distribution names a requirements file asks for (comments and versions dropped)."""
    lines = (line.split("#")[0].strip() for line in path.read_text().splitlines())
    return {re.split(r"[<>=!~\[; ]", line)[0].lower() for line in lines if line}


def site_packages(python_prefix: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(python_prefix),
                                                    "platbase": str(python_prefix)}))


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    """A new venv with ``pip install --no-deps --ignore-installed <copy of the sources>`` (a wheel)."""
    root = tmp_path_factory.mktemp("fresh")
    source = root / "src"
    for item in SOURCE_ITEMS:
        path = REPO_ROOT / item
        if path.is_dir():  # outputs/: what lessons run in place wrote (git-ignored)
            shutil.copytree(path, source / item, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "outputs",
                                                                               ".ipynb_checkpoints"))
        else:
            source.mkdir(exist_ok=True)
            shutil.copy2(path, source / item)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # the .venv's third-party packages, after the new venv's own (a path line: its .pth files, such as
    # the editable install's finder, are not processed, so `mnas` comes only from the wheel)
    (site_packages(venv) / "shared_dependencies.pth").write_text(f"{site_packages(Path(sys.prefix))}\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install",
                    "--quiet", "--no-deps", "--ignore-installed", "--no-build-isolation", str(source)],
                   check=True, cwd=root)
    return venv


def test_installed_package_declares_its_dependencies_and_cli(fresh_venv, tmp_path):
    python = fresh_venv / "bin" / "python"
    code = ("import importlib.metadata as m, mnas, mnas_ikomia.plugins; "
            "print(mnas.__file__); print(m.metadata('mnasnet-ikomia')['License-Expression']); "
            "print(sorted(r.split('>')[0] for r in m.requires('mnasnet-ikomia') if 'extra' not in r))")
    out = subprocess.run([python, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True)
    module_file, license_name, requirements = out.stdout.splitlines()
    assert Path(module_file).is_relative_to(site_packages(fresh_venv))  # the wheel's copy, not the clone
    assert license_name == "BSD-3-Clause"
    assert {"torch", "torchvision", "numpy", "onnxruntime"} <= set(eval(requirements))
    cli = subprocess.run([fresh_venv / "bin" / "mnas", "train", "--help"], cwd=tmp_path,
                         capture_output=True, text=True)
    assert cli.returncode == 0 and "--data" in cli.stdout
    shipped = Path(module_file).parent / "search" / "data"   # the benchmark table travels with the wheel
    assert (shipped / "README.md").is_file()
    assert sorted(p.name for p in shipped.glob("*.json.gz*")) == sorted(
        p.name for p in (REPO_ROOT / "mnas" / "search" / "data").glob("*.json.gz*"))


def test_lessons_copy_works_from_the_installed_package(fresh_venv, tmp_path):
    """A teacher who ran `pip install`, with no clone: the lessons come from the package's own copy."""
    from mnas.lessons.copies import lesson_notebooks

    python = fresh_venv / "bin" / "python"
    where = subprocess.run([python, "-c", "import mnas.lessons.copies as l; print(l.LESSONS_DIR); print(l.INSTALLED)"],
                           cwd=tmp_path, capture_output=True, text=True, check=True).stdout.split()
    assert Path(where[0]).is_relative_to(site_packages(fresh_venv)) and where[1] == "True"
    done = subprocess.run([fresh_venv / "bin" / "mnas", "lessons", "copy", str(tmp_path / "class")], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "class").glob("*.ipynb")) == [p.name for p in lesson_notebooks()]
    assert f"from {where[0]}" in (tmp_path / "class" / "README.md").read_text()
    solutions = Path(where[0]) / "solutions"  # the teacher's edition needs them too
    assert sorted(p.name for p in solutions.glob("*.py")) == sorted(
        p.name for p in (REPO_ROOT / "notebooks" / "solutions").glob("*.py"))
    inside = subprocess.run([fresh_venv / "bin" / "mnas", "lessons", "copy", str(site_packages(fresh_venv) / "x")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert inside.returncode == 2 and "inside the installed packages' folder" in inside.stderr


def test_copied_plugins_run_each_task_from_the_installed_package(fresh_venv, tmp_path, cifar10_root):
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "IKOMIA_AUTO_COMPLETION": "0", "MPLBACKEND": "Agg",
           "OMP_NUM_THREADS": "1", "TORCH_HOME": str(home / ".cache" / "torch")}
    env.pop("PYTHONPATH", None)
    python = fresh_venv / "bin" / "python"
    install = subprocess.run([python, "-m", "mnas_ikomia.plugins", "--copy", "--home", str(home)],
                             cwd=tmp_path, env=env, capture_output=True, text=True)
    assert install.returncode == 0, install.stderr
    plugins_dir = home / "Ikomia" / "Plugins" / "Python"
    for name in PLUGINS:  # real folders from the wheel's share/mnas/plugins, no link to the clone
        assert (plugins_dir / name).is_dir() and not (plugins_dir / name).is_symlink()
        assert "mnas" not in _requirement_names(plugins_dir / name / "requirements.txt")

    data = link_subset(cifar10_root, tmp_path / "data", {"train": ("train", 0, 12), "val": ("test", 0, 4),
                                                         "test": ("test", 4, 2)}, ["cat", "ship"])
    script = tmp_path / "run_tasks.py"
    script.write_text(CHILD_SCRIPT)
    run = subprocess.run([python, str(script), str(data), str(tmp_path / "work")], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=600)
    lines = [line for line in run.stdout.splitlines() if line.startswith("REPORT ")]
    assert run.returncode == 0 and lines, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads(lines[0][len("REPORT "):])
    assert report["status"] == {name: "OK" for name in ("train_mnasnet", "search_mini", "infer_mnasnet")}
    assert Path(report["mnas"]).is_relative_to(site_packages(fresh_venv))
    for name, module_file in report["loaded_from"].items():
        assert Path(module_file).is_relative_to(plugins_dir / name)
    assert report["top"] in ("cat", "ship")
    assert report["best_arch"].startswith("r")


def test_ikomias_installer_takes_nothing_from_outside_and_downgrades_nothing(fresh_venv, tmp_path):
    """Ikomia's own installer (`plugintools.install_requirements`, `pip install -r` on every
    requirements*.txt of a plugin folder) with the index off and only the project's wheel offered:
    every line is satisfied by what the user has, nothing is installed or replaced, the task then runs."""
    python = fresh_venv / "bin" / "python"
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(fresh_venv.parent / "src")], check=True, cwd=tmp_path)
    assert [p.name.split("-")[0] for p in wheels.glob("*.whl")] == ["mnasnet_ikomia"]
    home = tmp_path / "home"
    env = {**os.environ, "HOME": str(home), "IKOMIA_AUTO_COMPLETION": "0", "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(wheels), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)

    def installed():
        listing = subprocess.run([python, "-m", "pip", "list", "--format=json"], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, check=True)
        return {p["name"].lower(): p["version"] for p in json.loads(listing.stdout)}

    before = installed()
    subprocess.run([python, "-m", "mnas_ikomia.plugins", "--copy", "--home", str(home)], cwd=tmp_path, env=env,
                   check=True, capture_output=True)
    for name in PLUGINS:
        folder = home / "Ikomia" / "Plugins" / "Python" / name
        names = _requirement_names(folder / "requirements.txt")
        assert "torch" in names and not names & {"mnas", "mnasnet-ikomia", "mnas-ikomia"}
        pins = [line for line in (folder / "requirements.txt").read_text().splitlines()
                if "==" in line.split("#")[0]]
        assert pins == []
        code = f"from ikomia.utils.plugintools import install_requirements; install_requirements({str(folder)!r})"
        run = subprocess.run([python, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
        output = run.stdout + run.stderr
        assert run.returncode == 0 and "ERROR" not in output and "Successfully installed" not in output, output
    assert installed() == before
    task = subprocess.run([python, "-c", INSTALLED_TASK_SCRIPT, str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert task.returncode == 0 and "TOP " in task.stdout, task.stdout[-2000:] + task.stderr[-2000:]


def test_a_plugin_without_its_core_package_says_how_to_install_it(tmp_path):
    """In a Python that has ikomia but not mnas, loading a plugin folder fails with the install line."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    shared = site_packages(Path(sys.prefix))
    # the .venv's packages without its editable mnas: a copy of the path, minus the project's finder
    (site_packages(venv) / "shared_dependencies.pth").write_text(f"{shared}\n")
    plugins = tmp_path / "plugins"
    for name in PLUGINS:
        shutil.copytree(REPO_ROOT / name, plugins / name, ignore=shutil.ignore_patterns("__pycache__"))
        code = f"import sys; sys.path.insert(0, {str(plugins)!r}); import {name}.{name}"
        run = subprocess.run([venv / "bin" / "python", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                             env={**os.environ, "IKOMIA_AUTO_COMPLETION": "0", "PYTHONPATH": ""})
        assert run.returncode != 0
        message = run.stderr.strip().splitlines()[-1]
        assert message.startswith(f"ImportError: {name} needs the MnasNet for Ikomia package"), run.stderr[-1500:]
        assert "pip install" in message and "[ikomia]" in message


def test_install_plugins_fails_loudly_when_it_finds_nothing(tmp_path):
    with pytest.raises(NoPluginsFoundError, match="no plugin folder .* found in"):
        install_plugins(tmp_path / "home", source=tmp_path)
    assert not (tmp_path / "home").exists()


def test_install_plugins_by_copy_replaces_its_copy_but_not_a_foreign_folder(tmp_path):
    home = tmp_path / "home"
    copies = install_plugins(home, copy=True)
    assert [c.name for c in copies] == list(PLUGINS)
    assert all(c.is_dir() and not c.is_symlink() for c in copies)
    (copies[0] / "stale.txt").write_text("from an older copy")
    install_plugins(home, copy=True)   # idempotent; an earlier copy of ours is replaced whole
    assert not (copies[0] / "stale.txt").exists()
    with pytest.raises(FileExistsError, match="not a link to"):
        install_plugins(home)          # linking over a copy needs --replace
    links = install_plugins(home, replace=True)
    assert all(link.is_symlink() and link.resolve() == (REPO_ROOT / link.name) for link in links)
    foreign = home / "Ikomia" / "Plugins" / "Python" / "search_mini"
    foreign.unlink()
    foreign.mkdir()                    # e.g. the Ikomia HUB's version: never deleted silently
    with pytest.raises(FileExistsError, match="Ikomia HUB"):
        install_plugins(home, copy=True)


def test_the_command_line_says_its_version_and_its_own_name():
    """`mnas --version` prints the installed distribution's version; the usage names the command the
    user typed (the `mnas` script, or python -m mnas)."""
    from importlib.metadata import version

    script = Path(sys.executable).with_name("mnas")
    for command in ([str(script)], [sys.executable, "-m", "mnas"]):
        done = subprocess.run(command + ["--version"], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and done.stdout.strip() == f"mnasnet-ikomia {version('mnasnet-ikomia')}"
    usage = subprocess.run([str(script), "infer", "--help"], capture_output=True, text=True, timeout=120).stdout
    assert usage.startswith("usage: mnas infer")
    usage = subprocess.run([sys.executable, "-m", "mnas"], capture_output=True, text=True, timeout=120).stdout
    assert usage.startswith("usage: python -m mnas <command>")
