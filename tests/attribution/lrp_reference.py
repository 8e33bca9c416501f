"""AttnLRP written out rule by rule with explicit matrices (float64), for GPT-2-shaped models.

Independent of the gradient-override implementation: every relevance is propagated with the
ε-rule formula R_x = x ⊙ Wᵀ (R_y / y) (ε -> 0), the identity rule through LayerNorm (σ held
constant) and GELU, the uniform rule for q·kᵀ and pattern·v, and the softmax rule
R_S = S ⊙ (R_A - A Σ R_A).
"""

from __future__ import annotations

import math

import torch


def _div(r, y):
    return torch.where(y == 0, torch.zeros_like(r), r / torch.where(y == 0, torch.ones_like(y), y))


def _ln(x, mod):
    mu = x.mean(-1, keepdim=True)
    sigma = (x.var(-1, keepdim=True, unbiased=False) + mod.eps).sqrt()
    w, b = mod.weight.double(), mod.bias.double()
    return (x - mu) / sigma * w + b, sigma, w


def _ln_back(x, sigma, w, y, r_y):
    """y = (x - mean(x)) / sigma * w + b with sigma constant: R_x = x ⊙ Mᵀ (R_y / y)."""
    s = _div(r_y, y) * w / sigma
    return x * (s - s.mean(-1, keepdim=True))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x.pow(3))))


def attnlrp_gpt2(model, ids: torch.Tensor, pos: int, token: int, cp: bool = False) -> torch.Tensor:
    """Relevance [pos] of the word embeddings for logit ``token`` at ``pos`` (float64)."""
    d = lambda t: t.detach().double()  # noqa: E731
    n = len(ids)
    e = d(model.W_E)[ids]
    h = h_in = e + d(model.W_pos)[:n]
    saved = []
    causal = torch.ones(n, n, dtype=torch.bool).tril()
    scale = model.cfg.d_head ** -0.5
    for layer in range(model.cfg.n_layers):
        n1, s1, w1 = _ln(h, model.norm(f"blocks.{layer}.ln1"))
        q = torch.einsum("pd,hde->hpe", n1, d(model.W_Q(layer))) + d(model.b_Q(layer))[:, None]
        k = torch.einsum("pd,hde->hpe", n1, d(model.W_K(layer))) + d(model.b_K(layer))[:, None]
        v = torch.einsum("pd,hde->hpe", n1, d(model.W_V(layer))) + d(model.b_V(layer))[:, None]
        s = torch.einsum("hie,hje->hij", q, k) * scale
        a = s.masked_fill(~causal, float("-inf")).softmax(-1)
        z = torch.einsum("hij,hje->hie", a, v)
        wo = d(model.W_O(layer))
        attn = torch.einsum("hie,hem->im", z, wo) + d(model.b_O(layer))
        h_mid = h + attn
        n2, s2, w2 = _ln(h_mid, model.norm(f"blocks.{layer}.ln2"))
        mw = {k_: d(v_) for k_, v_ in model.mlp_weights(layer).items() if v_ is not None}
        pre = n2 @ mw["W_in"] + mw["b_in"]
        post = gelu_new(pre)
        mlp = post @ mw["W_out"] + mw["b_out"]
        h_out = h_mid + mlp
        saved.append((h, n1, s1, w1, q, k, v, s, a, z, wo, attn, h_mid, n2, s2, w2, mw, pre, post, mlp, h_out))
        h = h_out
    nf, sf, wf = _ln(h, model.norm("ln_final"))
    logits = nf @ d(model.W_U)
    r_logits = torch.zeros_like(logits)
    r_logits[pos, token] = logits[pos, token]
    r_h = _ln_back(h, sf, wf, nf, nf * (_div(r_logits, logits) @ d(model.W_U).T))
    for layer_i in reversed(range(len(saved))):
        (h0, n1, s1, w1, q, k, v, s, a, z, wo, attn, h_mid, n2, s2, w2, mw, pre, post, mlp,
         h_out) = saved[layer_i]
        r_mid = h_mid * _div(r_h, h_out)
        r_mlp = mlp * _div(r_h, h_out)
        r_post = post * (_div(r_mlp, mlp) @ mw["W_out"].T)
        r_pre = r_post  # identity rule through GELU
        r_n2 = n2 * (_div(r_pre, pre) @ mw["W_in"].T)
        r_mid = r_mid + _ln_back(h_mid, s2, w2, n2, r_n2)
        r_h0 = h0 * _div(r_mid, h_mid)
        r_attn = attn * _div(r_mid, h_mid)
        r_z = z * torch.einsum("im,hem->hie", _div(r_attn, attn), wo)
        share = 1.0 if cp else 0.5
        contrib = torch.einsum("hij,hje,hie->hije", a, v, _div(r_z, z))  # A_ij v_je R_ie / z_ie
        r_v = share * contrib.sum(1)
        r_n1 = n1 * torch.einsum("hpe,hde->pd", _div(r_v, v), d(model.W_V(layer_i)))
        if not cp:
            r_a = 0.5 * contrib.sum(-1)
            s_safe = torch.where(causal, s, torch.zeros_like(s))
            r_s = s_safe * (r_a - a * r_a.sum(-1, keepdim=True))
            c = torch.einsum("hie,hje->hije", q, k) * scale * _div(r_s, s_safe)[..., None]
            r_q, r_k = 0.5 * c.sum(2), 0.5 * c.sum(1)
            r_n1 = r_n1 + n1 * torch.einsum("hpe,hde->pd", _div(r_q, q), d(model.W_Q(layer_i)))
            r_n1 = r_n1 + n1 * torch.einsum("hpe,hde->pd", _div(r_k, k), d(model.W_K(layer_i)))
        r_h = r_h0 + _ln_back(h0, s1, w1, n1, r_n1)
    return (e * _div(r_h, h_in)).sum(-1)

