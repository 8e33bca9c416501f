"""ALiBi (Press, Smith, Lewis 2022, arXiv 2108.12409): a linear distance penalty per head added
to the attention logits (level 3)."""

from __future__ import annotations

import math

import torch

from .base import PositionalScheme, check_positive_int


def alibi_slopes(n_heads: int) -> torch.Tensor:
    """m_h [n_heads]: 2^(-8h/n), h = 1..n, for n a power of two; otherwise the slopes of the
    nearest lower power of two c, then every other slope of the 2c set (Sec. 3)."""
    check_positive_int(n_heads, "n_heads")

    def geometric(n):
        return [2.0 ** (-8.0 * h / n) for h in range(1, n + 1)]

    c = 2 ** int(math.floor(math.log2(n_heads)))
    slopes = geometric(c) + geometric(2 * c)[0::2][: n_heads - c]
    return torch.tensor(slopes, dtype=torch.float64)


class ALiBi(PositionalScheme):
    """Adds m_h·(j−i) (≤ 0 on the causal triangle) to the logits of head h; with ``causal=False``
    (encoders) the symmetric −m_h·|i−j|. No position enters the embeddings."""

    acts_on = "scores"
    what = "adds a per-head linear penalty on the query-key distance to the attention scores"

    def __init__(self, n_heads: int, causal: bool = True):
        super().__init__()
        self.register_buffer("slopes", alibi_slopes(n_heads).float(), persistent=False)
        self.causal = causal

    def bias(self, positions: torch.Tensor) -> torch.Tensor:
        """[H, T, T] bias for queries i and keys j at ``positions`` [T]."""
        rel = (positions[None, :] - positions[:, None]).to(self.slopes)  # j - i
        rel = rel if self.causal else -rel.abs()
        return self.slopes[:, None, None] * rel

    def score_bias(self, q, k, positions):
        if q.shape[1] != self.slopes.numel():
            raise ValueError(f"ALiBi was built for {self.slopes.numel()} heads, the queries have {q.shape[1]}")
        return self.bias(positions.to(self.slopes.device)).to(q)
