"""Robustness of weight files, downloads, checkpoints and the benchmark table file: every bad input is a
clear error naming the file and what was expected, and no failure leaves a broken file under a final
name. Downloads come from a real HTTP server on 127.0.0.1 (an error page, a short read, a dribble);
failing writes are real ones (a file-size limit, a file object that reports a full disk)."""

from __future__ import annotations

import collections
import errno
import gzip
import hashlib
import http.server
import io
import json
import re
import resource
import signal
import threading
import time
from contextlib import contextmanager

import pytest
import torch

from mnas.models import create_model
from mnas.search.table.build import BUILD_FILE, COLUMNS, ENTRIES_LOG
from mnas.search.table.file import load_table, pack_table
from mnas.train.checkpoint import load_checkpoint
from mnas.utils.fileio import atomic_path, atomic_torch_save, atomic_write_text
from mnas.weights.loading import load_classifier_weights
from mnas.weights.model_file import read_checkpoint
from mnas.weights.published import WeightsNotFoundError, imagenet_checkpoint_path, load_imagenet_state_dict
from mnas.weights.state_dict import WeightsMismatchError
from mnas.weights.timm import TIMM_WEIGHTS
from weights_helpers import randomize_, torchvision_mnasnet

timm = pytest.importorskip("timm")

SMALL = "mnasnet_small"
SMALL_FILE = TIMM_WEIGHTS[SMALL]["url"].rsplit("/", 1)[1]
ERROR_PAGE = b"<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>\n"
DRIBBLE_S = 0.2      # the dribbling server sends one byte this often ...
DRIBBLE_FOR_S = 4.0  # ... for at most this long (so that the test ends even without a deadline)


@pytest.fixture(scope="module")
def timm_small_bytes():
    """timm's mnasnet_small state dict as its release file holds it (random weights)."""
    buffer = io.BytesIO()
    torch.save(randomize_(timm.create_model(SMALL, pretrained=False), 1).state_dict(), buffer)
    return buffer.getvalue()


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """A private, empty torch hub cache; downloads allowed (the conftest sets MNAS_OFFLINE=1)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("MNAS_OFFLINE", raising=False)
    monkeypatch.delenv("MNAS_DOWNLOAD_WEIGHTS", raising=False)
    return tmp_path / "torch-home"


class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /<mode>/<name>: the file `files[name]` served as `mode` says (see `_serve`)."""

    files: dict[str, bytes] = {}

    def log_message(self, *args):
        pass

    def _head(self, length: int | None, kind: str = "application/octet-stream"):
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def do_GET(self):
        mode, _, name = self.path.strip("/").partition("/")
        body = self.files.get(name)
        if body is None:
            self.send_error(404)
            return
        try:
            self._serve(mode, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a deadline): nothing more to send

    def _serve(self, mode: str, body: bytes):
        if mode == "html":        # a proxy's error page with status 200
            self._head(len(ERROR_PAGE), "text/html")
            self.wfile.write(ERROR_PAGE)
        elif mode == "ok":
            self._head(len(body))
            self.wfile.write(body)
        elif mode == "short":     # announces the whole file, sends half, closes
            self._head(len(body))
            self.wfile.write(body[:len(body) // 2])
        elif mode == "nolength":  # no Content-Length: only the content can tell it is cut
            self._head(None)
            self.wfile.write(body[:len(body) // 2])
        elif mode == "dribble":   # one byte every DRIBBLE_S: never trips a per-read timeout
            self._head(len(body))
            end = time.monotonic() + DRIBBLE_FOR_S
            for index in range(len(body)):
                if time.monotonic() > end:
                    break
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                time.sleep(DRIBBLE_S)


@pytest.fixture
def weights_server(timm_small_bytes):
    """A release server on 127.0.0.1 serving timm's mnasnet_small file; yields its base url."""
    _Handler.files = {SMALL_FILE: timm_small_bytes}
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _serve_as(monkeypatch, base_url: str, mode: str) -> str:
    url = f"{base_url}{mode}/{SMALL_FILE}"
    monkeypatch.setitem(TIMM_WEIGHTS[SMALL], "url", url)
    return url


def _leftovers(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


# ---------------------------------------------------------------------------------------- 1, 2: downloads


@pytest.mark.parametrize("mode, what", [("html", "HTML"), ("short", "short read"),
                                        ("nolength", "not a readable PyTorch checkpoint")])
def test_a_bad_download_leaves_nothing_under_the_final_name(mode, what, torch_home, weights_server, monkeypatch):
    url = _serve_as(monkeypatch, weights_server, mode)
    path = imagenet_checkpoint_path(SMALL)
    with pytest.raises(WeightsNotFoundError) as caught:
        load_classifier_weights(SMALL)
    message = str(caught.value)
    assert url in message and str(path) in message and what in message, message
    assert _leftovers(path.parent) == []  # neither the final name nor a temporary file
    _serve_as(monkeypatch, weights_server, "ok")  # the next try downloads again, no manual deletion
    assert load_classifier_weights(SMALL).model.num_classes == 1000
    assert _leftovers(path.parent) == [SMALL_FILE]


def test_a_download_whose_hash_differs_is_refused(torch_home, weights_server, monkeypatch):
    _serve_as(monkeypatch, weights_server, "ok")
    monkeypatch.setitem(TIMM_WEIGHTS[SMALL], "sha256", "0" * 64)  # a known hash the file does not have
    path = imagenet_checkpoint_path(SMALL)
    with pytest.raises(WeightsNotFoundError, match="SHA-256 [0-9a-f]{64} does not match the expected 0{64}"):
        load_imagenet_state_dict(SMALL)
    assert _leftovers(path.parent) == []


def test_a_download_that_serves_another_architecture_is_not_kept(torch_home, weights_server, monkeypatch):
    buffer = io.BytesIO()
    torch.save(timm.create_model("semnasnet_100", pretrained=False).state_dict(), buffer)
    _Handler.files[SMALL_FILE] = buffer.getvalue()  # A1's weights under small's name
    url = _serve_as(monkeypatch, weights_server, "ok")
    with pytest.raises(WeightsNotFoundError, match=f"{url}.*different architecture"):
        load_classifier_weights(SMALL)
    assert _leftovers(imagenet_checkpoint_path(SMALL).parent) == []


def test_a_dribbling_server_trips_the_total_deadline(torch_home, weights_server, monkeypatch):
    monkeypatch.setattr("mnas.weights.published.DOWNLOAD_DEADLINE_S", 1.0, raising=False)
    url = _serve_as(monkeypatch, weights_server, "dribble")
    started = time.monotonic()
    with pytest.raises(WeightsNotFoundError) as caught:
        load_classifier_weights(SMALL)
    elapsed = time.monotonic() - started
    assert url in str(caught.value) and "1 s" in str(caught.value), str(caught.value)
    assert elapsed < DRIBBLE_FOR_S - 1, elapsed  # stopped by the deadline, not by the server
    assert _leftovers(imagenet_checkpoint_path(SMALL).parent) == []


# ------------------------------------------------------------------------------------ 3: match by name


def _swap_blocks(state_dict: dict, first: str, second: str) -> collections.OrderedDict:
    """The same tensors with the keys of two consecutive, same-shaped blocks in each other's place."""
    keys = list(state_dict)
    a = [k for k in keys if k.startswith(first)]
    b = [k for k in keys if k.startswith(second)]
    start = keys.index(a[0])
    order = keys[:start] + b + a + [k for k in keys[start:] if not k.startswith((first, second))]
    return collections.OrderedDict((k, state_dict[k]) for k in order)


def _assert_same_weights(model, expected: dict):
    got = model.state_dict()
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_our_state_dict_in_another_order_loads_by_name(tmp_path):
    reference = randomize_(create_model("mnasnet0_5"), 2).state_dict()
    swapped = _swap_blocks(reference, "features.3.1.", "features.3.2.")
    assert list(swapped) != list(reference)
    torch.save(swapped, tmp_path / "swapped.pth")
    _assert_same_weights(load_classifier_weights("mnasnet0_5", tmp_path / "swapped.pth").model, reference)
    torch.save(dict(sorted(reference.items())), tmp_path / "sorted.pth")
    _assert_same_weights(load_classifier_weights("mnasnet0_5", tmp_path / "sorted.pth").model, reference)


@pytest.mark.slow
def test_key_sorted_torchvision_and_timm_checkpoints_load(tmp_path):
    photo = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    for name, reference in [("mnasnet0_5", torchvision_mnasnet("mnasnet0_5", seed=3)),
                            (SMALL, randomize_(timm.create_model(SMALL, pretrained=False), 4))]:
        path = tmp_path / f"{name}-sorted.pth"
        torch.save(dict(sorted(reference.state_dict().items())), path)
        loaded = load_classifier_weights(name, path).model
        with torch.no_grad():
            torch.testing.assert_close(loaded(photo), reference(photo), rtol=0, atol=1e-5)


def test_our_state_dict_missing_a_key_names_it(tmp_path):
    state = create_model("mnasnet0_5").state_dict()
    del state["features.3.1.body.1.1.bias"]
    torch.save(state, tmp_path / "partial.pth")
    with pytest.raises(WeightsMismatchError, match=r"partial\.pth.*lacks 'features\.3\.1\.body\.1\.1\.bias'"):
        load_classifier_weights("mnasnet0_5", tmp_path / "partial.pth")


# ------------------------------------------------------------------------------- 4: bad weight files


class WritesAMarker:
    """Unpickling this runs code: it opens (creates) the marker file. weights_only must refuse it."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _bad_file(kind: str, path, marker):
    if kind == "html":
        path.write_bytes(ERROR_PAGE)
    elif kind == "truncated":
        torch.save(create_model("mnasnet0_5").state_dict(), path)
        path.write_bytes(path.read_bytes()[:len(path.read_bytes()) // 2])
    elif kind == "directory":
        path.mkdir()
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "code":
        torch.save({"state_dict": create_model("mnasnet0_5").state_dict(), "hook": WritesAMarker(marker)}, path)
    return path


BAD_FILES = [("html", "HTML page"), ("truncated", "truncated or damaged"), ("directory", "is a directory"),
             ("empty", "is empty"), ("code", "weights_only loading refuses")]


@pytest.mark.parametrize("kind, what", BAD_FILES)
def test_bad_weight_files_fail_clearly_and_run_nothing(kind, what, tmp_path, torch_home):
    marker = tmp_path / "code-ran"
    path = _bad_file(kind, tmp_path / "weights.pth", marker)
    for load in (lambda: read_checkpoint(path), lambda: load_classifier_weights("mnasnet0_5", path)):
        with pytest.raises(ValueError, match=rf"'{re.escape(str(path))}'.*{what}.*expected a PyTorch checkpoint"):
            load()
    assert not marker.exists()
    hub_file = imagenet_checkpoint_path("mnasnet0_5")
    hub_file.parent.mkdir(parents=True)
    _bad_file(kind, hub_file, marker)
    with pytest.raises(ValueError, match=rf"ImageNet weights file '{re.escape(str(hub_file))}'.*{what}"):
        load_imagenet_state_dict("mnasnet0_5", download=False)
    assert not marker.exists()


@pytest.mark.parametrize("kind, what", BAD_FILES)
def test_bad_training_checkpoints_fail_clearly_and_run_nothing(kind, what, tmp_path):
    marker = tmp_path / "code-ran"
    path = _bad_file(kind, tmp_path / "last.pt", marker)
    with pytest.raises(ValueError, match=rf"resume: checkpoint '{re.escape(str(path))}'.*{what}"):
        load_checkpoint(path)
    assert not marker.exists()


@pytest.mark.parametrize("change", ["extra", "missing"])
def test_timm_checkpoints_with_an_extra_or_a_missing_key_name_it(change, tmp_path):
    state = timm.create_model(SMALL, pretrained=False).state_dict()
    if change == "extra":
        state["blocks.2.0.se.conv_gate.weight"] = torch.zeros(4)
        key = "blocks.2.0.se.conv_gate.weight"
    else:
        key = "blocks.2.0.bn2.bias"
        del state[key]
    path = tmp_path / "timm.pth"
    torch.save(state, path)
    with pytest.raises(WeightsMismatchError, match=rf"timm\.pth.*{re.escape(key)}"):
        load_classifier_weights(SMALL, path)


# -------------------------------------------------------------------------- 5: the benchmark table file


@pytest.fixture
def packed_table(tmp_path):
    """A packed table of two synthetic entries (load_table checks the file, not the space's size)."""
    import dataclasses

    from mnas.search.config import SearchConfig

    build = tmp_path / "build"
    build.mkdir()
    (build / BUILD_FILE).write_text(json.dumps({"data_root": "synthetic", "config": dataclasses.asdict(SearchConfig()),
                                                "plan": {}, "machines": []}))
    entry = {"decisions": {}, "params": 1, "macs": 1, **{c: [0.5] for c in COLUMNS[4:]}}
    (build / ENTRIES_LOG).write_text("".join(json.dumps({**entry, "arch": f"a{i}"}) + "\n" for i in range(2)))
    path = tmp_path / "table.json.gz"
    pack_table(build, path)
    return path


def _rewrite(path, data: bytes):
    """The table's bytes replaced and its .sha256 made to match: only the content is wrong."""
    path.write_bytes(data)
    path.with_name(path.name + ".sha256").write_text(f"{hashlib.sha256(data).hexdigest()}  {path.name}\n")


@pytest.mark.parametrize("damage, what", [
    ("gzip", "not a valid gzip file"), ("cut", "not a valid gzip file"), ("json", "not valid JSON"),
    ("no_header", "no 'header'"), ("entries", "'entries' must be a list"), ("empty_sha", "is empty"),
    ("directory", "is a directory")])
def test_damaged_table_files_are_clear_errors(damage, what, packed_table):
    data = packed_table.read_bytes()
    table = json.loads(gzip.decompress(data))
    if damage == "gzip":
        damaged = bytearray(data)
        damaged[len(damaged) // 2] ^= 0xFF
        _rewrite(packed_table, bytes(damaged))
    elif damage == "cut":
        _rewrite(packed_table, data[:len(data) // 2])
    elif damage == "json":
        _rewrite(packed_table, gzip.compress(b'{"header": {"entries": 2}, "entries": [{"arch": '))
    elif damage == "no_header":
        _rewrite(packed_table, gzip.compress(json.dumps({"entries": table["entries"]}).encode()))
    elif damage == "entries":
        _rewrite(packed_table, gzip.compress(json.dumps({**table, "entries": {"a0": 1}}).encode()))
    elif damage == "empty_sha":
        packed_table.with_name(packed_table.name + ".sha256").write_text("")
    elif damage == "directory":
        packed_table.unlink()
        packed_table.mkdir()
    with pytest.raises(ValueError, match=rf"benchmark table .*{packed_table.name}.*{what}"):
        load_table(packed_table)


def test_a_failed_pack_keeps_the_previous_table(packed_table, tmp_path):
    before = packed_table.read_bytes(), packed_table.with_name(packed_table.name + ".sha256").read_text()
    build = tmp_path / "build"
    with open(build / ENTRIES_LOG, "a") as log:  # a bigger table: incompressible architecture strings
        for i in range(400):
            arch = hashlib.sha256(str(i).encode()).hexdigest() * 8
            log.write(json.dumps({"arch": arch, "decisions": {}, "params": 1, "macs": 1,
                                  **{c: [0.5] for c in COLUMNS[4:]}}) + "\n")
    with file_size_limit(len(before[0]) + 4096), pytest.raises(OSError, match=rf"{packed_table.name}"):
        pack_table(build, packed_table)
    assert (packed_table.read_bytes(), packed_table.with_name(packed_table.name + ".sha256").read_text()) == before
    assert _leftovers(packed_table.parent) == sorted(["build", packed_table.name, packed_table.name + ".sha256"])
    load_table(packed_table)


# ------------------------------------------------------------------------ 6: a failing checkpoint write


@contextmanager
def file_size_limit(size: int):
    """Writes past `size` bytes fail (EFBIG) as on a full disk; SIGXFSZ ignored so the write reports it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def test_a_checkpoint_write_that_fails_midway_keeps_the_previous_one(tmp_path):
    path = tmp_path / "out" / "last.pt"
    atomic_torch_save({"epoch": 1, "weights": torch.ones(10)}, path)
    with file_size_limit(64 * 1024), pytest.raises(OSError) as caught:
        atomic_torch_save({"epoch": 2, "weights": torch.ones(100_000)}, path)
    message = str(caught.value)
    assert str(path) in message and "File too large" in message and "unchanged" in message, message
    assert caught.value.errno == errno.EFBIG
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert _leftovers(path.parent) == ["last.pt"]


class FullDisk(io.RawIOBase):
    """A real file that reports a full disk once `room` bytes are written."""

    def __init__(self, file, room: int):
        self.file, self.room = file, room

    def writable(self):
        return True

    def write(self, data):
        if self.file.tell() + len(data) > self.room:
            self.file.write(bytes(data)[:max(0, self.room - self.file.tell())])
            raise OSError(errno.ENOSPC, "No space left on device")
        return self.file.write(data)


def test_a_full_disk_in_the_atomic_write_keeps_the_previous_file(tmp_path):
    path = tmp_path / "last.pt"
    atomic_write_text(path, "previous checkpoint")
    with pytest.raises(OSError) as caught, atomic_path(path) as tmp, open(tmp, "wb") as raw:
        FullDisk(raw, 10).write(b"x" * 1000)
    message = str(caught.value)
    assert str(path) in message and "No space left on device" in message and "unchanged" in message, message
    assert caught.value.errno == errno.ENOSPC
    assert path.read_text() == "previous checkpoint" and _leftovers(tmp_path) == ["last.pt"]
