"""Absolute positions added to the token embeddings (level 1): sinusoidal (Vaswani et al. 2017,
Sec. 3.5) and learned tables (GPT-2 ``wpe``, BERT ``position_embeddings``)."""

from __future__ import annotations

import torch
from torch import nn

from .base import PositionalScheme, check_positions, check_positive_int


def sinusoidal_table(positions: torch.Tensor, dim: int, base: float = 10000.0) -> torch.Tensor:
    """PE [T, dim] with PE(p, 2i) = sin(p ω_i), PE(p, 2i+1) = cos(p ω_i), ω_i = base^(-2i/dim)."""
    check_positive_int(dim, "dim")
    if dim % 2:
        raise ValueError(f"the sinusoidal encoding pairs sin and cos: dim must be even, got {dim}")
    omega = base ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # [dim/2]
    angle = torch.as_tensor(positions, dtype=torch.float64)[:, None] * omega
    return torch.stack([angle.sin(), angle.cos()], -1).flatten(-2)


class Sinusoidal(PositionalScheme):
    """Fixed sinusoids added to embeddings; PE(p)·PE(p+k) = Σ_i cos(k ω_i) depends on k only."""

    acts_on = "embeddings"
    what = "adds a fixed sinusoid per position to the token embeddings"

    def __init__(self, d_model: int, base: float = 10000.0):
        super().__init__()
        sinusoidal_table(torch.zeros(1), d_model, base)  # validates d_model
        self.d_model, self.base = d_model, float(base)

    def table(self, positions) -> torch.Tensor:
        """PE [T, d_model] (float64) at ``positions`` (an int n means 0..n-1)."""
        positions = torch.arange(positions) if isinstance(positions, int) else check_positions(positions)
        return sinusoidal_table(positions, self.d_model, self.base)

    def embed(self, x, positions):
        return x + self.table(positions.cpu()).to(x)


class Learned(PositionalScheme):
    """A trained table W_pos [n_positions, d_model] added to embeddings; it has no row for
    positions >= n_positions, so it cannot extrapolate."""

    acts_on = "embeddings"
    what = "adds a learned vector per position (a lookup table) to the token embeddings"

    def __init__(self, n_positions: int, d_model: int, init_std: float = 0.02):
        super().__init__()
        check_positive_int(n_positions, "n_positions")
        check_positive_int(d_model, "d_model")
        self.weight = nn.Parameter(torch.randn(n_positions, d_model) * init_std)

    @classmethod
    def from_table(cls, weight: torch.Tensor) -> "Learned":
        """A scheme holding a copy of an existing table [n_positions, d_model] (e.g. ``model.W_pos``)."""
        if weight.ndim != 2:
            raise ValueError(f"a position table is [n_positions, d_model], got shape {tuple(weight.shape)}")
        scheme = cls(*weight.shape)
        with torch.no_grad():
            scheme.weight.copy_(weight.detach().float())
        return scheme

    def table(self, positions) -> torch.Tensor:
        positions = torch.arange(positions) if isinstance(positions, int) else check_positions(positions)
        n = self.weight.shape[0]
        if positions.numel() and int(positions.max()) >= n:
            raise ValueError(f"position {int(positions.max())} is beyond the learned table's {n} rows "
                             f"(positions 0..{n - 1}); learned absolute positions cannot extrapolate")
        return self.weight[positions.to(self.weight.device)]

    def embed(self, x, positions):
        return x + self.table(positions).to(x)
