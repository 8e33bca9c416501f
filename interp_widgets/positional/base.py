"""The interface every positional scheme shares, and a toy attention layer that uses it.

A scheme acts at one of four places (``acts_on``):

* ``"embeddings"``: adds a vector per position to the token embeddings (:meth:`embed`),
* ``"scores"``: adds a bias to the attention logits (:meth:`score_bias`, :meth:`value_bias`),
* ``"queries_keys"``: rotates / scales queries and keys (:meth:`transform_qk`),
* ``"positions"``: chooses the position ids seen in training (:meth:`positions`).

Methods a scheme does not use are identities, so :class:`ToyAttention` calls all of them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn

ACTS_ON = ("embeddings", "scores", "queries_keys", "positions")


def check_positive_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def check_positions(positions: torch.Tensor) -> torch.Tensor:
    """Position ids [..., T] as a tensor; negative ids are refused."""
    positions = torch.as_tensor(positions)
    if positions.is_floating_point():
        raise TypeError("positions must be integer ids (torch.long), e.g. torch.arange(T)")
    if positions.numel() and int(positions.min()) < 0:
        raise ValueError(f"positions must be >= 0, got a minimum of {int(positions.min())}")
    return positions


class PositionalScheme(nn.Module):
    """Base class. ``acts_on`` is one of :data:`ACTS_ON`; ``what`` says it in one sentence."""

    acts_on: ClassVar[str] = ""
    what: ClassVar[str] = ""

    def embed(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """Token embeddings x [B, T, d_model] -> x with positions [T] added (identity here)."""
        return x

    def transform_qk(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor,
                     key_positions: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries and keys [B, H, T, d_head] at ``positions`` [T] (keys at ``key_positions``,
        default the same) -> transformed q, k (identity here)."""
        return q, k

    def score_bias(self, q: torch.Tensor, k: torch.Tensor, positions: torch.Tensor) -> torch.Tensor | float:
        """Term added to the scaled logits q·k/√d_head [B, H, T, T] (0 here)."""
        return 0.0

    def value_bias(self, attn: torch.Tensor, positions: torch.Tensor) -> torch.Tensor | float:
        """Term added to the head outputs Σ_j α_ij v_j [B, H, T, d_head] given the weights
        ``attn`` [B, H, T, T] (0 here)."""
        return 0.0

    def positions(self, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Position ids [length] a training step uses (0..length-1 here)."""
        return torch.arange(check_positive_int(length, "length"))

    def extra_repr(self) -> str:
        return f"acts_on={self.acts_on!r}"


class ToyAttention(nn.Module):
    """One multi-head self-attention layer that applies ``schemes`` (one scheme or several, e.g.
    ``[PoSE(...), RoPE(...)]``) at the places they act on.

    ``forward(x [B, T, d_model])`` -> [B, T, d_model]; ``return_weights=True`` also returns the
    attention weights [B, H, T, T]. Position ids come from the first ``"positions"`` scheme in
    training mode, else 0..T-1 (or ``positions`` given explicitly).
    """

    def __init__(self, d_model: int, n_heads: int, schemes: PositionalScheme | Sequence[PositionalScheme] = (),
                 causal: bool = True, bias: bool = False):
        super().__init__()
        check_positive_int(n_heads, "n_heads")
        check_positive_int(d_model, "d_model")
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        schemes = [schemes] if isinstance(schemes, PositionalScheme) else list(schemes)
        for s in schemes:
            if not isinstance(s, PositionalScheme):
                raise TypeError(f"schemes must be PositionalScheme modules, got {type(s).__name__}")
        self.schemes = nn.ModuleList(schemes)
        self.n_heads, self.d_head, self.causal = n_heads, d_model // n_heads, causal
        self.qkv = nn.Linear(d_model, 3 * d_model, bias=bias)
        self.out = nn.Linear(d_model, d_model, bias=bias)

    def position_ids(self, length: int, generator: torch.Generator | None = None) -> torch.Tensor:
        for s in self.schemes:
            if s.acts_on == "positions" and self.training:
                return s.positions(length, generator)
        return torch.arange(length)

    def scores(self, x: torch.Tensor, positions: torch.Tensor | None = None):
        """(logits [B, H, T, T] before masking, v [B, H, T, d_head], positions [T]) of x [B, T, d]."""
        B, T, _ = x.shape
        positions = self.position_ids(T) if positions is None else check_positions(positions)
        positions = positions.to(x.device)
        for s in self.schemes:
            x = s.embed(x, positions)
        q, k, v = self.qkv(x).unflatten(-1, (3, self.n_heads, self.d_head)).permute(2, 0, 3, 1, 4)
        for s in self.schemes:
            q, k = s.transform_qk(q, k, positions)
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.d_head)
        for s in self.schemes:
            logits = logits + s.score_bias(q, k, positions)
        return logits, v, positions

    def forward(self, x: torch.Tensor, positions: torch.Tensor | None = None, return_weights: bool = False):
        if x.ndim != 3:
            raise ValueError(f"x must be [batch, pos, d_model], got shape {tuple(x.shape)}")
        logits, v, positions = self.scores(x, positions)
        if self.causal:
            T = logits.shape[-1]
            future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)
            logits = logits.masked_fill(future, float("-inf"))
        attn = logits.softmax(-1)
        z = attn @ v
        for s in self.schemes:
            z = z + s.value_bias(attn, positions)
        out = self.out(z.transpose(1, 2).flatten(-2))
        return (out, attn) if return_weights else out
