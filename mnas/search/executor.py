"""Where children are evaluated: in this process (``local``) or across a Ray cluster (``ray``).

Both executors take a batch of (architecture, seed) jobs and yield each child's figures *in the
batch's order*, so the log, the sampler's updates and a resume are the same whatever finished first.

``ray``: every child's proxy training is a Ray task with ``train_threads`` CPUs (the dataset goes to
the object store once, not once per child); every child is timed by one actor that holds the resident
reference network, placed on the single node that declares the custom resource ``latency_device``, as
the paper timed every child on the same phones.  The actor reserves no CPU: training goes on on the
other cores while it measures, and the paired ratio (child and reference timed in the same seconds)
absorbs that load (bench/ray_bench.py measures how well).  A child whose worker dies is retried up to
``max_retries`` times and logged once, by the driver.  An empty ``ray_address`` starts a local
instance sized to this machine (loopback only, no dashboard) that declares ``latency_device`` itself;
``auto``, ``ray://host:port`` (a Ray Client server) or ``host:port`` (a head node's GCS) joins an existing
cluster; a malformed address is refused at once, and one where nothing answers as a gRPC server (a Ray
cluster speaks gRPC) within ``RAY_CONNECT_TIMEOUT_S`` is a `ConnectionError` (Ray's own client retries
for minutes). The driver keeps the SIGTERM handler it had (`mnas.__main__`'s unwinds the search, which
then shuts its instance down): Ray's own kills the instance under the connected driver, which aborts.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence

from mnas.search.config import SearchConfig
from mnas.search.evaluate import ChildTimer, ProxyData, train_child
from mnas.search.interfaces import Executor, Job
from mnas.utils.machine import usable_cores

LATENCY_RESOURCE = "latency_device"
RAY_CONNECT_TIMEOUT_S = 30.0  # a cluster's address must complete a gRPC handshake within this
_HOST_PORT = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})")
TrainFn = Callable[..., "dict | None"]  # train_child's signature


class LocalExecutor(Executor):
    """One child at a time in this process: train, then time (no training of ours runs meanwhile)."""

    name = "local"
    workers = 1

    def __init__(self, data: ProxyData, config: SearchConfig, reference_arch: str,
                 table_entries: dict | None = None, train_fn: TrainFn = train_child):
        self.data, self.config, self.train_fn = data, config, train_fn
        self.timer = ChildTimer(config, reference_arch, data.train.num_classes, table_entries)

    def target(self, target_latency_ms: float) -> dict:
        return self.timer.target(target_latency_ms)

    def table_entries(self) -> dict | None:
        return self.timer.table_entries()

    def evaluate(self, jobs: Sequence[Job], should_stop: Callable[[], bool]) -> Iterator[dict | None]:
        """Each job's figures in order; None (and nothing after it) when stopped mid-training."""
        for arch, seed in jobs:
            started = time.perf_counter()
            trained = self.train_fn(arch, seed, self.data, self.config, should_stop)
            if trained is None:
                yield None
                return
            yield {**trained, **self.timer.time(arch), "seconds": time.perf_counter() - started}

    def close(self) -> None:
        pass


def _import_ray():
    try:
        import ray
    except ImportError:
        raise ValueError("executor 'ray' needs the ray package: pip install 'ray==2.60.0' "
                         "(bash scripts/setup.sh installs it)") from None
    return ray


class _RemoteTimer:
    """The latency device: a `ChildTimer` living in one Ray actor."""

    def __init__(self, config: SearchConfig, reference_arch: str, num_classes: int, table_entries):
        self.timer = ChildTimer(config, reference_arch, num_classes, table_entries)

    def target(self, target_latency_ms: float) -> dict:
        return self.timer.target(target_latency_ms)

    def time(self, arch: str) -> dict:
        started = time.perf_counter()
        return {**self.timer.time(arch), "latency_seconds": time.perf_counter() - started}

    def table_entries(self):
        return self.timer.table_entries()


def _train_remote(train_fn: TrainFn, arch: str, seed: int, data: ProxyData, config: SearchConfig):
    return train_fn(arch, seed, data, config, None)


def parse_ray_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a ``ray://host:port`` or ``host:port`` address; None for empty and ``auto``.
    `ValueError` naming the setting and the forms expected for anything else."""
    if address in ("", "auto"):
        return None
    match = _HOST_PORT.fullmatch(address.removeprefix("ray://"))
    if match is None or not 1 <= int(match["port"]) <= 65535:
        raise ValueError(f"ray_address {address!r} is not a Ray address: expected empty (a local instance), "
                         "auto (the cluster 'ray start' started on this machine), ray://<host>:<port> (a Ray "
                         "Client server, port 10001 by default) or <host>:<port> (a head node, port 6379 by "
                         "default), with a port from 1 to 65535")
    return match["host"], int(match["port"])


def _unreachable(address: str, why: str) -> ConnectionError:
    return ConnectionError(f"ray_address {address!r}: cannot reach a Ray cluster there ({why}); start one with "
                           "'ray start --head' and give its address, or leave ray_address empty to start a "
                           "local instance")


def _grpc_handshake(host: str, port: int, timeout_s: float) -> str | None:
    """None when a gRPC server answers at host:port within `timeout_s`, else why not. A Ray GCS and a Ray
    Client server speak gRPC; a plain TCP server never finishes the handshake and an HTTP one fails it,
    where ray.init would retry for minutes (a silent server: for ever)."""
    import grpc

    states: queue.Queue = queue.Queue()
    channel = grpc.insecure_channel(f"{host}:{port}", options=[("grpc.enable_http_proxy", 0)])  # no proxy hop
    channel.subscribe(states.put, try_to_connect=True)
    deadline = time.monotonic() + timeout_s
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                state = states.get(timeout=left)
            except queue.Empty:
                break
            if state is grpc.ChannelConnectivity.READY:
                return None
            if state is grpc.ChannelConnectivity.TRANSIENT_FAILURE:
                return "what listens there is no Ray cluster: it does not answer gRPC as one does"
        return f"what listens there did not answer as a Ray cluster within {timeout_s:g} s"
    finally:
        channel.close()


def _check_reachable(address: str) -> None:
    """Fail fast on an address where nothing listens, or something that is no Ray cluster."""
    host_port = parse_ray_address(address)
    if host_port is None:
        return  # 'auto' finds the local cluster's address itself, and fails fast when there is none
    host, port = host_port[0].strip("[]"), host_port[1]
    try:
        with socket.create_connection((host, port), timeout=min(5.0, RAY_CONNECT_TIMEOUT_S)):
            pass
    except OSError as error:
        raise _unreachable(address, str(error)) from None
    why = _grpc_handshake(host, port, RAY_CONNECT_TIMEOUT_S)
    if why:
        raise _unreachable(address, why)


@contextmanager
def _keep_sigterm_handler():
    """ray.init replaces the driver's SIGTERM handler with one that kills the instance's processes under
    the connected driver (which then aborts, status 134); a handler the program chose is put back."""
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if on_main else None
    chosen = callable(previous) and not getattr(previous, "__module__", "").startswith("ray.")
    try:
        yield
    finally:
        if chosen:  # else (default, ignored, an earlier ray.init's): Ray's handler beats none
            signal.signal(signal.SIGTERM, previous)


def _loopback_only(ray) -> None:
    """Keep a local instance on 127.0.0.1: on Linux, Ray replaces a loopback node address by the
    machine's network address unless its single-machine mode (its default on macOS and Windows) is on;
    a local instance has no other node to talk to."""
    from ray._private import ray_constants

    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"  # for the processes the instance starts
    ray_constants.ENABLE_RAY_CLUSTER = False                # read at import: this process too


def connect_ray(address: str) -> bool:
    """Join the cluster at `address`, or start a local instance when it is empty; True when this call
    started (and so owns) the instance. Errors name the address and what to do."""
    ray = _import_ray()
    if ray.is_initialized():
        return False
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # never report anything over the network
    if not address:
        _loopback_only(ray)
        with _keep_sigterm_handler():
            ray.init(num_cpus=usable_cores(), resources={LATENCY_RESOURCE: 1}, include_dashboard=False,
                     log_to_driver=False, _node_ip_address="127.0.0.1")
        return True
    _check_reachable(address)
    try:
        with _keep_sigterm_handler():
            ray.init(address=address, log_to_driver=False)
    except Exception as error:  # ray raises ConnectionError, RuntimeError or grpc errors here
        raise _unreachable(address, str(error)) from error
    return False


class RayExecutor(Executor):
    """Children trained as Ray tasks in parallel, timed by one actor on the latency device."""

    name = "ray"

    def __init__(self, data: ProxyData, config: SearchConfig, reference_arch: str,
                 table_entries: dict | None = None, train_fn: TrainFn = train_child):
        self.ray = _import_ray()
        self.config, self.train_fn = config, train_fn
        self._owns_instance = connect_ray(config.ray_address)
        try:
            resources = self.ray.cluster_resources()
            if resources.get(LATENCY_RESOURCE, 0) < 1:
                raise ValueError(f"no node of the Ray cluster at {config.ray_address or 'this machine'!r} "
                                 f"declares the {LATENCY_RESOURCE!r} resource: start exactly one node with "
                                 f"ray start ... --resources '{{\"{LATENCY_RESOURCE}\": 1}}'")
            self.train_cpus = config.train_threads or 1
            self.workers = max(1, int(resources.get("CPU", 1)) // self.train_cpus)
            self.data = self.ray.put(data)  # once, not once per child
            self.timer = self.ray.remote(_RemoteTimer).options(
                resources={LATENCY_RESOURCE: 1}, num_cpus=0, max_restarts=config.max_retries,
                max_task_retries=config.max_retries,
            ).remote(config, reference_arch, data.train.num_classes, table_entries)
            self.trainer = self.ray.remote(_train_remote).options(num_cpus=self.train_cpus,
                                                                  max_retries=config.max_retries)
        except BaseException:
            self.close()
            raise

    def target(self, target_latency_ms: float) -> dict:
        return self.ray.get(self.timer.target.remote(target_latency_ms))

    def table_entries(self) -> dict | None:
        return self.ray.get(self.timer.table_entries.remote())

    def evaluate(self, jobs: Sequence[Job], should_stop: Callable[[], bool]) -> Iterator[dict | None]:
        """Every job's training submitted at once (Ray runs as many as the CPUs allow); each child is
        timed as it finishes; figures yielded in the jobs' order. Stopped: the rest cancelled, None."""
        ray = self.ray
        started = time.perf_counter()
        pending = [self.trainer.remote(self.train_fn, arch, seed, self.data, self.config) for arch, seed in jobs]
        timing: dict[int, object] = {}
        for index, (arch, _) in enumerate(jobs):
            while index not in timing:
                ready, _ = ray.wait([p for i, p in enumerate(pending) if i >= index and i not in timing],
                                    num_returns=1, timeout=0.5)
                for ref in ready:  # time each child as soon as its training is done, in any order
                    finished = pending.index(ref)
                    timing[finished] = self.timer.time.remote(jobs[finished][0])
                if index not in timing and should_stop():
                    for ref in pending[index:]:
                        ray.cancel(ref, force=True)
                    yield None
                    return
            trained = ray.get(pending[index])
            timed = ray.get(timing[index])
            yield {**trained, **timed, "seconds": trained["train_seconds"] + timed.pop("latency_seconds"),
                   "batch_wall_seconds": time.perf_counter() - started}

    def close(self) -> None:
        if self._owns_instance and self.ray.is_initialized():
            self.ray.shutdown()


def make_executor(data: ProxyData, config: SearchConfig, reference_arch: str, table_entries: dict | None = None,
                  train_fn: TrainFn = train_child):
    cls = {"local": LocalExecutor, "ray": RayExecutor}[config.executor]
    return cls(data, config, reference_arch, table_entries, train_fn)
