"""AttentionView in a real JupyterLab: a click on a token of the head view reaches Python.
(notebooks/01_attention.ipynb is run and checked view by view in test_notebooks_jupyterlab.py.)"""

from __future__ import annotations

import interp_widgets as iw

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
