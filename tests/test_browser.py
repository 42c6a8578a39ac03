"""The course as a learner sees it: JupyterLab in a real (headless) Chromium.

A session-scoped JupyterLab serves the repository (``COURSE_QUICK=1``); Playwright drives
Debian's Chromium (``/usr/bin/chromium``; Playwright never downloads a browser here). Each
test opens a notebook, runs all its cells, waits until every code cell has an execution
count, and checks what is on the page:

- no error output, except the failing check of an unsolved exercise in a learner copy,
  which shows a short ``FAIL:`` box and no traceback (``CheckFailed._render_traceback_``);
- figures are images (``image/png``) that loaded;
- notebook 02: the sliders of the pruning explorer are real ipywidgets and moving one
  redraws the validation error (the explorer chooses settings, so it never shows the test
  error); the course's ``tqdm.auto`` progress bar is a widget.

Screenshots go to ``tests/screenshots/`` (git-ignored). Without Chromium the tests skip,
unless ``CI`` is set: then they fail. As root with apt-get, Chromium is installed first.
Nothing is saved: autosave is off (checked at the end), checkpoints go to a temp folder.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from course_lib.paths import REPO_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO_ROOT / "tests" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-gpu",
    "--no-first-run",
]
VIEWPORT = {"width": 1366, "height": 900}
SERVER_START_TIMEOUT = 90  # s until JupyterLab answers
PAGE_READY_TIMEOUT = 90  # s until the notebook is open and its kernel idle
RUN_TIMEOUT = {"notebooks/00_welcome.ipynb": 90, "solutions/02_magnitude_pruning.ipynb": 200}  # s for Run All

# What the test adds to notebook 02 (never saved): the course's own training loop for 16 steps,
# to see its tqdm.auto progress bar, which notebook 02 itself never shows (it trains nothing).
TQDM_CELL = """\
from course_lib.models import LeNet300100
from course_lib.train import train

_bar_demo = LeNet300100().to(device)
train(_bar_demo, data, epochs=1, train_subset=2048, evaluate_every_epoch=False, desc="browser test bar");
"""


def _fail_or_skip(reason: str):
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(reason)


# --------------------------------------------------------------------------------------------
# Chromium, Playwright, JupyterLab


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium; installed with apt-get when missing and we are root."""
    if not CHROMIUM.exists() and os.geteuid() == 0 and shutil.which("apt-get"):
        cmd = "apt-get update -qq && apt-get install -y -qq chromium fonts-dejavu-core"
        proc = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True,
                              env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        if proc.returncode != 0:
            print(f"installing chromium failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    if not CHROMIUM.exists():
        how = ("run `apt-get install chromium` as root" if shutil.which("apt-get")
               else "install Chromium at /usr/bin/chromium")
        _fail_or_skip(f"no Chromium at {CHROMIUM}: the browser test needs it ({how})")
    return CHROMIUM


@pytest.fixture(scope="session")
def sync_api():
    try:
        from playwright import sync_api
    except ImportError as exc:
        _fail_or_skip(f"playwright is not installed ({exc}): .venv/bin/python -m pip install -r requirements.txt")
    return sync_api


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _write_settings(settings_dir: Path) -> None:
    """JupyterLab user settings of the test: never autosave (the notebooks stay as committed), no news."""
    settings = {
        "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                             "checkForUpdates": False},
    }
    for rel, value in settings.items():
        path = settings_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


class Lab:
    def __init__(self, port: int, token: str, log: Path):
        self.port, self.token, self.log = port, token, log
        self.base = f"http://127.0.0.1:{port}"

    def url(self, nb_path: str) -> str:
        # A workspace of its own per notebook: the tabs of an earlier test are not restored.
        workspace = Path(nb_path).stem.replace("_", "-")
        return f"{self.base}/lab/workspaces/{workspace}/tree/{nb_path}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 5):
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
        return json.loads(body) if body else None

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def lab(chromium, tmp_path_factory):
    """JupyterLab on 127.0.0.1, a free port and a random token; stopped with its kernels at the end."""
    home = tmp_path_factory.mktemp("jupyter")
    _write_settings(home / "settings")
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.pop("MPLBACKEND", None)  # .ci/run sets Agg; a learner's kernel uses the inline backend
    env.update(
        COURSE_QUICK="1",
        JUPYTER_CONFIG_DIR=str(home / "config"),  # no user config (passwords, ...) of this machine
        JUPYTER_DATA_DIR=str(home / "data"),  # no user kernelspecs: the venv's python3 kernel
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"),
        PYTHONUNBUFFERED="1",
    )
    if os.environ.get("COURSE_DATA_DIR"):
        env["COURSE_DATA_DIR"] = os.environ["COURSE_DATA_DIR"]
    port, token = _free_port(), secrets.token_hex(24)
    cmd = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={REPO_ROOT}",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, to run commands and read cell models
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        # Opening a notebook writes a checkpoint: into the temp folder, not .ipynb_checkpoints/ of the repo.
        f"--FileCheckpoints.checkpoint_dir={home / 'checkpoints'}",
    ]
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    log = home / "server.log"
    server = Lab(port, token, log)
    with open(log, "wb") as log_file:
        proc = subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log_file,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode} before answering:\n{server.log_tail()}",
                            pytrace=False)
            try:
                server.api("/api/status")
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if time.monotonic() > deadline:
                    pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT} s:\n{server.log_tail()}",
                                pytrace=False)
                time.sleep(0.5)
        yield server
    finally:
        _stop_server(server, proc)


def _stop_server(server: Lab, proc: subprocess.Popen) -> None:
    """Shut down the kernels and the server; then end whatever is left of its process group."""
    if proc.poll() is None:
        with contextlib.suppress(Exception):
            for kernel in server.api("/api/kernels") or []:
                server.api(f"/api/kernels/{kernel['id']}", method="DELETE", timeout=15)
        with contextlib.suppress(Exception):
            server.api("/api/shutdown", method="POST", timeout=10)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # kernels left in the server's own session, if any


@pytest.fixture(scope="session")
def browser(chromium, sync_api, tmp_path_factory):
    """A headless Chromium with a fresh profile."""
    if SCREENSHOTS.exists():
        for old in SCREENSHOTS.glob("*.png"):
            old.unlink()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as pw:
        try:
            context = pw.chromium.launch_persistent_context(
                str(profile), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS,
                viewport=VIEWPORT, device_scale_factor=1)
        except sync_api.Error as exc:
            pytest.fail(f"Chromium ({chromium}) did not start under Playwright: {exc}", pytrace=False)
        try:
            yield context
        finally:
            context.close()


# --------------------------------------------------------------------------------------------
# Driving a notebook

# The notebook panel of `path`, once its document and kernel are ready (kept as window.__nb).
# (Synchronous: wait_for_function takes a returned Promise for a truthy value.)
JS_FIND_NOTEBOOK = """
(path) => {
  const app = window.jupyterapp;
  if (!app || !app.shell) return false;
  const nb = Array.from(app.shell.widgets('main')).find(w => w.context && w.context.path === path && w.content);
  if (!nb || !nb.context.isReady || !nb.sessionContext.isReady) return false;
  const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  window.__nb = nb;
  return true;
}
"""

# Done when the kernel is idle and every code cell has an execution count and no [*] prompt.
JS_RUN_DONE = """
() => {
  const nb = window.__nb;
  const kernel = nb.sessionContext.session && nb.sessionContext.session.kernel;
  if (!kernel || kernel.status !== 'idle') return false;
  return nb.content.widgets.every(c => c.model.type !== 'code' || (c.model.executionCount !== null
      && !(c.node.querySelector('.jp-InputPrompt') || {textContent: ''}).textContent.includes('*')));
}
"""

# What each cell holds (model) and shows (DOM).
JS_CELLS = """
() => window.__nb.content.widgets.map((cell, index) => {
  const m = cell.model;
  const info = {index, type: m.type, tags: m.getMetadata('tags') || [],
                source: m.sharedModel.getSource()};
  if (m.type !== 'code') return info;
  const prompt = cell.node.querySelector('.jp-InputPrompt');
  const area = cell.node.querySelector('.jp-OutputArea');
  info.count = m.executionCount;
  info.prompt = prompt ? prompt.textContent.trim() : '';
  info.outputs = m.outputs.toJSON().map(o => ({
    output_type: o.output_type, name: o.name, ename: o.ename, evalue: o.evalue,
    traceback: o.traceback, text: Array.isArray(o.text) ? o.text.join('') : o.text,
    mimes: o.data ? Object.keys(o.data) : []}));
  info.shown = area ? area.textContent : '';
  info.shownOutputs = area ? Array.from(area.querySelectorAll(':scope > .jp-OutputArea-child')).map(child => {
    const out = child.querySelector('.jp-OutputArea-output');
    return {mime: out ? out.getAttribute('data-mime-type') : null, text: child.textContent,
            classes: out ? out.className : ''};
  }) : [];
  info.images = area ? Array.from(area.querySelectorAll('img')).map(img => ({
    complete: img.complete, width: img.naturalWidth, height: img.naturalHeight,
    png: (img.getAttribute('src') || '').startsWith('data:image/png')})) : [];
  return info;
})
"""


def _shot(page, name: str, locator=None) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    with contextlib.suppress(Exception):
        if locator is not None:
            locator.scroll_into_view_if_needed(timeout=10_000)
            locator.screenshot(path=str(path), timeout=20_000)
        else:
            page.screenshot(path=str(path), timeout=20_000)
    return path


def _cell(page, index: int):
    """The DOM node of cell `index` of the open notebook (tagged through its widget)."""
    page.evaluate("(i) => window.__nb.content.widgets[i].node.setAttribute('data-browser-test-cell', String(i))", index)
    return page.locator(f'[data-browser-test-cell="{index}"]')


def _scroll_top(page) -> None:
    page.evaluate("""() => { const outer = window.__nb.content.node.querySelector('.jp-WindowedPanel-outer')
                               || window.__nb.content.node; outer.scrollTop = 0; }""")
    page.wait_for_timeout(500)


def _full_notebook_shot(page, name: str) -> None:
    """The whole notebook at once: a viewport as tall as the notebook, then back.

    The windowed notebook only estimates the height of cells it has not laid out yet, so the
    height is measured again after each resize until it stays put.
    """
    chrome = VIEWPORT["height"] - page.evaluate("() => window.__nb.content.node.clientHeight")
    size = VIEWPORT["height"]
    for _ in range(4):
        height = page.evaluate("""() => { const n = window.__nb.content.node;
            const inner = n.querySelector('.jp-WindowedPanel-inner') || n; return inner.scrollHeight; }""")
        wanted = int(min(max(height + chrome + 50, VIEWPORT["height"]), 20_000))
        if wanted == size:
            break
        size = wanted
        page.set_viewport_size({"width": VIEWPORT["width"], "height": size})
        page.wait_for_timeout(1500)
    _scroll_top(page)
    _shot(page, name)
    page.set_viewport_size(VIEWPORT)
    page.wait_for_timeout(500)


def _describe_cell(cell: dict) -> str:
    first = cell["source"].strip().splitlines()[0] if cell["source"].strip() else ""
    return f"cell {cell['index']} (tags {cell['tags']}, starts `{first[:80]}`)"


def _error_text(cell: dict) -> str:
    """The error outputs of a cell, as the page shows them, else as the model has them."""
    parts = []
    for out in cell["outputs"]:
        if out["output_type"] == "error":
            parts.append(f"{out['ename']}: {out['evalue']}")
    shown = [o["text"] for o in cell["shownOutputs"] if "stderr" in (o["mime"] or "") or "error" in (o["mime"] or "")]
    return "\n".join(parts) + ("\n--- shown:\n" + "\n".join(shown) if shown else "")


class Notebook:
    """One open notebook in the browser, after Run All."""

    def __init__(self, page, path: str, seconds: float, cells: list[dict], console: list[str]):
        self.page, self.path, self.seconds, self.cells, self.console = page, path, seconds, cells, console

    @property
    def code_cells(self) -> list[dict]:
        return [c for c in self.cells if c["type"] == "code"]

    def find(self, needle: str) -> dict:
        hits = [c for c in self.code_cells if needle in c["source"]]
        assert hits, f"{self.path}: no code cell contains {needle!r}"
        return hits[0]

    def refresh(self) -> None:
        self.cells = self.page.evaluate(JS_CELLS)


def _open_and_run(browser, lab: Lab, path: str, name: str) -> Notebook:
    """Open `path` in a fresh tab, Run All Cells, wait until every code cell has run."""
    page = browser.new_page()
    console: list[str] = []
    page.on("console", lambda msg: msg.type == "error" and console.append(msg.text[:300]))
    page.on("pageerror", lambda exc: console.append(f"page error: {str(exc)[:300]}"))
    page.goto(lab.url(path), wait_until="domcontentloaded", timeout=60_000)
    try:
        page.wait_for_function(JS_FIND_NOTEBOOK, arg=path, timeout=PAGE_READY_TIMEOUT * 1000, polling=500)
    except Exception as exc:
        _shot(page, f"{name}-FAILED-open")
        pytest.fail(f"{path} did not open with an idle kernel within {PAGE_READY_TIMEOUT} s ({exc}); "
                    f"console errors: {console[-10:]}\nserver log:\n{lab.log_tail()}", pytrace=False)
    page.wait_for_timeout(500)
    start = time.monotonic()
    # Edit > Clear Outputs of All Cells (so no stored execution count passes for a run), then
    # Run > Run All Cells, through the command registry (what the menu items call).
    page.evaluate("""async () => {
        await window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs');
        window.__runAll = window.jupyterapp.commands.execute('notebook:run-all-cells');
    }""")
    timeout = RUN_TIMEOUT[path]
    try:
        page.wait_for_function(JS_RUN_DONE, timeout=timeout * 1000, polling=1000)
        page.wait_for_timeout(1500)  # let late outputs (widgets, images) attach
        page.wait_for_function(JS_RUN_DONE, timeout=30_000, polling=500)
    except Exception:
        cells = page.evaluate(JS_CELLS)
        pending = [_describe_cell(c) + f" prompt {c['prompt']}" for c in cells
                   if c["type"] == "code" and (c["count"] is None or "*" in c["prompt"])]
        errors = [_describe_cell(c) + ":\n" + _error_text(c) for c in cells
                  if c["type"] == "code" and any(o["output_type"] == "error" for o in c["outputs"])]
        _shot(page, f"{name}-FAILED-run")
        pytest.fail(f"{path}: Run All did not finish within {timeout} s. Cells not run: {pending[:8]}\n"
                    f"Errors so far:\n" + "\n".join(errors), pytrace=False)
    seconds = time.monotonic() - start
    cells = page.evaluate(JS_CELLS)
    print(f"\n{path}: Run All took {seconds:.1f} s in the browser")
    for cell in cells:
        for out in cell.get("outputs", []):
            if out["output_type"] == "stream" and out["name"] == "stderr":
                print(f"  stderr of {_describe_cell(cell)}: {out['text'][:300]!r}")
    return Notebook(page, path, seconds, cells, console)


def _shutdown_kernel(nb: Notebook) -> None:
    with contextlib.suppress(Exception):
        nb.page.evaluate("async () => { await window.__nb.sessionContext.shutdown(); }")
    with contextlib.suppress(Exception):
        nb.page.close()


def _assert_figures(nb: Notebook, minimum: int) -> None:
    """Every image/png output shows as a loaded <img>; at least `minimum` of them."""
    problems = []
    total = 0
    for cell in nb.code_cells:
        pngs = sum("image/png" in o["mimes"] for o in cell["outputs"])
        shown = [img for img in cell["images"] if img["png"]]
        total += len(shown)
        broken = [img for img in shown if not (img["complete"] and img["width"] > 0 and img["height"] > 0)]
        if len(shown) < pngs or broken:  # (more: figures inside an Output widget, as in the explorer)
            problems.append(f"{_describe_cell(cell)}: {pngs} image/png outputs, {len(shown)} <img> shown, "
                            f"{len(broken)} not loaded")
    assert not problems, f"{nb.path}: figures missing:\n" + "\n".join(problems)
    assert total >= minimum, f"{nb.path}: {total} figures shown, expected at least {minimum}"


def _unexpected_errors(nb: Notebook, allowed) -> list[str]:
    msgs = []
    for cell in nb.code_cells:
        has_error = any(o["output_type"] == "error" for o in cell["outputs"])
        if has_error and not allowed(cell):
            msgs.append(f"{_describe_cell(cell)} shows an error:\n{_error_text(cell)[:1500]}")
    return msgs


def _saved_state(path: str) -> tuple[int, int, bool]:
    """(code cells with an execution count, outputs, has the test's extra cell) of the file on disk.

    Other people may edit the notebooks meanwhile, so this compares what a save by the browser
    would change (counts, outputs, the tqdm cell), not the bytes.
    """
    nb = json.loads((REPO_ROOT / path).read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    return (sum(c.get("execution_count") is not None for c in code), sum(len(c.get("outputs", [])) for c in code),
            any("browser test bar" in "".join(c["source"]) for c in code))


# --------------------------------------------------------------------------------------------
# The tests

WELCOME = "notebooks/00_welcome.ipynb"
PRUNING = "solutions/02_magnitude_pruning.ipynb"


def test_welcome_learner_copy_in_browser(browser, lab):
    before = _saved_state(WELCOME)
    nb = _open_and_run(browser, lab, WELCOME, "00_welcome")
    try:
        _scroll_top(nb.page)
        _shot(nb.page, "00_welcome-top")
        _full_notebook_shot(nb.page, "00_welcome-full")

        def is_check(cell):
            return any(t.startswith("check:") for t in cell["tags"])

        # 1. errors: only the exercise checks (the unsolved warm-up's check must fail).
        unexpected = _unexpected_errors(nb, allowed=is_check)
        assert not unexpected, f"{WELCOME}: unexpected errors:\n" + "\n\n".join(unexpected)
        failed_checks = [c for c in nb.code_cells if is_check(c)
                         and any(o["output_type"] == "error" for o in c["outputs"])]
        assert failed_checks, (f"{WELCOME}: the check of the unsolved warm-up exercise did not fail; "
                               "checks: " + "; ".join(f"{_describe_cell(c)}: {c['shown'][:200]!r}"
                                                      for c in nb.code_cells if is_check(c)))

        # 2. each failed check shows its FAIL message in a short box, without a traceback.
        for cell in failed_checks:
            _shot(nb.page, f"00_welcome-cell{cell['index']}-failed-check", _cell(nb.page, cell["index"]))
            errors = [o for o in cell["shownOutputs"] if "stderr" in (o["mime"] or "") or "error" in (o["mime"] or "")]
            assert errors, f"{WELCOME} {_describe_cell(cell)}: the error is in the model but not on the page"
            shown = "\n".join(o["text"] for o in errors)
            lines = [line.strip() for line in shown.splitlines()]
            where = f"{WELCOME} {_describe_cell(cell)} shows:\n{shown}"
            assert any(line.startswith("FAIL:") for line in lines), f"no line starts with 'FAIL:'. {where}"
            assert "Traceback" not in shown, f"a traceback is shown. {where}"
            assert not any(line.startswith("File ") for line in lines), f"traceback 'File ' lines. {where}"
            assert "course_lib/course/checks" not in shown, f"the checks' own paths are shown. {where}"
            assert len(lines) <= 12, f"the FAIL box is {len(lines)} lines long, expected a short box. {where}"
            assert any(set(line) == {"-"} for line in lines), f"no ---- rule around the message. {where}"

        # 5. the course map is a figure.
        _assert_figures(nb, minimum=1)
        figure_cell = next(c for c in nb.code_cells if c["images"])
        _shot(nb.page, f"00_welcome-cell{figure_cell['index']}-figure", _cell(nb.page, figure_cell["index"]))
        assert not [m for m in nb.console if "page error" in m], f"JavaScript errors: {nb.console}"
    finally:
        _shutdown_kernel(nb)
    assert _saved_state(WELCOME) == before, f"{WELCOME} was saved by the browser session (autosave should be off)"


def test_pruning_solutions_in_browser(browser, lab):
    before = _saved_state(PRUNING)
    nb = _open_and_run(browser, lab, PRUNING, "02_pruning")
    page = nb.page
    try:
        _scroll_top(page)
        _shot(page, "02_pruning-top")
        _full_notebook_shot(page, "02_pruning-full")

        # 1. the solutions copy shows no error at all.
        unexpected = _unexpected_errors(nb, allowed=lambda cell: False)
        assert not unexpected, f"{PRUNING}: errors:\n" + "\n\n".join(unexpected)

        # 5. figures: the histograms, the curves, the scans, the explorer and the random-mask plot.
        _assert_figures(nb, minimum=5)

        # 4. the explorer: ipywidgets sliders; moving one redraws the validation error.
        explorer = nb.find("widgets.FloatSlider")
        assert 'split="val"' in explorer["source"], f"{PRUNING}: the explorer must read the validation split"
        cell = _cell(page, explorer["index"])
        sliders = cell.locator(".widget-slider")
        assert sliders.count() >= 3, (f"{PRUNING} {_describe_cell(explorer)}: {sliders.count()} sliders shown, "
                                      f"expected one per layer; the cell shows {explorer['shown'][:500]!r}")
        outputs = cell.locator(".jp-Cell-outputWrapper")
        _shot(page, "02_pruning-explorer-before", outputs)
        image = cell.locator(".jp-OutputArea img")
        image.first.wait_for(timeout=30_000)
        before_src = image.first.get_attribute("src")
        readout = sliders.first.locator(".widget-readout")
        before_readout = readout.inner_text().strip()
        handle = sliders.first.locator(".noUi-handle")
        handle.focus()
        handle.press("End")  # noUiSlider: End = max (99% pruned); continuous_update=False fires on change
        try:
            page.wait_for_function(
                """([index, old]) => {
                     const cell = window.__nb.content.widgets[index];
                     const img = cell.node.querySelector('.jp-OutputArea img');
                     return img && img.complete && img.naturalWidth > 0 && img.getAttribute('src') !== old;
                   }""",
                arg=[explorer["index"], before_src], timeout=60_000, polling=500)
        except Exception:
            _shot(page, "02_pruning-FAILED-explorer", cell)
            pytest.fail(f"{PRUNING}: moving the first slider ({before_readout} -> {readout.inner_text()!r}) "
                        "did not redraw the explorer's figure within 60 s", pytrace=False)
        page.wait_for_function(JS_RUN_DONE, timeout=60_000, polling=500)
        after_readout = readout.inner_text().strip()
        after_src = image.first.get_attribute("src")
        _shot(page, "02_pruning-explorer-after", outputs)
        assert after_readout != before_readout, f"the slider readout stayed {before_readout!r}"
        old_title, new_title = _title_strip(before_src), _title_strip(after_src)
        assert old_title != new_title, (f"{PRUNING}: after moving the slider ({before_readout} -> {after_readout}) "
                                        "the figure changed but its title (the validation error) did not")
        nb.refresh()
        unexpected = _unexpected_errors(nb, allowed=lambda cell: False)
        assert not unexpected, f"{PRUNING}: errors after moving the slider:\n" + "\n\n".join(unexpected)

        # 3. the course's tqdm.auto progress bar is a widget (run in an extra, unsaved cell).
        count = len(nb.cells)
        page.evaluate(
            """async (source) => {
                 const app = window.jupyterapp, nb = window.__nb;
                 nb.content.activeCellIndex = nb.content.widgets.length - 1;
                 await app.commands.execute('notebook:insert-cell-below');
                 nb.content.activeCell.model.sharedModel.setSource(source);
                 app.commands.execute('notebook:run-cell');
               }""", TQDM_CELL)
        page.wait_for_function(f"() => window.__nb.content.widgets.length === {count + 1}", timeout=10_000)
        page.wait_for_function(JS_RUN_DONE, timeout=60_000, polling=500)
        page.wait_for_timeout(1000)
        nb.refresh()
        bar_cell = nb.cells[count]
        bar = _cell(page, count)
        _shot(page, "02_pruning-tqdm-bar", bar)
        progress = bar.locator(".jp-OutputArea .widget-hprogress, .jp-OutputArea .widget-progress")
        shown = bar_cell["shown"].replace("\u2007", " ")  # tqdm's widget pads with figure spaces
        where = f"the tqdm cell shows {shown[:600]!r}"
        assert not _unexpected_errors(nb, allowed=lambda cell: False), where
        assert progress.count() >= 1, f"no ipywidgets progress bar (.widget-hprogress) in the output; {where}"
        assert "IProgress not found" not in shown, where
        assert "browser test bar: 100%" in shown and "16/16" in shown, where
        assert not [m for m in nb.console if "page error" in m], f"JavaScript errors: {nb.console}"
    finally:
        _shutdown_kernel(nb)
    assert _saved_state(PRUNING) == before, f"{PRUNING} was saved by the browser session (autosave should be off)"


def _title_strip(src: str | None) -> bytes:
    """The top strip of a data:image/png figure (its suptitle), as raw pixels."""
    from PIL import Image

    assert src and src.startswith("data:image/png;base64,"), f"not an inline PNG: {str(src)[:60]!r}"
    img = Image.open(io.BytesIO(base64.b64decode(src.split(",", 1)[1]))).convert("RGB")
    return img.crop((0, 0, img.width, max(1, img.height // 8))).tobytes()
