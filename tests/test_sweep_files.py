"""Input files and folders, images, output folders: planted links, spreadsheet formulas, FIFOs, resumes on
another dataset, one kind of run per output folder, EXIF orientation, outputs checked first, unreadable
files while streaming, a pixel limit. Real files and real processes throughout."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from conftest import REPO_ROOT
from helpers import TINY_ARCH
from mnas.__main__ import main as mnas_main
from mnas.data.decode import dataset_fingerprint, load_split
from mnas.data.splits import link_subset, load_folder_dataset
from mnas.data.stream import decoded_batches, list_folder_dataset
from mnas.lessons.copies import LESSONS_DIR, lesson_notebooks
from mnas.preprocess import MAX_IMAGE_PIXELS, apply_orientation, read_image, read_image_file
from mnas.train.config import TrainConfig
from mnas.train.job import DATASET_FILE_NAME, TrainJob, run_training_job
from mnas.utils.locks import OutputFolderError, output_folder_lock

CLASSES = ["cat", "ship"]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
ENV = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def cifar2(cifar10_root, tmp_path_factory):
    """Real CIFAR-10 images, 2 classes, 16 train + 4 test each (links)."""
    return link_subset(cifar10_root, tmp_path_factory.mktemp("cifar2"),
                       {"train": ("train", 0, 16), "test": ("test", 0, 4)}, CLASSES)


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    """A small model whose class names all start like spreadsheet formulas."""
    from mnas.models import create_model
    from mnas.weights.model_file import save_model_file

    model = create_model("mnasnet_small", num_classes=4, input_size=32)
    return save_model_file(tmp_path_factory.mktemp("model") / "small.pt", model,
                           class_names=["=SUM(A1)", "+cmd", "-2+3", "@me"], input_size=32)


def tiny_job(data, output, **changes) -> TrainJob:
    config = TrainConfig(epochs=changes.pop("epochs", 1), batch_size=16, input_size=32, precise_bn_images=16)
    return TrainJob(data=str(data), model=TINY_ARCH, output_folder=str(output), config=config, **changes)


def run(argv, timeout=120, cwd=REPO_ROOT) -> subprocess.CompletedProcess:
    """A real process; the timeout turns a hang into a failure."""
    return subprocess.run(argv, capture_output=True, text=True, cwd=cwd, env=ENV, timeout=timeout)


# ------------------------------------------------------------------------------- 1. lessons copy

def first_lesson() -> str:
    return lesson_notebooks()[0].name


def test_a_dangling_link_named_like_a_lesson_never_makes_a_file_elsewhere(tmp_path, capsys):
    folder, elsewhere = tmp_path / "class", tmp_path / "elsewhere"
    folder.mkdir()
    elsewhere.mkdir()
    (folder / first_lesson()).symlink_to(elsewhere / "made.ipynb")
    assert mnas_main(["lessons", "copy", str(folder)]) == 2
    assert "is a symbolic link" in capsys.readouterr().err
    assert not (elsewhere / "made.ipynb").exists()
    # a dangling README.md link is left alone, nothing made through it
    (folder / first_lesson()).unlink()
    (folder / "README.md").symlink_to(elsewhere / "readme.md")
    assert mnas_main(["lessons", "copy", str(folder)]) == 0
    assert not (elsewhere / "readme.md").exists() and (folder / "README.md").is_symlink()


def test_overwrite_never_writes_through_a_link_to_a_users_file_or_the_repository(tmp_path, capsys):
    folder, user_file = tmp_path / "class", tmp_path / "mine.ipynb"
    folder.mkdir()
    user_file.write_text("my own notebook")
    repository_notebook = LESSONS_DIR / first_lesson()
    before = repository_notebook.read_bytes()
    for target in (user_file, repository_notebook):
        link = folder / first_lesson()
        link.unlink(missing_ok=True)
        link.symlink_to(target)
        assert mnas_main(["lessons", "copy", str(folder), "--overwrite"]) == 2
        assert f"{first_lesson()} -> {target}" in capsys.readouterr().err
    assert user_file.read_text() == "my own notebook"
    assert repository_notebook.read_bytes() == before


def test_overwrite_replaces_an_existing_copy_by_a_rename_not_through_a_hard_link(tmp_path):
    folder, user_file = tmp_path / "class", tmp_path / "mine.ipynb"
    folder.mkdir()
    user_file.write_text("my own notebook")
    os.link(user_file, folder / first_lesson())  # the same file under the lesson's name
    assert mnas_main(["lessons", "copy", str(folder)]) == 2  # kept without --overwrite
    assert mnas_main(["lessons", "copy", str(folder), "--overwrite"]) == 0
    assert user_file.read_text() == "my own notebook"
    assert json.loads((folder / first_lesson()).read_text())["cells"]


def test_system_folders_the_repository_and_a_file_are_refused(tmp_path, capsys):
    names = [p.name for p in lesson_notebooks()] + ["README.md"]
    planted = {Path(root) / name for root in ("/", "/etc") for name in names if not (Path(root) / name).exists()}
    a_file = tmp_path / "notes.txt"
    a_file.write_text("kept")
    try:
        for folder, message in (("/", "is a system folder"), ("/etc", "is a system folder"),
                                ("/usr/share/../../etc", "is a system folder"),
                                (str(REPO_ROOT), "inside the repository"),
                                (str(REPO_ROOT / "notebooks"), "inside the repository"),
                                (str(a_file), "exists and is not a folder")):
            assert mnas_main(["lessons", "copy", folder]) == 2, folder
            assert message in capsys.readouterr().err, folder
    finally:  # as root a regression would write there: leave nothing behind
        for path in planted:
            path.unlink(missing_ok=True)
    assert not [p for p in planted if p.exists()]
    assert a_file.read_text() == "kept"


def test_a_folder_with_spaces_and_quotes_gets_a_cd_line_the_shell_reads_back(tmp_path):
    folder = tmp_path / "class 1 o'clock"
    done = run([sys.executable, "-m", "mnas", "lessons", "copy", str(folder)])
    assert done.returncode == 0, done.stderr
    line = next(line for line in done.stdout.splitlines() if line.startswith("open them with: "))
    words = shlex.split(line.removeprefix("open them with: "))
    assert words[:3] == ["cd", str(folder), "&&"] and words[-1] == "lab"
    assert len(list(folder.glob("*.ipynb"))) == len(lesson_notebooks())
    readme_line = next(s for s in (folder / "README.md").read_text().splitlines() if " && " in s)
    assert shlex.split(readme_line)[1] == str(folder)


# ---------------------------------------------------------------------- 2. CSV formula injection

@pytest.mark.slow
def test_csv_cells_that_start_like_formulas_are_escaped(model_file, cifar2, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    source = next((cifar2 / "test" / "cat").iterdir())
    names = ["=HYPERLINK(\"http:x\").jpg", "+1.jpg", "-2.jpg", "@SUM(1).jpg", "\ttab.jpg", "\rcr.jpg", "plain.jpg"]
    for name in names:
        (folder / name).write_bytes(source.read_bytes())
    monkeypatch.chdir(folder)  # the paths in the results are then the bare names
    assert mnas_main(["infer", "--model-weight-file", str(model_file), "--top-k", "4",
                      "--output", str(tmp_path / "results.csv"), "--", *names]) == 0
    capsys.readouterr()
    with open(tmp_path / "results.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for n, cell in enumerate(row) if n == 0 or n % 2 == 1]  # text cells
    assert cells and not [cell for cell in cells if cell.startswith(FORMULA_STARTS)]
    assert [row[0] for row in rows[1:]] == [("'" + n if n.startswith(FORMULA_STARTS) else n) for n in names]
    assert {row[1] for row in rows[1:]} <= {"'=SUM(A1)", "'+cmd", "'-2+3", "'@me"}
    assert all(float(row[2]) > 0 for row in rows[1:])  # the numbers stay numbers
    # JSON is data, not a spreadsheet: the names exactly as they are
    assert mnas_main(["infer", "--model-weight-file", str(model_file),
                      "--output", str(tmp_path / "results.json"), "--", *names]) == 0
    document = json.loads((tmp_path / "results.json").read_text())
    assert [item["path"] for item in document["images"]] == names


# --------------------------------------------------------------------------------------- 3. FIFOs

def test_infer_on_a_folder_holding_a_fifo_does_not_hang(model_file, cifar2, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(next((cifar2 / "test" / "cat").iterdir()).read_bytes())
    os.mkfifo(folder / "x.jpg")
    done = run([sys.executable, "-m", "mnas", "infer", str(folder), "--model-weight-file", str(model_file)],
               timeout=90)
    assert done.returncode == 1, done.stderr  # 1: one file could not be classified
    assert "x.jpg: error: image" in done.stderr and "FIFO (named pipe), not a regular file" in done.stderr
    assert "a.jpg: " in done.stdout


@pytest.mark.slow
def test_train_with_automatic_input_size_skips_a_fifo_first_file(cifar2, tmp_path):
    data = link_subset(cifar2, tmp_path / "data", {"train": ("train", 0, 8), "test": ("test", 0, 2)})
    os.mkfifo(data / "train" / "cat" / "0.jpg")  # sorts first: the input size is read from the next file
    done = run([sys.executable, "-m", "mnas", "train", "--data", str(data), "--arch", TINY_ARCH, "--epochs", "1",
                "--batch-size", "8", "--train-threads", "1", "--output", str(tmp_path / "run")], timeout=150)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads((tmp_path / "run" / "history.json").read_text())["config"]["input_size"] == 32


# ------------------------------------------------------------------------ 4. resume on another dataset

def test_resume_on_another_dataset_with_the_same_classes_is_refused(cifar10_root, cifar2, tmp_path, one_thread):
    other = link_subset(cifar10_root, tmp_path / "other", {"train": ("train", 100, 16), "test": ("test", 100, 4)},
                        CLASSES)
    output = tmp_path / "run"
    first = run_training_job(tiny_job(cifar2, output))
    recorded = json.loads((output / DATASET_FILE_NAME).read_text())
    assert recorded == dataset_fingerprint(cifar2) and recorded["files"] == {"train": 32, "test": 8}
    with pytest.raises(ValueError, match=rf"resume: the run in .* was trained on '{re.escape(str(cifar2.resolve()))}'"
                                         rf" .* but data is now '{re.escape(str(other.resolve()))}' .*other files"):
        run_training_job(tiny_job(other, output, epochs=2, resume=True))
    # the same files elsewhere (a copy of the dataset) are the same dataset
    moved = link_subset(cifar2, tmp_path / "moved", {"train": ("train", 0, 16), "test": ("test", 0, 4)})
    resumed = run_training_job(tiny_job(moved, output, epochs=2, resume=True))
    assert [h.epoch for h in resumed.result.history] == [1, 2]
    history = json.loads((output / "history.json").read_text())
    assert history["dataset"]["sha256"] == recorded["sha256"] and first.files


# ------------------------------------------------------------------- 5. one kind of run per folder

def test_a_search_is_refused_in_a_training_folder_and_a_training_in_a_search_folder(cifar2, tmp_path, one_thread):
    from mnas.search.config import SearchConfig
    from mnas.search.loop import Search

    training = tmp_path / "training"
    run_training_job(tiny_job(cifar2, training))
    before = {p.name: p.read_bytes() for p in training.iterdir() if p.is_file()}
    with pytest.raises(OutputFolderError, match=r"holds a training run \(checkpoints, classes.txt, evaluation, "
                                                r"history.json, last.pth, model.pth, split.json\): a search run "
                                                r"there would mix"):
        Search(cifar2, training, SearchConfig(budget_children=1))
    assert {p.name: p.read_bytes() for p in training.iterdir() if p.is_file()} == before  # curves.png kept
    run_training_job(tiny_job(cifar2, training, epochs=2, resume=True))  # its own kind goes on

    search = tmp_path / "search"
    Search(cifar2, search, SearchConfig(budget_children=1))  # writes its settings
    with pytest.raises(OutputFolderError, match=r"holds a search run \(search_config.json\): a training run"):
        run_training_job(tiny_job(cifar2, search))
    assert sorted(p.name for p in search.iterdir()) == ["search_config.json"]


def test_lessons_build_refuses_a_folder_of_the_users_own_files_before_running_anything(tmp_path, capsys):
    output = tmp_path / "site"
    output.mkdir()
    (output / "index.html").write_text("my home page")
    (output / "times.json").write_text("[1, 2]")
    assert mnas_main(["lessons", "build", "--fast", "--lessons", "1", "--output", str(output)]) == 2
    assert "holds files that are not a lessons build run's (index.html, times.json)" in capsys.readouterr().err
    assert (output / "index.html").read_text() == "my home page" and (output / "times.json").read_text() == "[1, 2]"
    assert sorted(p.name for p in output.iterdir()) == ["index.html", "times.json"]  # nothing executed


def test_the_lock_names_foreign_files_and_takes_what_its_kind_wrote(tmp_path):
    from mnas.lessons.teacher import INDEX_TITLE, _built_by_a_build

    search, notes, earlier = tmp_path / "search", tmp_path / "notes", tmp_path / "earlier"
    for folder in (search, notes, earlier):
        folder.mkdir()
    (search / "children.jsonl").write_text("")
    (notes / "notes.txt").write_text("mine")
    (notes / ".history.json.ab12cd.tmp").write_text("left by a killed run")  # never counts
    with pytest.raises(OutputFolderError, match=r"holds a search run \(children.jsonl\): a training run"):
        with output_folder_lock(search, "training"):
            pass
    with pytest.raises(OutputFolderError, match=r"holds files that are not a training run's \(notes.txt\)"):
        with output_folder_lock(notes, "training"):
            pass
    # an earlier teacher's edition, told by content: rebuilt in place
    (earlier / "index.html").write_text(f"<!doctype html><meta charset=\"utf-8\">{INDEX_TITLE}\n")
    (earlier / "times.json").write_text(json.dumps([{"lesson": 1, "html": "01_a.html"}]))
    (earlier / "01_a.html").write_text("<p><strong>Teacher&#39;s edition</strong></p>")
    with output_folder_lock(earlier, "lessons build", owns=_built_by_a_build):
        pass
    (earlier / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match=r"not a lessons build run's \(notes.txt\)"):
        with output_folder_lock(earlier, "lessons build", owns=_built_by_a_build):
            pass


# ------------------------------------------------------------------------------ 6. EXIF orientation

def oriented_photo(path: Path, orientation: int) -> np.ndarray:
    """A 24 x 40 picture with a red top-left corner, saved with an EXIF orientation; returns the pixels
    as stored."""
    pixels = np.zeros((24, 40, 3), np.uint8)
    pixels[:12, :16] = (250, 10, 10)
    pixels[12:, 30:] = (10, 10, 250)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(pixels).save(path, exif=exif, **({"quality": 95} if path.suffix == ".jpg" else {}))
    return pixels


def test_every_exif_orientation_is_shown_upright_as_pil_and_cv2_show_it(tmp_path):
    for orientation in range(1, 9):
        path = tmp_path / f"o{orientation}.png"
        stored = oriented_photo(path, orientation)
        upright = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
        assert read_image_file(path).orientation == orientation
        assert np.array_equal(apply_orientation(stored, orientation), upright), orientation
        assert np.array_equal(read_image(path), upright), orientation
        assert np.array_equal(read_image(path), cv2.imread(str(path))[:, :, ::-1]), orientation


def test_training_streaming_and_infer_decode_a_phone_photo_upright_alike(tmp_path):
    root = tmp_path / "data"
    for name in CLASSES:
        (root / "train" / name).mkdir(parents=True)
        for n in range(2):
            oriented_photo(root / "train" / name / f"{n}.jpg", 6)  # turned 90 degrees, as phones store them
    path = root / "train" / "cat" / "0.jpg"
    upright = np.asarray(ImageOps.exif_transpose(Image.open(path)).convert("RGB"))
    assert upright.shape == (40, 24, 3)
    in_memory = load_split(root / "train", use_cache=False)
    assert in_memory.image_size == (40, 24)
    assert np.abs(in_memory.images[0].numpy().astype(int) - upright).max() <= 3  # two JPEG decoders
    inferred = read_image(path)
    assert np.array_equal(inferred, cv2.imread(str(path))[:, :, ::-1])  # what cv2.imread (and Ikomia) shows
    resized, _, _ = load_folder_dataset(root, image_size=32, val_fraction=0.5, use_cache=False)
    streamed, _, _ = list_folder_dataset(root, image_size=32, val_fraction=0.5)
    assert torch.equal(streamed.images[torch.arange(len(streamed))], resized.images)


def test_infer_mnasnet_from_a_path_and_the_cli_classify_a_turned_photo_alike(model_file, tmp_path, capsys):
    from ikomia.dataprocess.workflow import Workflow

    path = tmp_path / "turned.jpg"
    stored = oriented_photo(path, 8)
    workflow = Workflow()
    task = workflow.add_task(name="infer_mnasnet", auto_connect=True)
    task.set_parameters({"model_weight_file": str(model_file), "cuda": "False"})
    workflow.run_on(path=str(path))
    seen_by_ikomia = task.get_input(0).get_image()
    assert seen_by_ikomia.shape[:2] == (40, 24) != stored.shape[:2]  # Ikomia applies the orientation
    assert np.array_equal(seen_by_ikomia, read_image(path))
    ikomia_top = task.get_whole_image_results()[0][0]
    assert mnas_main(["infer", str(path), "--model-weight-file", str(model_file), "--top-k", "1"]) == 0
    assert f"{path}: {ikomia_top} " in capsys.readouterr().out


# --------------------------------------------------------------------- 7. outputs checked, no tracebacks

def test_infer_output_that_is_a_folder_is_refused_before_classifying(model_file, cifar2, tmp_path, capsys):
    (tmp_path / "results.csv").mkdir()
    assert mnas_main(["infer", str(cifar2 / "test"), "--model-weight-file", str(model_file),
                      "--output", str(tmp_path / "results.csv")]) == 2
    captured = capsys.readouterr()
    assert "is a folder: expected the .csv or .json file to write" in captured.err
    assert "[infer]" not in captured.out  # no model loaded, nothing classified
    (tmp_path / "a_file").write_text("")
    assert mnas_main(["infer", str(cifar2 / "test"), "--model-weight-file", str(model_file),
                      "--output", str(tmp_path / "a_file" / "results.json")]) == 2
    assert "is a file, not a folder" in capsys.readouterr().err


def test_plugins_home_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "home").write_text("")
    done = run([sys.executable, "-m", "mnas_ikomia.plugins", "--home", str(tmp_path / "home")], timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("error: plugin directory") and "is a file, not a folder" in done.stderr


@pytest.mark.parametrize("argv, message", [
    (["--top-k", "0"], "argument --top-k: expected an integer >= 1, got 0"),
    (["--repeats", "x"], "argument --repeats: expected an integer >= 1, got 'x'"),
    (["--no-pipeline", "--model-weight-file", "/no/such/model.pth"], "error: --model-weight-file '/no/such/model.pth' "
                                                                    "does not exist"),
    (["--no-pipeline", "--model-name", "resnet"], "error: --model-name 'resnet': expected one of mnasnet0_5"),
    (["--data", "/no/such/dataset"], "error: dataset folder '/no/such/dataset' does not exist"),
])
def test_main_with_bad_arguments_says_error_and_exits_2(argv, message, capsys):
    from mnas_ikomia.main import main

    try:
        code = main(["--no-summary", *argv])
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    assert code == 2
    assert message in capsys.readouterr().err


# ------------------------------------------------------------------- 8. unreadable files while streaming

def test_streaming_skips_and_counts_unreadable_files_like_the_in_memory_path(cifar2, tmp_path, one_thread):
    data = link_subset(cifar2, tmp_path / "data", {"train": ("train", 0, 8), "test": ("test", 0, 3)})
    (data / "train" / "cat" / "0003-empty.jpg").write_bytes(b"")
    (data / "train" / "cat" / "0004-text.jpg").write_text("not an image")
    png = tmp_path / "full.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(png)
    (data / "train" / "ship" / "0005-cut.png").write_bytes(png.read_bytes()[:1500])  # header fine, pixels cut
    memory, _, _ = load_folder_dataset(data, use_cache=False)
    assert sorted(Path(p).name for p in memory.skipped) == ["0003-empty.jpg", "0004-text.jpg", "0005-cut.png"]

    files, val, _ = list_folder_dataset(data, image_size=32)
    assert sorted(Path(p).name for p in files.skipped) == ["0003-empty.jpg", "0004-text.jpg"]  # from headers
    everything = torch.arange(len(files))
    (batch,) = decoded_batches(files.images, [everything], workers=1)  # a worker process decodes it
    assert len(batch) == len(files) and sorted(Path(p).name for p in files.skipped) == sorted(
        Path(p).name for p in memory.skipped)
    cut = files.images.files.index(str(data / "train" / "ship" / "0005-cut.png"))
    assert torch.equal(batch[cut], batch[cut + 1])  # the next ship took its place: its label stays right

    (data / "train" / "cat" / "0006-cut.png").write_bytes(png.read_bytes()[:1500])
    job = tiny_job(data, tmp_path / "run", memory_budget_gb=1e-6)
    outcome = run_training_job(job)
    assert outcome.streamed and outcome.result.history and outcome.skipped_files == 4


# ---------------------------------------------------------------------------------- 9. pixel limit

@pytest.fixture(scope="module")
def huge_jpeg(tmp_path_factory):
    """A real 9000 x 8000 JPEG (72 megapixels, a few hundred kB; 216 MB once decoded as RGB)."""
    path = tmp_path_factory.mktemp("huge") / "huge.jpg"
    Image.new("L", (9000, 8000), 128).save(path, quality=50)
    assert 9000 * 8000 > MAX_IMAGE_PIXELS
    return path


def test_an_image_over_the_pixel_limit_is_refused_by_infer_from_its_header(huge_jpeg, model_file, capsys):
    with pytest.raises(ValueError, match=r"is 9000x8000 pixels \(72 megapixels\): expected at most 67,108,864 "
                                         r"pixels \(MAX_IMAGE_PIXELS\)"):
        read_image(huge_jpeg)
    assert mnas_main(["infer", str(huge_jpeg), "--model-weight-file", str(model_file)]) == 1
    assert "huge.jpg: error: image" in capsys.readouterr().err
    phone = huge_jpeg.with_name("phone.png")  # a 64-megapixel phone photo's size is within the limit
    Image.new("1", (9248, 6936)).save(phone)
    assert read_image_file(phone).width == 9248


def test_an_image_over_the_pixel_limit_is_skipped_and_counted_in_datasets(huge_jpeg, cifar2, tmp_path, caplog):
    data = link_subset(cifar2, tmp_path / "data", {"train": ("train", 0, 4), "val": ("test", 0, 2)})
    os.symlink(huge_jpeg, data / "train" / "cat" / "huge.jpg")
    with caplog.at_level("WARNING"):
        train, _, _ = load_folder_dataset(data, image_size=32, use_cache=False)
        files, _, _ = list_folder_dataset(data, image_size=32)
    assert [Path(p).name for p in train.skipped] == [Path(p).name for p in files.skipped] == ["huge.jpg"]
    assert len(train) == len(files) == 8 and "skipped 1 file(s)" in caplog.text
    assert "9000x8000 pixels (72 megapixels): expected at most 67,108,864 pixels" in caplog.text


def test_16_bit_and_rgba_pngs_decode_correctly_everywhere(tmp_path):
    folder = tmp_path / "data" / "train"
    for name in ("deep", "alpha"):
        (folder / name).mkdir(parents=True)
    deep = np.zeros((10, 12, 4), np.uint16)
    deep[...] = (1000, 20000, 40000, 30000)  # B, G, R, A as cv2 writes them
    cv2.imwrite(str(folder / "deep" / "rgba16.png"), deep)
    cv2.imwrite(str(folder / "deep" / "rgb16.png"), deep[..., :3])
    alpha = np.zeros((10, 12, 4), np.uint8)
    alpha[...] = (10, 100, 200, 0)  # fully transparent: alpha is dropped, not composited
    cv2.imwrite(str(folder / "alpha" / "rgba8.png"), alpha)
    cv2.imwrite(str(folder / "alpha" / "rgba8b.png"), alpha)
    dataset = load_split(folder, use_cache=False)
    eight_bit = [round(v * 255 / 65535) for v in (40000, 20000, 1000)]
    for image in dataset.images[dataset.labels == dataset.class_names.index("deep")]:
        assert (image.reshape(-1, 3) == torch.tensor(eight_bit, dtype=torch.uint8)).all()
    for image in dataset.images[dataset.labels == dataset.class_names.index("alpha")]:
        assert (image.reshape(-1, 3) == torch.tensor([200, 100, 10], dtype=torch.uint8)).all()
    assert read_image(folder / "deep" / "rgba16.png")[0, 0].tolist() == [40000, 20000, 1000, 30000]
    assert read_image(folder / "alpha" / "rgba8.png")[0, 0].tolist() == [200, 100, 10, 0]
