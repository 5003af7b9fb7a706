"""The miniature MnasNet platform-aware search: space, controller, reward, loop (no Ikomia here)."""

from .loop import Search, SearchConfig, SearchResult
from .reward import objective, reward
from .space import SearchSpace

__all__ = ["Search", "SearchConfig", "SearchResult", "SearchSpace", "objective", "reward"]
