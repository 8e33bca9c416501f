"""Shared fixtures: tiny random-initialised models of every supported family, built locally."""

from __future__ import annotations

import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

import interp_widgets as iw

CORPUS = [
    "The quick brown fox jumps over the lazy dog. A stitch in time saves nine.",
    "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer.",
    "Shall I compare thee to a summer's day? Thou art more lovely and more temperate.",
    "日本語のテキストも正しく表示されるべきです。",
] * 4
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "<|endoftext|>"]
VOCAB = 512


def _tokenizer(encoder: bool) -> transformers.PreTrainedTokenizerFast:
    tok = Tokenizer(models.BPE(unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS, trainer)
    if encoder:
        tok.post_processor = processors.TemplateProcessing(
            single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
            special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
        return transformers.PreTrainedTokenizerFast(
            tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
            mask_token="[MASK]", unk_token="[UNK]")
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>", unk_token="[UNK]")


@pytest.fixture(scope="session")
def causal_tokenizer():
    return _tokenizer(encoder=False)


@pytest.fixture(scope="session")
def encoder_tokenizer():
    return _tokenizer(encoder=True)


def _config(kind: str):
    common = dict(vocab_size=VOCAB)
    if kind == "gpt2":
        return transformers.GPT2Config(n_layer=2, n_head=4, n_embd=32, n_positions=64, bos_token_id=5,
                                        eos_token_id=5, **common)
    if kind in ("gpt_neox", "gpt_neox_sequential"):
        return transformers.GPTNeoXConfig(
            num_hidden_layers=2, num_attention_heads=4, hidden_size=32, intermediate_size=64,
            max_position_embeddings=64, rotary_pct=0.5, partial_rotary_factor=0.5,
            use_parallel_residual=kind == "gpt_neox", **common)
    if kind in ("llama", "qwen2", "mistral"):
        cls = {"llama": transformers.LlamaConfig, "qwen2": transformers.Qwen2Config,
               "mistral": transformers.MistralConfig}[kind]
        return cls(num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, hidden_size=32,
                   intermediate_size=64, max_position_embeddings=64, **common)
    if kind in ("bert", "roberta"):
        cls = transformers.BertConfig if kind == "bert" else transformers.RobertaConfig
        extra = {"pad_token_id": 0} if kind == "roberta" else {}
        return cls(num_hidden_layers=2, num_attention_heads=4, hidden_size=32, intermediate_size=64,
                   max_position_embeddings=80, **common, **extra)
    raise ValueError(kind)


HEADS = {"gpt2": "GPT2LMHeadModel", "gpt_neox": "GPTNeoXForCausalLM",
         "gpt_neox_sequential": "GPTNeoXForCausalLM", "llama": "LlamaForCausalLM",
         "qwen2": "Qwen2ForCausalLM", "mistral": "MistralForCausalLM", "bert": "BertForMaskedLM",
         "roberta": "RobertaForMaskedLM"}
FAMILIES = list(HEADS)


def tiny_hf_model(kind: str, attn_implementation: str = "sdpa", seed: int = 0):
    torch.manual_seed(seed)
    config = _config(kind)
    config._attn_implementation = attn_implementation
    model = getattr(transformers, HEADS[kind])(config).eval()
    with torch.no_grad():  # non-trivial norm weights and biases so norm handling is exercised
        for name, p in model.named_parameters():
            if "norm" in name.lower() or "ln" in name.split(".")[-2].lower():
                p.add_(0.1 * torch.randn_like(p))
    return model


def zero_biases(hf):
    """Sets every bias of ``hf`` to zero in place (conservation checks need a bias-free model)."""
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("bias"):
                p.zero_()
    return hf


@pytest.fixture(params=FAMILIES)
def kind(request):
    return request.param


@pytest.fixture
def tiny(kind, causal_tokenizer, encoder_tokenizer):
    """A wrapped tiny random model of the requested family."""
    tokenizer = encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer
    return iw.wrap(tiny_hf_model(kind), tokenizer, name=f"tiny-{kind}")
