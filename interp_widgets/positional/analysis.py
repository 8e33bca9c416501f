"""Analyses of the schemes themselves (levels 1 and 3), each returning a :class:`Result` with a
paper-ready ``.figure()``: position similarity, dot product and long-term decay vs distance,
ALiBi biases, the YaRN ramp and temperature, PoSE coverage and the Transformer-XL terms."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import torch

from ..analysis.result import Result
from .absolute import Learned, Sinusoidal
from .alibi import ALiBi
from .base import PositionalScheme, ToyAttention, check_positive_int
from .pose import PoSE
from .relative import TransformerXLRelative
from .rotary import RoPE, YaRN, yarn_mscale


def _style():
    import matplotlib.pyplot as plt

    from ..figures import paper_style
    return plt, paper_style()


def _cosine(table: torch.Tensor) -> torch.Tensor:
    unit = table / table.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return unit @ unit.T


def _label(scheme) -> str:
    return type(scheme).__name__


@dataclasses.dataclass(repr=False)
class PositionSimilarity(Result):
    """Cosine similarity ``matrix`` [T, T] between the encodings of positions 0..T-1 (for rotary
    schemes: between an all-ones vector rotated to each position)."""

    levels = (1, 3)
    matrix: torch.Tensor
    label: str = ""

    def figure(self, **kw):
        plt, style = _style()
        with style:
            fig, axes = plt.subplots(1, 2, figsize=(kw.get("width", 6.4), 2.8),
                                     gridspec_kw={"width_ratios": [1.1, 1]})
            im = axes[0].imshow(self.matrix.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, origin="upper")
            axes[0].set_xlabel("position")
            axes[0].set_ylabel("position")
            axes[0].set_title(f"{self.label}: cosine similarity")
            fig.colorbar(im, ax=axes[0], shrink=0.8)
            n = self.matrix.shape[0]
            for row in sorted({0, n // 4, n // 2, n - 1}):
                axes[1].plot(self.matrix[row].numpy(), lw=0.9, label=f"position {row}")
            axes[1].set_xlabel("position")
            axes[1].set_ylabel("cosine similarity")
            axes[1].legend(frameon=False)
            fig.tight_layout()
        return fig


def similarity(source, n_positions: int = 64) -> PositionSimilarity:
    """Position-similarity matrix of a :class:`Sinusoidal`, :class:`Learned` or rotary scheme,
    or of a table [n_positions, d] (e.g. ``model.W_pos``). Level 1."""
    check_positive_int(n_positions, "n_positions")
    if isinstance(source, torch.Tensor):
        table, label = source.detach().double().cpu()[:n_positions], "table"
    elif isinstance(source, (Sinusoidal, Learned)):
        table, label = source.table(n_positions).detach().double().cpu(), _label(source)
    elif isinstance(source, RoPE):
        ones = torch.ones(n_positions, source.dim, dtype=torch.float64)
        table, label = source.rotate(ones, torch.arange(n_positions)), _label(source)
    else:
        raise TypeError(f"similarity needs an embedding or rotary scheme or a table, got {type(source).__name__}")
    return PositionSimilarity(matrix=_cosine(table), label=label)


@dataclasses.dataclass(repr=False)
class DistanceProfile(Result):
    """Per scheme (``labels``), over ``distances`` [K]: ``dot`` [S, K] the dot product of the
    encodings of positions p and p + k (averaged over p; rotary: ⟨R_0 1, R_k 1⟩, with xPos gains)
    and ``decay`` [S, K] the rotary long-term decay bound (1/(r/2)) Σ_j |S_j| (NaN otherwise)."""

    levels = (1, 3)
    labels: list
    distances: torch.Tensor
    dot: torch.Tensor
    decay: torch.Tensor

    def figure(self, **kw):
        plt, style = _style()
        has_decay = bool(torch.isfinite(self.decay).any())
        with style:
            fig, axes = plt.subplots(1, 2 if has_decay else 1, figsize=(kw.get("width", 6.4 if has_decay else 3.4), 2.6),
                                     squeeze=False)
            d = self.distances.numpy()
            for s, label in enumerate(self.labels):
                axes[0, 0].plot(d, (self.dot[s] / self.dot[s, 0]).numpy(), lw=0.9, label=label)
                if has_decay and torch.isfinite(self.decay[s]).all():
                    axes[0, 1].plot(d, self.decay[s].numpy(), lw=0.9, label=label)
            axes[0, 0].set_xlabel("relative distance k")
            axes[0, 0].set_ylabel("dot product (÷ value at k = 0)")
            axes[0, 0].legend(frameon=False)
            if has_decay:
                axes[0, 1].set_xlabel("relative distance")
                axes[0, 1].set_ylabel("decay bound (1/(d/2)) Σ|S_j|")
                axes[0, 1].set_title("long-term decay")
                axes[0, 1].legend(frameon=False)
            fig.tight_layout()
        return fig


def distance_profile(schemes, max_distance: int = 512, n_starts: int = 16) -> DistanceProfile:
    """Dot product vs relative distance 0..``max_distance`` and, for rotary schemes, the long-term
    decay bound. ``schemes``: one scheme or ``{label: scheme}`` (Sinusoidal, Learned, RoPE, XPos,
    YaRN); Learned averages over the first ``n_starts`` start positions its table allows."""
    check_positive_int(max_distance, "max_distance")
    if isinstance(schemes, PositionalScheme):
        schemes = {_label(schemes): schemes}
    distances = torch.arange(max_distance + 1)
    dots, decays = [], []
    for label, s in schemes.items():
        if isinstance(s, RoPE):
            ones = torch.ones(max_distance + 1, s.dim, dtype=torch.float64)
            q, k = s.transform_qk(ones[:1], ones, torch.zeros(1, dtype=torch.long), distances)
            dots.append((q * k).sum(-1))
            decays.append(s.decay_bound(distances))
        elif isinstance(s, (Sinusoidal, Learned)):
            rows = (s.weight.shape[0] if isinstance(s, Learned) else max_distance + n_starts) - max_distance
            if rows < 1:
                raise ValueError(f"{label}: the learned table has {s.weight.shape[0]} rows, fewer than "
                                 f"max_distance + 1 = {max_distance + 1}; lower max_distance")
            table = s.table(max_distance + min(rows, n_starts)).detach().double().cpu()
            starts = min(rows, n_starts)
            dots.append(torch.stack([(table[:starts] * table[k: k + starts]).sum(-1).mean() for k in distances]))
            decays.append(torch.full((max_distance + 1,), float("nan"), dtype=torch.float64))
        else:
            raise TypeError(f"{label}: distance_profile covers embedding and rotary schemes; for ALiBi "
                            "use alibi_bias, for Transformer-XL xl_terms")
    return DistanceProfile(labels=list(schemes), distances=distances, dot=torch.stack(dots),
                           decay=torch.stack(decays))


@dataclasses.dataclass(repr=False)
class AlibiBias(Result):
    """``slopes`` [H] and the ``bias`` [H, T, T] ALiBi adds to each head's logits (NaN where a
    causal mask removes the pair)."""

    levels = (3,)
    slopes: torch.Tensor
    bias: torch.Tensor
    causal: bool

    def figure(self, head: int = 0, **kw):
        """Slopes per head, the bias of the last query over distance for every head, and the
        bias matrix of one ``head``."""
        plt, style = _style()
        H, T = self.slopes.numel(), self.bias.shape[-1]
        with style:
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 8.0), 2.5))
            axes[0].bar(np.arange(H), self.slopes.numpy(), color="C0")
            axes[0].set_yscale("log", base=2)
            axes[0].set_xlabel("head")
            axes[0].set_ylabel("slope m")
            colors = plt.cm.viridis(np.linspace(0, 1, H))
            last = self.bias[:, T - 1, :].numpy()[:, ::-1]  # distance 0..T-1
            for h in range(H):
                axes[1].plot(np.arange(T), last[h], color=colors[h], lw=0.9)
            axes[1].set_xlabel("distance i − j")
            axes[1].set_ylabel("bias added to the logit")
            axes[1].set_title("one line per head")
            im = axes[2].imshow(self.bias[head].numpy(), cmap="Blues_r")
            axes[2].set_title(f"head {head}, m = {float(self.slopes[head]):.3g}")
            axes[2].set_xlabel("key j")
            axes[2].set_ylabel("query i")
            fig.colorbar(im, ax=axes[2], shrink=0.8)
            fig.tight_layout()
        return fig


def alibi_bias(heads, length: int = 32, causal: bool = True) -> AlibiBias:
    """ALiBi bias per head for ``length`` positions; ``heads``: a head count or an :class:`ALiBi`."""
    scheme = heads if isinstance(heads, ALiBi) else ALiBi(heads, causal=causal)
    bias = scheme.bias(torch.arange(check_positive_int(length, "length"))).double()
    if scheme.causal:
        bias = bias.masked_fill(torch.ones(length, length, dtype=torch.bool).triu(1), float("nan"))
    return AlibiBias(slopes=scheme.slopes.double(), bias=bias, causal=scheme.causal)


@dataclasses.dataclass(repr=False)
class YarnRamp(Result):
    """Per rotary pair [r/2]: ``rotations`` r = L/λ, ``gamma`` (1 keeps θ, 0 divides by s),
    ``theta`` original and ``theta_scaled``; ``pair_range`` where the ramp runs; ``mscale`` at
    ``factor`` and the temperature curve ``mscales`` over ``factors``."""

    levels = (1, 3)
    rotations: torch.Tensor
    gamma: torch.Tensor
    theta: torch.Tensor
    theta_scaled: torch.Tensor
    pair_range: list
    factor: float
    mscale: float
    factors: torch.Tensor
    mscales: torch.Tensor
    beta_fast: float
    beta_slow: float
    ramp: str

    def figure(self, **kw):
        plt, style = _style()
        i = np.arange(len(self.gamma))
        with style:
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 9.0), 2.6))
            ax = axes[0]
            ax.axvspan(*self.pair_range, color="0.9")
            ax.plot(i, self.gamma.numpy(), color="C0")
            ax.set_xlabel("rotary pair d")
            ax.set_ylabel("γ (1 keep θ, 0 θ/s)", color="C0")
            ax.set_title(f"ramp ({self.ramp}), s = {self.factor:g}")
            twin = ax.twinx()
            twin.semilogy(i, self.rotations.numpy(), color="C1", lw=0.8)
            for b in (self.beta_fast, self.beta_slow):
                twin.axhline(b, color="C1", ls=":", lw=0.7)
            twin.set_ylabel("rotations r = L/λ", color="C1")
            twin.spines["right"].set_visible(True)
            ax = axes[1]
            ax.semilogy(i, self.theta.numpy(), label="θ (RoPE)")
            ax.semilogy(i, self.theta_scaled.numpy(), label="h(θ) (YaRN)")
            ax.semilogy(i, self.theta.numpy() / self.factor, ls=":", label="θ/s (linear)")
            ax.set_xlabel("rotary pair d")
            ax.set_ylabel("frequency")
            ax.legend(frameon=False)
            ax = axes[2]
            ax.plot(self.factors.numpy(), self.mscales.numpy(), label="√(1/t) = 0.1 ln s + 1")
            ax.plot(self.factors.numpy(), self.mscales.numpy() ** 2, label="logit scale 1/t")
            ax.plot([self.factor], [self.mscale], "o", color="C3")
            ax.set_xscale("log", base=2)
            ax.set_xlabel("scale factor s")
            ax.set_title("attention temperature")
            ax.legend(frameon=False)
            fig.tight_layout()
        return fig


def yarn_ramp(scheme: YaRN) -> YarnRamp:
    """The per-dimension interpolation and the temperature of a :class:`YaRN` scheme."""
    if not isinstance(scheme, YaRN):
        raise TypeError(f"yarn_ramp needs a YaRN scheme, got {type(scheme).__name__}")
    factors = 2.0 ** torch.linspace(0, 6, 61, dtype=torch.float64)
    return YarnRamp(rotations=scheme.rotations(), gamma=scheme.gamma(), theta=scheme.original_inv_freq.clone(),
                    theta_scaled=scheme.inv_freq.clone(), pair_range=[float(v) for v in scheme.pair_range()],
                    factor=scheme.factor, mscale=scheme.attention_scale, factors=factors,
                    mscales=torch.tensor([yarn_mscale(float(s)) for s in factors], dtype=torch.float64),
                    beta_fast=scheme.beta_fast, beta_slow=scheme.beta_slow, ramp=scheme.ramp)


@dataclasses.dataclass(repr=False)
class PoseCoverage(Result):
    """``samples`` [N, L_c] sampled position ids, ``distance_counts`` [L_t] how often each
    relative distance i − j ≥ 0 occurs within the samples, ``coverage`` the share of distances
    0..L_t−1 seen at least once (standard training covers L_c / L_t)."""

    levels = (1, 3)
    samples: torch.Tensor
    distance_counts: torch.Tensor
    coverage: float
    train_length: int
    target_length: int

    def figure(self, n_rows: int = 16, **kw):
        plt, style = _style()
        with style:
            fig, axes = plt.subplots(1, 2, figsize=(kw.get("width", 7.0), 2.6))
            ax = axes[0]
            for r, ids in enumerate(self.samples[:n_rows]):
                ax.plot(ids.numpy(), np.full(len(ids), r), "|", ms=4, color="C0")
            ax.axvline(self.train_length - 0.5, color="0.5", ls="--", lw=0.7)
            ax.set_xlim(-1, self.target_length)
            ax.invert_yaxis()
            ax.set_xlabel("position id")
            ax.set_ylabel("training sample")
            ax.set_title(f"PoSE ids: L_c = {self.train_length}, L_t = {self.target_length}")
            ax = axes[1]
            ax.bar(np.arange(self.target_length), self.distance_counts.numpy(), width=1.0, color="C0")
            ax.axvline(self.train_length - 0.5, color="0.5", ls="--", lw=0.7, label="L_c")
            ax.set_yscale("log")
            ax.set_xlabel("relative distance i − j")
            ax.set_ylabel("pairs seen")
            ax.set_title(f"coverage {self.coverage:.0%} (standard {self.train_length / self.target_length:.0%})")
            ax.legend(frameon=False)
            fig.tight_layout()
        return fig


def pose_coverage(scheme: PoSE, n_samples: int = 500, seed: int = 0) -> PoseCoverage:
    """Sample ``n_samples`` PoSE position sets and count the relative distances they train."""
    if not isinstance(scheme, PoSE):
        raise TypeError(f"pose_coverage needs a PoSE scheme, got {type(scheme).__name__}")
    g = torch.Generator().manual_seed(seed)
    samples = torch.stack([scheme.positions(generator=g) for _ in range(check_positive_int(n_samples, "n_samples"))])
    diffs = samples[:, :, None] - samples[:, None, :]
    counts = torch.bincount(diffs[diffs >= 0], minlength=scheme.target_length)
    return PoseCoverage(samples=samples, distance_counts=counts, coverage=float((counts > 0).double().mean()),
                        train_length=scheme.train_length, target_length=scheme.target_length)


@dataclasses.dataclass(repr=False)
class XLTerms(Result):
    """Transformer-XL logits split into (a) content-content, (b) content-position, (c) global
    content bias and (d) global position bias, each [H, T, T] scaled by 1/√d_head; ``total``
    = a + b + c + d (NaN above the causal diagonal)."""

    levels = (3,)
    a: torch.Tensor
    b: torch.Tensor
    c: torch.Tensor
    d: torch.Tensor
    total: torch.Tensor

    def figure(self, head: int = 0, **kw):
        plt, style = _style()
        parts = {"(a) content–content": self.a, "(b) content–position": self.b,
                 "(c) global content bias": self.c, "(d) global position bias": self.d, "total score": self.total}
        with style:
            fig, axes = plt.subplots(1, 5, figsize=(kw.get("width", 10.0), 2.3), layout="constrained")
            lim = float(np.nanmax(np.abs(self.total[head].numpy())))
            for ax, (title, value) in zip(axes, parts.items()):
                im = ax.imshow(value[head].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
                ax.set_title(title)
                ax.set_xticks([])
                ax.set_yticks([])
            axes[0].set_xlabel("key j")
            axes[0].set_ylabel("query i")
            fig.colorbar(im, ax=list(axes), shrink=0.8)
        return fig


def xl_terms(layer: ToyAttention, x: torch.Tensor, batch: int = 0) -> XLTerms:
    """The a/b/c/d decomposition of a :class:`ToyAttention` layer with a
    :class:`TransformerXLRelative` scheme on input x [B, T, d_model] (one ``batch`` row)."""
    schemes = [s for s in getattr(layer, "schemes", []) if isinstance(s, TransformerXLRelative)]
    if not isinstance(layer, ToyAttention) or len(schemes) != 1:
        raise TypeError("xl_terms needs a ToyAttention layer with one TransformerXLRelative scheme")
    with torch.no_grad():
        q, k, _ = layer.qkv(x).unflatten(-1, (3, layer.n_heads, layer.d_head)).permute(2, 0, 3, 1, 4)
        terms = {n: t[batch] / math.sqrt(layer.d_head) for n, t in schemes[0].terms(q, k).items()}
    T = x.shape[1]
    future = torch.ones(T, T, dtype=torch.bool).triu(1) if layer.causal else torch.zeros(T, T, dtype=torch.bool)
    terms = {n: t.masked_fill(future, float("nan")) for n, t in terms.items()}
    return XLTerms(total=terms["a"] + terms["b"] + terms["c"] + terms["d"], **terms)
