"""The per-layer lookup-table latency predictor and its report (figures computed, never timed here)."""

import math
import statistics

import numpy as np
import pytest
import torch

from mnas.arch import parse_arch
from mnas.latency.meter import LatencyTable, PairedLatency, PairedMeter, measure_latency, predictor_report, spearman
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


@pytest.mark.parametrize("engine", ["torch", "onnxruntime"])
def test_paired_meter_gives_one_for_the_reference_and_orders_a_costlier_model(engine, one_thread):
    space = SearchSpace(width=0.5)
    reference = create_model(space.skeleton_arch(), 10, 32)
    meter = PairedMeter(reference, 32, engine=engine, rounds=5, burst=3, warmup=2)
    itself = meter.measure(reference)
    assert len(itself.ratios) == len(itself.child_ms) == len(itself.reference_ms) == 5
    assert itself.ratio == pytest.approx(1.0, abs=0.25)  # the same network: equal within noise
    # B1 at twice the width costs ~3x the MACs of the reference, 0.35x fewer: both ordered correctly
    wide = meter.measure(create_model(space.skeleton_arch(1.0), 10, 32))
    narrow = meter.measure(create_model(space.skeleton_arch(0.35), 10, 32))
    assert narrow.ratio < itself.ratio * 1.1 < wide.ratio
    assert wide.ratio > 1.2
    for latency in (itself, wide, narrow):
        assert latency.median_ms > 0 and latency.reference_median_ms > 0 and latency.spread >= 0
        assert latency.ratios == tuple(c / r for c, r in zip(latency.child_ms, latency.reference_ms))


def test_paired_ratio_drops_rounds_disturbed_throughout():
    # 5 quiet rounds (child 2.0 ms, reference 1.0 ms) and 5 where another process slowed both, the
    # larger network more (ratio ~2.6): the ratio is the quiet rounds', where the plain median is not
    quiet = [(2.0 + 0.01 * i, 1.0 + 0.005 * i) for i in range(5)]
    disturbed = [(3.9, 1.5), (4.2, 1.6), (3.6, 1.4), (4.4, 1.7), (4.0, 1.55)]
    rounds = quiet[:2] + disturbed[:2] + quiet[2:4] + disturbed[2:] + quiet[4:]
    latency = PairedLatency(tuple(c / r for c, r in rounds), tuple(c for c, _ in rounds),
                            tuple(r for _, r in rounds), "torch", 1)
    assert latency.ratio == pytest.approx(2.0, abs=0.02)
    assert statistics.median(latency.ratios) > 2.1
    single = PairedLatency((1.5,), (3.0,), (2.0,), "torch", 1)
    assert single.ratio == 1.5


def test_paired_meter_refuses_bad_settings():
    reference = create_model(SearchSpace().skeleton_arch(), 10, 32)
    with pytest.raises(ValueError, match="engine"):
        PairedMeter(reference, 32, engine="tflite")
    with pytest.raises(ValueError, match="rounds and burst"):
        PairedMeter(reference, 32, rounds=0)
