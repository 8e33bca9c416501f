"""The positional-encoding explorer in headless Chromium: a static page draws both schemes' panels
and says that no kernel recomputes them; in a live JupyterLab a control change reaches Python,
which recomputes, and the page redraws."""

from __future__ import annotations

import re

import nbformat

import interp_widgets.positional as P
from interp_widgets.widgets import save_html

from .test_analysis_views_browser import INK


def test_static_page_draws_both_schemes(probe, tmp_path):
    view = P.explorer("rope", compare="alibi", dim=16, length=64)
    probe.open(save_html(view, tmp_path / "explorer.html"))
    page = probe.page
    page.wait_for_selector(".iw-positional canvas")
    for sel in (".iw-pe-matrix.iw-pe-a", ".iw-pe-curves.iw-pe-a", ".iw-pe-matrix.iw-pe-b", ".iw-pe-curves.iw-pe-b"):
        assert page.evaluate(INK, sel) > 200, sel
    assert page.locator('input[name="heads"]').count() == 1  # ALiBi's controls are shown
    assert page.locator('input[name="factor"]').count() == 0  # neither scheme reads the factor
    page.select_option('select[name="scheme"]', "yarn")
    assert probe.model_get(0, "scheme") == "yarn"
    assert page.locator('input[name="factor"]').count() == 1
    page.wait_for_function("document.querySelector('.iw-av-note').textContent.includes('No kernel')", timeout=10_000)
    assert probe.dialogs == [] and probe.errors == [] and probe.blocked == []


SETUP = """\
import interp_widgets.positional as P
view = P.explorer("rope", dim=16, length=64)
view
"""


def test_live_control_change_is_recomputed_by_the_kernel(probe, jupyter_lab):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(SETUP),
                nbformat.v4.new_code_cell('print("STATE", view.scheme, view.revision, view.info_a["scheme"])')]
    nbformat.write(nb, jupyter_lab.root / "explorer.ipynb")
    page = probe.page
    page.set_default_timeout(120_000)
    page.goto(jupyter_lab.url("lab/tree/explorer.ipynb"))
    page.locator(".jp-Notebook .jp-Cell").nth(1).wait_for()
    page.locator(".jp-StatusBar-TextItem", has_text=re.compile(r"\(ipykernel\) \| Idle")).wait_for()
    jupyter_lab.run_cell(page, 0)
    error = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    page.locator(".iw-pe-matrix").or_(error.first).wait_for()
    assert error.count() == 0, error.first.inner_text()
    page.select_option('select[name="scheme"]', "alibi")
    page.locator('.iw-pe-matrix[data-scheme="alibi"]').wait_for()  # redrawn from the kernel's answer
    jupyter_lab.run_cell(page, 1)
    out = page.locator(".jp-OutputArea-output", has_text="STATE")
    out.wait_for()
    assert out.inner_text().strip() == "STATE alibi 1 alibi"
    assert "No kernel" not in page.locator(".iw-av-note").inner_text()
    assert page.evaluate(INK, ".iw-pe-matrix") > 200
    assert probe.dialogs == [] and probe.errors == []
