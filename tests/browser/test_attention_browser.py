"""AttentionView in headless Chromium: every view renders from real Python state, interactions
change the view, hostile token text stays text (static page and live JupyterLab)."""

from __future__ import annotations


import pytest

import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
from interp_widgets.widgets import save_html

HOSTILE = "<img src=x onerror=alert(1)> </script> שלום עולם e\u0301\u0301 日本語のテキスト"


@pytest.fixture(scope="module")
def encoder_view(encoder_tokenizer):
    from tests.conftest import tiny_hf_model

    model = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer, name="tiny-bert")
    return patterns(model, HOSTILE, pair="To be, or not to be").show()


def _page(probe, view, tmp_path, name="attn.html"):
    path = save_html(view, tmp_path / name)
    probe.open(path)
    probe.page.wait_for_selector(".iw-attention canvas")
    return probe.page


def _click_tab(page, view: str) -> None:
    page.click(f'.iw-attn-tab[data-view="{view}"]')
    page.wait_for_selector(f".iw-attn-view-{view}")


def test_static_page_renders_every_view(probe, encoder_view, tmp_path):
    page = _page(probe, encoder_view, tmp_path)
    assert probe.ink(".iw-head-canvas") > 200
    assert int(page.get_attribute(".iw-head-canvas", "data-units")) == len(encoder_view.tokens)
    assert int(page.get_attribute(".iw-head-canvas", "data-rows")) == min(36, len(encoder_view.tokens))
    assert int(page.get_attribute(".iw-head-canvas", "data-edges")) > 0
    assert page.locator(".iw-attn-head").count() == encoder_view.n_heads
    for view, canvas in [("model", ".iw-model-canvas"), ("heatmap", ".iw-heatmap-canvas")]:
        _click_tab(page, view)
        assert probe.ink(canvas) > 200, view
    page.fill('input[name="token"]', "3")
    page.dispatch_event('input[name="token"]', "change")
    for view, canvas in [("token", ".iw-token-canvas"), ("qk", ".iw-qk-canvas")]:
        _click_tab(page, view)
        assert probe.ink(canvas) > 200, view
    assert probe.model_get(0, "token") == 3
    assert probe.dialogs == [] and probe.errors == [] and probe.blocked == []
    assert page.locator(".iw-attention img").count() == 0


def test_static_interactions_change_the_view(probe, encoder_view, tmp_path):
    page = _page(probe, encoder_view, tmp_path)
    before = int(page.get_attribute(".iw-head-canvas", "data-edges"))
    page.dblclick('.iw-attn-head[data-head="1"]')
    page.wait_for_function("window.interpWidgets.models[0].get('heads').length === 1")
    assert probe.model_get(0, "heads") == [1]
    assert int(page.get_attribute(".iw-head-canvas", "data-edges")) < before
    page.select_option('select[name="layer"]', "1")
    assert probe.model_get(0, "layer") == 1
    page.select_option('select[name="pair_filter"]', "A>B")
    assert probe.model_get(0, "pair_filter") == "A>B"
    box = page.locator(".iw-head-canvas").bounding_box()
    page.mouse.click(box["x"] + 100, box["y"] + 4 + 16 * 2 + 8)
    assert probe.model_get(0, "token") == 2
    _click_tab(page, "model")
    box = page.locator(".iw-model-canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] - 10, box["y"] + box["height"] - 10)
    assert probe.model_get(0, "view") == "heatmap"
    assert probe.model_get(0, "layer") == encoder_view.n_layers - 1
    assert probe.errors == []


def test_hostile_tokens_stay_text_in_static_page(probe, encoder_view, tmp_path):
    page = _page(probe, encoder_view, tmp_path)
    html = (tmp_path / "attn.html").read_text(encoding="utf-8")
    assert "<img src=x" not in html and "</script> " not in html
    page.mouse.move(10, 10)
    box = page.locator(".iw-head-canvas").bounding_box()
    page.mouse.move(box["x"] + 60, box["y"] + 4 + 16 * 1 + 8)
    tooltip = page.locator(".iw-tooltip")
    tooltip.wait_for()
    assert '#1 "<"' in tooltip.inner_text()
    assert page.locator(".iw-attention img, .iw-attention script").count() == 0
    assert probe.dialogs == [] and probe.errors == []


SETUP = f"""\
import sys; sys.path.insert(0, {str(iw.__file__).rsplit('/interp_widgets/', 1)[0]!r})
from tests.conftest import tiny_hf_model, _tokenizer
import interp_widgets as iw
from interp_widgets.analysis.attention.patterns import patterns
m = iw.wrap(tiny_hf_model("gpt2"), _tokenizer(False), name="tiny-gpt2")
view = patterns(m, {HOSTILE!r}).show()
view"""


def test_live_kernel_slices_and_sync(probe, jupyter_lab):
    page = probe.page
    jupyter_lab.open_notebook(page, "attn.ipynb", [
        SETUP, 'print("STATE", view.layer, view.heads, view.token, view.sent_bytes > 0)'])
    jupyter_lab.run_until(page, 0, ".iw-head-canvas")
    assert probe.ink(".iw-head-canvas") > 200
    page.select_option('select[name="layer"]', "1")
    page.wait_for_function("document.querySelector('.iw-head-canvas') !== null")
    page.click('.iw-attn-head[data-head="0"]')
    page.fill('input[name="token"]', "1")
    page.dispatch_event('input[name="token"]', "change")
    page.wait_for_timeout(500)
    jupyter_lab.run_cell(page, 1)
    out = page.locator(".jp-OutputArea-output", has_text="STATE")
    out.wait_for()
    assert out.inner_text().strip() == "STATE 1 [1, 2, 3] 1 True"
    assert page.locator(".jp-OutputArea .iw-attention img").count() == 0
    assert probe.dialogs == [] and probe.errors == []
