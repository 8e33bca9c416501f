"""Random-initialised models of realistic shape for benchmarks, built locally (no hub).

``gpt2_small`` is GPT-2 small's shape (12 layers, 12 heads, d_model 768, d_mlp 3072) with a
vocabulary of 8192 instead of 50257 to keep memory modest; ``llama_small`` matches it in size
(gated MLP of 2048 = the same 4.7M weights per block) with grouped-query attention (4 KV heads).
``quick=True`` gives 2-layer toys of the same families for smoke runs.
"""

from __future__ import annotations

import torch
import transformers
from tokenizers import Tokenizer, models, pre_tokenizers

VOCAB = 8192
QUICK_VOCAB = 512


def word_tokenizer() -> transformers.PreTrainedTokenizerFast:
    """A minimal tokenizer for random models; benchmarks feed token ids, so it is only needed
    because ``iw.wrap`` and TransformerLens want one."""
    tok = Tokenizer(models.WordLevel({"<|endoftext|>": 0, "[UNK]": 1}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]",
                                                bos_token="<|endoftext|>", eos_token="<|endoftext|>")


def vocab_tokenizer(size: int) -> transformers.PreTrainedTokenizerFast:
    """One word per id, so that every random id has a token string (attribution results name
    their tokens)."""
    tok = Tokenizer(models.WordLevel({f"w{i}": i for i in range(size)}, unk_token="w1"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="w1", bos_token="w0",
                                                eos_token="w0")


def _build(config, cls, seed: int) -> transformers.PreTrainedModel:
    torch.manual_seed(seed)
    config._attn_implementation = "eager"  # the resting state; sdpa is switched on per call
    return cls(config).eval()


def gpt2_small(quick: bool = False, seed: int = 0) -> transformers.GPT2LMHeadModel:
    size = (dict(n_layer=2, n_head=4, n_embd=64, vocab_size=QUICK_VOCAB) if quick else
            dict(n_layer=12, n_head=12, n_embd=768, vocab_size=VOCAB))
    config = transformers.GPT2Config(n_positions=1024, bos_token_id=0, eos_token_id=0, **size)
    return _build(config, transformers.GPT2LMHeadModel, seed)


def llama_small(quick: bool = False, seed: int = 0) -> transformers.LlamaForCausalLM:
    size = (dict(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, hidden_size=64,
                 intermediate_size=128, vocab_size=QUICK_VOCAB) if quick else
            dict(num_hidden_layers=12, num_attention_heads=12, num_key_value_heads=4,
                 hidden_size=768, intermediate_size=2048, vocab_size=VOCAB))
    config = transformers.LlamaConfig(max_position_embeddings=1024, bos_token_id=0, eos_token_id=0,
                                      pad_token_id=0, **size)
    return _build(config, transformers.LlamaForCausalLM, seed)


def small_models(quick: bool = False) -> list[tuple[str, object]]:
    """(label, builder) of the GPT-2-small- and Llama-shaped models (the 2-layer toys with ``quick``)."""
    return [("gpt2-toy" if quick else "gpt2-small", gpt2_small), ("llama-toy" if quick else "llama-small", llama_small)]


def random_ids(vocab_size: int, n_tokens: int, seed: int = 0) -> torch.Tensor:
    """Token ids [1, n_tokens], the same for every contender of a case."""
    return torch.randint(0, vocab_size, (1, n_tokens), generator=torch.Generator().manual_seed(seed))
