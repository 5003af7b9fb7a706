"""The miniature MnasNet platform-aware search: space, controller, reward, loop (no Ikomia here)."""

from mnas.search.config import SearchConfig
from mnas.search.loop import Search, SearchResult, benchmark_search
from mnas.search.reward import objective, reward
from mnas.search.space import SearchSpace

__all__ = ["Search", "SearchConfig", "SearchResult", "SearchSpace", "objective", "reward", "benchmark_search"]
