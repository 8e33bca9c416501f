"""Headless Chromium (Debian's /usr/bin/chromium) driven by Playwright's sync API.

Playwright's own browser download is never used. Every request that is not a
local file, an in-page blob/data URL or a server on 127.0.0.1 is aborted and
recorded, so a test can assert that a page works offline. `jupyter_lab` starts
a real JupyterLab server on 127.0.0.1 for tests that need a live kernel
(`running_jupyter_lab` starts one for a wider fixture scope).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat
import pytest

CHROMIUM = os.environ.get("IW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
LOCAL_URLS = ("file:", "blob:", "data:", "about:", "http://127.0.0.1:")
# pixels of a canvas that are neither transparent nor near-white
INK = """(sel) => {
  const c = document.querySelector(sel);
  if (!c) return -1;
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
  return n;
}"""
STDERR = '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        message = f"{CHROMIUM} not found: install Debian's browser with `apt-get install -y chromium`"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


class PageProbe:
    """A page plus what it did: dialogs, uncaught errors, console errors, outside requests."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.console_errors: list[str] = []
        self.blocked: list[str] = []
        page.on("dialog", self._on_dialog)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: msg.type == "error" and self.console_errors.append(msg.text))
        page.route("**/*", self._route)

    def _on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _route(self, route: Any) -> None:
        url = route.request.url
        if url.startswith(LOCAL_URLS):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def open(self, path: Path) -> None:
        """Loads a saved page and waits until the standalone host has rendered it."""
        self.page.goto(path.resolve().as_uri())
        self.page.wait_for_function("window.interpWidgets !== undefined", timeout=15_000)
        error = self.page.evaluate("window.interpWidgets.error || null")
        assert error is None, f"the page failed to render: {error}"

    def ink(self, selector: str) -> int:
        """Drawn pixels of the first canvas matching ``selector`` (-1 when there is none)."""
        return self.page.evaluate(INK, selector)

    def model_get(self, index: int, key: str) -> Any:
        return self.page.evaluate(f"window.interpWidgets.models[{index}].get({key!r})")


@pytest.fixture
def probe(browser: Any) -> Iterator[PageProbe]:
    context = browser.new_context(viewport={"width": 900, "height": 400})
    try:
        yield PageProbe(context.new_page())
    finally:
        context.close()


class JupyterLab:
    """A JupyterLab server on 127.0.0.1 serving `root`, with its own config and runtime dirs."""

    def __init__(self, root: Path, port: int, token: str, process: subprocess.Popen) -> None:
        self.root, self.port, self.token, self.process = root, port, token, process

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}?token={self.token}"

    @staticmethod
    def run_cell(page: Any, index: int) -> None:
        """Click into notebook cell ``index`` and run it (Shift+Enter)."""
        page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-InputArea-editor").click()
        page.keyboard.press("Shift+Enter")

    def open_notebook(self, page: Any, name: str, cells: list[str], timeout_ms: int = 120_000) -> None:
        """Write a notebook of code ``cells``, open it in ``page`` and wait for an idle kernel."""
        nb = nbformat.v4.new_notebook()
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
        nbformat.write(nb, self.root / name)
        page.set_default_timeout(timeout_ms)
        page.goto(self.url(f"lab/tree/{name}"))
        page.locator(".jp-Notebook .jp-Cell").nth(len(cells) - 1).wait_for()
        page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()

    def run_until(self, page: Any, index: int, selector: str) -> None:
        """Run cell ``index`` and wait until ``selector`` is on the page; fail with the cell's error."""
        self.run_cell(page, index)
        error = page.locator(STDERR)
        page.locator(selector).first.or_(error.first).wait_for()
        assert error.count() == 0, error.first.inner_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_jupyter_lab(base: Path, extra_env: dict[str, str] | None = None) -> Iterator[JupyterLab]:
    """A JupyterLab server serving ``base/root``, with config, settings and workspaces under ``base/home``."""
    root, home = base / "root", base / "home"
    root.mkdir()
    home.mkdir()
    port, token = _free_port(), "iw-test-token"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_PLATFORM_DIRS": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        **(extra_env or {}),
    }
    log = open(base / "jupyterlab.log", "wb")
    process = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--allow-root", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",
        ],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    lab = JupyterLab(root, port, token, process)
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(lab.url("api/status"), timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log.close()
                pytest.fail(f"JupyterLab did not start; log:\n{(base / 'jupyterlab.log').read_text()[-4000:]}")
            time.sleep(0.5)
    try:
        yield lab
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture  # one server (and workspace) per test: restored tabs must not leak between tests
def jupyter_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    with running_jupyter_lab(tmp_path_factory.mktemp("jupyterlab")) as lab:
        yield lab
