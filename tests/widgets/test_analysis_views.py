"""Views of the attention analyses: validated traits, payloads equal to the results, linked
selection into an AttentionView, and static export with hostile token text."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from traitlets import TraitError

import interp_widgets as iw
from interp_widgets.analysis.attention import (compare_flows, flow, head_stats, massive_values, norms, patterns,
                                               rollout)
from interp_widgets.widgets import FlowView, HeadStatsView, MassiveView, NormView, payload_to_array, to_html
from interp_widgets.widgets.flow_view import ONLY_A, ONLY_B, SHARED, edge_classes

TEXT = "To be, or not to be: that is the question."
HOSTILE = "<img src=x onerror=alert(1)> </script> & e\u0301"


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def bert(encoder_tokenizer):
    from tests.conftest import tiny_hf_model

    return iw.wrap(tiny_hf_model("bert"), encoder_tokenizer, name="tiny-bert")


def _wire(view, name):
    """The array as the browser receives it."""
    trait = view.traits()[name]
    return payload_to_array(trait._to_json(getattr(view, name), view))


def test_head_stats_view_payload_and_validation(bert):
    result = head_stats(bert, [TEXT, "Shall I compare thee to a summer's day?"])
    view = result.show()
    assert isinstance(view, HeadStatsView)
    L, H = result.n_layers, result.n_heads
    values = _wire(view, "values")
    assert values.shape == (len(result.stat_names), L * H)
    for s, name in enumerate(result.stat_names):
        np.testing.assert_allclose(values[s], getattr(result, name).reshape(-1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(_wire(view, "mds"), result.mds.numpy(), rtol=1e-6)
    assert view.head_values(1, 2)["entropy"] == pytest.approx(float(result.entropy[1, 2]), rel=1e-6)
    for name, bad in [("x_stat", "nope"), ("selected_head", [L, 0]), ("selected_head", [0, H]),
                      ("selected_head", [1]), ("mode", "pca")]:
        with pytest.raises(TraitError):
            setattr(view, name, bad)
    view.mode = "mds"
    view.selected_head = [1, 3]
    assert view.selected_head == [1, 3]


def test_head_stats_without_clustering_refuses_mds(bert):
    result = head_stats(bert, TEXT, cluster=False)
    view = result.show()
    assert view.mds.shape == (0, 2)
    with pytest.raises(TraitError, match="cluster=True"):
        view.mode = "mds"
    with pytest.raises(ValueError, match="cluster=True"):
        result.show(mode="mds")


def test_linked_selection_opens_the_head_in_an_attention_view(bert):
    stats = head_stats(bert, TEXT).show()
    attention = patterns(bert, TEXT).show()
    unlink = stats.link(attention)
    stats.selected_head = [1, 2]
    assert (attention.layer, attention.head, attention.view) == (1, 2, "heatmap")
    stats.set_state({"selected_head": [0, 3]})  # as a click in the browser sends it
    assert (attention.layer, attention.head) == (0, 3)
    stats.selected_head = []  # deselecting leaves the attention view where it is
    assert (attention.layer, attention.head) == (0, 3)
    unlink()
    stats.selected_head = [1, 1]
    assert (attention.layer, attention.head) == (0, 3)
    with pytest.raises(TypeError, match="AttentionView"):
        stats.link(object())


def test_link_refuses_a_view_of_another_model(bert, causal_tokenizer):
    from tests.conftest import tiny_hf_model

    gpt2 = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer, name="tiny-gpt2")
    stats = head_stats(bert, TEXT).show()
    other = patterns(gpt2, TEXT).show()
    other.n_layers = 3  # a different shape
    with pytest.raises(ValueError, match="same model"):
        stats.link(other)


def test_flow_view_rollout_and_flow(llama):
    r = rollout(llama, TEXT)
    f = flow(llama, TEXT, outputs=[-1, -2], progress=False)
    view = r.show(flow=f)
    assert isinstance(view, FlowView) and view.mode == "rollout"
    T = len(r.tokens)
    np.testing.assert_allclose(_wire(view, "raw"), r.raw.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_wire(view, "joint"), r.joint.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(_wire(view, "flow"), f.flow.numpy(), rtol=1e-6, atol=1e-7)
    assert view.flow_outputs == [T - 1, T - 2] and view.n_layers == llama.cfg.n_layers
    for name, bad in [("layer", llama.cfg.n_layers), ("token", T), ("threshold", 1.5)]:
        with pytest.raises(TraitError):
            setattr(view, name, bad)
    alone = f.show()
    assert alone.raw.shape[0] == 0 and alone.flow.shape == (2, T)
    with pytest.raises(ValueError, match="different texts"):
        rollout(llama, "Another text entirely.").show(flow=f)


def test_flow_view_compare_classes(llama, causal_tokenizer):
    from tests.conftest import tiny_hf_model

    other = iw.wrap(tiny_hf_model("llama", seed=1), causal_tokenizer, name="other")
    cmp = compare_flows(llama, other, TEXT, threshold=0.2)
    view = cmp.show()
    assert view.mode == "compare" and view.names == ["tiny-llama", "other"]
    classes = np.rint(_wire(view, "classes"))
    assert set(np.unique(classes)) <= {0, SHARED, ONLY_A, ONLY_B}
    a, b = cmp.edges_a.any(1).numpy(), cmp.edges_b.any(1).numpy()
    np.testing.assert_array_equal(classes == SHARED, a & b)
    np.testing.assert_array_equal(classes == ONLY_A, a & ~b)
    np.testing.assert_array_equal(classes == ONLY_B, b & ~a)
    np.testing.assert_allclose(_wire(view, "influence_a"), cmp.influence_a.numpy(), rtol=1e-6, atol=1e-7)
    same = edge_classes(compare_flows(llama, llama, TEXT, threshold=0.2))
    assert not ((same == ONLY_A) | (same == ONLY_B)).any()  # self-comparison: every edge shared


def test_norm_view(bert):
    result = norms(bert, TEXT)
    view = result.show()
    assert isinstance(view, NormView)
    L, H, T = result.alpha.shape[:3]
    np.testing.assert_allclose(_wire(view, "alpha"), result.alpha.numpy(), atol=1e-3)  # float16 on the wire
    np.testing.assert_allclose(_wire(view, "weighted"), result.weighted.numpy(), rtol=1e-6)
    np.testing.assert_allclose(_wire(view, "mixing"), result.mixing.numpy(), rtol=1e-6)
    assert view.kinds == list(result.kinds) and view.layers == result.layers
    for name, bad in [("layer", L), ("head", H), ("head", -2), ("norm", "L2"), ("token", T)]:
        with pytest.raises(TraitError):
            setattr(view, name, bad)
    view.norm, view.head = "AttnResLn-N", 1
    subset = norms(bert, TEXT, layers=[1]).show(layer=0)
    assert subset.layers == [1]


def test_norm_view_keeps_undefined_values_as_nan(causal_tokenizer):
    from tests.conftest import tiny_hf_model

    neox = iw.wrap(tiny_hf_model("gpt_neox"), causal_tokenizer, name="tiny-neox")  # parallel residual
    view = norms(neox, TEXT).show()
    assert np.isnan(_wire(view, "with_ln")).all() and "undefined" in view.note
    assert 'id="iw-payload"' in to_html(view)  # NaN travels in a binary buffer, not in JSON


def test_massive_view(llama, bert):
    result = massive_values(llama, TEXT, lam=2.0)
    view = result.show()
    assert isinstance(view, MassiveView) and view.rotary
    for part in ("q", "k", "v"):
        np.testing.assert_allclose(_wire(view, f"M_{part}"), getattr(result, f"M_{part}").numpy(), rtol=1e-6)
        np.testing.assert_array_equal(_wire(view, f"mask_{part}") > 0.5, result.mask(part).numpy())
    freq = _wire(view, "frequency")
    np.testing.assert_allclose(freq, result.frequency.numpy(), rtol=1e-6)
    assert len(view.band) == llama.cfg.d_head
    with pytest.raises(TraitError):
        view.layer = len(result.layers)
    plain = massive_values(bert, TEXT).show()  # no RoPE: a view of the norms, no frequency axis
    assert not plain.rotary and plain.frequency.shape == (0,) and plain.band == [] and "rotary" in plain.note


def test_wrong_results_are_refused(bert):
    r = head_stats(bert, TEXT, cluster=False)
    for cls in (FlowView, NormView, MassiveView):
        with pytest.raises(TypeError, match="shows"):
            cls(r)
    with pytest.raises(TypeError, match="HeadStats"):
        HeadStatsView(torch.zeros(2))


def test_static_html_keeps_hostile_tokens_inert(bert, llama):
    views = [head_stats(bert, HOSTILE).show(), rollout(llama, HOSTILE).show(), norms(bert, HOSTILE).show(),
             massive_values(llama, HOSTILE).show()]
    page = to_html(views)
    assert "<img src=x" not in page and "</script> " not in page
    for bundle in ("head_stats_view", "flow_view", "norm_view", "massive_view"):
        assert f'"{bundle}"' in page


def test_reprs_are_deterministic(bert):
    view = head_stats(bert, TEXT).show()
    assert repr(view) == ("HeadStatsView(layers=2, heads=4, mode='stats', x_stat='to_first', "
                          "y_stat='entropy', selected_head=[])")
