"""The teacher's edition: ``python -m mnas lessons build`` executes lessons with their solutions and
writes HTML with the outputs, leaving the repository as it was."""

from __future__ import annotations

import json
import subprocess

import nbformat
import pytest

from conftest import REPO_ROOT
from mnas.__main__ import main
from mnas.lessons.copies import LESSONS_DIR, lesson_notebooks
from mnas.lessons.teacher import SOLUTIONS_DIR

pytestmark = pytest.mark.slow  # the whole file: see tests/README.md


def _git_status() -> str:
    return subprocess.run(["git", "status", "--porcelain", "--untracked-files=all", "notebooks"], cwd=REPO_ROOT,
                          capture_output=True, text=True, check=True).stdout


def test_every_lesson_has_solutions_and_the_students_notebooks_have_none():
    for notebook in lesson_notebooks():
        assert (SOLUTIONS_DIR / f"{notebook.name[:2]}.py").is_file(), f"no solutions for {notebook.name}"
        text = notebook.read_text(encoding="utf-8")
        assert "Solutions to the exercises" not in text, f"{notebook.name} holds the solutions"


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_build_one_lesson_in_fast_mode_writes_html_with_outputs_and_solutions(tmp_path, capsys):
    before = _git_status()
    output = tmp_path / "teacher"
    assert main(["lessons", "build", "--fast", "--lessons", "1", "--output", str(output)]) == 0
    html = (output / "01_blocks_and_strings.html").read_text(encoding="utf-8")
    assert "Teacher&#39;s edition" in html or "Teacher's edition" in html
    assert "data:image/png;base64" in html, "no figure in the HTML: the outputs were not kept"
    assert "cheaper than the regular conv" in html, "a printed output of lesson 1 is missing"
    assert "Solutions to the exercises" in html
    assert "3,170,208 parameters" in html, "the solution of exercise 2 did not run"
    (record,) = json.loads((output / "times.json").read_text())
    assert record["lesson"] == 1 and record["mode"] == "fast" and record["error"] is None and record["seconds"] > 0
    assert "01_blocks_and_strings.html" in (output / "index.html").read_text()
    assert "1 lessons built" in capsys.readouterr().out
    assert _git_status() == before, "the build changed the repository's notebooks"
    assert not (LESSONS_DIR / "outputs" / "teacher").exists()
    committed = nbformat.read(LESSONS_DIR / "01_blocks_and_strings.ipynb", as_version=4)
    assert all(not cell.get("outputs") for cell in committed.cells if cell.cell_type == "code")


def test_build_refuses_an_unknown_lesson(tmp_path, capsys):
    assert main(["lessons", "build", "--fast", "--lessons", "9", "--output", str(tmp_path)]) == 2
    assert "lessons [9] do not exist" in capsys.readouterr().err


def test_teacher_runs_merge_by_lesson_and_mode_and_leave_out_this_machines_paths(tmp_path):
    from mnas.lessons.teacher import write_teacher_runs

    path = tmp_path / "results" / "teacher.json"

    def record(lesson, mode, seconds):
        return {"lesson": lesson, "mode": mode, "seconds": seconds, "html": f"/tmp/x/{lesson}.html", "claims": {}}

    write_teacher_runs(path, [record(3, "full", 300.0), record(4, "full", 200.0)])
    write_teacher_runs(path, [record(4, "full", 210.0), record(4, "fast", 20.0)])
    kept = json.loads(path.read_text())
    assert [(r["mode"], r["lesson"], r["seconds"]) for r in kept] == [("fast", 4, 20.0), ("full", 3, 300.0),
                                                                       ("full", 4, 210.0)]
    assert all("html" not in r for r in kept)
