"""The README's pipeline at smoke-test size: search_mini -> train_mnasnet -> infer_mnasnet, one table."""

import json

from mnas.arch import parse_arch
from mnas_ikomia.pipeline import PipelineSettings, run_pipeline


def test_pipeline_searches_trains_and_classifies(tmp_path, cifar10_root, one_thread):
    result = run_pipeline(cifar10_root, tmp_path, PipelineSettings.fast(), log=lambda *_: None)
    found, baseline = result["rows"]
    summary = json.loads((tmp_path / "search" / "summary.json").read_text())
    assert found["arch"] == summary["best"]["arch"]
    parse_arch(found["arch"])
    for row in (found, baseline):
        assert 0 <= row["test_accuracy"] <= 1 and row["latency_ms"] > 0 and row["params"] > 0
    table = (tmp_path / "pipeline.md").read_text()
    assert "found by search_mini" in table and "MnasNet-B1 skeleton" in table
    assert (tmp_path / "train_best" / "model.pth").is_file()
    # the final training's validation came from train/, and the search never saw test/
    assert not (tmp_path / "data" / "test").exists()
