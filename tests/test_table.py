"""The benchmark table: sub-space, build plan, packed file checks, and table-mode search (deterministic,
exactly resumable, every strategy through the same loop). The table-mode tests use a complete table of
synthetic figures (the loop is what is tested); `test_build_measures_entries_and_resumes` measures
real entries on CIFAR-10 with the live evaluator."""

import dataclasses
import gzip
import json
import random
import shutil

import pytest

from mnas.search.config import SearchConfig
from mnas.search.loop import Search, benchmark_search
from mnas.search.space import SearchSpace
from mnas.search.table.build import (
    BUILD_FILE,
    ENTRIES_LOG,
    BuildPlan,
    all_decisions,
    build_table,
    free_decisions,
    table_space,
)
from mnas.search.table.executor import TableExecutor
from mnas.search.table.file import load_table, pack_table


def test_sub_space_holds_the_skeleton_and_1296_networks():
    space = table_space()
    archs = {space.arch(d) for d in all_decisions(space)}
    assert len(archs) == space.size == 1296
    assert space.skeleton_arch() in archs
    order = BuildPlan().order(space)
    assert sum(seeds > 1 for _, seeds in order) == round(0.2 * 1296)
    assert [d for d, _ in order] == [d for d, _ in BuildPlan().order(space)]   # a fixed order
    with pytest.raises(ValueError, match="sub-space choices"):
        SearchSpace(choices={"b1_op": ("lstm",)})


@pytest.fixture(scope="module")
def synthetic_table(tmp_path_factory):
    """A complete packed table whose figures are a known function of the decisions, plus seed noise."""
    folder = tmp_path_factory.mktemp("table")
    space = table_space()
    config = SearchConfig()
    (folder / BUILD_FILE).write_text(json.dumps({"data_root": "synthetic", "config": dataclasses.asdict(config),
                                                 "plan": dataclasses.asdict(BuildPlan()),
                                                 "machines": [{"cpu": "synthetic"}]}))
    noise = random.Random(0)
    with open(folder / ENTRIES_LOG, "w") as log:
        for decisions, seeds in BuildPlan().order(space):
            free = free_decisions(space, decisions)
            heavy = sum(v == "mbconv6" for v in free.values()) + 0.5 * sum(v == "mbconv3" for v in free.values())
            wide = sum(v == 5 for v in free.values())
            accuracy = 0.3 + 0.04 * heavy + 0.02 * wide
            ratio = 0.7 + 0.15 * heavy + 0.05 * wide
            log.write(json.dumps({
                "arch": space.arch(decisions), "decisions": free, "params": 1000, "macs": 10_000,
                "accuracy": [accuracy + noise.gauss(0, 0.01) for _ in range(seeds)],
                "latency_ratio": [ratio * (1 + noise.gauss(0, 0.01)) for _ in range(seeds)],
                "latency_ms": [0.2 * ratio] * seeds, "reference_ms": [0.2] * seeds,
                "train_seconds": [5.0] * seeds}) + "\n")
    packed = folder / "table.json.gz"
    header = pack_table(folder, packed)
    assert header["entries"] == 1296
    return packed


def _config(table, **changes):
    return SearchConfig(evaluator="table", table_file=str(table), **changes)


def _log(folder, name="children.jsonl"):
    return [json.loads(line) for line in (folder / name).read_text().splitlines()]


@pytest.mark.parametrize("sampler", ["rl", "random", "evolution"])
def test_table_mode_search_is_deterministic_and_resumes_exactly(tmp_path, synthetic_table, sampler, one_thread):
    config = _config(synthetic_table, budget_children=30, sampler=sampler, seed=3)
    first = Search(None, tmp_path / "a", config).run()
    again = Search(None, tmp_path / "b", config).run()
    assert [r["arch"] for r in first.children] == [r["arch"] for r in again.children]
    assert [r["reward"] for r in first.children] == [r["reward"] for r in again.children]
    assert [r["step"] for r in first.children] == list(range(30)) and first.baselines == []
    assert all(r["sampler"] == sampler for r in first.children)
    # a kill after 13 children (mid-batch: the PPO batch is 4): the log's first 13 lines, resumed
    resumed = tmp_path / "resumed"
    resumed.mkdir()
    shutil.copy(tmp_path / "a" / "search_config.json", resumed)
    lines = (tmp_path / "a" / "children.jsonl").read_text().splitlines(keepends=True)
    (resumed / "children.jsonl").write_text("".join(lines[:13]))
    Search(None, resumed, config).run()
    assert _log(resumed) == _log(tmp_path / "a")


def test_benchmark_search_reads_no_data_and_gives_each_variant_its_folder(tmp_path, synthetic_table, one_thread):
    settings = dict(evaluator="table", table_file=str(synthetic_table), sampler="random", seed=2, budget_children=5)
    search = benchmark_search(tmp_path, population=8, **settings)
    assert search.output_dir == tmp_path / "random-2_population=8" and search.data_root is None
    assert benchmark_search(tmp_path, name="mine", **settings).output_dir == tmp_path / "mine"
    (search.output_dir / "children.jsonl").write_text("not a log\n")
    fresh = benchmark_search(tmp_path, population=8, fresh=True, **settings)  # the damaged log is gone
    assert [c["step"] for c in fresh.run().children] == list(range(5))


def test_a_search_logged_before_the_field_renames_resumes_and_its_old_names_still_compare(tmp_path, synthetic_table,
                                                                                           one_thread):
    """search_config.json of an earlier version names lr, threads, device: the search resumes, and a
    setting changed under an old name is refused under its current one."""
    config = _config(synthetic_table, budget_children=8, sampler="random", seed=1)
    first = Search(None, tmp_path / "a", config).run()
    stored = json.loads((tmp_path / "a" / "search_config.json").read_text())
    for old, new in (("lr", "learning_rate"), ("threads", "latency_threads"), ("device", "train_device")):
        stored["config"][old] = stored["config"].pop(new)
    (tmp_path / "a" / "search_config.json").write_text(json.dumps(stored))
    assert Search(None, tmp_path / "a", config).run().children == first.children
    stored["config"]["threads"] = 4
    (tmp_path / "a" / "search_config.json").write_text(json.dumps(stored))
    with pytest.raises(ValueError, match="other settings \\(latency_threads: 4\\)"):
        Search(None, tmp_path / "a", config)


def test_a_search_that_trains_its_children_refuses_to_start_without_data(tmp_path):
    with pytest.raises(ValueError, match=r"data_root: a dataset folder .*evaluator 'live' trains its children"):
        Search(None, tmp_path / "search", SearchConfig())
    assert not (tmp_path / "search").exists()  # refused before anything is written


def test_evolution_mutates_one_decision_of_a_tournament_winner(tmp_path, synthetic_table):
    config = _config(synthetic_table, budget_children=40, sampler="evolution", population=8, tournament=3)
    children = Search(None, tmp_path, config).run().children
    space = table_space()
    free = [s.label for s in space.steps if len(s.choices) > 1]
    for child in children[8:]:  # after the random initial population
        earlier = [c["decisions"] for c in children[:child["step"]]]
        assert any(sum(c[k] != child["decisions"][k] for k in free) == 1 for c in earlier)


def test_lookup_refuses_an_architecture_outside_the_table(synthetic_table):
    executor = TableExecutor(_config(synthetic_table))
    outside = SearchSpace().arch(SearchSpace().random_actions(__import__("torch").Generator().manual_seed(0)))
    with pytest.raises(ValueError, match="is not in the benchmark table"):
        executor.lookup(outside, 0)
    inside = table_space().skeleton_arch()
    assert executor.lookup(inside, 1) == executor.lookup(inside, 1)   # a seed draws one noisy figure


def test_table_file_checksum_and_columns_are_checked(tmp_path, synthetic_table):
    copy = tmp_path / synthetic_table.name
    shutil.copy(synthetic_table, copy)
    shutil.copy(str(synthetic_table) + ".sha256", str(copy) + ".sha256")
    load_table(copy)
    damaged = bytearray(copy.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    copy.write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match="SHA-256 does not match"):
        load_table(copy)
    table = json.loads(gzip.decompress(synthetic_table.read_bytes()))
    del table["entries"][0]["latency_ratio"]
    copy.write_bytes(gzip.compress(json.dumps(table).encode()))
    import hashlib

    (tmp_path / (copy.name + ".sha256")).write_text(hashlib.sha256(copy.read_bytes()).hexdigest() + "\n")
    with pytest.raises(ValueError, match="lacks columns"):
        load_table(copy)


@pytest.mark.slow
def test_build_measures_entries_and_resumes(tmp_path, cifar10_root, one_thread):
    config = SearchConfig(train_images=60, val_images=30, batch_size=16, latency_rounds=3, latency_burst=2,
                          train_threads=1)
    plan = BuildPlan(seeds=2, repeat_fraction=0.5)
    build_table(cifar10_root, tmp_path, config, plan, limit=2)
    first = _log(tmp_path, ENTRIES_LOG)
    build_table(cifar10_root, tmp_path, config, plan, limit=3)
    entries = _log(tmp_path, ENTRIES_LOG)
    assert entries[:2] == first and len(entries) == 3
    order = [table_space().arch(d) for d, _ in plan.order(table_space())][:3]
    assert [e["arch"] for e in entries] == order               # the fixed shuffled order
    for entry in entries:
        assert len(entry["accuracy"]) == len(entry["latency_ratio"]) in (1, 2)
        assert 0 <= entry["accuracy"][0] <= 1 and entry["latency_ratio"][0] > 0 and entry["macs"] > 0
    build = json.loads((tmp_path / BUILD_FILE).read_text())
    assert len(build["machines"]) == 2 and build["machines"][0]["cpu"]
    with pytest.raises(ValueError, match="other settings"):
        build_table(cifar10_root, tmp_path, dataclasses.replace(config, learning_rate=0.5), plan, limit=4)
    # strategy settings do not touch an entry: the build resumes under them
    build_table(cifar10_root, tmp_path, dataclasses.replace(config, sampler="random", final_top_k=2), plan, limit=3)
    assert _log(tmp_path, ENTRIES_LOG) == entries
