"""Progress lines as a log shows them: count, the unit's note, elapsed time and the time left."""

import fcntl  # the terminal's size (Linux and macOS; the test runs where the suite does)
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
import time

import pytest
from PIL import Image

from conftest import REPO_ROOT
from mnas.utils.progress import Progress, format_duration


def test_progress_lines_tell_elapsed_and_time_left():
    lines = []
    progress = Progress(3, "demo", terminal=False, write=lines.append)
    assert progress.times()[1] is None              # no estimate before the first unit
    progress.message("[demo] starting")
    time.sleep(0.05)
    progress.step("first: ok")
    progress.step()
    assert lines[0] == "[demo] starting"
    assert lines[1].startswith("[demo] 1/3 first: ok; ") and "elapsed, about" in lines[1] and lines[1].endswith(" left")
    assert lines[2].startswith("[demo] 2/3; ")
    elapsed, left = progress.times()
    assert 0 < left < elapsed                       # one unit of three left, at the mean pace of two
    progress.step()
    assert progress.times()[1] == 0


def test_durations_read_in_the_unit_that_suits_them():
    assert [format_duration(s) for s in (4, 89.6, 600, 7200)] == ["4 s", "90 s", "10.0 min", "2.0 h"]


def test_many_quick_units_give_a_line_now_and_then_and_always_the_last():
    lines = []
    progress = Progress(5, "images", terminal=False, write=lines.append, every_s=3600)
    for _ in range(5):
        progress.step()
    assert len(lines) == 1 and lines[0].startswith("[images] 5/5; ")
    every = []
    progress = Progress(3, "images", terminal=False, write=every.append)  # every_s 0: a line per unit
    for _ in range(3):
        progress.step()
    assert [line.split(";")[0] for line in every] == ["[images] 1/3", "[images] 2/3", "[images] 3/3"]


# ------------------------------------------------------------------------ the commands, piped or not

def _search_command(output):
    """A search of 4 children looked up in the shipped benchmark table: seconds, no training."""
    return [sys.executable, "-m", "mnas", "search", "--evaluator", "table", "--budget-children", "4",
            "--no-compare-random", "--output", str(output)]


@pytest.mark.slow
def test_a_search_into_a_pipe_writes_plain_lines_and_into_a_terminal_draws_a_bar(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    piped = subprocess.run(_search_command(tmp_path / "piped"), capture_output=True, text=True, env=env,
                           timeout=600)
    assert piped.returncode == 0, piped.stderr[-3000:]
    assert "\r" not in piped.stderr and "\r" not in piped.stdout
    counts = [line.split(" ")[1] for line in piped.stderr.splitlines() if line.startswith("[search] ")]
    assert counts == ["1/4", "2/4", "3/4", "4/4"]  # one line per child, the total told truly

    leader, follower = pty.openpty()  # stderr a terminal, as in an interactive shell, 100 columns wide
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
    process = subprocess.Popen(_search_command(tmp_path / "terminal"), stdout=subprocess.PIPE,
                               stderr=follower, env=env)
    os.close(follower)
    drawn = bytearray()
    reader = threading.Thread(target=_drain, args=(leader, drawn))
    reader.start()
    assert process.wait(timeout=600) == 0
    reader.join(timeout=60)
    os.close(leader)
    text = drawn.decode(errors="replace")
    assert "\r" in text and "4/4" in text and "[search] " not in text  # tqdm's bar, not the lines
    assert "rl 3: " in text  # each child's line above the bar, on the same stream


def _drain(fd: int, into: bytearray) -> None:
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            return
        if not chunk:
            return
        into.extend(chunk)


def test_infer_into_a_pipe_tells_progress_in_plain_lines(tmp_path, capsys):
    from skimage import data

    from mnas.__main__ import main
    from mnas.models import create_model
    from mnas.weights.model_file import save_model_file

    model = create_model("mnasnet_small", num_classes=2, input_size=32)
    model_file = save_model_file(tmp_path / "m.pth", model, class_names=["a", "b"], input_size=32)
    for n in range(3):
        Image.fromarray(data.astronaut()[n * 50:n * 50 + 64, :64]).save(tmp_path / f"{n}.png")
    assert main(["infer", str(tmp_path), "--model-weight-file", str(model_file), "--backend", "torch",
                 "--output", str(tmp_path / "out.csv")]) == 0
    err = capsys.readouterr().err  # pytest's capture: not a terminal
    assert "\r" not in err and "[infer] 3/3; " in err
