"""Every lesson runs in fast mode from a class's working copy, and the figures its text states hold
(lessons 1, 3, 4 and 5 record them in outputs/lessonNN/claims.json); committed notebooks carry no outputs,
match their .py source and hold the kernel metadata JupyterLab writes (so they open unmodified)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from mnas.lessons.copies import LESSONS_DIR, copy_lessons, kernel_metadata

pytestmark = pytest.mark.slow  # the whole file: see tests/README.md

SOURCES = sorted(LESSONS_DIR.glob("[0-9][0-9]_*.py"))


def _cells(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


def test_there_are_lessons():
    assert SOURCES, f"no lesson sources in {LESSONS_DIR}"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_is_paired_and_stripped(source):
    paired = source.with_suffix(".ipynb")
    assert paired.is_file(), f"{paired.name} missing: run 'jupytext --sync {source.name}'"
    committed = nbformat.read(paired, as_version=4)
    for cell in committed.cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None, f"{paired.name} has outputs"
    text = jupytext.read(source)
    assert _cells(committed) == _cells(text), \
        f"{paired.name} is out of sync with {source.name}: run 'jupytext --sync {source.name}'"
    assert text.metadata.get("kernelspec") == committed.metadata.get("kernelspec"), \
        f"{paired.name} and {source.name} name different kernels: run 'jupytext --sync {source.name}'"


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_has_the_kernel_metadata_jupyterlab_writes(source):
    """JupyterLab marks a notebook modified when its kernel's metadata differ from the stored ones."""
    stored = nbformat.read(source.with_suffix(".ipynb"), as_version=4).metadata
    expected = kernel_metadata()
    assert stored.get("kernelspec") == expected["kernelspec"], \
        f"{source.stem}.ipynb kernelspec {stored.get('kernelspec')} is not {expected['kernelspec']}"
    # The patch version is the project machine's; copies for a class take this interpreter's own.
    language, expected_language = dict(stored.get("language_info", {})), expected["language_info"]
    version = language.pop("version", "")
    minor = ".".join(expected_language.pop("version").split(".")[:2])
    assert language == expected_language and version.startswith(minor + "."), \
        f"{source.stem}.ipynb language_info {stored.get('language_info')} is not ipykernel's for Python {minor}"


def test_lessons_copy_keeps_a_students_work_and_the_repository_clean(tmp_path, capsys):
    from mnas.__main__ import main

    folder = tmp_path / "class"
    assert main(["lessons", "copy", str(folder)]) == 0
    copies = sorted(folder.glob("*.ipynb"))
    assert [copy.stem for copy in copies] == [source.stem for source in SOURCES]
    for copy in copies:
        notebook = nbformat.read(copy, as_version=4)
        assert "jupytext" not in notebook.metadata, f"{copy.name} is still paired: saving it writes a .py"
        assert {key: notebook.metadata[key] for key in ("kernelspec", "language_info")} == kernel_metadata()
        assert _cells(notebook) == _cells(nbformat.read(LESSONS_DIR / copy.name, as_version=4))
    assert "jupyter lab" in (folder / "README.md").read_text()

    work = copies[0].read_bytes().replace(b'"cells": [', b'"cells": [{"cell_type": "markdown", '
                                                         b'"id": "mine", "metadata": {}, "source": "x"}, ')
    copies[0].write_bytes(work)
    assert main(["lessons", "copy", str(folder)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert copies[0].read_bytes() == work, "a second copy replaced a student's work"
    assert main(["lessons", "copy", str(folder), "--overwrite"]) == 0
    assert copies[0].read_bytes() != work

    inside = LESSONS_DIR / "class-copy"
    assert main(["lessons", "copy", str(inside)]) == 2
    assert "inside the repository" in capsys.readouterr().err and not inside.exists()


@pytest.fixture(scope="session")
def class_copy(tmp_path_factory) -> Path:
    """The lessons as a class gets them (``python -m mnas lessons copy``), outside the repository; one
    folder for all six, since lessons 5 and 6 use what lessons 4 and 5 wrote."""
    folder = tmp_path_factory.mktemp("lessons")
    copy_lessons(folder)
    return folder


def _check_lesson1(claims: dict) -> None:
    """The MACs comparisons lesson 1's text states, on its own printed figures."""
    ratios = claims["macs_vs_regular_conv"]
    assert 6.5 < 1 / ratios["depthwise separable"] < 8, "depthwise separable is not 'about 7x cheaper'"
    assert 0.7 < ratios["MBConv e3"] < 0.8, "MBConv e3 is not 'about 0.75x' the regular conv"
    assert 1.4 < ratios["MBConv e6"] < 1.6, "MBConv e6 is not 'about 1.5x' the regular conv"
    assert abs(ratios["MBConv e6 + SE"] / ratios["MBConv e6"] - 1) < 0.01, "SE is not 'almost no MACs'"
    assert claims["block6_param_share_b1"] > 1 / 3, "block 6 does not hold 'over a third' of B1's parameters"
    moved = claims["a1_minus_b1_block_macs"]
    assert moved["6"] < 0 and all(moved[block] > 0 for block in ("2", "4", "5")), \
        "A1 did not move MACs out of block 6 into blocks 2, 4 and 5"
    variants = claims["variants"]
    assert variants["mnasnet1_0"]["params"] == 4_383_312 and 310e6 < variants["mnasnet1_0"]["macs"] < 320e6
    assert 3.85e6 < variants["mnasnet_a1"]["params"] < 3.95e6 and 305e6 < variants["mnasnet_a1"]["macs"] < 320e6


def _check_lesson3(claims: dict) -> None:
    """Learning beats random search on the synthetic reward (the lesson's four panels say so), and
    section 7's words on the surrogate benchmark hold."""
    halves = claims["synthetic_reward"]
    for rule in ("reinforce", "ppo"):
        assert halves[rule]["second_half"] > halves["random"]["second_half"] + 0.1, f"{rule} is not above random"
        assert halves[rule]["second_half"] > halves[rule]["first_half"], f"{rule}'s reward did not rise"
    _check_lesson3_surrogate(claims["surrogate_noise"], claims["surrogate"])


def _check_lesson3_surrogate(noise: dict, searches: dict) -> None:
    """Section 7: the measured architectures lie several seed standard deviations apart, one seed says
    most of an architecture's worth, the surrogate ranks unseen architectures close to their order; the
    controller's sampled reward rises far above random search's, its entropy falls below uniform, and at
    the end of the budget its answer's regret is below random search's (paired interval below zero)."""
    assert noise["random_architectures"] >= 300, "the lesson runs on an incomplete surrogate build"
    assert noise["accuracy_spread_std"] > 2 * noise["accuracy_seed_std"], "the spread is not 'several seed SDs'"
    assert noise["icc_one_seed"] > 0.5, "one seed does not say 'most of what the architecture is worth'"
    assert noise["cross_validated_spearman"] > 0.6, "the surrogate does not rank unseen architectures 'close'"
    reward = searches["reward"]
    assert reward["rl"]["last_window"][0] > reward["rl"]["first_window"][0], "the controller's reward did not rise"
    assert reward["rl"]["last_window"][1] > reward["random"]["last_window"][2], \
        "the controller's sampled reward is not 'far above' random search's"
    entropy = searches["rl_entropy"]
    assert entropy["last_window"] < min(entropy["first_window"], searches["uniform_entropy"]), \
        "the controller's entropy did not fall below uniform"
    _, low, high = searches["rl_minus_other_regret"]["random"][str(searches["budget"])]
    assert high < 0, "at the end of the budget rl's answer is not better than random search's, unlike the lesson says"


def _check_lesson5(claims: dict) -> None:
    """The final comparison's verdict is consistent with its interval."""
    verdict = claims["final_verdict"]
    low, high = verdict["interval"]
    assert low <= verdict["margin"] <= high
    assert verdict["position"] == ("above" if low > 0 else "below" if high < 0 else "on")
    assert claims["final_models"] >= 2 + 3  # finalists (fast: 2) and B1 at three widths


def _check_lesson4(claims: dict) -> None:
    """Section 1's words on the surrogate benchmark: random search draws most children over T, the hard
    rule keeps almost all of the controller's late children under it; the soft w = -0.07 controller
    also ends mostly under T, about where the hard one does or faster, with a wider spread; w = -0.3
    pulls it to networks a few times faster; the soft factor's pull across the measured latencies exceeds
    one seed's relative noise (a few percent)."""
    latency = claims["surrogate_latency"]
    hard, soft, strong = latency["hard"], latency["soft, w = -0.07"], latency["soft, w = -0.3"]
    assert latency["random search"]["under_T"] < 0.5, "random search does not draw most of its children over T"
    assert hard["under_T"] > 0.85, "the hard rule did not keep 'almost all' late children under T"
    assert soft["under_T"] > 0.75, "the soft controller does not end 'mostly under T'"
    assert soft["median"] < 1.15 * hard["median"], "the soft controller is not 'about where the hard one is or faster'"
    assert soft["log2_iqr"] > hard["log2_iqr"], "the soft controller's spread is not wider than the hard one's"
    assert strong["median"] < 0.5 * soft["median"] and strong["median"] < 0.5, "w = -0.3 did not pull 'far below T'"
    assert claims["soft_pull"]["-0.07"] > claims["relative_seed_noise"], "the soft pull is weaker than the seed noise"
    assert claims["relative_seed_noise"] < 0.06, "one seed's noise is not 'a few percent' of the accuracy"


CLAIM_CHECKS = {"01": _check_lesson1, "03": _check_lesson3, "04": _check_lesson4, "05": _check_lesson5}


def test_lesson4_reward_figures_as_stated():
    """Lesson 4's words on the two rewards: soft doubling costs about 5 %, hard 25 % over T keeps 80 %."""
    from mnas.search.reward import objective

    assert 0.045 < 1 - objective("soft", 1.0)(1.0, 2.0) < 0.05
    assert objective("hard", 1.0)(1.0, 1.25) == pytest.approx(0.8)
    assert objective("hard", 1.0)(0.7, 0.5) == pytest.approx(0.7)


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.stem)
def test_notebook_runs_in_fast_mode(source, class_copy, record_property):
    from nbclient import NotebookClient

    notebook = nbformat.read(class_copy / f"{source.stem}.ipynb", as_version=4)
    client = NotebookClient(notebook, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(class_copy)}})
    start = time.perf_counter()
    client.execute()  # raises CellExecutionError, naming the cell, on any error
    elapsed = time.perf_counter() - start
    record_property("seconds", round(elapsed, 1))
    print(f"{source.stem}: {elapsed:.1f} s in fast mode")
    check = CLAIM_CHECKS.get(source.stem[:2])
    if check:  # the figures the lesson's text states, as the lesson recorded them
        check(json.loads((class_copy / "outputs" / f"lesson{source.stem[:2]}" / "claims.json").read_text()))
