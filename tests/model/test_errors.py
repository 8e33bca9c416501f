"""Bad input gets a clear error that says what was wrong and what to do."""

from __future__ import annotations

import pytest
import torch
import transformers
from torch import nn

import interp_widgets as iw
from conftest import VOCAB, tiny_hf_model


@pytest.fixture(scope="module")
def gpt2(causal_tokenizer):
    return iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_empty_or_whitespace_text(gpt2, text):
    with pytest.raises(ValueError, match="empty or only whitespace"):
        gpt2.run(text)


def test_empty_list(gpt2):
    with pytest.raises(TypeError, match="empty"):
        gpt2.run([])


def test_too_long_input_errors_unless_truncated(gpt2):
    text = "the quick brown fox " * 40  # far beyond the 64-token context
    with pytest.raises(ValueError, match=r"context is 64; shorten the text or pass truncate=True"):
        gpt2.run(text)
    tr = gpt2.run(text, truncate=True, names=[])
    assert tr.input_ids.shape[1] == 64


def test_unknown_hook_name_lists_closest(gpt2):
    with pytest.raises(KeyError, match=r"closest valid names: .*blocks\.0\.attn\.hook_pattern"):
        gpt2.run("hello", names=["blocks.0.attn.hook_patern"])
    tr = gpt2.run("hello", names=["blocks.0.hook_resid_pre"])
    with pytest.raises(KeyError, match="include it in names="):
        tr["blocks.1.hook_resid_pre"]
    with pytest.raises(KeyError, match="closest valid names"):
        tr["blocks.1.hook_resid_prev"]


def test_unsupported_architecture_names_families(causal_tokenizer, tmp_path):
    config = transformers.OPTConfig(num_hidden_layers=1, hidden_size=16, ffn_dim=32, num_attention_heads=2,
                                    vocab_size=VOCAB, max_position_embeddings=32, word_embed_proj_dim=16)
    model = transformers.OPTForCausalLM(config)
    with pytest.raises(NotImplementedError, match=r"'opt' is not supported.*gpt2.*llama.*bert.*adapter"):
        iw.wrap(model, causal_tokenizer)
    model.save_pretrained(tmp_path)
    with pytest.raises(NotImplementedError, match="Supported families"):
        iw.load(tmp_path)


def test_plain_module_is_refused(causal_tokenizer):
    with pytest.raises(TypeError, match="expected a Hugging Face transformers model.*got Sequential"):
        iw.wrap(nn.Sequential(nn.Linear(4, 4)), causal_tokenizer)


def test_mismatched_tokenizer(causal_tokenizer):
    small = transformers.GPT2Config(n_layer=1, n_head=2, n_embd=16, n_positions=32, vocab_size=100)
    with pytest.raises(ValueError, match="does not belong to this model"):
        iw.wrap(transformers.GPT2LMHeadModel(small), causal_tokenizer)
    with pytest.raises(TypeError, match="needs the model's tokenizer"):
        iw.wrap(transformers.GPT2LMHeadModel(small), None)


def test_token_ids_outside_vocabulary(gpt2):
    with pytest.raises(ValueError, match="outside the model's vocabulary.*does not match"):
        gpt2.run(torch.tensor([1, 2, VOCAB + 5]))


def test_bad_patch_shape_and_return(gpt2):
    with pytest.raises(ValueError, match="does not broadcast"), \
            gpt2.patch({"blocks.0.hook_resid_pre": torch.zeros(3, 7)}):
        gpt2.run("hello there")
    with pytest.raises(ValueError, match="expected a tensor of shape"), \
            gpt2.patch({"blocks.0.hook_resid_pre": lambda x: x[:, :1]}):
        gpt2.run("hello there")


def test_pair_for_causal_model(gpt2):
    with pytest.raises(ValueError, match="sentence pairs are for encoder models"):
        gpt2.run("a", pair="b")


def test_backward_needs_grad_and_scalar(gpt2):
    with pytest.raises(RuntimeError, match="grad=True"):
        gpt2.run("hello").backward(torch.tensor(1.0))
    tr = gpt2.run("hello", names=["hook_embed"], grad=True)
    with pytest.raises(ValueError, match="must be a scalar"):
        tr.backward(lambda t: t.logits)
