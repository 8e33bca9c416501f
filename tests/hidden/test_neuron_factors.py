"""Neuron factors: activations equal the native MLP's down-projection input, NMF error falls with
more factors, factors × loadings rebuild the activations to the reported error, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_widgets.hidden import NeuronFactors, neuron_factors

from .conftest import check_figure, native_blocks, wrap

TEXT = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer."


def _native_mlp_inputs(model, text):
    """Inputs of each block's MLP down projection, recorded with native forward pre-hooks."""
    hf = model.hf
    kind = hf.config.model_type
    downs = [b.output.dense if kind == "bert" else b.mlp.c_proj if kind == "gpt2" else b.mlp.down_proj
             for b in native_blocks(hf)]
    seen = []
    handles = [d.register_forward_pre_hook(lambda _m, args: seen.append(args[0][0].detach())) for d in downs]
    try:
        with torch.no_grad():
            hf(**{k: v for k, v in model.encode(text).model_kwargs().items()})
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.parametrize("kind", ["gpt2", "llama", "bert"])
def test_activations_are_the_clipped_native_mlp_activity(kind, causal_tokenizer, encoder_tokenizer):
    model = wrap(kind, causal_tokenizer, encoder_tokenizer)
    res = neuron_factors(model, TEXT, n_factors=3)
    native = torch.cat(_native_mlp_inputs(model, TEXT), dim=-1)
    torch.testing.assert_close(res.activations, native.clamp(min=0), atol=1e-5, rtol=1e-5)
    n_pos, n_neurons = native.shape
    assert res.factors.shape == (3, n_pos) and res.loadings.shape == (3, n_neurons)
    assert (res.factors >= 0).all() and (res.loadings >= 0).all()
    assert res.top_positions.shape == (n_neurons, 5) and len(res.feature_labels) == n_neurons
    # top tokens per neuron: the raw (signed) activation, largest first
    neuron = int(native.max(0).values.argmax())
    assert res.top_positions[neuron, 0] == int(native[:, neuron].argmax())
    assert res.top_values[neuron, 0] == pytest.approx(float(native[:, neuron].max()), rel=1e-5)
    split = neuron_factors(model, TEXT, n_factors=3, negative="split", layers=-1)
    last = native[:, -n_neurons // model.cfg.n_layers:]
    torch.testing.assert_close(split.activations, torch.cat([last.clamp(min=0), (-last).clamp(min=0)], -1),
                               atol=1e-5, rtol=1e-5)
    assert split.feature_labels[0] == "L1.N0+" and split.feature_labels[-1].endswith("-")


def test_error_falls_and_factors_rebuild_activations(shipped_llama):
    errors = []
    for k in (1, 2, 4, 8, 16):
        res = neuron_factors(shipped_llama, TEXT, n_factors=k)
        a = res.activations.double().numpy()
        rebuilt = res.reconstruction().double().numpy()
        assert np.linalg.norm(a - rebuilt) == pytest.approx(res.reconstruction_error, rel=1e-3)
        assert res.relative_error == pytest.approx(res.reconstruction_error / np.linalg.norm(a), rel=1e-9)
        errors.append(res.reconstruction_error)
    assert all(b < a for a, b in zip(errors, errors[1:])), errors


def test_results_are_deterministic_and_figure(shipped_llama):
    a = neuron_factors(shipped_llama, TEXT, n_factors=4, layers=[1, 3])
    b = neuron_factors(shipped_llama, TEXT, n_factors=4, layers=[1, 3])
    assert isinstance(a, NeuronFactors) and repr(a) == repr(b)
    torch.testing.assert_close(a.factors, b.factors)
    assert a.layers == [1, 3] and a.feature_labels[0] == "L1.N0"
    assert a.top_tokens("L3.N2") == a.top_tokens(shipped_llama.cfg.d_mlp + 2)
    assert len(a.top_neurons(0, 3)) == 3 and len(a.factor_tokens(1, 2)) == 2
    short = neuron_factors(shipped_llama, "To be", n_factors=10)
    assert short.n_factors == len(short.tokens) < 10  # capped at the token count
    check_figure(a.figure())


def test_bad_input(shipped_llama):
    n_features = shipped_llama.cfg.d_mlp
    with pytest.raises(ValueError, match="n_factors must be an int from 1"):
        neuron_factors(shipped_llama, TEXT, n_factors=0)
    with pytest.raises(ValueError, match=f"number of features \\({n_features}"):
        neuron_factors(shipped_llama, TEXT, n_factors=n_features + 1, layers=0)
    with pytest.raises(ValueError, match="negative must be"):
        neuron_factors(shipped_llama, TEXT, negative="abs")
    with pytest.raises(IndexError, match="out of range"):
        neuron_factors(shipped_llama, TEXT, layers=9)
    with pytest.raises(ValueError, match="empty"):
        neuron_factors(shipped_llama, "  ")
