"""Nothing lost, nothing silent: output-folder locks between real processes, a kill at the final rename,
divergence, and one test per bad input of issue 13 (each a clear error naming the input, up front)."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from helpers import TINY_ARCH
from mnas.__main__ import main as mnas_main
from mnas.data.folders import DatasetError, find_dataset_splits
from mnas.data.splits import link_subset
from mnas.utils.locks import LOCK_FILE_NAME, OutputFolderBusy, OutputFolderError, output_folder_lock, unique_run_folder
from mnas.train.checkpoint import CHECKPOINT_NAME, load_checkpoint
from mnas.train.config import TrainConfig
from mnas.train.engine import TrainingDiverged, divergence_limit
from mnas.train.job import TrainJob, run_training_job

REPO_ROOT = Path(__file__).resolve().parent.parent
CLASSES = ["cat", "ship"]
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def cifar2(cifar10_root, tmp_path_factory):
    """Real CIFAR-10 images, 2 classes, 24 train + 8 test each: a training epoch takes a second."""
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 24), "test": ("test", 0, 8)}, CLASSES)


def tiny_job(data, output, **changes) -> TrainJob:
    config = TrainConfig(epochs=changes.pop("epochs", 1), batch_size=16, input_size=32,
                         precise_bn_images=32, lr=changes.pop("lr", 0.05),
                         optimizer=changes.pop("optimizer", "sgd"))
    return TrainJob(data=str(data), model=TINY_ARCH, output_folder=str(output), config=config, **changes)


def train_command(data, output, *extra) -> list[str]:
    return [sys.executable, "-m", "mnas", "train", "--data", str(data), "--arch", TINY_ARCH,
            "--batch-size", "16", "--input-size", "32", "--threads", "1", "--output", str(output), *extra]


def run_python(code: str, *, check_exit=None, timeout=300) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=REPO_ROOT, env=env, timeout=timeout)
    if check_exit is not None:
        assert done.returncode == check_exit, done.stderr[-3000:]
    return done


def wait_for_holder(folder: Path, pid: int, process: subprocess.Popen, timeout: float = 180) -> dict:
    """The holder details a process wrote into the folder's lock file (polled: it starts in seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            info = json.loads((folder / LOCK_FILE_NAME).read_text())
            if info["pid"] == pid:
                return info
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"process {pid} never took the lock of {folder}")


# ------------------------------------------------------------------------------- locks, two processes

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


# --------------------------------------------------------------------------------------------- divergence

def test_a_diverging_training_stops_naming_epoch_and_step_and_writes_no_model(cifar2, tmp_path):
    output = tmp_path / "run"
    # lr 1e6: the loss turns NaN within the first epoch, or the weights / BN statistics overflow
    with pytest.raises(TrainingDiverged, match=r"training diverged: (the loss is (nan|inf) at epoch 1, step "
                                               r"\d+ of 2|(the weights became non-finite|the mean \w+ loss is) .* at "
                                               r"epoch 1, step \d+ of \d+)"
                                               r".*lower the learning rate, e.g. to 100000"):
        run_training_job(tiny_job(cifar2, output, lr=1e6))
    assert not (output / "model.pth").exists()
    assert mnas_main(train_command(cifar2, tmp_path / "cli", "--epochs", "1", "--lr", "inf")[3:]) == 2
    with pytest.raises(ValueError, match="lr must be a finite number, got inf"):
        TrainConfig(lr=math.inf)


def test_a_finite_blow_up_is_divergence_too(cifar2, tmp_path):
    """lr 1e6 on MnasNet-B1 x0.5, one step: every loss stays finite (the validation loss reaches ~1e9, from 0.69), which
    used to be saved as a success; it is ten times a uniform guess's loss, so the training stops."""
    output = tmp_path / "run"
    job = TrainJob(data=str(cifar2), model="mnasnet0_5", output_folder=str(output),
                   config=TrainConfig(epochs=1, batch_size=64, input_size=32, precise_bn_images=32, lr=1e6))
    with pytest.raises(TrainingDiverged, match=r"the mean (training|validation) loss is [0-9.e+]+, above 6.93 "
                                               r"\(10 x ln 2.* at epoch 1, step 1 of 1"):
        run_training_job(job)
    assert not (output / "model.pth").exists() and not (output / "history.json").exists()
    assert divergence_limit(10) == pytest.approx(10 * math.log(10))


def test_non_finite_weights_are_refused_on_save_and_on_load(tmp_path):
    from mnas.models import create_model
    from mnas.weights.loading import load_classifier_weights
    from mnas.weights.model_file import load_model_file, save_model_file

    model = create_model(TINY_ARCH, num_classes=2, input_size=32)
    with torch.no_grad():
        model.classifier.weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite values .* 'classifier.weight'"):
        save_model_file(tmp_path / "m.pth", model, class_names=CLASSES, input_size=32)
    payload = {"format": "mnas-model/1", "arch": model.arch, "num_classes": 2, "dropout": 0.2,
               "class_names": CLASSES, "input_size": 32, "mean": [0.5] * 3, "std": [0.25] * 3,
               "metadata": {}, "state_dict": model.state_dict()}
    torch.save(payload, tmp_path / "nan.pth")  # as a diverged run of an older version wrote it
    for load in (load_model_file, lambda path: load_classifier_weights(weight_file=path)):
        with pytest.raises(ValueError, match="nan.pth' holds non-finite values .*smaller learning rate"):
            load(tmp_path / "nan.pth")


def test_the_onnx_backend_check_never_passes_on_nan(tmp_path, monkeypatch):
    from mnas.models import create_model
    from mnas.runtime import TorchBackend, create_backend

    monkeypatch.setenv("MNAS_CACHE", str(tmp_path / "cache"))
    model = create_model(TINY_ARCH, num_classes=2, input_size=32).eval()
    with torch.no_grad():
        model.classifier.bias.fill_(float("nan"))
    choice = create_backend(model, 32, backend="auto", device="cpu", cache_dir=tmp_path / "onnx")
    assert isinstance(choice.backend, TorchBackend) and "differ from torch's by nan" in choice.reason


# ------------------------------------------------------------------------------ Ikomia parameter keys

@pytest.mark.parametrize("task_name, typo, nearest", [
    ("train_mnasnet", "epoch", "epochs"),
    ("search_mini", "budget_child", "budget_children"),
    ("infer_mnasnet", "model_nam", "model_name"),
])
def test_an_unknown_ikomia_parameter_is_an_error_naming_the_nearest(task_name, typo, nearest,
                                                                    mlflow_file_store):
    from ikomia.dataprocess.workflow import Workflow

    workflow = Workflow()
    task = workflow.add_task(name=task_name, auto_connect=True)
    before = task.get_parameters()
    with pytest.raises(ValueError, match=f"unknown {task_name} parameter.*'{typo}' "
                                         f"\\(did you mean '{nearest}'\\?\\)"):
        workflow.set_parameters({typo: "3"}, task_obj=task)
    assert task.get_parameters() == before


# ------------------------------------------------------------------------------------- one per case

def test_resume_with_other_settings_is_refused_naming_them(cifar2, tmp_path):
    output = tmp_path / "run"
    run_training_job(tiny_job(cifar2, output))
    for changes, named in [({"optimizer": "rmsprop"}, "optimizer 'sgd' -> 'rmsprop'"),
                           ({"lr": 0.1}, "lr 0.05 -> 0.1")]:
        with pytest.raises(ValueError, match=f"trained with other settings \\({named}\\)"):
            run_training_job(tiny_job(cifar2, output, resume=True, epochs=2, **changes))
    resumed = run_training_job(tiny_job(cifar2, output, resume=True, epochs=2))  # epochs may grow
    assert [h.epoch for h in resumed.result.history] == [1, 2]


def test_search_settings_must_be_finite_and_the_cli_says_error_not_traceback(tmp_path, capsys):
    from mnas.search.config import SearchConfig
    from mnas.search.reward import objective

    for field in ("w", "target_latency_ms", "lr"):
        with pytest.raises(ValueError, match=f"search setting {field} must be a finite number"):
            SearchConfig(**{field: -math.inf if field == "w" else math.inf})
    with pytest.raises(ValueError, match="w must be a finite number <= 0"):
        objective("soft", 1.0, -math.inf)
    with pytest.raises(ValueError, match="target latency must be a finite number > 0"):
        objective("soft", math.inf)
    assert mnas_main(["search", "--w=-inf", "--output", str(tmp_path / "s")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("error: search setting w must be a finite number") and "Traceback" not in error
    assert not (tmp_path / "s").exists()


def test_a_damaged_search_log_record_is_a_resume_error(tmp_path):
    from mnas.search.config import SearchConfig
    from mnas.search.samplers import make_sampler, replay
    from mnas.search.space import SearchSpace

    space = SearchSpace()
    sampler = make_sampler("rl", space, SearchConfig())
    with pytest.raises(ValueError, match=r"resume: child record 1 of the log has no step, decisions or "
                                         r"finite reward \(\{\}\): the log is damaged"):
        replay(sampler, space, [{}])


def test_more_proxy_images_than_the_dataset_holds_is_an_error(cifar2):
    from mnas.search.evaluate import load_proxy_data

    with pytest.raises(ValueError, match=r"train_images 100 \+ val_images 100000 need 50 \+ 50000 images per "
                                         r"class, but class 'cat' .* has 24 readable"):
        load_proxy_data(cifar2, 100, 100000)


def test_class_files_drop_a_bom_and_refuse_duplicates(tmp_path):
    from mnas.weights.classes import read_class_file

    (tmp_path / "bom.txt").write_bytes("a\nb\n".encode("utf-8-sig"))
    assert read_class_file(tmp_path / "bom.txt") == ["a", "b"]
    (tmp_path / "twice.txt").write_text("cat\ndog\ncat\n")
    with pytest.raises(ValueError, match="class name 'cat' appears twice"):
        read_class_file(tmp_path / "twice.txt")


def test_a_class_folder_with_a_newline_fails_before_decoding(cifar2, tmp_path):
    bad = tmp_path / "data"
    link_subset(cifar2, bad, {"train": ("train", 0, 2)})
    (bad / "train" / "cat").rename(bad / "train" / "ca\nt")
    with pytest.raises(DatasetError, match=r"class name 'ca\\nt' must be a non-empty single-line string"):
        find_dataset_splits(bad)


@pytest.mark.parametrize("arch, message", [
    ("r1_k٣_s11_e1_i3_o16_conv", r"token 'k٣': expected kN with N odd, e.g. k5 \(ASCII digits 0-9 only\)"),
    ("r1_k3_s11_e1_i3_o１６_conv", r"token 'o１６': expected oN"),
])
def test_arch_strings_take_ascii_digits_only(arch, message):
    from mnas.arch import parse_arch

    with pytest.raises(ValueError, match=message):
        parse_arch(arch)


def test_a_first_block_that_is_not_rgb_is_refused_before_training(cifar2, tmp_path):
    from train_mnasnet.train_mnasnet_process import TrainMnasnetParam

    arch = TINY_ARCH.replace("i3_", "i1_", 1)
    with pytest.raises(ValueError, match="input channels i1 must be the images' 3 channels: expected i3"):
        run_training_job(TrainJob(data=str(cifar2), model=arch, output_folder=str(tmp_path / "run"),
                                  config=TrainConfig(epochs=1, input_size=32)))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match="expected i3"):
        TrainMnasnetParam().set_values({"arch": TINY_ARCH.replace("i3_", "i4_", 1)})


def test_input_size_out_of_range_is_refused_everywhere():
    from infer_mnasnet.infer_mnasnet_process import InferMnasnetParam
    from mnas.preprocess import Preprocessor

    for check in (lambda: TrainConfig(input_size=100000), lambda: Preprocessor(100000),
                  lambda: InferMnasnetParam().set_values({"input_size": "100000"})):
        with pytest.raises(ValueError, match=r"input_size must be .*integer >= 8 and <= 1024.*, got '?100000"):
            check()


def test_a_tampered_model_file_names_the_field(tmp_path):
    from mnas.models import create_model
    from mnas.weights.model_file import load_model_file, save_model_file

    model = create_model(TINY_ARCH, num_classes=2, input_size=32)
    save_model_file(tmp_path / "m.pth", model, class_names=CLASSES, input_size=32)
    payload = torch.load(tmp_path / "m.pth", weights_only=True)
    for change, message in [({"class_names": ["cat"]}, "'class_names' must be a list of 2 class names"),
                            ({"mean": None}, "'mean' must be three finite numbers, got missing")]:
        tampered = {**payload, **change}
        if change.get("mean", 0) is None:
            del tampered["mean"]
        torch.save(tampered, tmp_path / "t.pth")
        with pytest.raises(ValueError, match=f"t.pth' is damaged: its {message}"):
            load_model_file(tmp_path / "t.pth")


def test_infer_device_gpu_is_a_clear_error(cifar2, capsys):
    image = next((cifar2 / "test" / "cat").iterdir())
    assert mnas_main(["infer", str(image), "--device", "gpu"]) == 2
    assert "error: device must be cpu or cuda (or cuda:N), got 'gpu'" in capsys.readouterr().err


@pytest.mark.parametrize("option, message", [("--input-size=0", "--input-size must be an integer >= 8 and <= 1024"),
                                             ("--repeats=0", "--repeats must be an integer >= 3")])
def test_summary_options_out_of_range_are_errors(option, message, capsys):
    assert mnas_main(["summary", option]) == 2
    assert capsys.readouterr().err.startswith(f"error: {message}")


def test_our_own_state_dict_of_another_width_gets_no_torchvision_hint():
    from mnas.models import create_model
    from mnas.weights.state_dict import WeightsMismatchError
    from mnas.weights.convert import load_state_dict_into

    with pytest.raises(WeightsMismatchError) as caught:
        load_state_dict_into(create_model("mnasnet1_0"), create_model("mnasnet0_5").state_dict())
    assert "torchvision MNASNet _version 1" not in str(caught.value)


@pytest.mark.parametrize("kind", ["text", "empty_png", "truncated_jpeg"])
def test_run_on_a_file_that_is_no_readable_image_is_a_clear_error(kind, cifar2, tmp_path):
    from ikomia.dataprocess.workflow import Workflow

    from mnas.models import create_model
    from mnas.weights.model_file import save_model_file

    model_file = save_model_file(tmp_path / "m.pth", create_model(TINY_ARCH, 2, 32), class_names=CLASSES,
                                 input_size=32)
    path = tmp_path / {"text": "notes.jpg", "empty_png": "empty.png", "truncated_jpeg": "cut.jpg"}[kind]
    if kind == "text":
        path.write_text("not an image")
    elif kind == "empty_png":
        path.write_bytes(b"")
    else:
        jpeg = next((cifar2 / "test" / "cat").iterdir()).read_bytes()
        path.write_bytes(jpeg[:len(jpeg) // 3])
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"model_weight_file": str(model_file), "cuda": "False"})
    # Ikomia gives no image (None) for an unreadable file, or an empty one
    with pytest.raises(RuntimeError, match=r"input 0 holds no image: .* not a readable image|input image is "
                                           r"empty \(shape \(0, 0"):
        workflow.run_on(path=str(path))
