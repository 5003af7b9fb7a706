"""What machine a measurement was made on, recorded beside the result so that it can be read later."""

from __future__ import annotations

import os
import platform
import socket
from functools import lru_cache


@lru_cache(maxsize=None)
def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """The cores this process may run on (its affinity), not the machine's total."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def machine_record(**extra) -> dict:
    """CPU model, usable and total cores, 1-minute load average, host, library versions, plus `extra`
    (e.g. the latency engine and thread count of the measurement)."""
    import torch

    record = {"cpu": cpu_model(), "usable_cores": usable_cores(), "cpu_count": os.cpu_count(),
              "load_average_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
              "host": socket.gethostname(), "python": platform.python_version(), "torch": torch.__version__}
    try:
        import onnxruntime

        record["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        record["onnxruntime"] = None
    return {**record, **extra}
