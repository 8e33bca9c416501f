"""Generation records: greedy ids equal Hugging Face ``generate``; recorded probabilities, top-k and
entropies equal those recomputed from one forward pass over the generated sequence."""

from __future__ import annotations

import copy

import pytest
import torch

from interp_widgets.hidden import Generation, generate

from .conftest import check_figure, wrap

PROMPT = "To be, or not to be,"


def _hf_greedy(model, n):
    ids = model.to_tokens(PROMPT)
    config = copy.deepcopy(model.hf.generation_config)
    config.eos_token_id = None
    out = model.hf.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=n, do_sample=False,
                            generation_config=config, pad_token_id=0)
    return out[0, ids.shape[1]:]


def _check_records(model, gen):
    sequence = torch.cat([gen.prompt_ids, gen.ids])
    logits = model(sequence)[0, len(gen.prompt_ids) - 1:-1].float()
    probs = torch.softmax(logits, -1)
    torch.testing.assert_close(gen.probs, probs.gather(-1, gen.ids[:, None])[:, 0], atol=1e-5, rtol=0)
    torch.testing.assert_close(gen.entropy, -(probs * probs.log()).sum(-1), atol=1e-4, rtol=0)
    torch.testing.assert_close(gen.topk_probs, probs.topk(gen.topk_probs.shape[1], dim=-1).values, atol=1e-5, rtol=0)


def test_greedy_matches_hf_generate_and_records(causal_model):
    gen = generate(causal_model, PROMPT, max_new_tokens=6, stop_at_eos=False)
    assert torch.equal(gen.ids, _hf_greedy(causal_model, 6))
    assert gen.stop == "length" and len(gen.tokens) == 6
    assert torch.equal(gen.topk_ids[:, 0], gen.ids)  # greedy picks the top alternative
    _check_records(causal_model, gen)


def test_shipped_llama_greedy_matches_hf_generate(shipped_llama):
    gen = generate(shipped_llama, PROMPT, max_new_tokens=12, stop_at_eos=False)
    assert torch.equal(gen.ids, _hf_greedy(shipped_llama, 12))
    decode = shipped_llama.tokenizer.decode
    assert decode(gen.prompt_ids.tolist()) + gen.text == decode(gen.prompt_ids.tolist() + gen.ids.tolist())
    assert gen.text.startswith(" ")


def test_sampling_is_seeded_and_records_the_model_distribution(causal_tokenizer, encoder_tokenizer):
    model = wrap("llama", causal_tokenizer, encoder_tokenizer)
    a = generate(model, PROMPT, max_new_tokens=8, greedy=False, seed=1, stop_at_eos=False)
    b = generate(model, PROMPT, max_new_tokens=8, greedy=False, seed=1, stop_at_eos=False)
    c = generate(model, PROMPT, max_new_tokens=8, greedy=False, seed=2, stop_at_eos=False)
    assert torch.equal(a.ids, b.ids) and not torch.equal(a.ids, c.ids)
    _check_records(model, a)
    assert (a.probs > 0).all()


def test_stops_at_eos(causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    first = generate(model, PROMPT, max_new_tokens=3, stop_at_eos=False)
    eos = int(first.ids[1])
    model.hf.generation_config.eos_token_id = eos  # the second greedy token now ends the text
    gen = generate(model, PROMPT, max_new_tokens=3)
    assert gen.stop == "eos" and torch.equal(gen.ids, first.ids[: first.ids.tolist().index(eos) + 1])


def test_errors_repr_and_figure(tmp_path, causal_tokenizer, encoder_tokenizer):
    with pytest.raises(ValueError, match="causal language model"):
        generate(wrap("bert", causal_tokenizer, encoder_tokenizer), PROMPT)
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="max_new_tokens"):
        generate(model, PROMPT, max_new_tokens=0)
    with pytest.raises(ValueError, match="exceed the model's context"):
        generate(model, PROMPT, max_new_tokens=100)
    with pytest.raises(ValueError, match="temperature"):
        generate(model, PROMPT, greedy=False, temperature=0)
    gen = generate(model, PROMPT, max_new_tokens=4, stop_at_eos=False)
    assert isinstance(gen, Generation) and repr(gen) == repr(generate(model, PROMPT, max_new_tokens=4, stop_at_eos=False))
    assert gen.alternatives(0)[0][0] == gen.tokens[0]
    check_figure(gen.figure())
    back = Generation.load(gen.save(tmp_path / "gen"))
    assert torch.equal(back.ids, gen.ids) and back.text == gen.text
