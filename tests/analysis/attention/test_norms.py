"""Norm-based analysis (Kobayashi et al. 2020, 2021): exact decompositions and mixing ratios."""

from __future__ import annotations

import pytest
import torch

from interp_widgets.analysis.attention import decompose, ln_after_attention, norms
from interp_widgets.analysis.attention.norms import _names

from .conftest import check_figure

TEXT = "Shall I compare thee to a summer's day?"


def test_attention_output_and_norm_decompositions_are_exact(model):
    layers = range(model.cfg.n_layers)
    trace = model.run(TEXT, names=_names(model, layers, ln_after_attention(model)))
    for layer in layers:
        t = decompose(model, trace, layer)
        # Σ_j Σ_h α_ij f^h(x_j) + b_O = the attention output
        torch.testing.assert_close(t["attn"].sum(1) + t["b_O"], t["attn_out"], atol=1e-5, rtol=0)
        if "ln" in t:  # Σ_j g_i(z_{i<-j}) + g_i(b_O) + β = the norm's output
            torch.testing.assert_close(t["ln"].sum(1) + t["ln_bias"], t["ln_out"], atol=1e-4, rtol=0)
        torch.testing.assert_close(t["attn_res"].sum(1) + t["b_O"], t["attn_out"] + t["resid_pre"],
                                   atol=1e-5, rtol=0)


def test_which_norm_is_used(model):
    expected = {"bert": "ln1", "gpt_neox": None}.get(model.cfg.family, "ln2")
    if model.cfg.family == "gpt_neox" and not model.cfg.parallel_residual:
        expected = "ln2"
    assert ln_after_attention(model) == expected


def test_norms_shapes_ranges_and_consistency(model):
    r = norms(model, TEXT)
    cfg, n = model.cfg, len(r.tokens)
    assert r.weighted.shape == (cfg.n_layers, cfg.n_heads, n, n)
    assert r.mixing.shape == (cfg.n_layers, 3, n)
    # per head ‖α f‖ = α ‖f‖; the head sum obeys the triangle inequality
    torch.testing.assert_close(r.weighted, r.alpha * r.f_norm[:, :, None, :])
    assert (r.summed <= r.weighted.sum(1) + 1e-9).all()
    defined = r.mixing[~r.mixing.isnan()]
    assert ((defined >= 0) & (defined <= 1)).all()
    if r.ln_name is None:
        assert r.mixing[:, 2].isnan().all() and "parallel" in r.note
    else:
        assert not r.mixing.isnan().any()
    if cfg.causal:  # the first token mixes nothing in
        assert (r.mixing[:, :2, 0] == 0).all()


def test_layer_selection_and_errors(model):
    r = norms(model, TEXT, layers=-1)
    assert r.layers == [model.cfg.n_layers - 1] and r.summed.shape[0] == 1
    with pytest.raises(IndexError, match="valid: 0 to"):
        norms(model, TEXT, layers=[0, 7])
    with pytest.raises(ValueError, match="one text"):
        norms(model, [TEXT, TEXT])


def test_figure(figure_model):
    check_figure(norms(figure_model, TEXT).figure())
