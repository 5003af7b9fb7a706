"""The per-layer lookup-table latency predictor and its report (figures computed, never timed here)."""

import math

import numpy as np
import pytest
import torch

from mnas.arch import parse_arch
from mnas.latency import LatencyTable, measure_latency, predictor_report, spearman
from mnas.models import create_model
from mnas.search.space import SearchSpace


def test_spearman_is_the_rank_correlation():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 45]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [9, 7, 5, 1]) == pytest.approx(-1.0)
    # ties take their mean rank: x ranks (0, 1.5, 1.5, 3), y ranks (0, 2, 1, 3)
    expected = np.corrcoef([0, 1.5, 1.5, 3], [0, 2, 1, 3])[0, 1]
    assert spearman([1, 2, 2, 3], [1, 3, 2, 4]) == pytest.approx(expected)
    assert math.isnan(spearman([1], [2]))
    with pytest.raises(ValueError, match="same length"):
        spearman([1, 2], [1, 2, 3])


def test_predictor_report_error_and_rank():
    report = predictor_report([1.0, 2.0, 4.0], [2.0, 2.0, 8.0])
    assert report["n"] == 3
    assert report["mape"] == pytest.approx((0.5 + 0.0 + 0.5) / 3)
    assert report["spearman"] == pytest.approx(spearman([1, 2, 4], [2, 2, 8]))


def test_lookup_table_predicts_children_from_per_layer_entries():
    space = SearchSpace()
    generator = torch.Generator().manual_seed(0)
    table = LatencyTable(threads=1, warmup=1, repeats=3)
    archs = [space.skeleton_arch()] + [space.arch(space.random_actions(generator)) for _ in range(5)]
    predicted, measured = [], []
    for arch in archs:
        predicted.append(table.predict(arch, 32, 10))
        measured.append(measure_latency(create_model(arch, 10, 32), 32, warmup=1, repeats=3).median_ms)
    # one entry per distinct (layer, input resolution) and one pooled classifier per final width
    layers = {str(layer) for arch in archs for block in parse_arch(arch) for layer in block.layers()}
    assert len(layers) <= len(table.entries) <= 2 * len(layers)
    assert any(key.startswith("pool_fc_") and key.endswith("@4") for key in table.entries)
    size = len(table.entries)
    assert table.predict(archs[0], 32, 10) == predicted[0]  # served from the table, nothing re-measured
    assert len(table.entries) == size
    report = predictor_report(predicted, measured)
    assert report["n"] == 6 and report["mape"] >= 0 and -1 <= report["spearman"] <= 1
    assert all(p > 0 for p in predicted)
