"""Brain-alignment, neuron-factor and neighbour-search views in headless Chromium, from static
pages: elements drawn, hover read-outs, and one interaction each (factor row click, match click)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import interp_widgets as iw
from interp_widgets.hidden import NeighborIndex, brain_alignment, neuron_factors

from .test_analysis_views_browser import _clean, _open

HOSTILE = "<img src=x onerror=alert(1)> </script> e\u0301 the dog"
CORPUS = ["The quick brown fox jumps over the lazy dog.", HOSTILE]
TIMES = np.linspace(-0.1, 0.3, 5)


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


def test_brain_views_static(probe, tmp_path):
    rng = np.random.default_rng(0)
    acts, recordings = rng.normal(size=(3, 60, 8)), rng.normal(size=(60, 4, 5))
    one = brain_alignment(acts, recordings, times=TIMES, n_folds=3)
    many = brain_alignment({"small": acts[:, :, :4], "large": acts}, recordings, times=TIMES, n_folds=3,
                           sizes={"small": 1e6, "large": 3e8})
    page = _open(probe, [one.show(), many.show()], tmp_path, ".iw-brain canvas")
    assert probe.ink(".iw-brain-heatmap") > 200
    peaks = json.loads(page.get_attribute(".iw-brain-heatmap", "data-peaks"))
    assert peaks == [int(np.argmin(np.abs(TIMES - t))) for t in one.peak_latency.tolist()]
    box = page.locator(".iw-brain-heatmap").bounding_box()
    page.mouse.move(box["x"] + 70 + 2.5 * 18, box["y"] + 18 + 0.5 * 18)  # top row = last layer, lag 2
    tip = page.locator(".iw-tooltip:visible").inner_text().split("\n")  # one tooltip per view
    assert tip[0] == "layer L2, lag 0.1 s" and tip[1].startswith("r = ")
    assert float(tip[1][4:]) == pytest.approx(float(one.scores[2, 2]), rel=1e-3)
    for name in ("alignment", "temporal"):
        canvas = page.locator(f".iw-brain-{name}")
        assert canvas.get_attribute("data-points") == "2" and probe.ink(f".iw-brain-{name}") > 100
    index, x, y = json.loads(page.get_attribute(".iw-brain-alignment", "data-positions"))[1]
    box = page.locator(".iw-brain-alignment").bounding_box()
    page.mouse.move(box["x"] + x, box["y"] + y)
    assert page.locator(".iw-tooltip:visible").inner_text().split("\n")[0] == ["small", "large"][index]
    _clean(probe)


def test_neuron_factor_view_static(probe, llama, tmp_path):
    result = neuron_factors(llama, HOSTILE, n_factors=3)
    page = _open(probe, result.show(k=4), tmp_path, ".iw-neuron-factors .iw-nf-row")
    assert page.locator(".iw-nf-row").count() == 3 and page.locator(".iw-nf-spark").count() == 3
    assert probe.ink(".iw-nf-spark") > 20
    assert page.locator(".iw-nf-strip .iw-token").count() == len(result.tokens)
    page.locator('.iw-nf-row[data-factor="2"]').click()
    assert probe.model_get(0, "factor") == 2
    assert page.get_attribute(".iw-nf-rows", "data-factor") == "2"
    assert page.locator(".iw-nf-selected").get_attribute("data-factor") == "2"
    items = page.locator(".iw-nf-top-tokens li")
    assert items.count() == 4
    top = result.factor_tokens(2, 1)[0][0]
    assert json.dumps(top, ensure_ascii=False) in items.first.inner_text()
    assert page.locator(".iw-nf-top-neurons li").first.inner_text().startswith(result.top_neurons(2, 1)[0][0])
    _clean(probe)


def test_neighbor_view_static(probe, llama, tmp_path):
    tags = [["DET" if t.strip().lower() == "the" else "X" for t in llama.to_str_tokens(text)] for text in CORPUS]
    result = NeighborIndex.build(llama, CORPUS, layer=1, tags=tags).search(CORPUS[0], " dog", k=5, window=2)
    page = _open(probe, result.show(), tmp_path, ".iw-neighbors .iw-nb-table")
    assert page.locator(".iw-nb-match").count() == 5
    assert page.locator(".iw-nb-focus").inner_text() == "\u2423dog"
    assert page.locator(".iw-nb-token").first.inner_text() == result.tokens[0].replace(" ", "\u2423")
    assert probe.ink(".iw-nb-tags") > 50
    assert page.get_attribute(".iw-nb-tags", "data-bars") == str(len(result.tag_counts))
    row = page.locator('.iw-nb-match[data-index="1"]')
    row.hover()
    assert page.locator(".iw-tooltip").inner_text().startswith("match 2")
    row.click()
    assert probe.model_get(0, "selected") == 1
    assert page.get_attribute(".iw-nb-table", "data-selected") == "1"
    assert page.get_attribute(".iw-nb-tags", "data-highlight") == result.tags[1]
    _clean(probe)
