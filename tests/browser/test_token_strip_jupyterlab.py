"""TokenStrip in a real JupyterLab with a live kernel: clicks reach Python, Python reaches the page."""

from __future__ import annotations

import re

import nbformat

SETUP = """\
from interp_widgets.widgets import TokenStrip
strip = TokenStrip(["alpha", " beta", "<img src=x onerror=alert(1)>"], [0.1, 0.5, 0.9], label="p")
strip"""


def test_clicks_and_python_updates_round_trip(probe, jupyter_lab):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell('print("SELECTED", strip.selected)'),
        nbformat.v4.new_code_cell("strip.selected = 0"),
    ]
    nbformat.write(nb, jupyter_lab.root / "strip.ipynb")

    page = probe.page
    page.set_default_timeout(120_000)
    page.goto(jupyter_lab.url("lab/tree/strip.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").nth(2).wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()

    jupyter_lab.run_cell(page, 0)
    tokens = page.locator(".jp-OutputArea .iw-token")
    error = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    tokens.nth(2).or_(error.first).wait_for()
    assert error.count() == 0, error.first.inner_text()
    assert tokens.all_text_contents() == ["alpha", "\u2423beta", "<img src=x onerror=alert(1)>"]
    assert page.locator(".jp-OutputArea img").count() == 0

    tokens.nth(1).click()
    jupyter_lab.run_cell(page, 1)
    page.get_by_text("SELECTED 1").wait_for()

    jupyter_lab.run_cell(page, 2)
    page.locator(".jp-OutputArea .iw-token.iw-selected", has_text="alpha").wait_for()
    assert probe.dialogs == []
    assert probe.errors == []
