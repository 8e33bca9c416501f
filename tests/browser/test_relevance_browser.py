"""RelevanceView in headless Chromium: a saved page renders one row of signed-coloured tokens per
method, the layer map, redistribution and faithfulness canvases; clicks select a token, and a
linked AttentionView follows; generation steps move the explained token; in a live JupyterLab a
click reaches the Python trait and a linked view."""

from __future__ import annotations

import re

import pytest

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.analysis.attention import patterns
from interp_widgets.widgets import save_html

HOSTILE = "<img src=x onerror=alert(1)> </script> שלום e\u0301 日本語"
RGB = re.compile(r"rgb\((\d+), (\d+), (\d+)\)")


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


def _colour(page, selector):
    style = page.locator(selector).get_attribute("style") or ""
    match = RGB.search(style)
    return tuple(int(v) for v in match.groups()) if match else None


def test_static_rows_click_and_link(probe, llama, tmp_path):
    cmp = A.compare(llama, HOSTILE, 7, methods={"gradient_x_input": {}, "attnlrp": {}}, replacement="unk")
    tr = A.token_relevance(llama, HOSTILE, 7)
    rel = iw.widgets.RelevanceView.from_results([*cmp.results, tr], faithfulness=cmp.faithfulness)
    att = patterns(llama, HOSTILE).show()
    link = iw.link_tokens(rel, att)
    path = save_html([rel, att], tmp_path / "rel.html", links=link.html_links)
    assert "<img src=x" not in path.read_text(encoding="utf-8")
    probe.open(path)
    page = probe.page
    page.wait_for_selector(".iw-relevance .iw-rel-strip")
    T, M = len(rel.tokens), len(rel.methods)
    strips = page.locator(".iw-relevance .iw-rel-rows:not(.iw-rel-redistribution-row) .iw-rel-strip")
    assert strips.count() == M
    assert [page.locator(".iw-rel-label").nth(m).inner_text() for m in range(M)] == rel.methods
    for m in range(M):
        assert strips.nth(m).locator(".iw-token").count() == T
    assert page.locator(".iw-relevance img, .iw-relevance script").count() == 0
    text = strips.nth(0).inner_text()
    assert "<img" in text and "onerror=alert(1)>" in text and "</script>" in text  # kept as text
    # signed colours: the most positive token is red-ish, the most negative blue-ish
    scores = rel.scores[0, 0]
    hi, lo = int(scores.argmax()), int(scores.argmin())
    r, _, b = _colour(page, f'.iw-rel-strip[data-method="gradient_x_input"] .iw-token[data-index="{hi}"]')
    assert r > b
    r, _, b = _colour(page, f'.iw-rel-strip[data-method="gradient_x_input"] .iw-token[data-index="{lo}"]')
    assert b > r
    for sel in (".iw-rel-layers", ".iw-rel-redistribution", ".iw-rel-faith"):
        assert probe.ink(sel) > 100, sel
    # per-row normalisation: the attnlrp row's largest |score| reaches the end of the scale
    lrp = rel.scores[0, 1]
    top = int(abs(lrp).argmax())
    selector = f'.iw-rel-strip[data-method="attnlrp"] .iw-token[data-index="{top}"]'
    page.select_option('select[name="normalize"]', "row")
    assert probe.model_get(0, "normalize") == "row"
    assert _colour(page, selector) in ((181, 48, 44), (42, 92, 170))
    # click a token: the view's trait changes, the linked AttentionView follows
    strips.nth(1).locator(".iw-token").nth(2).click()
    assert probe.model_get(0, "token") == 2 and probe.model_get(1, "token") == 2
    assert page.locator(".iw-rel-strip .iw-token.iw-selected").count() >= M
    assert page.locator(".iw-rel-redistribution-row .iw-token").count() == T
    assert "#2" in page.locator(".iw-relevance .iw-av-note").inner_text()
    assert probe.dialogs == [] and probe.errors == [] and probe.blocked == []


def test_static_generation_steps(probe, llama, tmp_path):
    gen = A.generation_attribution(llama, "The quick brown", max_new_tokens=3, stop_at_eos=False)
    path = save_html(gen.show(), tmp_path / "gen.html")
    probe.open(path)
    page = probe.page
    page.wait_for_selector(".iw-relevance .iw-rel-strip")
    target = '.iw-rel-strip .iw-token.iw-rel-target'
    assert page.locator(target).get_attribute("data-index") == str(gen.n_prompt)
    assert page.locator(".iw-rel-strip .iw-token.iw-rel-unread").count() == 3
    page.select_option('select[name="step"]', "2")
    assert probe.model_get(0, "step") == 2
    assert page.locator(target).get_attribute("data-index") == str(gen.n_prompt + 2)
    assert page.locator(".iw-rel-strip .iw-token.iw-rel-unread").count() == 1
    page.get_by_role("button", name="\u25c0").click()
    assert probe.model_get(0, "step") == 1
    assert probe.ink(".iw-rel-layers") > 100
    assert probe.errors == [] and probe.blocked == []


SETUP = """\
import numpy as np
from interp_widgets import link_tokens
from interp_widgets.widgets import RelevanceView, TokenStrip
tokens = ["alpha", " beta", "<img src=x onerror=alert(1)>", " delta"]
rel = RelevanceView(tokens, ["m1", "m2"], np.array([[0.5, -1.0, 0.2, 0.0], [1.0, 0.1, -0.3, 0.4]]))
strip = TokenStrip(tokens, [0.1, 0.2, 0.3, 0.4])
link = link_tokens(rel, strip)
rel"""


def test_click_reaches_python(probe, jupyter_lab):
    page = probe.page
    jupyter_lab.open_notebook(page, "rel.ipynb", [SETUP, 'print("TOKEN", rel.token, strip.selected)', "rel.token = 0"])
    jupyter_lab.run_until(page, 0, ".jp-OutputArea .iw-rel-strip .iw-token >> nth=7")
    assert page.locator(".jp-OutputArea img").count() == 0
    page.locator(".jp-OutputArea .iw-rel-strip").nth(1).locator(".iw-token").nth(3).click()
    jupyter_lab.run_cell(page, 1)
    page.get_by_text("TOKEN 3 3").wait_for()
    jupyter_lab.run_cell(page, 2)
    page.locator(".jp-OutputArea .iw-rel-strip .iw-token.iw-selected", has_text="alpha").first.wait_for()
    assert probe.dialogs == [] and probe.errors == []
