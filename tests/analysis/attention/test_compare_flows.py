"""Attention tracing and comparison (DeRose et al. 2020): self-comparison, monotonicity."""

from __future__ import annotations

import pytest
import torch

from interp_widgets.analysis.attention import compare_flows, trace_attention

from .conftest import _wrap, check_figure

TEXT = "Shall I compare thee to a summer's day?"


def test_model_compared_with_itself_shares_every_edge(model):
    r = compare_flows(model, model, TEXT, threshold=0.05)
    assert torch.equal(r.edges_a, r.edges_b) and r.edges_a.any()
    assert r.only_a.sum() == 0 and r.only_b.sum() == 0
    assert r.start == (len(r.tokens) - 1 if model.cfg.causal else 0)
    assert r.active_a[-1].nonzero().flatten().tolist() == [r.start]


def test_edges_and_influence_are_monotone_in_threshold(model):
    runs = [compare_flows(model, model, TEXT, threshold=t) for t in (0.0, 0.05, 0.1, 0.3)]
    for a, b in zip(runs, runs[1:]):
        assert not (b.edges_a & ~a.edges_a).any()  # every edge kept at the higher τ is kept at the lower
        assert not (b.active_a & ~a.active_a).any()
        assert (b.influence_a <= a.influence_a + 1e-12).all()
    assert runs[0].edges_a.sum() >= runs[-1].edges_a.sum()


def test_zero_threshold_follows_everything_and_influence_sums_to_one(model):
    r = compare_flows(model, model, TEXT, threshold=0.0)
    visible = torch.ones(len(r.tokens), len(r.tokens)).tril() if model.cfg.causal else torch.ones(len(r.tokens), len(r.tokens))
    assert r.active_a[:-1].any(-1).all()
    # with every edge followed, influence is rollout without the residual: rows stay stochastic
    torch.testing.assert_close(r.influence_a.sum(-1), torch.ones(r.influence_a.shape[0], dtype=torch.float64))
    assert visible.shape[0] == len(r.tokens)


def test_trace_by_hand():
    pattern = torch.zeros(1, 1, 3, 3)
    pattern[0, 0, 2] = torch.tensor([0.6, 0.3, 0.1])
    edges, active, influence = trace_attention(pattern, start=2, threshold=0.25)
    assert edges[0, 0, 2].tolist() == [True, True, False]
    assert active[0].tolist() == [True, True, False]
    torch.testing.assert_close(influence[0], torch.tensor([0.6, 0.3, 0.0], dtype=torch.float64))


def test_two_models_and_errors(causal_tokenizer, encoder_tokenizer):
    a = _wrap("llama", causal_tokenizer, encoder_tokenizer)
    b = _wrap("llama", causal_tokenizer, encoder_tokenizer)

    def self_only(p):  # model b attends only to each token itself
        return torch.eye(p.shape[-1], dtype=p.dtype).expand_as(p).clone()

    with b.patch({"blocks.*.attn.hook_pattern": self_only}):
        r = compare_flows(a, b, TEXT, threshold=0.05)
    assert r.only_a.sum() > 0 and r.only_b.sum() == 0  # b's single self path is also in a's trace
    assert r.shared.sum() == a.cfg.n_layers * a.cfg.n_heads
    assert r.counts.shape == (a.cfg.n_layers, 3)
    check_figure(r.figure())
    with pytest.raises(ValueError, match="threshold"):
        compare_flows(a, b, TEXT, threshold=1.5)
    with pytest.raises(IndexError, match="start"):
        compare_flows(a, b, TEXT, start=100)
    bert = _wrap("bert", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="tokenize"):
        compare_flows(a, bert, TEXT)
    assert compare_flows(bert, bert, TEXT).start == 0
