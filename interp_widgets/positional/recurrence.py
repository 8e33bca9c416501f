"""Transformer-XL segment-level recurrence (Dai et al. 2019, arXiv 1901.02860, Sec. 3.2): each
segment attends to its own states and to a memory of the previous ``mem_len`` states, cached
without gradient, with the relative scores of :class:`TransformerXLRelative`."""

from __future__ import annotations

import math

import torch
from torch import nn

from .base import check_positive_int
from .relative import TransformerXLRelative


class RecurrentXLAttention(nn.Module):
    """One causal multi-head attention layer with Transformer-XL relative scores and a memory.

    ``forward(x [B, T, d_model], memory [B, M, d_model] | None)`` -> ``(out [B, T, d_model],
    new_memory [B, min(M + T, mem_len), d_model], weights [B, H, T, M + T])``: queries come from
    ``x``, keys and values from ``[memory; x]`` (the memory detached: no gradient flows into
    earlier segments); query i sits at position M + i and sees keys 0 … M + i.
    """

    def __init__(self, d_model: int, n_heads: int, mem_len: int, base: float = 10000.0, init_std: float = 0.02):
        super().__init__()
        self.relative = TransformerXLRelative(d_model, n_heads, base, init_std)
        self.mem_len = check_positive_int(mem_len, "mem_len")
        self.n_heads, self.d_head = n_heads, d_model // n_heads
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=False)
        self.out = nn.Linear(d_model, d_model, bias=False)

    def forward(self, x: torch.Tensor, memory: torch.Tensor | None = None):
        if x.ndim != 3:
            raise ValueError(f"x must be [batch, pos, d_model], got shape {tuple(x.shape)}")
        if memory is not None and (memory.ndim != 3 or memory.shape[0] != x.shape[0] or memory.shape[2] != x.shape[2]):
            raise ValueError(f"memory must be [batch, mem, d_model] = [{x.shape[0]}, M, {x.shape[2]}], "
                             f"got shape {tuple(memory.shape)}; pass the new_memory of the previous segment")
        states = x if memory is None else torch.cat([memory.detach(), x], 1)
        split = lambda t: t.unflatten(-1, (self.n_heads, self.d_head)).transpose(1, 2)  # noqa: E731
        q = split(x @ self.qkv.weight[: x.shape[-1]].T)
        k, v = (split(t) for t in (states @ self.qkv.weight[x.shape[-1]:].T).chunk(2, -1))
        terms = self.relative.terms(q, k)
        logits = sum(terms.values()) / math.sqrt(self.d_head)
        tq, tk = q.shape[-2], k.shape[-2]
        future = torch.ones(tq, tk, dtype=torch.bool, device=x.device).triu(tk - tq + 1)
        weights = logits.masked_fill(future, float("-inf")).softmax(-1)
        out = self.out((weights @ v).transpose(1, 2).flatten(-2))
        return out, states[:, -self.mem_len:].detach(), weights
