"""Transcoders: sparse, wider stand-ins for a model's MLPs (per-layer and cross-layer).

Features of layer ``l`` read the residual stream before the MLP (``blocks.l.hook_resid_mid``,
``x^l``) and write to the MLP output (``blocks.m.hook_mlp_out``) of layer ``l`` only (per-layer
transcoder) or of every layer ``m >= l`` (cross-layer transcoder, CLT):

    a^l = act(x^l W_enc^l + b_enc^l)        y^m = sum_{l <= m} a^l W_dec^{l->m} + b_dec^m
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

ACTIVATIONS = ("relu", "jumprelu", "topk")
INPUT_HOOK = "blocks.{layer}.hook_resid_mid"
OUTPUT_HOOK = "blocks.{layer}.hook_mlp_out"


@dataclass(frozen=True)
class TranscoderConfig:
    n_layers: int
    d_model: int
    n_features: int                 # features per layer
    cross_layer: bool = True
    activation: str = "jumprelu"
    k: int = 0                      # active features per layer and position (topk only)
    bandwidth: float = 0.1          # width of the straight-through window (jumprelu only)
    model_name: str = ""            # the model the transcoder was trained on

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if min(self.n_layers, self.d_model, self.n_features) < 1:
            raise ValueError("n_layers, d_model and n_features must be positive")
        if self.activation == "topk" and not 1 <= self.k <= self.n_features:
            raise ValueError(f"topk needs 1 <= k <= n_features ({self.n_features}), got k={self.k}")


class _JumpReLU(torch.autograd.Function):
    """``z * H(z - theta)``; the threshold gets the rectangle-kernel straight-through gradient
    ``-(theta / eps) * K((z - theta) / eps)`` (Rajamanoharan et al. 2024)."""

    @staticmethod
    def forward(ctx, pre, threshold, bandwidth: float):
        ctx.save_for_backward(pre, threshold)
        ctx.bandwidth = bandwidth
        return pre * (pre > threshold)

    @staticmethod
    def backward(ctx, grad):
        pre, threshold = ctx.saved_tensors
        eps = ctx.bandwidth
        grad_pre = grad * (pre > threshold)
        window = ((pre - threshold).abs() < eps / 2).to(grad.dtype)
        grad_theta = -(threshold / eps) * window * grad
        grad_theta = grad_theta.reshape(-1, *threshold.shape).sum(0) if grad_theta.dim() > threshold.dim() \
            else grad_theta
        return grad_pre, grad_theta, None


class Transcoder(nn.Module):
    """Per-layer (``cross_layer=False``) or cross-layer transcoder of an ``n_layers`` model.

    Parameters: ``W_enc`` [layer, d_model, feature], ``b_enc`` [layer, feature],
    ``W_dec[l]`` [feature, n_targets(l), d_model] (targets ``l .. n_layers - 1`` for a CLT,
    ``l`` alone otherwise), ``b_dec`` [layer, d_model], ``log_threshold`` [layer, feature]
    (jumprelu only).
    """

    def __init__(self, config: TranscoderConfig, init_threshold: float = 0.03):
        super().__init__()
        self.config = c = config
        L, d, F = c.n_layers, c.d_model, c.n_features
        enc = 1 / d ** 0.5
        self.W_enc = nn.Parameter(torch.empty(L, d, F).uniform_(-enc, enc))
        self.b_enc = nn.Parameter(torch.zeros(L, F))
        self.W_dec = nn.ParameterList(
            nn.Parameter(torch.empty(F, self.n_targets(l), d).uniform_(-1 / (L * F) ** 0.5, 1 / (L * F) ** 0.5))
            for l in range(L))
        self.b_dec = nn.Parameter(torch.zeros(L, d))
        if c.activation == "jumprelu":
            self.log_threshold = nn.Parameter(torch.full((L, F), float(torch.tensor(init_threshold).log())))

    # -- shapes ----------------------------------------------------------------------------
    def n_targets(self, layer: int) -> int:
        """How many layers the features of ``layer`` write to."""
        return self.config.n_layers - layer if self.config.cross_layer else 1

    def decoder(self, source: int, target: int) -> torch.Tensor:
        """[feature, d_model]: what the features of ``source`` write into the MLP output of ``target``."""
        c = self.config
        if not 0 <= source < c.n_layers or not 0 <= target < c.n_layers:
            raise IndexError(f"layers must lie in 0..{c.n_layers - 1}, got {source} -> {target}")
        if target < source or (not c.cross_layer and target != source):
            raise ValueError(f"features of layer {source} do not write to layer {target}")
        return self.W_dec[source][:, target - source]

    def decoder_norms(self) -> torch.Tensor:
        """[layer, feature]: norm of each feature's decoder vectors over all its target layers."""
        return torch.stack([w.pow(2).sum((1, 2)).sqrt() for w in self.W_dec])

    # -- computation -----------------------------------------------------------------------
    def pre_activation(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """Residual [..., d_model] -> feature pre-activations [..., feature] of ``layer``."""
        return x @ self.W_enc[layer] + self.b_enc[layer]

    def activate(self, layer: int, pre: torch.Tensor) -> torch.Tensor:
        """Pre-activations [..., feature] -> activations [..., feature] (>= 0)."""
        c = self.config
        if c.activation == "relu":
            return torch.relu(pre)
        if c.activation == "jumprelu":
            return _JumpReLU.apply(pre, self.log_threshold[layer].exp(), c.bandwidth)
        top = pre.topk(c.k, dim=-1)
        return torch.zeros_like(pre).scatter(-1, top.indices, torch.relu(top.values))

    def encode(self, layer: int, x: torch.Tensor) -> torch.Tensor:
        """Residual [..., d_model] -> activations [..., feature] of ``layer``."""
        return self.activate(layer, self.pre_activation(layer, x))

    def decode(self, acts: list[torch.Tensor]) -> list[torch.Tensor]:
        """Activations of every layer ([..., feature] each) -> MLP outputs ([..., d_model] each)."""
        out = [self.b_dec[m].expand(*acts[0].shape[:-1], -1) for m in range(self.config.n_layers)]
        for l, a in enumerate(acts):
            written = torch.einsum("...f,ftd->...td", a, self.W_dec[l])
            for j in range(self.n_targets(l)):
                out[l + j] = out[l + j] + written[..., j, :]
        return out

    def forward(self, resid_mid: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """Residual streams of every layer ([..., d_model] each) -> (activations, MLP outputs)."""
        if len(resid_mid) != self.config.n_layers:
            raise ValueError(f"expected {self.config.n_layers} residual streams, got {len(resid_mid)}")
        acts = [self.encode(l, x) for l, x in enumerate(resid_mid)]
        return acts, self.decode(acts)

    def config_dict(self) -> dict:
        return asdict(self.config)

    def __repr__(self) -> str:
        c = self.config
        kind = "cross-layer" if c.cross_layer else "per-layer"
        return (f"Transcoder({kind}, {c.activation}{f' k={c.k}' if c.activation == 'topk' else ''}, "
                f"layers={c.n_layers}, d_model={c.d_model}, features/layer={c.n_features}, "
                f"model={c.model_name!r})")
