"""What every architecture adapter provides, and the hook sites built from it.

An adapter maps one family's native modules to canonical parts (:class:`BlockParts`)
and exposes its weights in one orientation: ``x @ W`` with ``W`` [in, out].
Everything else (hook sites, per-head weights) is built here from those parts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from ..hooks import AttentionSite, AttnOutSite, InputSite, NormSite, OutputSite, Site


@dataclass(frozen=True)
class ModelConfig:
    """Shape and architecture facts shared by all analyses."""

    family: str
    model_type: str
    n_layers: int
    n_heads: int
    n_kv_heads: int
    d_model: int
    d_head: int
    d_mlp: int
    d_vocab: int
    n_ctx: int
    causal: bool
    normalization: str  # "layernorm" | "rmsnorm"
    post_norm: bool
    parallel_residual: bool
    positional: str  # "learned" | "rotary"
    gated_mlp: bool
    act_fn: str
    rotary_dim: int | None = None
    rope_theta: float | None = None


@dataclass
class BlockParts:
    """Native modules of one block, by role."""

    block: nn.Module
    attn: nn.Module  # the module that calls the attention function
    ln1: nn.Module  # pre-attention norm (pre-norm) or post-attention norm (post-norm)
    ln2: nn.Module  # pre-MLP norm (pre-norm) or post-MLP norm (post-norm)
    o_proj: nn.Module
    mlp_in: nn.Module  # output = mlp.hook_pre
    mlp_down: nn.Module  # input = mlp.hook_post
    mlp_out: nn.Module  # output = hook_mlp_out
    mlp_up: nn.Module | None = None  # gated MLPs: output = mlp.hook_pre_linear
    attn_block_out: nn.Module | None = None  # post-norm: output = hook_resid_mid


def linear_weight(module: nn.Module) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(W [in, out], b [out] | None) of an ``nn.Linear`` or a GPT-2 ``Conv1D``."""
    if isinstance(module, nn.Linear):
        return module.weight.T, module.bias
    return module.weight, module.bias  # Conv1D stores [in, out]


class Adapter:
    """Base class: subclasses set ``family``/``model_types`` and implement the abstract parts."""

    family: ClassVar[str] = ""
    model_types: ClassVar[tuple[str, ...]] = ()
    causal: ClassVar[bool] = True

    def __init__(self, hf_model: nn.Module):
        self.hf = hf_model
        self.cfg = self.make_config(hf_model.config)

    # -- to implement per family ---------------------------------------------------------
    def make_config(self, config) -> ModelConfig:
        raise NotImplementedError

    def embed_sites(self) -> list[Site]:
        raise NotImplementedError

    def block(self, layer: int) -> BlockParts:
        raise NotImplementedError

    def qkv_sites(self, layer: int, parts: BlockParts) -> list[Site]:
        raise NotImplementedError

    def qkv_weights(self, layer: int) -> tuple[torch.Tensor, ...]:
        """(W_q [d, h*dh], b_q, W_k [d, kv*dh], b_k, W_v [d, kv*dh], b_v); biases may be None."""
        raise NotImplementedError

    def final_norm(self) -> nn.Module | None:
        raise NotImplementedError

    def embedding(self) -> nn.Embedding:
        raise NotImplementedError

    def pos_embedding(self) -> nn.Embedding | None:
        return None

    def unembed_module(self) -> nn.Module | None:
        """The head mapping the final residual to logits (after the final norm)."""
        raise NotImplementedError

    def norm_eps(self, norm: nn.Module) -> float:
        return float(getattr(norm, "eps", getattr(norm, "variance_epsilon", 1e-5)))

    # -- built from the parts ------------------------------------------------------------
    def sites(self) -> list[Site]:
        cfg = self.cfg
        sites = list(self.embed_sites())
        for layer in range(cfg.n_layers):
            p = self.block(layer)
            pre = f"blocks.{layer}"
            stash = ("resid_pre", layer)
            sites.append(InputSite(p.block, [f"{pre}.hook_resid_pre"], stash_key=stash))
            if not cfg.post_norm:
                sites.append(self._norm_site(p.ln1, f"{pre}.ln1"))
            sites += self.qkv_sites(layer, p)
            sites.append(AttentionSite(p.attn, pre, rotary=cfg.positional == "rotary"))
            sequential_pre_norm = not cfg.post_norm and not cfg.parallel_residual
            sites.append(AttnOutSite(
                p.o_proj, pre, cfg.n_heads, weights=linear_weight,
                resid_mid=f"{pre}.hook_resid_mid" if sequential_pre_norm else None, resid_pre_key=stash,
            ))
            if cfg.post_norm:
                sites.append(self._norm_site(p.ln1, f"{pre}.ln1"))
                sites.append(OutputSite(p.attn_block_out, [f"{pre}.hook_resid_mid"]))
            else:
                sites.append(self._norm_site(p.ln2, f"{pre}.ln2"))
            sites.append(OutputSite(p.mlp_in, [f"{pre}.mlp.hook_pre"]))
            if p.mlp_up is not None:
                sites.append(OutputSite(p.mlp_up, [f"{pre}.mlp.hook_pre_linear"]))
            sites.append(InputSite(p.mlp_down, [f"{pre}.mlp.hook_post"]))
            sites.append(OutputSite(p.mlp_out, [f"{pre}.hook_mlp_out"]))
            if cfg.post_norm:
                sites.append(self._norm_site(p.ln2, f"{pre}.ln2"))
            sites.append(OutputSite(p.block, [f"{pre}.hook_resid_post"]))
        final = self.final_norm()
        if final is not None:
            sites.append(self._norm_site(final, "ln_final"))
        return sites

    def _norm_site(self, norm: nn.Module, prefix: str) -> NormSite:
        return NormSite(norm, prefix, self.cfg.normalization, self.norm_eps(norm))

    def heads_split_site(self, module: nn.Module, name: str, n: int) -> OutputSite:
        """A projection whose output [.., n*d_head] is seen as [.., n, d_head]."""
        return OutputSite(module, [name], split=lambda o: [o.unflatten(-1, (n, -1))],
                          join=lambda parts, o: parts[0].flatten(-2))

    # -- weights in TransformerLens shapes -----------------------------------------------
    def _per_head(self, w: torch.Tensor, n: int) -> torch.Tensor:
        """[d_model, n*d_head] -> [head, d_model, d_head], kv heads expanded to all heads."""
        w = w.unflatten(-1, (n, -1)).permute(1, 0, 2)
        return w.repeat_interleave(self.cfg.n_heads // n, dim=0)

    def _per_head_bias(self, b: torch.Tensor | None, n: int) -> torch.Tensor:
        if b is None:
            return torch.zeros(self.cfg.n_heads, self.cfg.d_head, device=self.device, dtype=self.dtype)
        return b.unflatten(-1, (n, -1)).repeat_interleave(self.cfg.n_heads // n, dim=0)

    @property
    def device(self):
        return self.embedding().weight.device

    @property
    def dtype(self):
        return self.embedding().weight.dtype

    def W_Q(self, layer):
        return self._per_head(self.qkv_weights(layer)[0], self.cfg.n_heads)

    def W_K(self, layer):
        return self._per_head(self.qkv_weights(layer)[2], self.cfg.n_kv_heads)

    def W_V(self, layer):
        return self._per_head(self.qkv_weights(layer)[4], self.cfg.n_kv_heads)

    def b_Q(self, layer):
        return self._per_head_bias(self.qkv_weights(layer)[1], self.cfg.n_heads)

    def b_K(self, layer):
        return self._per_head_bias(self.qkv_weights(layer)[3], self.cfg.n_kv_heads)

    def b_V(self, layer):
        return self._per_head_bias(self.qkv_weights(layer)[5], self.cfg.n_kv_heads)

    def W_O(self, layer):
        """[head, d_head, d_model]."""
        w, _ = linear_weight(self.block(layer).o_proj)
        return w.unflatten(0, (self.cfg.n_heads, -1))

    def b_O(self, layer):
        return linear_weight(self.block(layer).o_proj)[1]

    def mlp_weights(self, layer) -> dict[str, torch.Tensor | None]:
        """W_in [d_model, d_mlp] (+ W_gate for gated MLPs: W_in is the gate, W_up the linear
        branch), W_out [d_mlp, d_model] and their biases."""
        p = self.block(layer)
        w_in, b_in = linear_weight(p.mlp_in)
        w_out, b_out = linear_weight(p.mlp_down)
        out = {"W_in": w_in, "b_in": b_in, "W_out": w_out, "b_out": b_out}
        if p.mlp_up is not None:
            out["W_up"], out["b_up"] = linear_weight(p.mlp_up)
        return out

    def W_E(self):
        return self.embedding().weight

    def W_pos(self):
        pos = self.pos_embedding()
        return None if pos is None else pos.weight

    def W_U(self):
        """[d_model, d_vocab] of the final linear map to logits (None without an LM head)."""
        head = self.unembed_module()
        if head is None:
            return None
        return linear_weight(head)[0]

    def b_U(self):
        head = self.unembed_module()
        return None if head is None else linear_weight(head)[1]

    def apply_final_norm(self, resid: torch.Tensor) -> torch.Tensor:
        norm = self.final_norm()
        return resid if norm is None else norm(resid)

    def unembed(self, resid: torch.Tensor) -> torch.Tensor:
        """Final residual [.., d_model] -> logits [.., d_vocab] (final norm then head)."""
        head = self.unembed_module()
        if head is None:
            raise ValueError(
                f"this {self.cfg.family} model has no language-model head, so there are no logits "
                "to map to; load it with a masked-LM or causal-LM head"
            )
        return head(self.apply_final_norm(resid))

    def rotary(self) -> dict | None:
        """Rotary settings: rotary_dim, theta, rope_type, full rope parameters; None without RoPE."""
        if self.cfg.positional != "rotary":
            return None
        params = dict(getattr(self.hf.config, "rope_parameters", None) or {})
        return {"rotary_dim": self.cfg.rotary_dim, "theta": self.cfg.rope_theta,
                "rope_type": params.get("rope_type", "default"), "layout": "rotate_half",
                "parameters": params}
