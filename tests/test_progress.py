"""Progress lines as a log shows them: count, the unit's note, elapsed time and the time left."""

import time

from mnas.progress import Progress, format_duration


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
