"""`mnas.search.parallel.run_searches`: real table-mode searches on the shipped benchmark table, in parallel
processes, give the children the same searches give one by one in-process; a failing search is named."""

import pytest

from mnas.search.config import SearchConfig
from mnas.search.loop import Search
from mnas.search.parallel import run_searches

BUDGET = 24  # six PPO batches: the controller learns (and so could diverge) within it


def _searches(root, prefix: str) -> dict:
    """Three strategies, three seeds: every sampler's path through the loop."""
    return {(sampler, seed): Search(None, root / f"{prefix}-{sampler}-{seed}",
                                    SearchConfig(evaluator="table", sampler=sampler, seed=seed, budget_children=BUDGET))
            for sampler, seed in (("rl", 0), ("random", 1), ("evolution", 2))}


@pytest.mark.slow
def test_parallel_searches_equal_the_same_searches_one_by_one(tmp_path, one_thread):
    parallel = run_searches(_searches(tmp_path, "parallel"))
    alone = {key: search.run().children for key, search in _searches(tmp_path, "alone").items()}
    assert list(parallel) == list(alone) == [("rl", 0), ("random", 1), ("evolution", 2)]  # the keys' order
    for key in alone:
        assert len(parallel[key]) == BUDGET
        assert [r["arch"] for r in parallel[key]] == [r["arch"] for r in alone[key]], key
        assert parallel[key] == alone[key], key  # every figure too: rewards, log-probabilities, entropies
    assert len({tuple(r["arch"] for r in children) for children in parallel.values()}) == 3  # seeds differ


def test_a_failing_search_is_named_and_bad_inputs_are_refused(tmp_path):
    searches = _searches(tmp_path, "ok")
    searches["broken"] = Search(None, tmp_path / "broken",
                                SearchConfig(evaluator="table", table_file=str(tmp_path / "missing.json.gz")))
    with pytest.raises(RuntimeError, match=r"search 'broken' .* failed: FileNotFoundError: benchmark table"):
        run_searches(searches, workers=2)
    with pytest.raises(TypeError, match=r"searches\['x'\] must be a mnas.search.Search, got SearchConfig"):
        run_searches({"x": SearchConfig(evaluator="table")})
    with pytest.raises(ValueError, match="workers must be a positive integer"):
        run_searches(searches, workers=0)
    assert run_searches({}) == {}
