"""BERT / RoBERTa encoders: post-LayerNorm blocks, absolute positions, token types."""

from __future__ import annotations

from ..hooks import OutputSite
from .base import Adapter, BlockParts, ModelConfig, linear_weight


class BertAdapter(Adapter):
    family = "bert"
    model_types = ("bert", "roberta")
    causal = False

    def make_config(self, c) -> ModelConfig:
        return ModelConfig(
            family=self.family, model_type=c.model_type, n_layers=c.num_hidden_layers,
            n_heads=c.num_attention_heads, n_kv_heads=c.num_attention_heads, d_model=c.hidden_size,
            d_head=c.hidden_size // c.num_attention_heads, d_mlp=c.intermediate_size,
            d_vocab=c.vocab_size, n_ctx=c.max_position_embeddings, causal=False,
            normalization="layernorm", post_norm=True, parallel_residual=False, positional="learned",
            gated_mlp=False, act_fn=c.hidden_act,
        )

    @property
    def base(self):
        return self.hf.base_model

    def embedding(self):
        return self.base.embeddings.word_embeddings

    def pos_embedding(self):
        return self.base.embeddings.position_embeddings

    def embed_sites(self):
        e = self.base.embeddings
        return [OutputSite(e.word_embeddings, ["hook_embed"]),
                OutputSite(e.position_embeddings, ["hook_pos_embed"]),
                OutputSite(e.token_type_embeddings, ["hook_token_type_embed"]),
                self._norm_site(e.LayerNorm, "embed.ln")]

    def block(self, layer):
        b = self.base.encoder.layer[layer]
        return BlockParts(block=b, attn=b.attention.self, ln1=b.attention.output.LayerNorm,
                          ln2=b.output.LayerNorm, o_proj=b.attention.output.dense,
                          mlp_in=b.intermediate.dense, mlp_down=b.output.dense, mlp_out=b.output.dense,
                          attn_block_out=b.attention.output)

    def qkv_sites(self, layer, parts):
        pre, a, h = f"blocks.{layer}.attn", parts.attn, self.cfg.n_heads
        return [self.heads_split_site(a.query, f"{pre}.hook_q", h),
                self.heads_split_site(a.key, f"{pre}.hook_k", h),
                self.heads_split_site(a.value, f"{pre}.hook_v", h)]

    def qkv_weights(self, layer):
        a = self.base.encoder.layer[layer].attention.self
        (wq, bq), (wk, bk), (wv, bv) = (linear_weight(m) for m in (a.query, a.key, a.value))
        return wq, bq, wk, bk, wv, bv

    def final_norm(self):
        return None

    def _mlm_head(self):
        cls = getattr(self.hf, "cls", None)
        if cls is not None and hasattr(cls, "predictions"):
            return cls.predictions
        head = getattr(self.hf, "lm_head", None)
        return head if head is not None and hasattr(head, "decoder") else None

    def unembed_module(self):
        head = self._mlm_head()
        return None if head is None else head.decoder

    def unembed(self, resid):
        """Final residual -> MLM logits through the full prediction head (dense, act, LN, decoder)."""
        head = self._mlm_head()
        if head is None:
            return super().unembed(resid)
        return head(resid)
