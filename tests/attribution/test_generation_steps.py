"""Generation-step attribution: every row equals the method called directly on its prefix with the
generated token as target; the padding beyond each prefix; bad input."""

from __future__ import annotations

import matplotlib
import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import GenerationAttribution, Target

from tests.conftest import tiny_hf_model

matplotlib.use("Agg")
PROMPT = "The quick brown fox"


@pytest.fixture(scope="module")
def llama(causal_tokenizer):
    return iw.wrap(tiny_hf_model("llama"), causal_tokenizer, name="tiny-llama")


@pytest.fixture(scope="module")
def gpt2(causal_tokenizer):
    return iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer, name="tiny-gpt2")


def _direct(model, ids, token, method, target, **kw):
    spec = Target.logit(token, pos=-1) if target == "logit" else Target.prob(token, pos=-1)
    return getattr(A, method)(model, ids, spec, **kw)


@pytest.mark.parametrize("method,target,kw", [
    ("attnlrp", "logit", {}),
    ("gradient_x_input", "prob", {}),
    ("integrated_gradients", "logit", {"steps": 4}),
])
def test_rows_equal_direct_calls(llama, method, target, kw):
    res = A.generation_attribution(llama, PROMPT, max_new_tokens=3, method=method, target=target,
                                   stop_at_eos=False, **kw)
    n_prompt = len(llama.to_str_tokens(PROMPT))
    assert res.n_prompt == n_prompt and res.n_steps == 3
    assert res.scores.shape == (3, n_prompt + 3) and len(res.tokens) == n_prompt + 3
    gen = iw.hidden.generate(llama, PROMPT, max_new_tokens=3, stop_at_eos=False)
    assert res.ids[n_prompt:].tolist() == gen.ids.tolist() and res.generated == gen.tokens
    for t in range(3):
        prefix = res.ids[:n_prompt + t]
        direct = _direct(llama, prefix, int(gen.ids[t]), method, target, **kw)
        scores = direct.input_scores if method == "attnlrp" else direct.scores
        assert torch.equal(res.scores[t, :n_prompt + t], scores.float())
        assert torch.isnan(res.scores[t, n_prompt + t:]).all()
        assert res.targets[t] == direct.target and res.target_values[t] == pytest.approx(direct.target_value)
        step = res.step(t)
        assert step.tokens == direct.tokens and torch.equal(step.scores, scores.float())
    if method == "attnlrp":
        assert res.layer_scores.shape == (3, len(res.layers), n_prompt + 3)
        assert torch.isnan(res.layer_scores[0, :, n_prompt:]).all()


def test_generated_token_is_the_greedy_prediction(gpt2):
    res = A.generation_attribution(gpt2, PROMPT, max_new_tokens=2, method="gradient_x_input", stop_at_eos=False)
    for t in range(res.n_steps):
        logits = gpt2(res.ids[:res.n_prompt + t])[0, -1]
        assert int(logits.argmax()) == int(res.ids[res.n_prompt + t])


def test_callable_method_result_and_figure(llama):
    def saliency(model, ids, target):
        return A.gradient_x_input(model, ids, target)

    res = A.generation_attribution(llama, PROMPT, max_new_tokens=2, method=saliency, stop_at_eos=False)
    assert isinstance(res, GenerationAttribution) and res.method == "saliency"
    assert repr(res) == repr(res)
    assert res.figure().axes and res.figure(normalize="shared").axes
    with pytest.raises(ValueError, match="normalize"):
        res.figure(normalize="max")
    with pytest.raises(ValueError, match="step must be"):
        res.step(2)


def test_bad_input(llama, encoder_tokenizer):
    bert = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer)
    with pytest.raises(ValueError, match="causal language model"):
        A.generation_attribution(bert, "a [MASK] b", max_new_tokens=2)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="max_new_tokens must be a positive int"):
            A.generation_attribution(llama, PROMPT, max_new_tokens=bad)
    with pytest.raises(ValueError, match="unknown method"):
        A.generation_attribution(llama, PROMPT, max_new_tokens=1, method="shap")
    # the tiny model's vocabulary (512) is larger than its tokenizer's (400); this prompt reaches id 453
    gen = iw.hidden.generate(llama, "The quick brown", max_new_tokens=4, stop_at_eos=False)
    assert int(gen.ids.max()) >= len(llama.tokenizer)
    with pytest.raises(ValueError, match="which its tokenizer .* cannot show"):
        A.generation_attribution(llama, "The quick brown", max_new_tokens=4, stop_at_eos=False)
    with pytest.raises(ValueError, match="target must be one of"):
        A.generation_attribution(llama, PROMPT, max_new_tokens=1, target="entropy")
