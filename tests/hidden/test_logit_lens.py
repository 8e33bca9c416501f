"""Logit lens: the last read-out is the model's own logits; intermediate read-outs equal the native
final norm + head applied to Hugging Face's hidden states."""

from __future__ import annotations

import pytest
import torch

from interp_widgets.analysis.result import Result
from interp_widgets.hidden import LogitLens, logit_lens

from .conftest import check_figure, native_unembed

TEXT = "To be, or not to be, that is the question"


def test_last_layer_lens_is_the_models_logits(model):
    lens = logit_lens(model, TEXT, k=5, watch=[" the", 7])
    logits = model.run(TEXT, names=[]).logits[0].float()
    probs = torch.softmax(logits, -1)
    top_p, top_i = probs.topk(5, dim=-1)
    assert lens.stages[-1] == f"L{model.cfg.n_layers - 1} post"
    torch.testing.assert_close(lens.topk_probs[-1], top_p, atol=1e-5, rtol=0)
    assert torch.equal(lens.topk_ids[-1], top_i)
    torch.testing.assert_close(lens.entropy[-1], -(probs * probs.log()).sum(-1), atol=1e-5, rtol=0)
    for w, token_id in enumerate(lens.watch_ids):
        rank = (logits > logits[:, token_id, None]).sum(-1) + 1
        assert torch.equal(lens.watch_ranks[-1, :, w], rank)
        torch.testing.assert_close(lens.watch_probs[-1, :, w], probs[:, token_id], atol=1e-6, rtol=0)


def test_block_inputs_match_native_hidden_states(model):
    """Reference: ``output_hidden_states`` (block inputs) through the native norm and head modules."""
    lens = logit_lens(model, TEXT, k=3, points="resid_pre")
    enc = model.encode(TEXT)
    with torch.no_grad():
        hidden = model.hf(**enc.model_kwargs(), output_hidden_states=True).hidden_states
        for layer in range(model.cfg.n_layers):
            probs = torch.softmax(native_unembed(model.hf, hidden[layer])[0].float(), -1)
            assert lens.stages[layer] == f"L{layer} pre"
            torch.testing.assert_close(lens.topk_probs[layer], probs.topk(3, dim=-1).values, atol=1e-5, rtol=0)


def test_stages_points_and_resid_mid(model):
    lens = logit_lens(model, TEXT, k=2)
    n = model.cfg.n_layers
    assert lens.stages[:3] == ["L0 pre", "L0 mid", "L0 post"] and len(lens.stages) == 3 * n
    assert lens.topk_ids.shape == (3 * n, len(lens.tokens), 2)
    # the block output and the next block's input are the same residual
    torch.testing.assert_close(lens.topk_probs[2], lens.topk_probs[3], atol=1e-6, rtol=0)
    assert (lens.topk_probs[..., :-1] >= lens.topk_probs[..., 1:]).all()


def test_shipped_llama_top1_is_the_greedy_next_token(shipped_llama):
    prompt = "To be, or not to be, that is the"
    lens = logit_lens(shipped_llama, prompt, k=1)
    ids = shipped_llama.to_tokens(prompt)
    greedy = shipped_llama.hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=1, do_sample=False)
    assert int(lens.topk_ids[-1, -1, 0]) == int(greedy[0, -1])
    assert lens.topk_tokens[-1][-1][0] == shipped_llama.to_str_tokens([int(greedy[0, -1])])[0]


def test_watch_errors(causal_tokenizer, encoder_tokenizer):
    from .conftest import wrap

    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="not a single token"):
        logit_lens(model, TEXT, watch=" questionable")
    with pytest.raises(ValueError, match="outside the vocabulary"):
        logit_lens(model, TEXT, watch=10**6)
    with pytest.raises(ValueError, match="k must be"):
        logit_lens(model, TEXT, k=0)
    with pytest.raises(ValueError, match="points must be"):
        logit_lens(model, TEXT, points=("resid_final",))


def test_result_repr_figure_and_save(tmp_path, causal_tokenizer, encoder_tokenizer):
    from .conftest import wrap

    model = wrap("llama", causal_tokenizer, encoder_tokenizer)
    lens = logit_lens(model, TEXT, k=3, watch=" the")
    assert isinstance(lens, Result) and repr(lens) == repr(logit_lens(model, TEXT, k=3, watch=" the"))
    assert repr(lens).startswith("LogitLens(tokens=<")
    check_figure(lens.figure())
    check_figure(logit_lens(model, TEXT, k=3).figure())
    back = LogitLens.load(lens.save(tmp_path / "lens"))
    assert torch.equal(back.topk_ids, lens.topk_ids) and back.topk_tokens == lens.topk_tokens
    assert lens.top(-1, -1)[0][0] == lens.topk_tokens[-1][-1][0]
