"""Every tutorial notebook in a real JupyterLab: Run All Cells in headless Chromium, then check that
each cell ran without an error and that each widget the kernel displayed rendered in the page.

One server serves all notebooks; each opens in a fresh workspace (no restored tabs) and its kernel
is shut down afterwards. An IPython startup file in the kernel logs every widget display, so the
number of widgets the page must show comes from the kernel, not from the page itself.
"""

from __future__ import annotations

import ast
import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest

import interp_widgets as iw
from tests.browser.conftest import REPO_ROOT, STDERR, JupyterLab, running_jupyter_lab

NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
PROMPTS = ".jp-Notebook .jp-CodeCell .jp-InputPrompt"

# kernel side: log each object whose display bundle holds a widget view (display() and Out both
# format through the shell's display formatter)
COUNTER = '''\
import json, os
from IPython import get_ipython


def _log_widget_displays(shell, log, mime):
    original = shell.display_formatter.format

    def format(obj, *args, **kwargs):
        data, metadata = original(obj, *args, **kwargs)
        if mime in data:
            record = {"notebook": os.environ.get("JPY_SESSION_NAME", ""), "type": type(obj).__qualname__,
                      "ours": type(obj).__module__.split(".")[0] == "interp_widgets"}
            with open(log, "a") as f:
                f.write(json.dumps(record) + "\\n")
        return data, metadata

    shell.display_formatter.format = format


_log_widget_displays(get_ipython(), os.environ["IW_WIDGET_LOG"], %r)
del _log_widget_displays
''' % WIDGET_MIME

# page side: per widget output (the widget renderer sets no data-mime-type), its text and the
# interp_widgets views (`.iw-root`) in it, with their ink: drawn canvas pixels, SVG marks and visible
# text outside toolbars, notes and controls
WIDGETS = """() => [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output:not([data-mime-type])')]
  .map((out) => {
    const inkOf = (c) => {
      if (!c.width || !c.height) return 0;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      let n = 0;
      for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) n++;
      return n;
    };
    const skip = '[class*="toolbar"], [class*="-note"], [class*="-static"], [class*="error"], button, select, label';
    const textOf = (root) => {
      let n = 0;
      const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
      for (let t = walker.nextNode(); t; t = walker.nextNode()) {
        const p = t.parentElement, hidden = p.closest(skip);
        if (!(hidden && root.contains(hidden)) && p.checkVisibility()) n += t.textContent.trim().length;
      }
      return n;
    };
    const roots = [...out.querySelectorAll('.iw-root')].filter((r) => !r.parentElement.closest('.iw-root'));
    return {
      text: out.textContent.slice(0, 300),
      views: roots.map((root) => {
        const box = root.getBoundingClientRect();
        return {
          name: root.className.replace(/\\biw-(root|analysis)\\b/g, '').trim(),
          width: box.width, height: box.height,
          ink: [...root.querySelectorAll('canvas')].reduce((s, c) => s + inkOf(c), 0),
          marks: root.querySelectorAll('svg :is(path, circle, rect, line, polyline, polygon, text)').length,
          text: textOf(root),
          errors: [...root.querySelectorAll('.iw-av-error, .iw-attn-error')].map((e) => e.textContent.trim())
            .filter(Boolean),
        };
      }),
    };
  })"""
WIDGET_LOG = "widget_displays.jsonl"  # next to the server's root


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JupyterLab]:
    base = tmp_path_factory.mktemp("notebooks_lab")
    startup = base / "ipython" / "profile_default" / "startup"
    startup.mkdir(parents=True)
    (startup / "00-log-widget-displays.py").write_text(COUNTER)
    env = {"IPYTHONDIR": str(base / "ipython"), "IW_WIDGET_LOG": str(base / WIDGET_LOG)}
    with running_jupyter_lab(base, env) as server:
        yield server


def _api(lab: JupyterLab, method: str, path: str) -> Any:
    request = urllib.request.Request(lab.url(f"api/{path}"), method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture
def shutdown_kernels(lab: JupyterLab) -> Iterator[None]:
    """Ends every session (and its kernel) after the test, so notebooks do not share CPU or state."""
    yield
    for session in _api(lab, "GET", "sessions"):
        _api(lab, "DELETE", f"sessions/{session['id']}")


def _widget_displays(lab: JupyterLab, name: str) -> list[dict]:
    """What the kernel logged for notebook ``name``: one record per widget display, in order."""
    log = lab.root.parent / WIDGET_LOG
    records = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return [r for r in records if Path(r["notebook"]).name == name]


def _problems(widgets: list[dict], displays: list[dict]) -> list[str]:
    """Why the page's widget outputs do not match the kernel's widget displays (empty when they do).

    Every display has an output; each of ours holds a rendered view. Other widgets (progress bars)
    either render or are closed by the time the run ends, which empties their output.
    """
    ours = [d["type"] for d in displays if d["ours"]]
    problems = []
    if len(widgets) != len(displays):
        problems.append(f"the kernel displayed {len(displays)} widgets ({[d['type'] for d in displays]}), "
                        f"the page has {len(widgets)} widget outputs")
    if sum(bool(out["views"]) for out in widgets) != len(ours):
        problems.append(f"the kernel displayed {ours}, the page rendered {[out['views'] for out in widgets]}")
    for i, out in enumerate(widgets):
        if re.search(r"Error displaying|Loading widget", out["text"]):
            problems.append(f"widget output {i}: {out['text']!r}")
        for view in out["views"]:
            if not (view["width"] > 0 and view["height"] > 0 and not view["errors"]
                    and (view["ink"] > 0 or view["marks"] > 0 or view["text"] > 0)):
                problems.append(f"widget output {i} did not render: {view}")
    return problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_and_every_widget_renders(notebook: Path, lab: JupyterLab, probe, shutdown_kernels):
    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:  # a clean copy: any prompt number or output on the page comes from this run
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab.root / notebook.name)
    n_code = sum(c.cell_type == "code" for c in nb.cells)

    page = probe.page
    page.set_default_timeout(300_000)
    page.goto(lab.url(f"lab/workspaces/{notebook.stem}/tree/{notebook.name}"))  # fresh workspace: no restored tabs
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    # Run All queues every cell at once ([*]); it is over when none is left running or queued
    page.wait_for_function(f"""() => {{
      const p = [...document.querySelectorAll('{PROMPTS}')].map((e) => e.textContent);
      return !p.some((t) => t.includes('*')) && p.some((t) => /\\[\\d+\\]/.test(t)); }}""")

    failed = page.locator(STDERR, has_text=re.compile(r"Traceback|Error"))
    assert failed.count() == 0, f"{notebook.name}: {failed.first.inner_text()}"
    prompts = page.locator(PROMPTS).all_text_contents()
    assert len(prompts) == n_code and all(re.search(r"\[\d+\]", p) for p in prompts), prompts

    displays = _widget_displays(lab, notebook.name)
    deadline = time.monotonic() + 60  # views render (and fetch their data) after their cell has run
    while (problems := _problems(page.evaluate(WIDGETS), displays)) and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    assert not problems, "\n".join(problems)

    if notebook.name in EXTRA_CHECKS:
        EXTRA_CHECKS[notebook.name](page, notebook)
    assert probe.dialogs == [] and probe.errors == [] and probe.console_errors == [], (
        probe.dialogs, probe.errors, probe.console_errors)


# per rendered AttentionView: its view, the ink of its canvas and, for head views, the rows drawn
ATTENTION_VIEWS = """() => [...document.querySelectorAll('.jp-OutputArea .iw-attention')].map((root) => {
  const view = root.querySelector('.iw-attn-view');
  const c = root.querySelector('canvas.iw-attn-canvas');
  let ink = -1;
  if (c) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    ink = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && (d[i] < 235 || d[i + 1] < 235 || d[i + 2] < 235)) ink++;
  }
  return {view: view ? view.className.replace(/.*iw-attn-view-/, '') : null, ink,
          units: c && c.dataset.units !== undefined ? Number(c.dataset.units) : null};
})"""


def _notebook_value(notebook: Path, name: str) -> Any:
    """The literal assigned to ``name`` in the notebook's code (e.g. its TEXT)."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.parse("\n".join(l for l in cell.source.splitlines() if not l.startswith("%"))).body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
                    return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {notebook.name}")


def _attention_views(page: Any, notebook: Path) -> None:
    """01_attention shows each AttentionView kind, drawn as canvases over the notebook's TEXT."""
    minilm = "all-MiniLM-L6-v2" in iw.shipped_models()
    # displayed views: att, view, model, heatmap, token, qk, the BERT pair, the induction heatmap (+ MiniLM)
    expected = ["head", "head", "model", "heatmap", "token", "qk", "head", "heatmap"] + (["head"] if minilm else [])
    views = page.evaluate(ATTENTION_VIEWS)
    assert [v["view"] for v in views] == expected
    for i, v in enumerate(views):
        assert v["ink"] > 200, f"view {i} ({v['view']}) is blank: {v}"
    n_tokens = len(iw.load("tiny-llama").to_str_tokens(_notebook_value(notebook, "TEXT")))
    assert views[0]["units"] == views[1]["units"] == n_tokens
    assert page.locator(".jp-OutputArea .iw-attention img").count() == 0


EXTRA_CHECKS = {"01_attention.ipynb": _attention_views}
