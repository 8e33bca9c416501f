"""Views of the hidden-state results in headless Chromium, from static pages: the logit-lens grid
(one cell per stage and position, top-k on hover, column click selects the position, rank
curves drawn), the patching heatmap (drawn, component on hover, kind selector) and the
generation view (one element per token, alternatives on hover; a click asks the kernel, which a
saved page does not have, so the attribution round trip is tested in tests/widgets)."""

from __future__ import annotations

import json

import pytest

import interp_widgets as iw
from interp_widgets.hidden import activation_patching, generate, logit_diff, logit_lens

from .test_analysis_views_browser import _clean, _open

TEXT = "To be, or not to be, that is the"
CORRUPTED = "To be, or not to be, not is the"
HOSTILE = "<img src=x onerror=alert(1)> </script> e\u0301"


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


def test_logit_lens_grid_static(probe, llama, tmp_path):
    result = logit_lens(llama, HOSTILE, k=3, watch=[" be", 7])
    view = result.show()
    page = _open(probe, view, tmp_path, ".iw-logit-lens .iw-ll-grid")
    S, P = len(result.stages), len(result.tokens)
    assert page.locator(".iw-ll-cell").count() == S * P
    assert page.locator(".iw-ll-col").count() == P
    cell = page.locator('.iw-ll-cell[data-stage="1"][data-pos="2"]')
    assert cell.inner_text().strip()
    cell.hover()
    tip = page.locator(".iw-tooltip").inner_text().split("\n")
    assert tip[0].startswith(result.stages[1]) and tip[1].startswith("entropy") and len(tip) == 2 + 3 + 2
    assert tip[2].startswith("1. " + json.dumps(result.topk_tokens[1][2][0], ensure_ascii=False))
    assert probe.ink(".iw-ll-ranks") > 100
    cell.click()
    assert probe.model_get(0, "position") == 2
    assert page.get_attribute(".iw-ll-grid", "data-position") == "2"
    assert page.locator(".iw-ll-selected").count() == S + 1
    _clean(probe)


def test_patching_heatmap_static(probe, llama, tmp_path):
    result = activation_patching(llama, TEXT, CORRUPTED, logit_diff(llama, " the", " a"),
                                 by=["resid_pre", "head_out"], progress=False)
    page = _open(probe, result.show(), tmp_path, ".iw-patching canvas")
    assert probe.ink(".iw-patch-heatmap") > 200
    assert page.get_attribute(".iw-patch-heatmap", "data-cols") == str(len(result.clean_tokens))
    box = page.locator(".iw-patch-heatmap").bounding_box()
    page.mouse.move(box["x"] + 75, box["y"] + 24)
    tip = page.locator(".iw-tooltip").inner_text()
    assert "resid_pre: L1" in tip and result.metric in tip
    note = page.locator(".iw-av-note").inner_text()
    assert result.metric in note and "unpatched runs: clean" in note
    page.select_option('select[name="kind"]', "head_out")
    assert probe.model_get(0, "kind") == "head_out"
    assert page.get_attribute(".iw-patch-heatmap", "data-cols") == str(llama.cfg.n_heads)
    assert probe.ink(".iw-patch-heatmap") > 200
    _clean(probe)


def test_generation_view_static(probe, llama, tmp_path):
    gen = generate(llama, HOSTILE, max_new_tokens=6, k=3, stop_at_eos=False)
    page = _open(probe, gen.show(), tmp_path, ".iw-generation .iw-gen-text")
    assert page.locator(".iw-gen-prompt").count() == len(gen.prompt_tokens)
    assert page.locator(".iw-gen-token").count() == len(gen.tokens)
    token = page.locator(".iw-gen-token").nth(2)
    assert token.evaluate("e => getComputedStyle(e).backgroundColor") != "rgba(0, 0, 0, 0)"
    token.hover()
    tip = page.locator(".iw-tooltip").inner_text()
    assert tip.startswith("step 2") and "entropy" in tip and tip.count("\n") == 4
    token.click()
    assert probe.model_get(0, "selected") == 2
    assert "computed by the Python kernel" in page.locator(".iw-gen-label").inner_text()
    assert page.locator(".iw-gen-relevance").is_hidden()
    _clean(probe)
