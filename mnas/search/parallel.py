"""Many independent searches at once: one process per core, one torch thread per process.

Table-mode searches (`mnas.search.table.build`) cost milliseconds per child, so comparing strategies means
hundreds of searches over seeds; their controllers are tiny, and processes use the cores better than
torch's threads do. The searches share nothing (each has its own output folder), so a search gives the
same children here as when it runs alone in-process.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Hashable, Mapping, TypeVar

from mnas.search.loop import Search
from mnas.utils.machine import usable_cores

Key = TypeVar("Key", bound=Hashable)


def _one_torch_thread() -> None:
    import torch

    torch.set_num_threads(1)


def _children(search: Search) -> list[dict]:
    return search.run().children


def run_searches(searches: Mapping[Key, Search], workers: int | None = None) -> dict[Key, list[dict]]:
    """{key: Search} -> {key: the search's children}, in the keys' order.

    The searches run in parallel processes (`workers`, by default one per usable core), one torch thread
    each. A search that fails stops the others not yet started and raises a RuntimeError naming its key,
    chained to the worker's error.
    """
    for key, search in searches.items():
        if not isinstance(search, Search):
            raise TypeError(f"searches[{key!r}] must be a mnas.search.Search, got {type(search).__name__}")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers must be a positive integer or None (one per usable core), got {workers!r}")
    if not searches:
        return {}
    workers = min(workers or usable_cores(), len(searches))
    with ProcessPoolExecutor(max_workers=workers, initializer=_one_torch_thread) as pool:
        jobs = {key: pool.submit(_children, search) for key, search in searches.items()}
        results = {}
        for key, job in jobs.items():
            try:
                results[key] = job.result()
            except Exception as error:
                for pending in jobs.values():
                    pending.cancel()
                raise RuntimeError(f"search {key!r} ({searches[key].output_dir}) failed: "
                                   f"{type(error).__name__}: {error}") from error
        return results
