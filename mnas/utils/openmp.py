"""Keep OpenMP thread teams static, as oneDNN (PyTorch's CPU convolutions) requires.

oneDNN splits work for ``torch.get_num_threads()`` threads and joins them with spinning barriers. When
a host application turns OpenMP *dynamic* adjustment on -- importing ikomia does -- libgomp may start
fewer threads than requested whenever the machine is loaded, and a convolution's backward pass then
spins forever waiting for a thread that never came (measured: a 2-thread training step of mnasnet0_5
hung for minutes under load with ikomia imported, and took seconds without it or with this fix).
The setting is per thread, so entry points call `ensure_static_teams` in the thread that runs torch.
"""

from __future__ import annotations

import ctypes
import functools
import os


@functools.lru_cache(maxsize=None)
def _loaded_libgomp():
    """The GNU OpenMP runtime already in the process (torch links it), or None."""
    try:
        return ctypes.CDLL("libgomp.so.1", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:  # torch built with another OpenMP, or none: nothing to correct
        return None


def ensure_static_teams() -> bool:
    """Switch OpenMP dynamic thread adjustment off for this thread; True when it had been on."""
    libgomp = _loaded_libgomp()
    if libgomp is None or not libgomp.omp_get_dynamic():
        return False
    libgomp.omp_set_dynamic(0)
    return True
