"""The positional-encoding explorer in headless Chromium: a static page draws both schemes' panels
and says that no kernel recomputes them; in a live JupyterLab a control change reaches Python,
which recomputes, and the page redraws."""

from __future__ import annotations


import interp_widgets.positional as P
from interp_widgets.widgets import save_html


def test_static_page_draws_both_schemes(probe, tmp_path):
    view = P.explorer("rope", compare="alibi", dim=16, length=64)
    probe.open(save_html(view, tmp_path / "explorer.html"))
    page = probe.page
    page.wait_for_selector(".iw-positional canvas")
    for sel in (".iw-pe-matrix.iw-pe-a", ".iw-pe-curves.iw-pe-a", ".iw-pe-matrix.iw-pe-b", ".iw-pe-curves.iw-pe-b"):
        assert probe.ink(sel) > 200, sel
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
    page = probe.page
    jupyter_lab.open_notebook(page, "explorer.ipynb", [
        SETUP, 'print("STATE", view.scheme, view.revision, view.info_a["scheme"])'])
    jupyter_lab.run_until(page, 0, ".iw-pe-matrix")
    page.select_option('select[name="scheme"]', "alibi")
    page.locator('.iw-pe-matrix[data-scheme="alibi"]').wait_for()  # redrawn from the kernel's answer
    jupyter_lab.run_cell(page, 1)
    out = page.locator(".jp-OutputArea-output", has_text="STATE")
    out.wait_for()
    assert out.inner_text().strip() == "STATE alibi 1 alibi"
    assert "No kernel" not in page.locator(".iw-av-note").inner_text()
    assert probe.ink(".iw-pe-matrix") > 200
    assert probe.dialogs == [] and probe.errors == []
