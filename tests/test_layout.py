"""The package layout: capability packages that import on their own (no cycle, nothing heavy dragged in),
whose lazy re-exports all resolve, and a core that never imports Ikomia."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from conftest import REPO_ROOT

PACKAGES = ["mnas.weights", "mnas.data", "mnas.train", "mnas.infer", "mnas.evaluation", "mnas.latency",
            "mnas.lessons", "mnas.docs", "mnas.search", "mnas.search.table", "mnas.search.surrogate", "mnas.utils"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_package_imports_alone_and_its_exports_resolve(package):
    """In a fresh interpreter: the package, then each exported name (a name whose module moved, or a
    cycle through the package's modules, fails here)."""
    code = (f"import importlib, sys; p = importlib.import_module({package!r}); "
            "[getattr(p, n) for n in getattr(p, '__all__', [])]; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('ikomia', 'ray')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "[]", f"{package} imports {done.stdout.strip()}: the core imports neither eagerly"


def test_a_package_import_loads_only_the_module_asked_for():
    """Lazy re-exports: the training configuration does not pull in the engine, weights or decoding."""
    heavy = ("mnas.train.engine", "mnas.weights.published", "mnas.data.decode")
    code = f"import sys; from mnas.train import TrainConfig; print([m for m in {heavy!r} if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr[-2000:]


def test_an_unknown_name_is_an_attribute_error_naming_the_package():
    with pytest.raises(AttributeError, match="module 'mnas.weights' has no attribute 'no_such_name'"):
        importlib.import_module("mnas.weights").no_such_name
