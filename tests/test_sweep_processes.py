"""Servers, processes and signals, with real processes: the Ikomia training tasks start no server, a
Ray address that is no Ray cluster fails fast, and Ctrl-C / SIGTERM stop the commands cleanly (one line,
status 130 / 143, lock released, the search's own Ray instance shut down) with an exact resume after."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from helpers import TINY_ARCH
from mnas.__main__ import main as mnas_main
from mnas.data.splits import link_subset
from mnas.latency.meter import torch_threads
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.utils.locks import LOCK_FILE_NAME

REPO_ROOT = Path(__file__).resolve().parent.parent
BUDGET = 3  # one PPO batch (4): a stop after the first child leaves the batch for the resume to complete
# no B1 baselines (their own log, resumed alike): the searched children are what the tests compare
SEARCH_ARGS = ["--budget-children", str(BUDGET), "--train-images", "60", "--val-images", "30",
               "--batch-size", "16", "--baseline-widths", "", "--no-predictor", "--latency-rounds", "3",
               "--latency-burst", "2", "--train-threads", "1", "--constraint", "hard",
               "--target-latency-ms", "1e6", "--seed", "4"]  # reward = accuracy: a function of the seed
pytestmark = [pytest.mark.usefixtures("one_thread"), pytest.mark.slow]  # the whole file: see tests/README.md


# ------------------------------------------------------------------------------------------- helpers

def _env(**extra) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", **extra}


def spawn(argv: list[str], **env) -> subprocess.Popen:
    """A real process in a session of its own: every process it starts can be found (and cleaned up)."""
    return subprocess.Popen(argv, cwd=REPO_ROOT, env=_env(**env), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def session_processes(session: int) -> dict[int, str]:
    """pid -> command line of the live processes of `session` (read from /proc: psutil may be missing)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) ": state, ppid, pgrp, session
            if int(fields[3]) == session and fields[0] != "Z":
                found[int(entry)] = Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, ValueError, IndexError):
            continue  # ended meanwhile
    return found


def wait_session_empty(session: int, timeout: float = 20) -> dict[int, str]:
    deadline = time.monotonic() + timeout
    while (left := session_processes(session)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


def kill_session(session: int) -> None:
    """SIGKILL what is left of a session this test started (only ours: the session id is its pid)."""
    for pid in session_processes(session):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


def listening_ports(pid: int | None = None) -> set[int]:
    """TCP ports in LISTEN state (read from /proc/net), all or only those of process `pid`'s sockets."""
    ports = {}  # socket inode -> port
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for fields in map(str.split, rows):
            if fields[3] == "0A":  # LISTEN
                ports[fields[9]] = int(fields[1].rsplit(":", 1)[1], 16)
    if pid is None:
        return set(ports.values())
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with contextlib.suppress(OSError):  # closed meanwhile
            inodes.add(os.readlink(fd).removeprefix("socket:[").rstrip("]"))
    return {port for inode, port in ports.items() if inode in inodes}


def wait_for(path: Path, process: subprocess.Popen, lines: int = 1, timeout: float = 240) -> list[str]:
    """`path`'s lines once it holds `lines` of them (the process still running)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        if path.is_file() and len(text := path.read_text().splitlines()) >= lines:
            return text
        time.sleep(0.05)
    raise AssertionError(f"{path} never had {lines} line(s)")


def wait_for_file(path: Path, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not path.is_file():
        assert process.poll() is None, process.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)


def finish(process: subprocess.Popen, timeout: float = 120) -> str:
    _, err = process.communicate(timeout=timeout)
    return err


def read_log(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "children.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def cifar2(cifar10_root, tmp_path_factory):
    """Real CIFAR-10 images, 2 classes, 24 train + 8 test each: a training epoch takes a second."""
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 24), "test": ("test", 0, 8)}, ["cat", "ship"])


@pytest.fixture(scope="module")
def reference_search(cifar10_root, tmp_path_factory):
    """The uninterrupted search every stopped-and-resumed one must equal, child for child."""
    output = tmp_path_factory.mktemp("reference") / "search"
    with torch_threads(1):
        assert mnas_main(["search", "--data", str(cifar10_root), "--output", str(output), *SEARCH_ARGS]) == 0
    return read_log(output)


def search_argv(output: Path, data: Path, *extra: str) -> list[str]:
    return ["search", "--data", str(data), "--output", str(output), *SEARCH_ARGS, *extra]


def check_stopped_search(process: subprocess.Popen, err: str, output: Path, status: int) -> None:
    assert process.returncode == status, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    stopped = [line for line in err.splitlines() if line.startswith("search stopped")]
    assert len(stopped) == 1, err[-3000:]
    assert str(output / "children.jsonl") in stopped[0] and "to resume it" in stopped[0]
    assert not (output / LOCK_FILE_NAME).exists()  # released: the run ended through its cleanup


def check_resumed_exactly(output: Path, data: Path, before: list[str], reference: list[dict]) -> None:
    assert mnas_main(search_argv(output, data)) == 0  # the same command again, executor local
    after = read_log(output)
    assert (output / "children.jsonl").read_text().splitlines()[:len(before)] == before  # nothing lost
    assert [r["step"] for r in after] == list(range(BUDGET))                              # nothing repeated
    assert [r["arch"] for r in after] == [r["arch"] for r in reference]
    assert [r["accuracy"] for r in after] == [r["accuracy"] for r in reference]


# ------------------------------------------------------------------- 1. tasks start no tracking server

TASKS_SCRIPT = """
import http.server, json, os, threading
from pathlib import Path
from ikomia.core import IODataType, config
from ikomia.dataprocess import CPathIO
from ikomia.dataprocess.workflow import Workflow
import mlflow

def children():
    mine = []
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            if int(stat[stat.rindex(")") + 2:].split()[1]) == os.getpid():
                mine.append(Path(f"/proc/{entry}/cmdline").read_bytes().replace(b"\\0", b" ").decode())
        except OSError:
            pass
    return mine

Workflow().add_task(name="search_mini")  # created as a user does: no fixture, no use_file_store
workflow = Workflow()
workflow.add_input(CPathIO(IODataType.FOLDER_PATH, DATA))
task = workflow.add_task(name="train_mnasnet", auto_connect=True)
task.set_parameters(PARAMS)
workflow.run()
default = {"uri": mlflow.get_tracking_uri(), "children": children()}

hits = []  # a stand-in for running MLflow / TensorBoard servers, on loopback: Ikomia's checks find it
class Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        hits.append(self.path)
        self.send_response(200)
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Answer)
threading.Thread(target=server.serve_forever, daemon=True).start()
url = f"http://127.0.0.1:{server.server_address[1]}"
config.main_cfg["mlflow"]["tracking_uri"] = config.main_cfg["tensorboard"]["tracking_uri"] = url
os.environ["MNAS_MLFLOW_SERVER"] = "1"
Workflow().add_task(name="train_mnasnet")
opt_in = {"uri": mlflow.get_tracking_uri(), "url": url, "hits": hits, "children": children()}
print("RESULT " + json.dumps({"default": default, "opt_in": opt_in}))
"""


def test_the_training_tasks_start_no_server_and_log_to_a_local_file_store(cifar2, tmp_path):
    from mnas_ikomia.plugins import install_plugins

    home = tmp_path / "home"  # a user's home: the plugins registered, nothing patched
    install_plugins(home)
    assert not {5000, 6006} & listening_ports(), "something else already listens on 5000 / 6006"
    output = tmp_path / "run"
    params = {"arch": TINY_ARCH, "input_size": "32", "batch_size": "16", "epochs": "1",
              "output_folder": str(output)}
    code = f"DATA, PARAMS = {str(cifar2)!r}, {params!r}\n" + textwrap.dedent(TASKS_SCRIPT)
    # the virtual environment's bin first, as when it is activated: Ikomia's `mlflow server` would start
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {key: value for key, value in _env(HOME=str(home), PATH=path, IKOMIA_AUTO_COMPLETION="0").items()
           if key not in ("MNAS_MLFLOW_SERVER", "MLFLOW_TRACKING_URI")}
    stdout, stderr = tmp_path / "stdout.txt", tmp_path / "stderr.txt"  # not pipes: a server would hold them
    with open(stdout, "w") as out, open(stderr, "w") as err:
        process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, stdout=out, stderr=err,
                                   start_new_session=True)
    try:
        process.wait(timeout=180)
        left = wait_session_empty(process.pid, timeout=3)
    finally:
        kill_session(process.pid)  # a server the tasks started must not outlive the test
    out, err = stdout.read_text(), stderr.read_text()
    assert process.returncode == 0, err[-3000:]
    result = json.loads(out.split("RESULT ", 1)[1])
    assert result["default"]["children"] == [] and not left, (result, left)  # no mlflow, no tensorboard
    assert not {5000, 6006} & listening_ports()
    store = home / "Ikomia" / "MLflow"
    assert result["default"]["uri"] == store.resolve().as_uri()

    from mlflow.tracking import MlflowClient

    client = MlflowClient(store.resolve().as_uri())
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1 and client.get_metric_history(runs[0].info.run_id, "top1")
    assert (output / "model.pth").is_file()
    # MNAS_MLFLOW_SERVER=1: Ikomia's own checks run (here they find the stand-in and start nothing)
    opt_in = result["opt_in"]
    assert opt_in["uri"] == opt_in["url"] and "/health" in opt_in["hits"] and "/" in opt_in["hits"]
    assert opt_in["children"] == []


# -------------------------------------------------------- 2. a Ray address that is no Ray cluster

ADDRESS_SCRIPT = """
import contextlib, io, json, time
from mnas.search import executor
executor.RAY_CONNECT_TIMEOUT_S = 1.5  # the test's bound (30 s by default)
from mnas.__main__ import main
results = []
for index, address in enumerate(ADDRESSES):
    stderr, started = io.StringIO(), time.monotonic()
    with contextlib.redirect_stderr(stderr):
        status = main(ARGV + ["--output", f"{OUTPUT}/{index}", "--ray-address", address])
    results.append({"address": address, "status": status, "stderr": stderr.getvalue(),
                    "seconds": time.monotonic() - started})
print("RESULT " + json.dumps(results))
"""


@pytest.fixture
def silent_and_http_servers():
    """Two loopback servers that are no Ray cluster: one accepts and says nothing, one speaks HTTP."""
    import http.server

    silent = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: [held.append(silent.accept()) for _ in iter(int, 1)], daemon=True).start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield silent.getsockname()[1], web.server_address[1]
    web.shutdown()
    silent.close()
    for connection, _ in held:
        connection.close()


def test_a_ray_address_that_is_no_ray_cluster_fails_fast_and_a_malformed_one_at_once(
        tmp_path, cifar10_root, silent_and_http_servers):
    silent, web = silent_and_http_servers
    malformed = ["ray://", "host:notaport", "http://x", "127.0.0.1:99999"]
    unreachable = [f"127.0.0.1:{silent}", f"ray://127.0.0.1:{silent}", f"ray://127.0.0.1:{web}"]
    argv = ["search", "--data", str(cifar10_root), *SEARCH_ARGS, "--executor", "ray"]
    code = (f"ADDRESSES, OUTPUT, ARGV = {malformed + unreachable!r}, {str(tmp_path)!r}, {argv!r}\n"
            + textwrap.dedent(ADDRESS_SCRIPT))
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=_env(), capture_output=True,
                          text=True, timeout=150)  # before the fix: the silent head-node address hangs for ever
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.split("RESULT ", 1)[1])
    for index, result in enumerate(results):
        address, stderr = result["address"], result["stderr"]
        assert result["status"] == 2 and "Traceback" not in stderr, result
        if address in malformed:
            assert f"error: ray_address {address!r} is not a Ray address: expected empty" in stderr, result
            assert "ray://<host>:<port>" in stderr
            assert not (tmp_path / str(index)).exists()  # refused before anything is written
        else:
            assert f"error: ray_address {address!r}: cannot reach a Ray cluster there" in stderr, result
            assert result["seconds"] < 30, result  # the 1.5 s bound, plus loading the proxy data


# ---------------------------------------------------------------------------- 3. Ctrl-C in a search

def test_ctrl_c_stops_a_search_in_one_line_and_the_resumed_search_is_exact(tmp_path, cifar10_root,
                                                                           reference_search):
    output = tmp_path / "search"
    process = spawn([sys.executable, "-m", "mnas", *search_argv(output, cifar10_root)])
    try:
        before = wait_for(output / "children.jsonl", process)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
        err = finish(process)
    finally:
        kill_session(process.pid)
    assert 1 <= len(before) < BUDGET
    check_stopped_search(process, err, output, 130)
    assert len(err.strip().splitlines()) < 12, err  # progress lines and the one line: no 35-frame traceback
    check_resumed_exactly(output, cifar10_root, before, reference_search)


# ------------------------------------------------------------------------------------- 4. SIGTERM

def test_sigterm_stops_a_training_cleanly_and_the_resumed_training_is_exact(cifar2, tmp_path):
    argv = ["train", "--data", str(cifar2), "--arch", TINY_ARCH, "--batch-size", "16", "--input-size", "32",
            "--train-threads", "1", "--epochs", "3"]
    output = tmp_path / "stopped"
    process = spawn([sys.executable, "-m", "mnas", *argv, "--output", str(output)])
    try:
        wait_for_file(output / "checkpoints" / CHECKPOINT_NAME, process)
        process.send_signal(signal.SIGTERM)  # `kill <pid>`, a service manager, a batch scheduler
        err = finish(process)
    finally:
        kill_session(process.pid)
    assert process.returncode == 143, err[-3000:]
    assert "Traceback" not in err and "checkpoint is kept (continue with --resume)" in err, err
    assert not (output / LOCK_FILE_NAME).exists()
    assert 1 <= load_checkpoint(output / "checkpoints" / CHECKPOINT_NAME)["epoch"] < 3, \
        "the training was not interrupted mid-run"

    assert mnas_main([*argv, "--output", str(output), "--resume"]) == 0
    assert mnas_main([*argv, "--output", str(tmp_path / "straight")]) == 0
    resumed = torch.load(output / "model.pth", weights_only=True)
    straight = torch.load(tmp_path / "straight" / "model.pth", weights_only=True)
    assert resumed["metadata"]["epochs_done"] == 3
    for key, value in straight["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key  # bitwise on one thread


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_sigterm_stops_a_ray_search_shuts_its_instance_down_and_the_resume_is_exact(
        tmp_path, cifar10_root, reference_search):
    pytest.importorskip("ray")
    from mnas.search.executor import _check_reachable

    output = tmp_path / "search"
    process = spawn([sys.executable, "-m", "mnas", *search_argv(output, cifar10_root, "--executor", "ray")])
    try:
        before = wait_for(output / "children.jsonl", process)
        instance = session_processes(process.pid)
        assert any("raylet" in c for c in instance.values()) and any("gcs_server" in c for c in instance.values())
        (gcs,) = [pid for pid, command in instance.items() if command.split()[0].endswith("gcs_server")]
        (gcs_port,) = listening_ports(gcs)
        _check_reachable(f"127.0.0.1:{gcs_port}")  # a real head node passes the handshake check
        process.send_signal(signal.SIGTERM)  # the driver only, as `kill <pid>` does
        err = finish(process)
        left = wait_session_empty(process.pid)
    finally:
        kill_session(process.pid)
    assert 1 <= len(before) < BUDGET
    check_stopped_search(process, err, output, 143)
    assert not left, f"processes of the search's Ray instance left behind: {left}"
    check_resumed_exactly(output, cifar10_root, before, reference_search)
