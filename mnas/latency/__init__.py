"""Latency: the measured meter (paired with a reference), the per-layer predictor, rank statistics.

Modules:

- `mnas.latency.meter`: `measure_latency`, `PairedMeter`, `LatencyTable`, `spearman`
- `mnas.latency.cli`: ``mnas summary``: params, MACs and measured latency of every named variant

Public names are re-exported lazily (`mnas.utils.lazy`): ``from mnas.latency import X`` imports only X's module.
"""

from __future__ import annotations

from mnas.utils.lazy import lazy_exports

_EXPORTS = {
    "ENGINES": "mnas.latency.meter", "LATENCY_SESSION": "mnas.latency.meter", "Latency": "mnas.latency.meter",
    "LatencyTable": "mnas.latency.meter", "PairedLatency": "mnas.latency.meter", "PairedMeter": "mnas.latency.meter",
    "forward_call": "mnas.latency.meter", "measure_latency": "mnas.latency.meter",
    "onnx_bytes": "mnas.latency.meter", "predictor_report": "mnas.latency.meter", "spearman": "mnas.latency.meter",
    "time_calls": "mnas.latency.meter", "torch_threads": "mnas.latency.meter",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
