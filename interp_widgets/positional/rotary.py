"""Rotary schemes acting on queries and keys (levels 1 and 3): RoPE (Su et al., arXiv 2104.09864),
xPos (Sun et al., arXiv 2212.10554) and YaRN (Peng et al., arXiv 2309.00071), plus the linear
(position interpolation) and NTK-aware scalings of RoPE."""

from __future__ import annotations

import math

import torch

from .base import PositionalScheme, check_positions, check_positive_int

LAYOUTS = ("half", "interleaved")
SCALINGS = ("none", "linear", "ntk")


def rotate_pairs(x: torch.Tensor, layout: str) -> torch.Tensor:
    """The 90° rotation of every pair: half layout pairs (i, i + r/2), interleaved (2i, 2i+1)."""
    if layout == "half":
        x1, x2 = x.chunk(2, -1)
        return torch.cat([-x2, x1], -1)
    return torch.stack([-x[..., 1::2], x[..., 0::2]], -1).flatten(-2)


def interleaved_to_half(dim: int) -> torch.Tensor:
    """Permutation p [dim] with x_half = x_interleaved[..., p]: (0, 2, 4, ..., 1, 3, 5, ...)."""
    return torch.cat([torch.arange(0, dim, 2), torch.arange(1, dim, 2)])


def _check_factor(factor) -> float:
    if not float(factor) >= 1.0:
        raise ValueError(f"the scale factor must be >= 1 (target length / trained length), got {factor}")
    return float(factor)


class RoPE(PositionalScheme):
    """Rotates pair i of q at position m (and of k at n) by m θ_i, θ_i = base^(−2i/r), so q·k
    depends on m − n only (Eq. 16). ``dim`` is d_head; the first ``rotary_dim`` (default all, even)
    dims rotate, the rest pass (GPT-NeoX partial rotary). ``layout``: "half" (Hugging Face
    ``rotate_half``: pairs i, i + r/2) or "interleaved" (the paper: pairs 2i, 2i+1).
    ``scaling``: "none", "linear" (θ/s: position interpolation) or "ntk" (base·s^(r/(r−2)))."""

    acts_on = "queries_keys"
    what = "rotates each query/key dimension pair by an angle proportional to the position"

    def __init__(self, dim: int, base: float = 10000.0, layout: str = "half", rotary_dim: int | None = None,
                 scaling: str = "none", factor: float = 1.0):
        super().__init__()
        check_positive_int(dim, "dim")
        rotary_dim = dim if rotary_dim is None else check_positive_int(rotary_dim, "rotary_dim")
        if rotary_dim % 2 or rotary_dim > dim:
            raise ValueError(f"rotary_dim={rotary_dim} must be even and <= dim={dim}: rotary embeddings "
                             "rotate pairs of dimensions (use an even head dimension)")
        if layout not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS} ('half' = Hugging Face rotate_half, "
                             f"'interleaved' = the paper's pairs), got {layout!r}")
        if scaling not in SCALINGS:
            raise ValueError(f"scaling must be one of {SCALINGS}, got {scaling!r}; for YaRN use iw.positional.YaRN")
        if not base > 1:
            raise ValueError(f"base must be > 1, got {base}")
        self.factor = _check_factor(factor)
        if scaling == "none" and self.factor != 1.0:
            raise ValueError(f"factor={factor} needs a scaling ('linear' or 'ntk'; YaRN is its own class)")
        self.dim, self.rotary_dim, self.layout, self.scaling = dim, rotary_dim, layout, scaling
        self.base = float(base) * (self.factor ** (rotary_dim / (rotary_dim - 2)) if scaling == "ntk" else 1.0)
        self.original_base = float(base)
        self.attention_scale = 1.0
        inv = self.base ** (-torch.arange(0, rotary_dim, 2, dtype=torch.float64) / rotary_dim)
        self.register_buffer("inv_freq", inv / self.factor if scaling == "linear" else inv, persistent=False)

    def expand(self, per_pair: torch.Tensor) -> torch.Tensor:
        """Per-pair values [..., r/2] -> per-dimension [..., r] in this layout."""
        if self.layout == "half":
            return torch.cat([per_pair, per_pair], -1)
        return per_pair.repeat_interleave(2, -1)

    def cos_sin(self, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """cos, sin [T, r] (float64) of the angles positions·θ, times ``attention_scale``."""
        angle = self.expand(check_positions(positions).to(self.inv_freq.device, torch.float64)[:, None]
                            * self.inv_freq)
        return angle.cos() * self.attention_scale, angle.sin() * self.attention_scale

    def rotate(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """x [..., T, dim] rotated at ``positions`` [T]."""
        if x.shape[-1] != self.dim:
            raise ValueError(f"this RoPE was built for dim={self.dim}, got vectors of size {x.shape[-1]}")
        cos, sin = (t.to(x) for t in self.cos_sin(positions))
        r = self.rotary_dim
        rot, rest = x[..., :r], x[..., r:]
        return torch.cat([rot * cos + rotate_pairs(rot, self.layout) * sin, rest], -1)

    def transform_qk(self, q, k, positions, key_positions=None):
        key_positions = positions if key_positions is None else key_positions
        return self.rotate(q, positions), self.rotate(k, key_positions)

    def decay_bound(self, distances: torch.Tensor) -> torch.Tensor:
        """(1/(r/2)) Σ_j |S_j|, S_j = Σ_{k<j} c_k(d) e^{i d θ_k} [len(distances)]: the long-term
        decay bound (Sec. 3.4.3), c_k = 1 for RoPE."""
        d = torch.as_tensor(distances, dtype=torch.float64)[:, None]
        terms = self._pair_gain(d) * torch.exp(1j * d * self.inv_freq.cpu().to(torch.float64))
        return terms.cumsum(-1).abs().sum(-1) / terms.shape[-1]

    def _pair_gain(self, distances: torch.Tensor) -> torch.Tensor:
        return torch.ones(1, dtype=torch.float64)


class XPos(RoPE):
    """RoPE with an exponential decay: ζ_i = (2i/r + γ)/(1 + γ); q at n is scaled by ζ^(n/B) and
    k at m by ζ^(−m/B) per pair, so q·k gains ζ^((n−m)/B) (Sec. 3.2, γ = 0.4, B = 512).
    With ζ = 1 it is RoPE."""

    what = "rotates query/key pairs like RoPE and scales them so scores decay with distance"

    def __init__(self, dim: int, base: float = 10000.0, layout: str = "half", rotary_dim: int | None = None,
                 gamma: float = 0.4, scale_base: float = 512.0):
        super().__init__(dim, base, layout, rotary_dim)
        if not gamma > 0 or not scale_base > 0:
            raise ValueError(f"gamma and scale_base must be positive, got {gamma}, {scale_base}")
        self.gamma, self.scale_base = float(gamma), float(scale_base)
        i = torch.arange(self.rotary_dim // 2, dtype=torch.float64)
        self.register_buffer("zeta", (2 * i / self.rotary_dim + gamma) / (1 + gamma), persistent=False)

    def scale(self, positions: torch.Tensor, sign: float) -> torch.Tensor:
        """ζ^(sign·p/B) per dimension [T, r] (float64)."""
        p = check_positions(positions).to(self.zeta.device, torch.float64)[:, None]
        return self.expand(self.zeta ** (sign * p / self.scale_base))

    def transform_qk(self, q, k, positions, key_positions=None):
        key_positions = positions if key_positions is None else key_positions
        q, k = super().transform_qk(q, k, positions, key_positions)
        r = self.rotary_dim
        q = torch.cat([q[..., :r] * self.scale(positions, 1.0).to(q), q[..., r:]], -1)
        k = torch.cat([k[..., :r] * self.scale(key_positions, -1.0).to(k), k[..., r:]], -1)
        return q, k

    def _pair_gain(self, distances):
        return self.zeta.cpu() ** (distances / self.scale_base)


def yarn_mscale(factor: float) -> float:
    """√(1/t) = 0.1 ln s + 1 (Eq. 22), 1 for s <= 1."""
    return 1.0 if factor <= 1 else 0.1 * math.log(factor) + 1.0


class YaRN(RoPE):
    """RoPE with per-dimension interpolation h(θ_d) = (1 − γ_d) θ_d / s + γ_d θ_d and attention
    temperature √(1/t) = 0.1 ln s + 1 on cos and sin (logits × mscale²) (Sec. 3.3-3.4).

    r_d = L / λ_d rotations of pair d over the original context L; γ = 0 (interpolate) for
    r < ``beta_slow`` (α), 1 (keep) for r > ``beta_fast`` (β). ``ramp="hf"`` ramps linearly in the
    pair index between the pairs where r = β and r = α (floored/ceiled with ``truncate``), as
    Hugging Face models do; ``ramp="paper"`` ramps linearly in r (Eq. 18)."""

    what = "rotates query/key pairs like RoPE with per-frequency interpolation and a temperature"

    def __init__(self, dim: int, factor: float, original_max_position: int, base: float = 10000.0,
                 layout: str = "half", rotary_dim: int | None = None, beta_fast: float = 32.0,
                 beta_slow: float = 1.0, ramp: str = "hf", truncate: bool = True,
                 attention_factor: float | None = None):
        super().__init__(dim, base, layout, rotary_dim)
        self.factor = _check_factor(factor)
        self.original_max_position = check_positive_int(original_max_position, "original_max_position")
        if not beta_fast > beta_slow > 0:
            raise ValueError(f"need beta_fast > beta_slow > 0, got {beta_fast}, {beta_slow}")
        if ramp not in ("hf", "paper"):
            raise ValueError(f"ramp must be 'hf' or 'paper', got {ramp!r}")
        self.beta_fast, self.beta_slow, self.ramp, self.truncate = beta_fast, beta_slow, ramp, truncate
        theta = self.inv_freq.clone()
        self.register_buffer("original_inv_freq", theta, persistent=False)
        g = self.gamma()
        self.inv_freq = (1 - g) * theta / self.factor + g * theta
        self.attention_scale = yarn_mscale(self.factor) if attention_factor is None else float(attention_factor)

    def rotations(self) -> torch.Tensor:
        """r_d = L / λ_d = L θ_d / 2π per pair [r/2]."""
        return self.original_max_position * self.original_inv_freq / (2 * math.pi)

    def pair_range(self) -> tuple[float, float]:
        """Pair indices where r = β (low) and r = α (high); floored/ceiled with ``truncate``
        and clipped to [0, r−1] as Hugging Face does."""
        r, L, b = self.rotary_dim, self.original_max_position, self.original_base

        def pair(rotations):
            return r * math.log(L / (rotations * 2 * math.pi)) / (2 * math.log(b))
        low, high = pair(self.beta_fast), pair(self.beta_slow)
        if self.truncate:
            low, high = math.floor(low), math.ceil(high)
        return max(low, 0), min(high, r - 1)

    def gamma(self) -> torch.Tensor:
        """γ_d in [0, 1] per pair [r/2]: 1 keeps θ_d, 0 divides it by s."""
        if self.ramp == "paper":
            rot = self.rotations()
            return ((rot - self.beta_slow) / (self.beta_fast - self.beta_slow)).clamp(0, 1)
        low, high = self.pair_range()
        high = high + 0.001 if low == high else high
        i = torch.arange(self.rotary_dim // 2, dtype=torch.float64)
        return 1 - ((i - low) / (high - low)).clamp(0, 1)
