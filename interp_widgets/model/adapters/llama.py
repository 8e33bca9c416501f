"""Llama family (Llama, Qwen2, Mistral): RoPE, RMSNorm, grouped-query attention, gated MLP."""

from __future__ import annotations

from ..hooks import OutputSite
from .base import Adapter, BlockParts, ModelConfig, linear_weight


class LlamaAdapter(Adapter):
    family = "llama"
    model_types = ("llama", "qwen2", "mistral")

    def make_config(self, c) -> ModelConfig:
        rope = c.rope_parameters or {}
        d_head = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
        return ModelConfig(
            family=self.family, model_type=c.model_type, n_layers=c.num_hidden_layers,
            n_heads=c.num_attention_heads, n_kv_heads=c.num_key_value_heads, d_model=c.hidden_size,
            d_head=d_head, d_mlp=c.intermediate_size, d_vocab=c.vocab_size,
            n_ctx=c.max_position_embeddings, causal=True, normalization="rmsnorm", post_norm=False,
            parallel_residual=False, positional="rotary", gated_mlp=True, act_fn=c.hidden_act,
            rotary_dim=int(d_head * rope.get("partial_rotary_factor", 1.0)),
            rope_theta=float(rope.get("rope_theta", 10000.0)),
        )

    @property
    def base(self):
        return self.hf.base_model

    def embedding(self):
        return self.base.embed_tokens

    def embed_sites(self):
        return [OutputSite(self.base.embed_tokens, ["hook_embed"])]

    def block(self, layer):
        b = self.base.layers[layer]
        return BlockParts(block=b, attn=b.self_attn, ln1=b.input_layernorm, ln2=b.post_attention_layernorm,
                          o_proj=b.self_attn.o_proj, mlp_in=b.mlp.gate_proj, mlp_up=b.mlp.up_proj,
                          mlp_down=b.mlp.down_proj, mlp_out=b.mlp)

    def qkv_sites(self, layer, parts):
        pre, a, cfg = f"blocks.{layer}.attn", parts.attn, self.cfg
        return [self.heads_split_site(a.q_proj, f"{pre}.hook_q", cfg.n_heads),
                self.heads_split_site(a.k_proj, f"{pre}.hook_k", cfg.n_kv_heads),
                self.heads_split_site(a.v_proj, f"{pre}.hook_v", cfg.n_kv_heads)]

    def qkv_weights(self, layer):
        a = self.base.layers[layer].self_attn
        (wq, bq), (wk, bk), (wv, bv) = (linear_weight(m) for m in (a.q_proj, a.k_proj, a.v_proj))
        return wq, bq, wk, bk, wv, bv

    def final_norm(self):
        return self.base.norm

    def unembed_module(self):
        return getattr(self.hf, "lm_head", None) or getattr(self.hf, "score", None)
