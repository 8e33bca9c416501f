"""GPT-NeoX (Pythia): partial rotary, parallel residual, fused per-head ``query_key_value``."""

from __future__ import annotations

import torch

from ..hooks import OutputSite
from .base import Adapter, BlockParts, ModelConfig, linear_weight


class GPTNeoXAdapter(Adapter):
    family = "gpt_neox"
    model_types = ("gpt_neox",)

    def make_config(self, c) -> ModelConfig:
        rope = c.rope_parameters or {}
        d_head = c.hidden_size // c.num_attention_heads
        return ModelConfig(
            family=self.family, model_type=c.model_type, n_layers=c.num_hidden_layers,
            n_heads=c.num_attention_heads, n_kv_heads=c.num_attention_heads, d_model=c.hidden_size,
            d_head=d_head, d_mlp=c.intermediate_size, d_vocab=c.vocab_size,
            n_ctx=c.max_position_embeddings, causal=True, normalization="layernorm", post_norm=False,
            parallel_residual=bool(c.use_parallel_residual), positional="rotary", gated_mlp=False,
            act_fn=c.hidden_act, rotary_dim=int(d_head * rope.get("partial_rotary_factor", 1.0)),
            rope_theta=float(rope.get("rope_theta", 10000.0)),
        )

    @property
    def base(self):
        return self.hf.base_model

    def embedding(self):
        return self.base.embed_in

    def embed_sites(self):
        return [OutputSite(self.base.embed_in, ["hook_embed"])]

    def block(self, layer):
        b = self.base.layers[layer]
        return BlockParts(block=b, attn=b.attention, ln1=b.input_layernorm, ln2=b.post_attention_layernorm,
                          o_proj=b.attention.dense, mlp_in=b.mlp.dense_h_to_4h,
                          mlp_down=b.mlp.dense_4h_to_h, mlp_out=b.mlp)

    def qkv_sites(self, layer, parts):
        h, pre = self.cfg.n_heads, f"blocks.{layer}.attn"
        return [OutputSite(
            parts.attn.query_key_value, [f"{pre}.hook_q", f"{pre}.hook_k", f"{pre}.hook_v"],
            split=lambda o: list(o.unflatten(-1, (h, 3, -1)).unbind(-2)),
            join=lambda parts, o: torch.stack(parts, dim=-2).flatten(-3),
        )]

    def qkv_weights(self, layer):
        w, b = linear_weight(self.base.layers[layer].attention.query_key_value)
        h = self.cfg.n_heads
        wq, wk, wv = (t.flatten(-2) for t in w.unflatten(-1, (h, 3, -1)).unbind(-2))
        if b is None:
            return wq, None, wk, None, wv, None
        bq, bk, bv = (t.flatten(-2) for t in b.unflatten(-1, (h, 3, -1)).unbind(-2))
        return wq, bq, wk, bk, wv, bv

    def final_norm(self):
        return self.base.final_layer_norm

    def unembed_module(self):
        return getattr(self.hf, "lm_head", None) or getattr(self.hf, "score", None)
