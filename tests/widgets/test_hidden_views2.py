"""Views of the brain-alignment, neuron-factor and neighbour-search results: binary payloads
equal to the results, validated state with the refusal explained in ``error``, bad input, and
offline static export."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets.hidden import NeighborIndex, brain_alignment, neuron_factors
from interp_widgets.widgets import to_html
from interp_widgets.widgets.brain_view import BrainAlignmentView, BrainComparisonView
from interp_widgets.widgets.neighbor_view import NeighborView
from interp_widgets.widgets.neuron_factor_view import NeuronFactorView
from tests.widgets.test_hidden_views import _refused_in_error
from tests.widgets.test_hidden_views import _wire as wire_payload

TIMES = np.linspace(-0.1, 0.3, 5)
TEXT = "The quick brown fox jumps over the lazy dog."
CORPUS = ["The quick brown fox jumps over the lazy dog.", "The dog sleeps in the sun, the fox does not."]


def _wire(view, name):
    """The array the browser receives for trait ``name`` (a float32 binary buffer)."""
    return wire_payload(view, name)[1]


def _same(view, name, value):
    got = _wire(view, name)
    want = value.detach().float().numpy() if isinstance(value, torch.Tensor) else np.asarray(value, dtype=np.float32)
    assert got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def brain():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(3, 60, 8))
    recordings = rng.normal(size=(60, 4, 5))
    one = brain_alignment(acts, recordings, times=TIMES, n_folds=3)
    many = brain_alignment({"small": acts[:, :, :4], "large": acts}, recordings, times=TIMES, n_folds=3,
                           sizes={"small": 1e6, "large": 3e8})
    return one, many


def test_brain_views_payloads(brain):
    one, many = brain
    view = one.show()
    assert isinstance(view, BrainAlignmentView) and view.kind == "alignment" and view.layers == one.layers
    for name in ("scores", "times", "peak_latency", "peak_r"):
        _same(view, name, getattr(one, name))
    assert _wire(view, "scores").shape == (3, 5)
    assert f"{one.alignment_score:.3f}" in view.title and one.temporal_method in view.title
    cmp = many.show()
    assert isinstance(cmp, BrainComparisonView) and cmp.names == ["small", "large"] and cmp.kind == "comparison"
    for name in ("sizes", "alignment_scores", "temporal_scores"):
        _same(cmp, name, getattr(many, name))
    page = to_html([view, cmp])
    assert page.count("brain_view") >= 2 and "http://" not in page and "https://" not in page


def test_brain_views_bad_input(brain):
    one, many = brain
    with pytest.raises(TypeError, match="BrainAlignment result"):
        BrainAlignmentView(many)
    with pytest.raises(TypeError, match="BrainComparison result"):
        BrainComparisonView(one)
    bad = dataclasses.replace(many, sizes=torch.tensor([0.0, 1e6], dtype=torch.float64))
    with pytest.raises(ValueError, match="sizes must be positive"):
        bad.show()
    with pytest.raises(TraitError):
        one.show().scores = np.zeros(3)


def test_neuron_factor_view_payload_and_factor(llama):
    result = neuron_factors(llama, TEXT, n_factors=3)
    view = result.show(factor=1, k=4)
    assert isinstance(view, NeuronFactorView) and view.tokens == result.tokens and view.factor == 1
    _same(view, "factors", result.factors)
    assert _wire(view, "factors").shape == (3, len(result.tokens))
    positions, strengths = _wire(view, "top_positions"), _wire(view, "top_strengths")
    assert positions.shape == strengths.shape == (3, 4)
    for f in range(3):
        assert [view.tokens[int(p)] for p in positions[f]] == [t for t, _ in result.factor_tokens(f, 4)]
        np.testing.assert_allclose(strengths[f], [v for _, v in result.factor_tokens(f, 4)], rtol=1e-6)
        assert view.top_neurons[f] == [label for label, _ in result.top_neurons(f, 4)]
        np.testing.assert_allclose(_wire(view, "top_loadings")[f], [v for _, v in result.top_neurons(f, 4)], rtol=1e-6)
    _refused_in_error(view, "factor", 3, 2)
    _refused_in_error(view, "factor", -1, 0)
    with pytest.raises(TypeError, match="NeuronFactors result"):
        NeuronFactorView(object())
    with pytest.raises(ValueError, match="positive int"):
        result.show(k=0)
    with pytest.raises(TraitError, match="NeuronFactorView.factor"):
        result.show(factor=7)
    assert "neuron_factor_view" in to_html(view)


def test_neighbor_view_payload_and_selection(llama):
    tags = [["DET" if t.strip().lower() == "the" else "X" for t in llama.to_str_tokens(text)] for text in CORPUS]
    result = NeighborIndex.build(llama, CORPUS, layer=1, tags=tags).search(CORPUS[1], " dog", k=5, window=2)
    view = result.show()
    assert isinstance(view, NeighborView) and view.selected == -1
    assert view.query_tokens == result.query_tokens and view.query_tokens[view.query_position] == " dog"
    assert (view.tokens, view.left, view.right, view.tags) == (result.tokens, result.left, result.right, result.tags)
    for name in ("similarities", "doc_ids", "positions"):
        _same(view, name, getattr(result, name))
    assert view.tag_names == list(result.tag_counts)
    _same(view, "tag_counts", list(result.tag_counts.values()))
    assert _wire(view, "prediction_probs").shape == (0,) and view.predictions == []
    _refused_in_error(view, "selected", 5, 4)
    _refused_in_error(view, "selected", -2, -1)
    with pytest.raises(TypeError, match="Neighbors result"):
        NeighborView(result.tag_counts)
    page = to_html(view)
    assert "neighbor_view" in page and "<script src" not in page
