"""One run per output folder: locks across processes and within one, kills at the final rename, folders
that hold a run refused unless resumed or overwritten, default folders that never collide."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from helpers import REPO_ROOT, TINY_ARCH, run_python, tiny_job, train_command, wait_for_holder
from mnas.__main__ import main as mnas_main
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.train.job import run_training_job
from mnas.utils.locks import OutputFolderBusy, OutputFolderError, output_folder_lock, unique_run_folder

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------- locks, two processes

@pytest.mark.slow
def test_a_second_training_is_refused_while_one_holds_the_folder_and_allowed_once_it_dies(cifar2, tmp_path):
    output = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    first = subprocess.Popen(train_command(cifar2, output, "--epochs", "500"), cwd=REPO_ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        holder = wait_for_holder(output, first.pid, first)
        assert holder["purpose"] == "training" and "--epochs 500" in holder["command"]
        second = subprocess.run(train_command(cifar2, output, "--epochs", "1"), cwd=REPO_ROOT, env=env,
                                capture_output=True, text=True, timeout=300)
        assert second.returncode == 2
        message = second.stderr.strip().splitlines()[-1]
        assert message.startswith("error: output folder") and str(output.resolve()) in message
        assert f"training run pid {first.pid} on {holder['host']}, started {holder['started']}" in message
        assert "--epochs 500" in message
    finally:
        first.send_signal(signal.SIGKILL)  # a crash: the kernel releases the lock with the process
        first.wait()
    # the dead holder blocks nothing; what it left is a run, continued or replaced only when asked
    outcome = run_training_job(tiny_job(cifar2, output, overwrite=True))
    assert outcome.output_folder == output.resolve() and (output / "model.pth").is_file()


@pytest.mark.slow
def test_a_second_search_is_refused_while_one_runs_and_the_log_holds_each_child_once(cifar2, tmp_path):
    output, go = tmp_path / "search", tmp_path / "go"
    holder_code = f"""
        import os, sys, time
        from mnas.search.config import SearchConfig
        from mnas.search.loop import Search
        config = SearchConfig(budget_children=2, train_images=20, val_images=10, baseline_widths=(0.5,),
                              target_latency_ms=1.0, predictor=False)
        def wait_for_go(*_):  # holds the search (and its lock) after the first evaluation
            while not os.path.exists({str(go)!r}):
                time.sleep(0.1)
        Search({str(cifar2)!r}, {str(output)!r}, config).run(on_child=wait_for_go)
    """
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    first = subprocess.Popen([sys.executable, "-c", textwrap.dedent(holder_code)], cwd=REPO_ROOT, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_holder(output, first.pid, first)
        second = subprocess.run([sys.executable, "-m", "mnas", "search", "--data", str(cifar2), "--output",
                                 str(output), "--budget-children", "2", "--train-images", "20",
                                 "--val-images", "10", "--baseline-widths", "0.5",
                                 "--target-latency-ms", "1", "--no-predictor"],
                                cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert second.returncode == 2, second.stderr[-2000:]
        assert "Traceback" not in second.stderr
        assert f"is in use by search run pid {first.pid}" in second.stderr.strip().splitlines()[-1]
    finally:
        go.touch()
    assert first.wait(timeout=600) == 0, first.stderr.read()[-3000:]
    children = [json.loads(line) for line in (output / "children.jsonl").read_text().splitlines()]
    assert [child["step"] for child in children] == [0, 1]


def test_the_lock_is_exclusive_within_one_process_too(tmp_path):
    with output_folder_lock(tmp_path / "x", "search") as folder:
        with pytest.raises(OutputFolderBusy, match=f"in use by a search run of this same process .*{os.getpid()}"):
            with output_folder_lock(folder, "training"):
                pass
    with output_folder_lock(tmp_path / "x", "training"):  # released on leaving the block
        pass


# ----------------------------------------------------------------------------- kill at the final rename

KILL_AT_MODEL_RENAME = """
    import os, signal, sys
    real_replace = os.replace
    def replace(source, target, *args, **kwargs):
        if os.path.basename(target) == "model.pth":  # the moment before the model file's final rename
            os.kill(os.getpid(), signal.SIGKILL)
        return real_replace(source, target, *args, **kwargs)
    os.replace = replace
    from mnas.__main__ import main
    sys.exit(main({argv!r}))
"""


def test_a_kill_at_the_final_rename_is_refused_without_resume_and_completed_by_resume(cifar2, tmp_path):
    output = tmp_path / "run"
    assert mnas_main(train_command(cifar2, output, "--epochs", "1")[3:]) == 0
    first_model = (output / "model.pth").read_bytes()
    argv = train_command(cifar2, output, "--epochs", "2", "--resume")[3:]
    killed = run_python(KILL_AT_MODEL_RENAME.format(argv=argv))
    assert killed.returncode == -signal.SIGKILL
    leftovers = list(output.glob(".model.pth.*.tmp"))
    assert leftovers, "the kill left no temporary model file: it did not happen at the rename"
    assert (output / "model.pth").read_bytes() == first_model  # the old model beside the new checkpoint
    assert load_checkpoint(output / "checkpoints" / CHECKPOINT_NAME)["epoch"] == 2

    assert mnas_main(train_command(cifar2, output, "--epochs", "2")[3:]) == 2  # no silent restart
    assert mnas_main(train_command(cifar2, output, "--epochs", "2", "--resume")[3:]) == 0
    assert not list(output.glob(".*.tmp")) and not list(output.glob("*/.*.tmp"))
    model = torch.load(output / "model.pth", weights_only=True)
    last = torch.load(output / "last.pth", weights_only=True)  # model.pth: the best epoch, last.pth the last
    checkpoint = load_checkpoint(output / "checkpoints" / CHECKPOINT_NAME)
    assert model["metadata"]["epochs_done"] == last["metadata"]["kept_epoch"] == 2
    for key, value in checkpoint["model"].items():
        assert torch.equal(last["state_dict"][key], value), key
    assert (output / "classes.txt").read_text() == "cat\nship\n"


@pytest.mark.slow
def test_a_search_killed_at_its_final_rename_resumes_cleanly(cifar2, tmp_path):
    output = tmp_path / "search"
    argv = ["search", "--data", str(cifar2), "--output", str(output), "--budget-children", "2",
            "--train-images", "20", "--val-images", "10", "--baseline-widths", "0.5",
            "--target-latency-ms", "1", "--no-predictor"]
    killed = run_python(KILL_AT_MODEL_RENAME.replace('"model.pth"', '"summary.json"').format(argv=argv))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert list(output.glob(".summary.json.*.tmp")) and not (output / "summary.json").exists()
    logged = (output / "children.jsonl").read_text()
    assert mnas_main(argv) == 0  # resumes: every child is logged, only the report is written again
    assert (output / "children.jsonl").read_text() == logged
    assert json.loads((output / "summary.json").read_text())["children"] == 2
    assert not list(output.glob(".*.tmp"))


def test_train_mnasnet_refuses_a_folder_holding_a_run_unless_overwrite(cifar2, tmp_path, mlflow_file_store):
    from ikomia.core import IODataType
    from ikomia.dataprocess import CPathIO
    from ikomia.dataprocess.workflow import Workflow

    output = tmp_path / "run"
    workflow = Workflow()
    workflow.add_input(CPathIO(IODataType.FOLDER_PATH, str(cifar2)))
    task = workflow.add_task(name="train_mnasnet", auto_connect=True)
    task.set_parameters({"arch": TINY_ARCH, "input_size": "32", "batch_size": "16", "epochs": "1",
                         "output_folder": str(output)})
    workflow.run()
    first = (output / "model.pth").read_bytes()
    with pytest.raises(RuntimeError, match="already holds a training run .*overwrite"):
        workflow.run()
    assert (output / "model.pth").read_bytes() == first
    task.set_parameters({"overwrite": "True", "seed": "1"})
    workflow.run()
    assert (output / "model.pth").read_bytes() != first


def test_a_folder_holding_a_run_is_refused_unless_resume_or_overwrite(cifar2, tmp_path, capsys):
    output = tmp_path / "run"
    run_training_job(tiny_job(cifar2, output))
    with pytest.raises(ValueError, match=r"already holds a training run \(model.pth, .*checkpoints/last.pt.*\)"
                                         r": continue it with resume \(--resume\), replace it with overwrite"):
        run_training_job(tiny_job(cifar2, output))
    with pytest.raises(ValueError, match="resume and overwrite exclude each other"):
        run_training_job(tiny_job(cifar2, output, resume=True, overwrite=True))
    (output / ".history.json.x1y2.tmp").write_text("left by a killed run")
    replaced = run_training_job(tiny_job(cifar2, output, overwrite=True, epochs=2))
    assert replaced.result.history[-1].epoch == 2 and not (output / ".history.json.x1y2.tmp").exists()


def test_default_output_folders_never_collide(cifar2, tmp_path, monkeypatch):
    monkeypatch.setenv("MNAS_OUTPUT_DIR", str(tmp_path / "runs"))
    first = run_training_job(tiny_job(cifar2, "")).output_folder
    second = run_training_job(tiny_job(cifar2, "")).output_folder
    assert first != second and first.parent == second.parent == tmp_path / "runs"
    assert (first / "model.pth").is_file() and (second / "model.pth").is_file()
    same_second = {unique_run_folder(tmp_path / "runs", "search") for _ in range(20)}
    assert len(same_second) == 20


def test_output_folder_home_is_expanded_and_bad_folders_are_refused_before_any_work(cifar2, tmp_path,
                                                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    with output_folder_lock("~/runs/x", "training") as folder:
        assert folder == (Path.home() / "runs" / "x").resolve()
    assert not (tmp_path / "~").exists()
    (tmp_path / "a_file").write_text("")
    with pytest.raises(OutputFolderError, match="a_file' is a file, not a folder"):
        run_training_job(tiny_job(cifar2, tmp_path / "a_file" / "run"))
    if os.geteuid() != 0:  # root writes anywhere: only a normal user can meet a read-only folder
        (tmp_path / "read_only").mkdir(mode=0o555)
        with pytest.raises(OutputFolderError, match="is not writable"):
            run_training_job(tiny_job(cifar2, tmp_path / "read_only" / "run"))
