"""GPT-2: learned absolute positions, pre-LayerNorm, fused ``c_attn`` (Conv1D, [in, out])."""

from __future__ import annotations

import torch

from ..hooks import OutputSite
from .base import Adapter, BlockParts, ModelConfig, linear_weight


class GPT2Adapter(Adapter):
    family = "gpt2"
    model_types = ("gpt2",)

    def make_config(self, c) -> ModelConfig:
        return ModelConfig(
            family=self.family, model_type=c.model_type, n_layers=c.n_layer, n_heads=c.n_head,
            n_kv_heads=c.n_head, d_model=c.n_embd, d_head=c.n_embd // c.n_head,
            d_mlp=c.n_inner or 4 * c.n_embd, d_vocab=c.vocab_size, n_ctx=c.n_positions,
            causal=True, normalization="layernorm", post_norm=False, parallel_residual=False,
            positional="learned", gated_mlp=False, act_fn=c.activation_function,
        )

    @property
    def base(self):
        return self.hf.base_model

    def embedding(self):
        return self.base.wte

    def pos_embedding(self):
        return self.base.wpe

    def embed_sites(self):
        return [OutputSite(self.base.wte, ["hook_embed"]), OutputSite(self.base.wpe, ["hook_pos_embed"])]

    def block(self, layer):
        b = self.base.h[layer]
        return BlockParts(block=b, attn=b.attn, ln1=b.ln_1, ln2=b.ln_2, o_proj=b.attn.c_proj,
                          mlp_in=b.mlp.c_fc, mlp_down=b.mlp.c_proj, mlp_out=b.mlp)

    def qkv_sites(self, layer, parts):
        d, h, pre = self.cfg.d_model, self.cfg.n_heads, f"blocks.{layer}.attn"
        return [OutputSite(
            parts.attn.c_attn, [f"{pre}.hook_q", f"{pre}.hook_k", f"{pre}.hook_v"],
            split=lambda o: [t.unflatten(-1, (h, -1)) for t in o.split(d, dim=-1)],
            join=lambda parts, o: torch.cat([t.flatten(-2) for t in parts], dim=-1),
        )]

    def qkv_weights(self, layer):
        w, b = linear_weight(self.base.h[layer].attn.c_attn)
        wq, wk, wv = w.split(self.cfg.d_model, dim=-1)
        bq, bk, bv = b.split(self.cfg.d_model, dim=-1)
        return wq, bq, wk, bk, wv, bv

    def final_norm(self):
        return self.base.ln_f

    def unembed_module(self):
        return getattr(self.hf, "lm_head", None) or getattr(self.hf, "score", None)
