"""Views of the attention analyses in headless Chromium: each renders from real Python state in a
static page (DOM present, canvases drawn, hostile token text kept as text), interactions change
the page's state, and in a live JupyterLab a click on a head reaches Python and opens that head
in a linked AttentionView."""

from __future__ import annotations

import json

import pytest

import interp_widgets as iw
from interp_widgets.analysis.attention import (compare_flows, flow, head_stats, massive_values, norms,
                                               rollout)
from interp_widgets.widgets import save_html

HOSTILE = "<img src=x onerror=alert(1)> </script> שלום e\u0301 日本語"


@pytest.fixture(scope="module")
def models(encoder_tokenizer, causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return {"bert": iw.wrap(tiny_hf_model("bert"), encoder_tokenizer, name="tiny-bert"),
            "llama": iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama"),
            "llama2": iw.wrap(tiny_hf_model("llama", seed=1), causal_tokenizer, name="tiny-llama-2")}


def _open(probe, view, tmp_path, selector):
    path = save_html(view, tmp_path / "view.html")
    assert "<img src=x" not in path.read_text(encoding="utf-8")
    probe.open(path)
    probe.page.wait_for_selector(selector)
    return probe.page


def _clean(probe):
    page = probe.page
    assert page.locator(".iw-analysis img, .iw-analysis script").count() == 0
    assert probe.dialogs == [] and probe.errors == [] and probe.blocked == []


def test_head_stats_view_static(probe, models, tmp_path):
    view = head_stats(models["bert"], HOSTILE).show()
    page = _open(probe, view, tmp_path, ".iw-head-stats canvas")
    assert probe.ink(".iw-hs-canvas") > 200
    assert int(page.get_attribute(".iw-hs-canvas", "data-points")) == view.n_layers * view.n_heads
    layer, head, x, y = json.loads(page.get_attribute(".iw-hs-canvas", "data-positions"))[5]
    box = page.locator(".iw-hs-canvas").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    assert f"layer {layer}, head {head}" in page.locator(".iw-tooltip").inner_text()
    page.mouse.click(box["x"] + x, box["y"] + y)
    assert probe.model_get(0, "selected_head") == [layer, head]
    assert page.get_attribute(".iw-hs-canvas", "data-selected") == f"{layer},{head}"
    page.select_option('select[name="y_stat"]', "to_prev")
    assert probe.model_get(0, "y_stat") == "to_prev"
    page.select_option('select[name="mode"]', "mds")
    assert probe.model_get(0, "mode") == "mds"
    assert probe.ink(".iw-hs-canvas") > 200
    _clean(probe)


def test_flow_view_static_rollout_and_compare(probe, models, tmp_path):
    m = models["llama"]
    view = rollout(m, HOSTILE).show(flow=flow(m, HOSTILE, outputs=[-1], progress=False), threshold=0.2)
    page = _open(probe, view, tmp_path, ".iw-flow canvas")
    for sel in (".iw-flow-graph", ".iw-flow-raw", ".iw-flow-rollout", ".iw-flow-flow"):
        assert probe.ink(sel) > 100, sel
    before = int(page.get_attribute(".iw-flow-graph", "data-edges"))
    assert before > 0
    page.select_option('select[name="token"]', "2")
    assert probe.model_get(0, "token") == 2
    assert int(page.get_attribute(".iw-flow-graph", "data-edges")) < before  # only paths from token 2
    page.select_option('select[name="layer"]', "1")
    assert probe.model_get(0, "layer") == 1
    box = page.locator(".iw-flow-raw").bounding_box()
    page.mouse.move(box["x"] + 72, box["y"] + 22)
    assert '"<' in page.locator(".iw-tooltip").inner_text()  # hostile token quoted as text
    _clean(probe)

    cmp = compare_flows(m, models["llama2"], HOSTILE, threshold=0.02).show()
    probe.page.goto("about:blank")
    page = _open(probe, cmp, tmp_path, ".iw-flow canvas")
    assert probe.ink(".iw-flow-graph") > 100
    assert page.locator(".iw-flow-influence").count() == 2
    assert int(page.get_attribute(".iw-flow-graph", "data-edges")) > 0
    assert "only tiny-llama-2" in page.locator(".iw-flow-legend").inner_text()
    _clean(probe)


def test_norm_view_static(probe, models, tmp_path):
    view = norms(models["bert"], HOSTILE).show()
    page = _open(probe, view, tmp_path, ".iw-norms canvas")
    for sel in (".iw-norm-alpha", ".iw-norm-norm", ".iw-norm-curves"):
        assert probe.ink(sel) > 100, sel
    page.select_option('select[name="head"]', "2")
    assert probe.model_get(0, "head") == 2
    page.select_option('select[name="norm"]', "AttnResLn-N")
    assert probe.model_get(0, "norm") == "AttnResLn-N"
    page.select_option('select[name="layer"]', "1")
    assert probe.model_get(0, "layer") == 1
    page.locator(".iw-norm-curves").click(position={"x": 40, "y": 100})  # the first layer's column
    assert probe.model_get(0, "layer") == 0
    _clean(probe)


def test_massive_view_static(probe, models, tmp_path):
    view = massive_values(models["llama"], HOSTILE, lam=2.0).show()
    page = _open(probe, view, tmp_path, ".iw-massive canvas")
    for sel in (".iw-massive-q", ".iw-massive-k", ".iw-massive-v", ".iw-massive-freq"):
        assert probe.ink(sel) > 100, sel
    assert int(page.get_attribute(".iw-massive-q", "data-massive")) == int(view.mask_q[0].sum())
    page.select_option('select[name="layer"]', "1")
    assert probe.model_get(0, "layer") == 1
    assert int(page.get_attribute(".iw-massive-q", "data-massive")) == int(view.mask_q[1].sum())
    page.check('input[name="log_scale"]')
    assert probe.model_get(0, "log_scale") is True
    _clean(probe)


SETUP = f"""\
import sys; sys.path.insert(0, {str(iw.__file__).rsplit('/interp_widgets/', 1)[0]!r})
from tests.conftest import tiny_hf_model, _tokenizer
import interp_widgets as iw
from interp_widgets.analysis.attention import head_stats, patterns
m = iw.wrap(tiny_hf_model("bert"), _tokenizer(True), name="tiny-bert")
stats = head_stats(m, {HOSTILE!r}).show()
attention = patterns(m, {HOSTILE!r}).show()
stats.link(attention)
stats"""


def test_live_click_on_a_head_opens_it_in_the_attention_view(probe, jupyter_lab):
    page = probe.page
    jupyter_lab.open_notebook(page, "stats.ipynb", [
        SETUP, 'print("STATE", stats.selected_head, attention.layer, attention.head, attention.view)'])
    jupyter_lab.run_until(page, 0, ".iw-hs-canvas")
    assert probe.ink(".iw-hs-canvas") > 200
    positions = json.loads(page.get_attribute(".iw-hs-canvas", "data-positions"))
    layer, head, x, y = next(p for p in positions if p[0] == 1 and p[1] == 2)
    page.locator(".iw-hs-canvas").click(position={"x": x, "y": y})
    page.wait_for_function("document.querySelector('.iw-hs-canvas')?.dataset.selected === '1,2'")
    page.wait_for_timeout(500)
    jupyter_lab.run_cell(page, 1)
    out = page.locator(".jp-OutputArea-output", has_text="STATE")
    out.wait_for()
    assert out.inner_text().strip() == "STATE [1, 2] 1 2 heatmap"
    assert probe.dialogs == [] and probe.errors == []
