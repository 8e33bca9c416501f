"""AttentionView in a real JupyterLab: a click on a token of the head view reaches Python, and
notebooks/01_attention.ipynb runs there with every view it displays rendered."""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import nbformat

import interp_widgets as iw
from tests.browser.conftest import STDERR

SETUP = f"""\
import sys; sys.path.insert(0, {str(iw.__file__).rsplit('/interp_widgets/', 1)[0]!r})
from tests.conftest import tiny_hf_model, _tokenizer
import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
m = iw.wrap(tiny_hf_model("gpt2"), _tokenizer(False), name="tiny-gpt2")
view = patterns(m, "one two three four five six").show()
view"""


def test_head_view_token_click_syncs_to_python(probe, jupyter_lab):
    page = probe.page
    jupyter_lab.open_notebook(page, "click.ipynb", [SETUP, 'print("TOKEN", view.token)'])
    jupyter_lab.run_until(page, 0, ".iw-head-canvas")
    # query column, token 2 (rows 16 px from y=4); locator.click scrolls the canvas into view
    page.locator(".iw-head-canvas").click(position={"x": 100, "y": 4 + 16 * 2 + 8})
    page.wait_for_timeout(500)
    jupyter_lab.run_cell(page, 1)
    out = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]', has_text="TOKEN")
    out.wait_for()
    assert out.inner_text().strip() == "TOKEN 2"
    assert probe.errors == []


NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_attention.ipynb"

# per rendered AttentionView: its view, the ink of its canvas and, for head views, the rows drawn
VIEWS = """() => [...document.querySelectorAll('.jp-OutputArea .iw-attention')].map((root) => {
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


def _notebook_value(name: str):
    """The literal assigned to ``name`` in the notebook's code (e.g. its TEXT)."""
    for cell in nbformat.read(NOTEBOOK, as_version=4).cells:
        if cell.cell_type == "code":
            for node in ast.parse("\n".join(l for l in cell.source.splitlines() if not l.startswith("%"))).body:
                if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
                    return ast.literal_eval(node.value)
    raise AssertionError(f"{name} is not assigned in {NOTEBOOK.name}")


def test_attention_notebook_runs_and_renders(probe, jupyter_lab):
    """Opens notebooks/01_attention.ipynb, runs every cell, and checks each view it displays."""
    shutil.copy(NOTEBOOK, jupyter_lab.root / NOTEBOOK.name)
    page = probe.page
    page.set_default_timeout(240_000)
    page.goto(jupyter_lab.url(f"lab/tree/{NOTEBOOK.name}"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$")).click()
    minilm = "all-MiniLM-L6-v2" in iw.shipped_models()
    # displayed views: att, view, model, heatmap, token, qk, the BERT pair, the induction heatmap (+ MiniLM)
    expected = ["head", "head", "model", "heatmap", "token", "qk", "head", "heatmap"] + (["head"] if minilm else [])
    page.wait_for_function(
        f"document.querySelectorAll('.jp-OutputArea .iw-attention .iw-attn-view').length >= {len(expected)}")
    prompts = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt")
    page.wait_for_function("![...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
                           ".some((p) => p.textContent.includes('*'))")
    assert prompts.count() == sum(c.cell_type == "code" for c in nbformat.read(NOTEBOOK, as_version=4).cells)
    failed = page.locator(STDERR, has_text=re.compile(r"Traceback|Error"))
    assert failed.count() == 0, failed.first.inner_text()
    page.wait_for_timeout(500)  # the last slices reach the views
    views = page.evaluate(VIEWS)
    assert [v["view"] for v in views] == expected
    for i, v in enumerate(views):
        assert v["ink"] > 200, f"view {i} ({v['view']}) is blank: {v}"
    n_tokens = len(iw.load("tiny-llama").to_str_tokens(_notebook_value("TEXT")))
    assert views[0]["units"] == views[1]["units"] == n_tokens
    assert page.locator(".jp-OutputArea .iw-attention img").count() == 0
    assert probe.dialogs == [] and probe.errors == []
