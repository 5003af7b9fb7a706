"""The search on Ray: a real local Ray instance (2 CPUs, loopback, no dashboard, shut down after)."""

import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from helpers import kill_after_lines
from mnas.search.config import SearchConfig
from mnas.search.evaluate import train_child
from mnas.search.executor import LATENCY_RESOURCE, connect_ray
from mnas.search.loop import Search

pytestmark = pytest.mark.slow  # the whole file: see tests/README.md

ray = pytest.importorskip("ray")

# reward = accuracy exactly (hard constraint, T far above any latency) and one training thread: the
# children and their accuracies are then a function of the seed alone, whichever executor runs them
EXACT = dict(train_images=60, val_images=30, batch_size=16, baseline_widths=(0.5, 0.75), latency_rounds=3,
             latency_burst=2, predictor=False, train_threads=1, constraint="hard", target_latency_ms=1e6,
             seed=4)  # the default PPO batch (4), as the CLI runs it


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray instance for the module, as the ray executor starts it (and owns it) itself."""
    assert connect_ray("")
    node = ray.nodes()[0]
    assert node["NodeManagerAddress"] == "127.0.0.1"  # loopback only
    assert ray.cluster_resources()[LATENCY_RESOURCE] == 1
    yield
    ray.shutdown()


def _log(folder, name="children.jsonl"):
    return [json.loads(line) for line in (folder / name).read_text().splitlines()]


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_ray_search_logs_each_child_once_and_matches_the_local_executor(tmp_path, cifar10_root, local_ray,
                                                                        one_thread):
    Search(cifar10_root, tmp_path / "local", SearchConfig(budget_children=5, **EXACT)).run()
    result = Search(cifar10_root, tmp_path / "ray", SearchConfig(budget_children=5, executor="ray", **EXACT)).run()
    local, remote = _log(tmp_path / "local"), _log(tmp_path / "ray")
    assert [r["step"] for r in remote] == list(range(5))
    assert [r["arch"] for r in remote] == [r["arch"] for r in local]
    assert [r["accuracy"] for r in remote] == [r["accuracy"] for r in local]
    assert [r["accuracy"] for r in _log(tmp_path / "ray", "baselines.jsonl")] == \
        [r["accuracy"] for r in _log(tmp_path / "local", "baselines.jsonl")]
    assert all(r["latency_ratio"] > 0 and r["batch_wall_seconds"] > 0 for r in remote)
    assert result.summary["children"] == 5
    machines = json.loads((tmp_path / "ray" / "search_config.json").read_text())["machines"]
    assert machines[-1]["executor"] == "ray"
    assert ray.is_initialized()  # the executor did not shut down an instance it did not start


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_a_child_whose_worker_dies_is_retried_and_logged_once(tmp_path, cifar10_root, local_ray):
    marker = tmp_path / "died-once"

    def dies_the_first_time(arch, seed, data, config, should_stop):
        if not marker.exists():
            marker.write_text(str(os.getpid()))
            os._exit(1)  # the worker process dies mid-child, as on a lost node
        return train_child(arch, seed, data, config, should_stop)

    config = SearchConfig(budget_children=2, executor="ray", **EXACT)
    Search(cifar10_root, tmp_path / "run", config, train_fn=dies_the_first_time).run()
    assert marker.exists()
    assert [r["step"] for r in _log(tmp_path / "run")] == [0, 1]

    marker.unlink()
    no_retry = SearchConfig(budget_children=2, executor="ray", max_retries=0, **EXACT)
    with pytest.raises(ray.exceptions.RayError):
        Search(cifar10_root, tmp_path / "no_retry", no_retry, train_fn=dies_the_first_time).run()
    assert not (tmp_path / "no_retry" / "children.jsonl").exists() or not _log(tmp_path / "no_retry")


def test_unreachable_cluster_is_an_error_naming_the_address(tmp_path, cifar10_root):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free: nothing listens there once closed
    address = f"ray://127.0.0.1:{port}"
    done = subprocess.run(_command(tmp_path / "out", cifar10_root, 2) + ["--ray-address", address],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert f"error: ray_address {address!r}: cannot reach a Ray cluster there" in done.stderr
    assert "Traceback" not in done.stderr


def _command(output, cifar10_root, budget):
    return [sys.executable, "-m", "mnas", "search", "--data", str(cifar10_root), "--output", str(output),
            "--budget-children", str(budget), "--train-images", "60", "--val-images", "30",
            "--batch-size", "16", "--baseline-widths", "0.5,0.75", "--no-predictor", "--latency-rounds", "3",
            "--latency-burst", "2", "--train-threads", "1", "--constraint", "hard",
            "--target-latency-ms", "1e6", "--seed", "4", "--executor", "ray"]


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_killed_ray_search_resumes_with_no_lost_or_repeated_child(tmp_path, cifar10_root, one_thread):
    budget = 5
    killed = tmp_path / "killed"
    log = killed / "children.jsonl"
    # its own process group, so the kill takes the driver and the local Ray instance it started
    process = subprocess.Popen(_command(killed, cifar10_root, budget), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    before = kill_after_lines(process, log, 1, 400, lambda: os.killpg(process.pid, signal.SIGKILL))
    assert 1 <= len(before) < budget, "the search was not interrupted mid-run"

    subprocess.run(_command(killed, cifar10_root, budget), check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    clean = Search(cifar10_root, tmp_path / "clean", SearchConfig(budget_children=budget, **EXACT))
    clean.run()
    after, reference = _log(killed), _log(tmp_path / "clean")
    assert log.read_text().splitlines()[:len(before)] == before        # nothing lost or rewritten
    assert [r["step"] for r in after] == list(range(budget))          # nothing repeated
    assert [r["arch"] for r in after] == [r["arch"] for r in reference]
    assert [r["accuracy"] for r in after] == [r["accuracy"] for r in reference]


def test_search_mini_task_runs_its_children_on_ray(tmp_path, cifar10_root, local_ray, mlflow_file_store):
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(cifar10_root)))
    task = workflow.add_task(name="search_mini", auto_connect=True)
    task.set_parameters({"budget_children": "2", "train_images": "60", "val_images": "30",
                         "baseline_widths": "0.5", "train_threads": "1", "executor": "ray",
                         "output_folder": str(tmp_path / "search")})
    workflow.run()
    assert [r["step"] for r in _log(tmp_path / "search")] == [0, 1]
    machines = json.loads((tmp_path / "search" / "search_config.json").read_text())["machines"]
    assert machines[-1]["executor"] == "ray"
    with pytest.raises((ValueError, RuntimeError), match="executor must be one of local, ray"):
        task.set_parameters({"executor": "spark"})
