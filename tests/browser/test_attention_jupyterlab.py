"""AttentionView in a real JupyterLab: a click on a token of the head view reaches Python."""

from __future__ import annotations

import re

import nbformat

import interp_widgets as iw

SETUP = f"""\
import sys; sys.path.insert(0, {str(iw.__file__).rsplit('/interp_widgets/', 1)[0]!r})
from tests.conftest import tiny_hf_model, _tokenizer
import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
m = iw.wrap(tiny_hf_model("gpt2"), _tokenizer(False), name="tiny-gpt2")
view = patterns(m, "one two three four five six").show()
view"""


def _open(page, lab, cells):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(c) for c in cells]
    nbformat.write(nb, lab.root / "click.ipynb")
    page.set_default_timeout(120_000)
    page.goto(lab.url("lab/tree/click.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").nth(len(cells) - 1).wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()


def test_head_view_token_click_syncs_to_python(probe, jupyter_lab):
    page = probe.page
    _open(page, jupyter_lab, [SETUP, 'print("TOKEN", view.token)'])
    jupyter_lab.run_cell(page, 0)
    error = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    page.locator(".iw-head-canvas").or_(error.first).wait_for()
    assert error.count() == 0, error.first.inner_text()
    # query column, token 2 (rows 16 px from y=4); locator.click scrolls the canvas into view
    page.locator(".iw-head-canvas").click(position={"x": 100, "y": 4 + 16 * 2 + 8})
    page.wait_for_timeout(500)
    jupyter_lab.run_cell(page, 1)
    out = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"]', has_text="TOKEN")
    out.wait_for()
    assert out.inner_text().strip() == "TOKEN 2"
    assert probe.errors == []
