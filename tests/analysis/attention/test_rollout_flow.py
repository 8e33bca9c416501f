"""Rollout and flow (Abnar & Zuidema 2020): stochastic rows, causality, identities, networkx."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pytest
import torch

from interp_widgets.analysis.attention import (augment, flow, flow_from, layered_max_flow, rollout,
                                               rollout_from)

from .conftest import check_figure

TEXT = "To be, or not to be, that is the question"


def _random_capacities(n_layers, n_tok, causal, seed):
    rng = np.random.default_rng(seed)
    att = rng.random((n_layers, n_tok, n_tok)) ** 3
    att[att < 0.05] = 0.0  # some missing edges
    if causal:
        att = np.tril(att)
    att[:, np.arange(n_tok), np.arange(n_tok)] += 1e-3
    return augment(torch.from_numpy(att / att.sum(-1, keepdims=True))).numpy()


def _networkx_flow(cap, source, sink):
    """The reference construction of Abnar & Zuidema: nodes (layer, token), edges downwards."""
    graph = nx.DiGraph()
    n_layers, n_tok, _ = cap.shape
    for layer in range(n_layers):
        for i in range(n_tok):
            for j in range(n_tok):
                if cap[layer, i, j] > 0:
                    graph.add_edge((layer + 1, i), (layer, j), capacity=float(cap[layer, i, j]))
    if (0, sink) not in graph or (n_layers, source) not in graph:
        return 0.0
    return nx.maximum_flow_value(graph, (n_layers, source), (0, sink),
                                 flow_func=nx.algorithms.flow.edmonds_karp)


@pytest.mark.parametrize("n_layers,n_tok,causal,seed", [(1, 4, False, 0), (2, 5, True, 1), (3, 6, False, 2),
                                                        (4, 7, True, 3), (5, 6, False, 4)])
def test_max_flow_equals_networkx(n_layers, n_tok, causal, seed):
    cap = _random_capacities(n_layers, n_tok, causal, seed)
    ours = layered_max_flow(cap)
    ref = np.array([[_networkx_flow(cap, s, t) for t in range(n_tok)] for s in range(n_tok)])
    np.testing.assert_allclose(ours, ref, atol=1e-9, rtol=0)


def test_rollout_rows_sum_to_one_and_causal_is_lower_triangular(model):
    r = rollout(model, TEXT)
    n = len(r.tokens)
    assert r.joint.shape == r.augmented.shape == (model.cfg.n_layers, n, n)
    for m in (r.augmented, r.joint):
        torch.testing.assert_close(m.sum(-1), torch.ones(m.shape[:-1], dtype=m.dtype))
        assert (m >= 0).all()
        if model.cfg.causal:
            assert torch.triu(m, diagonal=1).abs().max() == 0
    torch.testing.assert_close(r.joint[-1], r.augmented[-1] @ r.joint[-2])


def test_flow_on_model_rows_sum_to_one_and_match_networkx(model):
    f = flow(model, TEXT, progress=False)
    n = len(f.tokens)
    assert f.flow.shape == (n, n) and f.outputs == list(range(n))
    torch.testing.assert_close(f.flow.sum(-1), torch.ones(n, dtype=f.flow.dtype))
    if model.cfg.causal:
        assert torch.triu(f.flow, diagonal=1).abs().max() == 0
    cap = rollout(model, TEXT).augmented.numpy()
    for out in (0, n - 1):
        ref = [_networkx_flow(cap, out, t) for t in range(n)]
        np.testing.assert_allclose(f.values[out].numpy(), ref, atol=1e-9)


def test_identity_attention_gives_identity():
    eye = torch.eye(5, dtype=torch.float64).expand(3, 2, 5, 5)
    aug = augment(eye)
    torch.testing.assert_close(rollout_from(aug)[-1], torch.eye(5, dtype=torch.float64))
    torch.testing.assert_close(flow_from(aug)[0], torch.eye(5, dtype=torch.float64))


def test_patched_identity_pattern_on_model(model):
    def identity(p):
        return torch.eye(p.shape[-1], dtype=p.dtype).expand_as(p).clone()

    with model.patch({"blocks.*.attn.hook_pattern": identity}):
        r = rollout(model, TEXT)
        f = flow(model, TEXT, outputs=[0, -1], progress=False)
    n = len(r.tokens)
    torch.testing.assert_close(r.joint[-1], torch.eye(n, dtype=torch.float64))
    torch.testing.assert_close(f.flow, torch.eye(n, dtype=torch.float64)[[0, n - 1]])


def test_single_layer_flow_equals_rollout_equals_augmented():
    aug = torch.from_numpy(_random_capacities(1, 6, False, 7))
    normalised, _ = flow_from(aug)
    torch.testing.assert_close(rollout_from(aug)[0], aug[0])
    torch.testing.assert_close(normalised, aug[0])


def test_first_layer_flow_of_model_equals_augmented(model):
    f = flow(model, TEXT, layer=0, progress=False)
    torch.testing.assert_close(f.flow, rollout(model, TEXT).augmented[0])
    torch.testing.assert_close(f.rollout, f.flow)


def test_errors_and_edge_cases(model):
    n = model.cfg.n_layers
    with pytest.raises(IndexError, match=f"valid: 0 to {n - 1}"):
        flow(model, TEXT, layer=n, progress=False)
    with pytest.raises(IndexError, match="output token 99"):
        flow(model, TEXT, outputs=[99], progress=False)
    one = rollout(model, [5] if model.cfg.causal else [2])  # a one-token sequence
    torch.testing.assert_close(one.joint, torch.ones(n, 1, 1, dtype=torch.float64))
    assert flow(model, [5] if model.cfg.causal else [2], progress=False).flow.item() == 1.0


def test_figures(figure_model):
    check_figure(rollout(figure_model, TEXT).figure())
    check_figure(flow(figure_model, TEXT, outputs=[0, 2, -1], progress=False).figure())
