"""Test session set-up: a temporary HOME (so the Ikomia registry, MLflow and torch hub caches are
private to the run), the repository's plugins registered there, and shared fixtures.

Environment variables are set at import, before any test module imports ikomia.
"""

from __future__ import annotations

import atexit
import functools
import http.server
import os
import shutil
import tempfile
import threading
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO_ROOT.parent / "shared" / "datasets"
CIFAR10_ROOT = SHARED_DATASETS / "cifar10-jpg"

_TEST_HOME = tempfile.mkdtemp(prefix="mnas-test-home-")
atexit.register(shutil.rmtree, _TEST_HOME, ignore_errors=True)
os.environ["HOME"] = _TEST_HOME
os.environ["TORCH_HOME"] = os.path.join(_TEST_HOME, ".cache", "torch")
os.environ["IKOMIA_AUTO_COMPLETION"] = "0"
os.environ["QT_QPA_PLATFORM"] = "offscreen"
os.environ["MPLBACKEND"] = "Agg"
os.environ.setdefault("MNAS_FAST", "1")
os.environ.setdefault("MNAS_OFFLINE", "1")  # tests never download (test_timm_convert.py serves a download locally)

from mnas_ikomia.plugins import install_plugins  # noqa: E402

install_plugins(_TEST_HOME)


@pytest.fixture(scope="session")
def cifar10_root() -> Path:
    """The real CIFAR-10 JPEG folders from ../shared/datasets (read-only)."""
    if not (CIFAR10_ROOT / "train").is_dir():
        pytest.fail(f"CIFAR-10 not found at {CIFAR10_ROOT}: the tests need ../shared/datasets beside "
                    "the repository")
    return CIFAR10_ROOT


@pytest.fixture
def one_thread():
    """One torch thread: bitwise-reproducible CPU kernels, and the 2-core machine is shared anyway."""
    from mnas.latency.meter import torch_threads

    with torch_threads(1):
        yield


@pytest.fixture
def mlflow_file_store(tmp_path):
    """Route Ikomia training tasks' MLflow logging to a file:// store in a temp folder, no servers."""
    from mnas_ikomia.tracking import use_file_store

    store = tmp_path / "mlruns"
    uri = use_file_store(store)
    yield store
    import mlflow

    mlflow.end_run()
    assert uri.startswith("file:")


@pytest.fixture
def release_server(tmp_path):
    """A local HTTP server (loopback only) standing in for a release page: serves tmp_path/served/;
    yields (that folder, its base url)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def cifar2(cifar10_root, tmp_path_factory):
    """Real CIFAR-10 images, 2 classes (cat, ship), 24 train + 8 test each: a training epoch takes a second."""
    from mnas.data.splits import link_subset

    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 24), "test": ("test", 0, 8)}, ["cat", "ship"])
