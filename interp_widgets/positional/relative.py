"""Relative positions inside attention (levels 1 and 3): Shaw, Uszkoreit, Vaswani 2018
(arXiv 1803.02155) and Transformer-XL (Dai et al. 2019, arXiv 1901.02860, Sec. 3.3)."""

from __future__ import annotations

import math

import torch
from torch import nn

from .absolute import sinusoidal_table
from .base import PositionalScheme, check_positive_int


class ShawRelative(PositionalScheme):
    """e_ij = q_i·(k_j + a^K_ij)/√d, z_i = Σ_j α_ij (v_j + a^V_ij), a_ij = w_clip(j−i, k)
    (Eqs. 3-5): 2k+1 learned vectors [2k+1, d_head] for keys and for values, shared by heads.
    ``max_distance`` = k = 0 leaves one vector for every pair: no positional signal."""

    acts_on = "scores"
    what = "adds query·(relative-position key vector) to the scores and relative value vectors to the outputs"

    def __init__(self, d_head: int, max_distance: int, init_std: float = 0.02):
        super().__init__()
        check_positive_int(d_head, "d_head")
        if isinstance(max_distance, bool) or not isinstance(max_distance, int) or max_distance < 0:
            raise ValueError(f"max_distance (the clipping distance k) must be an integer >= 0, got {max_distance!r}")
        self.max_distance = max_distance
        self.key = nn.Parameter(torch.randn(2 * max_distance + 1, d_head) * init_std)
        self.value = nn.Parameter(torch.randn(2 * max_distance + 1, d_head) * init_std)

    def index(self, positions: torch.Tensor) -> torch.Tensor:
        """clip(j − i, −k, k) + k [T, T] for queries i and keys j at ``positions`` [T]."""
        k = self.max_distance
        return (positions[None, :] - positions[:, None]).clamp(-k, k) + k

    def score_bias(self, q, k, positions):
        a_k = self.key[self.index(positions).to(self.key.device)].to(q)  # [T, T, d]
        return torch.einsum("bhid,ijd->bhij", q, a_k) / math.sqrt(q.shape[-1])

    def value_bias(self, attn, positions):
        a_v = self.value[self.index(positions).to(self.value.device)].to(attn)
        return torch.einsum("bhij,ijd->bhid", attn, a_v)


def rel_shift(x: torch.Tensor) -> torch.Tensor:
    """x [..., T_q, T_k] indexed by (query i, relative slot r) with slot r holding distance
    T_k − 1 − r -> [..., T_q, T_k] indexed by (i, key j) holding distance (T_k − T_q) + i − j.
    Exact where j ≤ i + T_k − T_q (the causal part); other entries are garbage, to be masked."""
    *lead, tq, tk = x.shape
    padded = torch.cat([x.new_zeros(*lead, tq, 1), x], -1).view(*lead, tk + 1, tq)
    return padded[..., 1:, :].reshape(*lead, tq, tk)


class TransformerXLRelative(PositionalScheme):
    """score_ij = (a) q_i·k_j + (b) q_i·W_R R_{i−j} + (c) u·k_j + (d) v·W_R R_{i−j}, all / √d_head
    (Sec. 3.3), R sinusoidal over relative distance [d_model], W_R [d_model, H·d_head], u, v
    [H, d_head]. Keys may be longer than queries (a memory of T_k − T_q earlier states); query i
    then sits at position T_k − T_q + i. (b)+(d) use :func:`rel_shift`."""

    acts_on = "scores"
    what = "adds content-position, global content and global position terms to the scores"

    def __init__(self, d_model: int, n_heads: int, base: float = 10000.0, init_std: float = 0.02):
        super().__init__()
        check_positive_int(n_heads, "n_heads")
        check_positive_int(d_model, "d_model")
        if d_model % n_heads or d_model % 2:
            raise ValueError(f"d_model={d_model} must be even and divisible by n_heads={n_heads}")
        self.d_model, self.n_heads, self.base = d_model, n_heads, float(base)
        d_head = d_model // n_heads
        self.W_R = nn.Parameter(torch.randn(d_model, n_heads * d_head) * init_std)
        self.u = nn.Parameter(torch.randn(n_heads, d_head) * init_std)
        self.v = nn.Parameter(torch.randn(n_heads, d_head) * init_std)

    def relative_keys(self, distances: torch.Tensor) -> torch.Tensor:
        """W_R R_r per head [H, len(distances), d_head]."""
        r = sinusoidal_table(distances, self.d_model, self.base).to(self.W_R)
        return (r @ self.W_R).unflatten(-1, (self.n_heads, -1)).transpose(0, 1)

    def terms(self, q: torch.Tensor, k: torch.Tensor) -> dict[str, torch.Tensor]:
        """Unscaled terms a, b, c, d, each [B, H, T_q, T_k], of q [B, H, T_q, d], k [B, H, T_k, d]."""
        tq, tk = q.shape[-2], k.shape[-2]
        if tk < tq:
            raise ValueError(f"keys ({tk}) must be at least as many as queries ({tq}); extra keys are memory")
        wr = self.relative_keys(torch.arange(tk - 1, -1, -1)).to(q)  # [H, T_k, d], slot r: distance T_k-1-r
        u, v = self.u.to(q)[:, None, :], self.v.to(q)[:, None, :]
        return {"a": q @ k.transpose(-1, -2),
                "b": rel_shift(q @ wr.transpose(-1, -2)),
                "c": (u @ k.transpose(-1, -2)).expand(*q.shape[:-1], tk),
                "d": rel_shift((v @ wr.transpose(-1, -2)).expand(*q.shape[:-1], tk))}

    def score_bias(self, q, k, positions):
        steps = positions[1:] - positions[:-1]
        if steps.numel() and not bool((steps == 1).all()):
            raise ValueError("Transformer-XL relative scores need consecutive positions (0..T-1); "
                             "do not combine it with a position sampler such as PoSE")
        t = self.terms(q, k)
        return (t["b"] + t["c"] + t["d"]) / math.sqrt(q.shape[-1])
