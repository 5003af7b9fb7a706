"""Ray benchmark (not a test): what the ray executor buys on this machine, and what it costs latency.

1. Throughput, one run side by side: the same search (same seed and settings) with the local executor
   (one child at a time) and with the ray executor on a local instance (one worker per core, the
   latency actor beside them), in both orders (local-ray-ray-local) so drift in the machine's load
   shows; children per minute of wall time, the Ray instance's start-up reported apart.
2. Paired latency under training load: the same children timed by the search's meter in three passes:
   quiet, with a proxy training running on the other core (what the ray executor does while its actor
   measures), and quiet again; pass-to-pass Spearman and largest change of the ratio.
3. A projection from the measured per-child costs: children per hour on N machines of this kind, and
   the cluster size at which the single latency device becomes the bottleneck.

    python bench/ray_bench.py                        # about 15 min on 2 cores
    python bench/ray_bench.py --children 8 --parts throughput
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch

from mnas.data.cifar10 import cifar10_root
from mnas.latency.meter import PairedMeter, spearman
from mnas.models import create_model
from mnas.search.config import INPUT_SIZE, SearchConfig
from mnas.search.evaluate import load_proxy_data, train_child
from mnas.search.executor import connect_ray
from mnas.search.loop import Search
from mnas.search.space import SearchSpace
from mnas.utils.machine import machine_record, usable_cores

PARTS = ("throughput", "latency_under_load")


def timed_search(data, folder: Path, config: SearchConfig) -> dict:
    started = time.perf_counter()
    result = Search(data, folder, config).run()
    wall = time.perf_counter() - started
    evaluated = len(result.children) + len(result.baselines)
    return {"executor": config.executor, "evaluated": evaluated, "wall_seconds": wall,
            "children_per_minute": 60 * evaluated / wall,
            "mean_train_seconds": statistics.fmean(r["train_seconds"] for r in result.children),
            "mean_child_seconds": statistics.fmean(r["seconds"] for r in result.children)}


def throughput(data, children: int, out: Path) -> dict:
    import ray

    started = time.perf_counter()
    connect_ray("")  # started once, before the clock: the executor then joins it
    startup = time.perf_counter() - started
    runs = []
    for number, executor in enumerate(("local", "ray", "ray", "local")):
        config = SearchConfig(budget_children=children, baseline_widths=(0.5,), executor=executor, seed=number // 2)
        runs.append(timed_search(data, out / f"{number}_{executor}", config))
        print(f"  {executor}: {runs[-1]['children_per_minute']:.2f} children/min "
              f"({runs[-1]['evaluated']} in {runs[-1]['wall_seconds']:.0f} s)", flush=True)
    workers = int(ray.cluster_resources().get("CPU", 1))
    ray.shutdown()
    local = statistics.fmean(r["children_per_minute"] for r in runs if r["executor"] == "local")
    remote = statistics.fmean(r["children_per_minute"] for r in runs if r["executor"] == "ray")
    return {"runs": runs, "ray_startup_seconds": startup, "ray_workers": workers,
            "local_children_per_minute": local, "ray_children_per_minute": remote, "speed_up": remote / local}


def _keep_training(data_root: str, stop_event) -> None:
    """Proxy-train children back to back on one core until told to stop (the load of a ray worker)."""
    torch.set_num_threads(1)
    data = load_proxy_data(data_root, 1600, 800)
    space = SearchSpace()
    generator = torch.Generator().manual_seed(99)
    config = SearchConfig()
    while not stop_event.is_set():
        train_child(space.arch(space.random_actions(generator)), 0, data, config, stop_event.is_set)


def latency_under_load(data_root: str, children: int) -> dict:
    config = SearchConfig()
    space = SearchSpace(width=config.width)
    generator = torch.Generator().manual_seed(5)
    models = [create_model(space.arch(space.random_actions(generator)), 10, INPUT_SIZE) for _ in range(children)]
    meter = PairedMeter(create_model(space.skeleton_arch(), 10, INPUT_SIZE), INPUT_SIZE,
                        engine=config.latency_engine, threads=config.latency_threads, rounds=config.latency_rounds,
                        burst=config.latency_burst)
    passes = {}
    for name in ("quiet", "training_on_the_other_core", "quiet_again"):
        context = multiprocessing.get_context("spawn")
        stop = context.Event()
        worker = None
        if name == "training_on_the_other_core":
            worker = context.Process(target=_keep_training, args=(data_root, stop))
            worker.start()
            time.sleep(15)  # past its data loading: training is running when the timing starts
        try:
            passes[name] = [meter.measure(model).ratio for model in models]
        finally:
            if worker is not None:
                stop.set()
                worker.join(60)
                if worker.is_alive():
                    worker.terminate()
        print(f"  pass {name} done", flush=True)

    def compare(a, b):
        first, second = passes[a], passes[b]
        return {"spearman": spearman(first, second),
                "largest_change": max(abs(y - x) / x for x, y in zip(first, second))}

    return {"children": children, "quiet_vs_loaded": compare("quiet", "training_on_the_other_core"),
            "loaded_vs_quiet_again": compare("training_on_the_other_core", "quiet_again"),
            "quiet_vs_quiet_again": compare("quiet", "quiet_again")}


def projection(result: dict) -> dict:
    """Children per hour on N machines like this one, from the measured per-child costs."""
    run = next(r for r in result["throughput"]["runs"] if r["executor"] == "local")
    train_s = run["mean_train_seconds"]
    latency_s = max(run["mean_child_seconds"] - train_s, 1e-3)  # per child, on the latency device
    cores = usable_cores()
    rows = []
    for machines in (1, 2, 4, 8, 16, 64):
        workers = machines * cores
        rows.append({"machines": machines, "children_per_hour": min(workers * 3600 / train_s, 3600 / latency_s),
                     "bound": "latency device" if workers / train_s > 1 / latency_s else "training"})
    return {"train_seconds_per_child": train_s, "latency_seconds_per_child": latency_s,
            "latency_device_saturates_at_workers": train_s / latency_s, "rows": rows}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--children", type=int, default=12, help="children per search in the throughput part")
    parser.add_argument("--latency-children", type=int, default=20)
    parser.add_argument("--parts", nargs="+", default=list(PARTS), choices=PARTS)
    parser.add_argument("--output", default="runs/bench/ray_bench.json")
    args = parser.parse_args(argv)
    data = cifar10_root()
    machine = machine_record()
    print(f"{machine['cpu']}, {machine['usable_cores']} cores, load {machine['load_average_1min']}")
    result = {"machine": machine}
    with tempfile.TemporaryDirectory() as scratch:
        if "throughput" in args.parts:
            print("throughput (local, ray, ray, local):")
            result["throughput"] = throughput(data, args.children, Path(scratch))
            t = result["throughput"]
            print(f"local {t['local_children_per_minute']:.2f} vs ray ({t['ray_workers']} workers) "
                  f"{t['ray_children_per_minute']:.2f} children/min: {t['speed_up']:.2f}x "
                  f"(Ray start-up {t['ray_startup_seconds']:.0f} s, not counted)")
            result["projection"] = projection(result)
            p = result["projection"]
            print(f"per child: {p['train_seconds_per_child']:.1f} s training (one core), "
                  f"{p['latency_seconds_per_child']:.2f} s on the latency device; the device saturates at "
                  f"{p['latency_device_saturates_at_workers']:.0f} training workers")
            for row in p["rows"]:
                print(f"  {row['machines']:>3} machines: {row['children_per_hour']:,.0f} children/h ({row['bound']})")
    if "latency_under_load" in args.parts:
        print("paired latency with and without training on the other core:")
        result["latency_under_load"] = latency_under_load(str(data), args.latency_children)
        for key, value in result["latency_under_load"].items():
            if isinstance(value, dict):
                print(f"  {key}: Spearman {value['spearman']:.3f}, largest change {value['largest_change']:.1%}")
    result["load_average_after"] = machine_record()["load_average_1min"]
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=1))
    print(f"figures in {output}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    raise SystemExit(main())
