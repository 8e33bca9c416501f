"""TokenStrip in a real JupyterLab with a live kernel: clicks reach Python, Python reaches the page."""

from __future__ import annotations


SETUP = """\
from interp_widgets.widgets import TokenStrip
strip = TokenStrip(["alpha", " beta", "<img src=x onerror=alert(1)>"], [0.1, 0.5, 0.9], label="p")
strip"""


def test_clicks_and_python_updates_round_trip(probe, jupyter_lab):
    page = probe.page
    jupyter_lab.open_notebook(page, "strip.ipynb", [SETUP, 'print("SELECTED", strip.selected)', "strip.selected = 0"])
    tokens = page.locator(".jp-OutputArea .iw-token")
    jupyter_lab.run_until(page, 0, ".jp-OutputArea .iw-token >> nth=2")
    assert tokens.all_text_contents() == ["alpha", "\u2423beta", "<img src=x onerror=alert(1)>"]
    assert page.locator(".jp-OutputArea img").count() == 0

    tokens.nth(1).click()
    jupyter_lab.run_cell(page, 1)
    page.get_by_text("SELECTED 1").wait_for()

    jupyter_lab.run_cell(page, 2)
    page.locator(".jp-OutputArea .iw-token.iw-selected", has_text="alpha").wait_for()
    assert probe.dialogs == []
    assert probe.errors == []
