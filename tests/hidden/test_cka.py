"""Linear CKA: identity, invariances, the HSIC formula, and layer-by-layer comparison of models."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_widgets.hidden import CKA, cka, linear_cka

from .conftest import check_figure, wrap

TEXTS = ["To be, or not to be, that is the question", "The quick brown fox jumps over the lazy dog."]


def _hsic_cka(x, y):
    """Kornblith et al. Eq. 3-4 with linear kernels and the centring matrix H, written out."""
    n = x.shape[0]
    h = np.eye(n) - np.ones((n, n)) / n
    k, l = x @ x.T, y @ y.T

    def hsic(a, b):
        return np.trace(a @ h @ b @ h) / (n - 1) ** 2
    return hsic(k, l) / np.sqrt(hsic(k, k) * hsic(l, l))


def test_identity_invariances_and_hsic_formula():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 12)) @ rng.normal(size=(12, 12))
    y = np.tanh(x @ rng.normal(size=(12, 7))) + 0.1 * rng.normal(size=(40, 7))
    q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    assert linear_cka(x, x) == pytest.approx(1.0, abs=1e-12)
    assert linear_cka(x @ q, y) == pytest.approx(linear_cka(x, y), abs=1e-12)
    assert linear_cka(3.7 * x, 0.2 * y) == pytest.approx(linear_cka(x, y), abs=1e-12)
    assert linear_cka(x + 5.0, y) == pytest.approx(linear_cka(x, y), abs=1e-12)
    assert linear_cka(x, y) == pytest.approx(_hsic_cka(x, y), abs=1e-10)
    assert linear_cka(x, y) == pytest.approx(linear_cka(y, x), abs=1e-12)
    assert 0.0 < linear_cka(x, y) < 1.0
    # not invariant to a general (non-orthogonal) linear map of one side
    assert abs(linear_cka(x * np.linspace(0.1, 5, 12), y) - linear_cka(x, y)) > 1e-3


def test_arrays_dict_and_errors(causal_tokenizer, encoder_tokenizer):
    rng = np.random.default_rng(1)
    reps = {"a": rng.normal(size=(30, 5)), "b": rng.normal(size=(30, 8))}
    res = cka(reps)
    assert res.labels_a == ["a", "b"] and res.matrix.shape == (2, 2)
    torch.testing.assert_close(res.matrix, res.matrix.T)
    assert float(res.matrix[0, 1]) == pytest.approx(_hsic_cka(reps["a"], reps["b"]), abs=1e-10)
    with pytest.raises(ValueError, match="same samples"):
        cka([rng.normal(size=(30, 5)), rng.normal(size=(29, 5))])
    with pytest.raises(ValueError, match="constant"):
        linear_cka(np.ones((10, 3)), rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="NaN"):
        linear_cka(np.full((10, 3), np.nan), rng.normal(size=(10, 3)))
    with pytest.raises(ValueError, match="texts are needed"):
        cka(wrap("gpt2", causal_tokenizer, encoder_tokenizer))


def test_layers_of_models(causal_tokenizer, encoder_tokenizer):
    llama = wrap("llama", causal_tokenizer, encoder_tokenizer)
    gpt2 = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    within = cka(llama, TEXTS)
    n_tokens = sum(len(llama.to_str_tokens(t)) for t in TEXTS)
    assert within.n_samples == n_tokens and within.matrix.shape == (2, 2)
    torch.testing.assert_close(within.matrix.diagonal(), torch.ones(2, dtype=torch.float64))
    torch.testing.assert_close(within.matrix, within.matrix.T)
    trace = llama.run(TEXTS[0], names="blocks.*.hook_resid_post")
    assert cka(llama, TEXTS[0]).matrix[0, 1] == pytest.approx(
        linear_cka(trace["blocks.0.hook_resid_post"][0], trace["blocks.1.hook_resid_post"][0]), abs=1e-9)
    across = cka(llama, TEXTS, b=gpt2)
    assert across.name_a == "tiny-llama" and across.name_b == "tiny-gpt2"
    assert ((across.matrix > 0) & (across.matrix <= 1)).all()
    bert = wrap("bert", causal_tokenizer, encoder_tokenizer)  # adds [CLS]/[SEP]: different token count
    with pytest.raises(ValueError, match="same tokenizer"):
        cka(llama, TEXTS, b=bert)
    assert isinstance(across, CKA) and repr(across) == repr(cka(llama, TEXTS, b=gpt2))
    check_figure(across.figure())
