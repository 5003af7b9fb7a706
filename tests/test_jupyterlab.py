"""The lessons in a real JupyterLab, as a class gets them, driven by headless Chromium.

``python -m mnas lessons copy`` makes the working copy; JupyterLab runs from this environment on
127.0.0.1 (free port, no token, a temporary HOME); Debian's ``chromium`` is driven through the DevTools
protocol. Each lesson is opened as a teacher would (double-click in the file browser) and must show no
dialog, must not be marked modified once its kernel is up, must leave its file untouched, and its
first code cell must run in the kernel. Screenshots go to ``outputs/jupyterlab/`` (git-ignored).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from mnas.lessons.copies import lesson_notebooks

REPO = Path(__file__).resolve().parent.parent
SCREENSHOTS = REPO / "outputs" / "jupyterlab"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
LESSONS = [path.name for path in lesson_notebooks()]

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed: 'apt-get install -y chromium' as root "
                             "(.ci/run does it) runs this test")]


def _wait_for(condition, what: str, timeout: float, process: subprocess.Popen | None = None):
    """Poll ``condition()`` until it returns a true value; fail naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{what}: the process {process.args[0]} exited with {process.returncode}")
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.25)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _pids_naming(folder: Path) -> list[int]:
    """Processes whose command line names ``folder``: this test's server, kernels and browser."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and str(folder).encode() in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
        except OSError:  # the process ended while we looked
            pass
    return pids


def _stop(processes: list[subprocess.Popen], folder: Path) -> None:
    """Stop each process group, then anything still naming ``folder`` (kernels, crash handlers)."""
    for process in processes:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    for pid in _pids_naming(folder):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _wait_for(lambda: not _pids_naming(folder), f"every process started under {folder} to end", 10)


class DevTools:
    """The least of the Chrome DevTools protocol: commands on one page, answers matched by id."""

    def __init__(self, websocket_url: str):
        import websocket

        self.socket = websocket.create_connection(websocket_url, timeout=60, suppress_origin=True)
        self.last_id = 0

    def call(self, method: str, **params):
        self.last_id += 1
        self.socket.send(json.dumps({"id": self.last_id, "method": method, "params": params}))
        while True:  # events arrive in between; only the answer to this command matters
            message = json.loads(self.socket.recv())
            if message.get("id") == self.last_id:
                if "error" in message:
                    raise RuntimeError(f"DevTools {method} failed: {message['error']}")
                return message["result"]

    def evaluate(self, expression: str):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}\n{expression}")
        return result["result"].get("value")

    def click(self, selector: str, clicks: int = 1) -> None:
        """Mouse clicks at the centre of the first element matching ``selector`` (scrolled into view)."""
        box = self.evaluate(f"""(() => {{
            const element = document.querySelector({json.dumps(selector)});
            if (!element) return null;
            element.scrollIntoView({{block: 'center'}});
            const r = element.getBoundingClientRect();
            return [r.x + r.width / 2, r.y + r.height / 2];
        }})()""")
        assert box, f"nothing on the page matches {selector}"
        for count in range(1, clicks + 1):
            for kind in ("mousePressed", "mouseReleased"):
                self.call("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left",
                          clickCount=count)

    def screenshot(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"]))

    def close(self) -> None:
        self.socket.close()


def _start_jupyterlab(folder: Path, home: Path, port: int, log: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
               "--ServerApp.password=", f"--ServerApp.root_dir={folder}"]
    if os.geteuid() == 0:
        command.append("--allow-root")
    return subprocess.Popen(command, env=_isolated_env(home), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _start_chromium(profile: Path, home: Path, log: Path) -> subprocess.Popen:
    command = [CHROMIUM, "--headless=new", "--disable-gpu", "--remote-debugging-port=0",
               f"--user-data-dir={profile}", "--window-size=1400,1000", "--no-first-run",
               "--disable-crash-reporter", "--disable-breakpad", "about:blank"]
    if os.geteuid() == 0:
        command.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
    return subprocess.Popen(command, env=_isolated_env(home), stdout=log.open("w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def _isolated_env(home: Path) -> dict[str, str]:
    """This environment with a temporary HOME and none of the user's Jupyter or XDG folders."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("JUPYTER", "XDG_", "IPYTHON"))}
    env["HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a fresh lesson copy, loaded in headless Chromium: (DevTools page, lesson folder)."""
    root = tmp_path_factory.mktemp("jupyterlab")
    home, lessons = root / "home", root / "lessons"
    home.mkdir()
    subprocess.run([sys.executable, "-m", "mnas", "lessons", "copy", str(lessons)], check=True,
                   capture_output=True, text=True)
    port = _free_port()
    processes, page = [], None
    try:
        server = _start_jupyterlab(lessons, home, port, root / "jupyterlab.log")
        processes.append(server)
        browser = _start_chromium(root / "chromium", home, root / "chromium.log")
        processes.append(browser)
        _wait_for(lambda: _http_ok(f"http://127.0.0.1:{port}/api/status"), "JupyterLab to answer", 120,
                  server)
        active_port = root / "chromium" / "DevToolsActivePort"
        _wait_for(active_port.is_file, "Chromium's DevTools port", 60, browser)
        devtools = f"http://127.0.0.1:{active_port.read_text().split()[0]}"
        targets = _wait_for(lambda: [t for t in json.load(urllib.request.urlopen(f"{devtools}/json/list"))
                                     if t["type"] == "page"], "Chromium's page", 30, browser)
        page = DevTools(targets[0]["webSocketDebuggerUrl"])
        page.call("Page.navigate", url=f"http://127.0.0.1:{port}/lab")
        # the launcher opens once JupyterLab has restored its layout; a double-click before that is lost
        _wait_for(lambda: page.evaluate("!!document.querySelector('.lm-TabBar-tab[data-id^=launcher]') &&"
                                        " document.querySelectorAll('.jp-DirListing-item').length")
                  >= len(LESSONS), "JupyterLab's launcher and its file browser listing the lessons", 180,
                  server)
        yield page, lessons
    finally:
        if page is not None:
            page.close()
        _stop(processes, root)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _panel(name: str) -> str:
    """A page expression: the notebook panel whose tab reads ``name`` (undefined until it opens)."""
    return f"""[...document.querySelectorAll('.jp-NotebookPanel')].find(panel =>
        document.querySelector(`.lm-TabBar-tab[data-id="${{panel.id}}"]`)?.textContent === {json.dumps(name)})"""


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_opens_clean_and_runs(lab, name):
    page, lessons = lab
    screenshot = SCREENSHOTS / f"{Path(name).stem}.png"
    try:
        _open_clean_and_run(page, lessons / name)
    except BaseException:
        with contextlib.suppress(Exception):  # a picture of the failure, never hiding it
            page.screenshot(screenshot)
        raise
    page.screenshot(screenshot)


def _open_clean_and_run(page: DevTools, lesson: Path) -> None:
    name, stored = lesson.name, _digest(lesson)
    page.click(f'.jp-DirListing-item[title^="Name: {name}"]', clicks=2)
    # "idle" also shows before the kernel starts, next to "No Kernel"
    _wait_for(lambda: page.evaluate(f"""(() => {{ const panel = {_panel(name)};
                  return panel?.querySelector('.jp-KernelName')?.textContent !== 'No Kernel'
                      && panel.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status; }})()""")
              == "idle", f"{name} to open with its kernel started and idle", 120)
    panel = "#" + page.evaluate(f"{_panel(name)}.id")
    tab = page.evaluate(f"document.querySelector('.lm-TabBar-tab[data-id=\"{panel[1:]}\"]').className")
    assert "jp-mod-dirty" not in tab.split(), f"{name} is marked modified as soon as it opens"
    assert not page.evaluate("!!document.querySelector('.jp-Dialog')"), f"a dialog opened with {name}"
    assert _digest(lesson) == stored, f"opening {name} rewrote the file"

    first_code_cell = f"{panel} .jp-CodeCell"
    page.click(f"{first_code_cell} .jp-InputPrompt")  # selects the cell
    page.click(f'{panel} [data-command="notebook:run-cell-and-select-next"]')
    prompt = f"document.querySelector('{first_code_cell} .jp-InputPrompt').textContent.trim()"
    _wait_for(lambda: page.evaluate(prompt) == "[1]:", f"{name}'s first code cell to run", 120)
    assert not page.evaluate("!!document.querySelector('.jp-Dialog')"), f"a dialog opened in {name}"
