"""The README's pipeline at smoke-test size: search_mini -> the fair final comparison through
train_mnasnet and infer_mnasnet -> a verdict with its interval."""

import json
import logging

import pytest

from mnas.arch import parse_arch
from mnas.search.log import ChildLog
from mnas_ikomia.pipeline import PipelineSettings, run_pipeline

pytestmark = pytest.mark.slow  # the whole file: see tests/README.md


@pytest.mark.slow  # over 15 s (the quick loop: pytest -m 'not slow')
def test_pipeline_searches_retrains_finalists_and_b1_widths_and_gives_a_verdict(tmp_path, cifar10_root,
                                                                                 one_thread):
    settings = PipelineSettings.fast()
    lines = []   # the pipeline's own lines and the tasks' progress lines (Ikomia's log), in the order told

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler = Collect()
    logging.getLogger("ikomia.mnas").addHandler(handler)
    try:
        result = run_pipeline(cifar10_root, tmp_path, settings, log=lines.append)
    finally:
        logging.getLogger("ikomia.mnas").removeHandler(handler)
    _check_progress_is_told_in_order(lines, len(result["entries"]), settings)
    children = ChildLog(tmp_path / "search" / "children.jsonl").read()
    entries = result["entries"]
    finalists = [e for e in entries if e["role"] == "finalist"]
    b1 = [e for e in entries if e["role"] == "b1"]
    # the top-k children by proxy reward, and >= 3 B1 widths, all trained the same way
    top = sorted(children, key=lambda r: -r["reward"])
    assert finalists[0]["arch"] == top[0]["arch"]
    assert len(finalists) == min(settings.top_k, len({r["arch"] for r in children}))
    assert len(b1) >= 3
    for entry in entries:
        parse_arch(entry["arch"])
        assert 0 <= entry["test_accuracy"] <= 1 and entry["latency_ratio"] > 0 and entry["params"] > 0
        assert entry["test_interval"][0] <= entry["test_accuracy"] <= entry["test_interval"][1]
        assert (tmp_path / "final" / entry["name"].replace(" ", "_") / "model.pth").is_file()
    assert result["test_images"] == 10 * settings.test_per_class
    verdict = result["verdict"]
    # the winner is the finalist with the best final *validation* accuracy, never chosen on test
    assert verdict["winner"] == max(finalists, key=lambda e: (e["val_accuracy"], e["proxy_reward"]))["name"]
    low, high = verdict["interval"]
    assert low <= verdict["margin"] <= high
    assert verdict["position"] in ("above", "on", "below") and verdict["position"] in verdict["words"]
    table = (tmp_path / "pipeline.md").read_text()
    assert "(winner)" in table and "B1 x" in table and verdict["words"] in table
    assert (tmp_path / "final.png").stat().st_size > 0
    assert json.loads((tmp_path / "final.json").read_text())["verdict"]["winner"] == verdict["winner"]
    # the final training's validation came from train/, and the search never saw test/
    assert not (tmp_path / "data" / "test").exists()


def _check_progress_is_told_in_order(lines, models, settings):
    """Stage lines when each stage starts; one line per child, per epoch and per model, with the time left."""
    def first(prefix):
        return next(n for n, line in enumerate(lines) if line.startswith(prefix))

    def every(prefix):
        return [n for n, line in enumerate(lines) if line.startswith(prefix)]

    search, train, test = first("[pipeline] 1/3"), first("[pipeline] 2/3"), first("[pipeline] 3/3")
    children = every("[search_mini] ")
    assert search == 0 and len(children) == len(settings.baseline_widths) + settings.budget_children
    assert search < children[0] and children[-1] < train
    trainings, tests = every("[final training] "), every("[final test] ")
    assert len(trainings) == len(tests) == models
    epochs = every("[train_mnasnet] ")
    assert len(epochs) == models * settings.epochs
    assert train < epochs[0] < trainings[0] and trainings[-1] < test < tests[0]
    assert f"{models} models" in lines[train] and f"{models} models" in lines[test]
    assert all("elapsed" in lines[n] and " left" in lines[n] for n in children + trainings + tests + epochs)
    assert lines[trainings[-1]].startswith(f"[final training] {models}/{models} ")


def test_the_pipeline_can_search_on_the_surrogate_and_still_retrains_and_tests_for_real(tmp_path, cifar10_root,
                                                                                          one_thread):
    """--search-on surrogate: the children are looked up (the hard rule, T = the skeleton), the final
    comparison trains and tests for real, as in live mode."""
    import dataclasses

    settings = dataclasses.replace(PipelineSettings.fast(), search_on="surrogate")
    result = run_pipeline(cifar10_root, tmp_path, settings, log=lambda line: None)
    config = json.loads((tmp_path / "search" / "search_config.json").read_text())["config"]
    assert (config["evaluator"], config["constraint"], config["budget_children"]) == ("surrogate", "hard", 200)
    children = ChildLog(tmp_path / "search" / "children.jsonl").read()
    assert len(children) == settings.surrogate_children
    assert all("surrogate_accuracy" in child for child in children[:5])
    baselines = ChildLog(tmp_path / "search" / "baselines.jsonl").read()  # B1 as the build measured it
    assert [b["width"] for b in baselines] == list(settings.baseline_widths)
    assert all(b["measured_seeds"] >= 2 and b["accuracy"] > 0.3 for b in baselines)
    finalists = [e for e in result["entries"] if e["role"] == "finalist"]
    assert len(finalists) == settings.top_k and all((tmp_path / "final" / e["name"].replace(" ", "_") /
                                                     "model.pth").is_file() for e in finalists)
    assert result["test_images"] == 10 * settings.test_per_class and result["verdict"]["position"]
    with pytest.raises(ValueError, match="search_on must be one of live, surrogate"):
        PipelineSettings(search_on="table")
