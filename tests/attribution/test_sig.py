"""SIG: per-word completeness against independently computed gaps F(x) - F(x̄^i), the
identity with IG from the per-word baseline, SIG = IG for a one-token input, the documented
baseline choice, specials, and bad input."""

from __future__ import annotations

import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target
from interp_widgets.attribution._forward import Runner
from tests.conftest import tiny_hf_model

TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"


def _text(model):
    return TEXT if model.cfg.causal else MASKED


def _hf_logits(model, text, embeds):
    """Logits of ``embeds`` [n, pos, d] straight through the Hugging Face forward."""
    enc = model.encode(text)
    kwargs = {k: v.expand(len(embeds), -1) for k, v in enc.model_kwargs().items() if k != "input_ids"}
    with torch.no_grad():
        return model.hf(inputs_embeds=embeds, **kwargs).logits


def _baseline_row(model):
    tok = model.tokenizer
    token = tok.mask_token_id if tok.mask_token_id is not None else next(
        i for i in (tok.pad_token_id, tok.eos_token_id) if i is not None)
    return model.W_E[token]


def test_per_word_completeness_every_family(tiny):
    text = _text(tiny)
    res = A.sig(tiny, text, Target.logit(7), steps=24)
    runner = Runner(tiny, text)
    x = runner.embeddings
    special = set(tiny.tokenizer.all_special_ids)
    moving = [i for i, t in enumerate(runner.input_ids.tolist()) if t not in special]
    assert moving and (tiny.cfg.causal or len(moving) < len(x))
    bars = x.repeat(len(moving), 1, 1)
    for row, i in enumerate(moving):
        bars[row, i] = _baseline_row(tiny).detach()
    pos = -1 if tiny.cfg.causal else int((runner.input_ids == tiny.tokenizer.mask_token_id).nonzero()[0])
    logits = _hf_logits(tiny, text, torch.cat([x[None], bars]))[:, pos, 7].double()
    gaps = logits[0] - logits[1:]
    torch.testing.assert_close(torch.tensor(res.info["word_gaps"], dtype=torch.float64)[moving], gaps,
                               rtol=1e-4, atol=1e-5)
    sums = res.attributions.double().sum(-1)
    assert (sums[moving] - gaps).abs().max() <= 1e-3 * max(1.0, float(gaps.abs().max()))
    torch.testing.assert_close(torch.tensor(res.info["word_deltas"], dtype=torch.float64),
                               sums - torch.tensor(res.info["word_gaps"], dtype=torch.float64),
                               rtol=0, atol=1e-4)
    assert abs(res.delta) == pytest.approx(max(abs(d) for d in res.info["word_deltas"]))
    fixed = [i for i in range(len(x)) if i not in moving]
    assert (res.attributions[fixed] == 0).all()  # special tokens are not attributed


def test_each_row_is_ig_from_its_own_baseline(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("llama"), causal_tokenizer)
    target = Target.logit_diff(7, 9)
    res = A.sig(model, TEXT, target, steps=12, method="riemann_middle")
    x = Runner(model, TEXT).embeddings
    for i in (0, 3):
        bar = x.clone()
        bar[i] = _baseline_row(model).detach()
        ig = A.integrated_gradients(model, TEXT, target, baseline=bar, steps=12, method="riemann_middle")
        scale = ig.attributions[i].abs().max()
        assert (res.attributions[i] - ig.attributions[i]).abs().max() <= 1e-4 * scale


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neox", "llama"])
def test_one_token_input_is_plain_ig(kind, causal_tokenizer):
    model = iw.wrap(tiny_hf_model(kind), causal_tokenizer)
    one = model.to_tokens("The")[0]
    assert len(one) == 1
    res = A.sig(model, one, 5, baseline="zeros" if kind == "gpt2" else "pad", steps=16)
    ig = A.integrated_gradients(model, one, 5, baseline="zeros" if kind == "gpt2" else "pad", steps=16)
    torch.testing.assert_close(res.attributions, ig.attributions, rtol=1e-5, atol=1e-6)
    assert res.info["word_gaps"][0] == pytest.approx(ig.target_value - ig.info["baseline_value"], abs=1e-5)


def test_baseline_choice(causal_tokenizer, encoder_tokenizer):
    bert = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer)
    gpt2 = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    assert causal_tokenizer.mask_token_id is None and causal_tokenizer.pad_token_id is None
    assert A.sig(bert, MASKED, steps=2).info["baseline"] == "mask"
    res = A.sig(gpt2, TEXT, 3, steps=2)
    assert res.info["baseline"] == "pad"  # no pad token either: the EOS embedding
    explicit = A.sig(gpt2, TEXT, 3, steps=2, baseline=causal_tokenizer.eos_token_id)
    torch.testing.assert_close(res.attributions, explicit.attributions)
    # keep_specials=False attributes [CLS]/[SEP] too
    every = A.sig(bert, MASKED, steps=2, keep_specials=False)
    assert every.attributions[0].abs().sum() > 0


def test_bad_input(causal_tokenizer):
    gpt2 = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    with pytest.raises(ValueError, match="steps"):
        A.sig(gpt2, TEXT, 3, steps=0)
    with pytest.raises(ValueError, match="unknown method"):
        A.sig(gpt2, TEXT, 3, method="simpson")
    with pytest.raises(ValueError, match="baseline has shape"):
        A.sig(gpt2, TEXT, 3, baseline=torch.zeros(2, 32))
    with pytest.raises(ValueError, match="mask token"):
        A.sig(gpt2, TEXT, 3, baseline="mask")
    with pytest.raises(ValueError, match="empty"):
        A.sig(gpt2, " ", 3)
    with pytest.raises(ValueError, match="no tokens"):
        A.sig(gpt2, torch.tensor([], dtype=torch.long), 3)
