"""Bad inputs, one test per case: each is a clear error naming the input and what was expected, raised
before work is spent where it can be checked up front."""

from __future__ import annotations

import math

import pytest
import torch

from helpers import TINY_ARCH, tiny_job
from mnas.__main__ import main as mnas_main
from mnas.data.folders import DatasetError, find_dataset_splits
from mnas.data.splits import link_subset
from mnas.train.checkpoint import CHECKPOINT_NAME
from mnas.train.config import TrainConfig
from mnas.train.job import TrainJob, run_training_job

CLASSES = ["cat", "ship"]  # the classes of the cifar2 fixture
pytestmark = pytest.mark.usefixtures("one_thread")


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
                           ({"learning_rate": 0.1}, "learning_rate 0.05 -> 0.1")]:
        with pytest.raises(ValueError, match=f"trained with other settings \\({named}\\)"):
            run_training_job(tiny_job(cifar2, output, resume=True, epochs=2, **changes))
    resumed = run_training_job(tiny_job(cifar2, output, resume=True, epochs=2))  # epochs may grow
    assert [h.epoch for h in resumed.result.history] == [1, 2]


def test_a_checkpoint_written_before_the_field_renames_still_resumes(cifar2, tmp_path):
    """Checkpoints keep the configuration under its field names: one that says lr (the name before
    learning_rate) resumes, and a changed value under the old name is still refused."""
    output = tmp_path / "run"
    run_training_job(tiny_job(cifar2, output))
    path = output / "checkpoints" / CHECKPOINT_NAME
    payload = torch.load(path, weights_only=True)
    payload["config"]["lr"] = payload["config"].pop("learning_rate")
    torch.save(payload, path)
    resumed = run_training_job(tiny_job(cifar2, output, resume=True, epochs=2))
    assert [h.epoch for h in resumed.result.history] == [1, 2]


def test_search_settings_must_be_finite_and_the_cli_says_error_not_traceback(tmp_path, capsys):
    from mnas.search.config import SearchConfig
    from mnas.search.reward import objective

    for field in ("w", "target_latency_ms", "learning_rate"):
        with pytest.raises(ValueError, match=f"search setting {field} must be a finite number"):
            SearchConfig(**{field: -math.inf if field == "w" else math.inf})
    with pytest.raises(ValueError, match="w must be a finite number <= 0"):
        objective("soft", 1.0, -math.inf)
    with pytest.raises(ValueError, match="target latency T must be a finite number > 0"):
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
    from mnas.weights.convert import load_state_dict_into
    from mnas.weights.state_dict import WeightsMismatchError

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
