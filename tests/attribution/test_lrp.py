"""AttnLRP / CP-LRP: explicit-rule reference, relevance bookkeeping, scoping and restoration."""

from __future__ import annotations

import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target

from tests.conftest import _config, tiny_hf_model, zero_biases
from .lrp_reference import attnlrp_gpt2

TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"


def _text(model):
    return TEXT if model.cfg.causal else MASKED


@pytest.mark.parametrize("variant", ["attnlrp", "cp_lrp"])
@pytest.mark.parametrize("token", [7, 300])
def test_matches_explicit_rules_gpt2(causal_tokenizer, variant, token):
    model = iw.wrap(tiny_hf_model("gpt2", seed=3), causal_tokenizer)
    ids = model.to_tokens(TEXT)[0]
    res = getattr(A, variant)(model, TEXT, token)
    ref = attnlrp_gpt2(model, ids, len(ids) - 1, token, cp=variant == "cp_lrp").detach()
    assert (res.input_scores.double() - ref).abs().max() <= 1e-5 * ref.abs().max()


@pytest.mark.parametrize("variant", ["attnlrp", "cp_lrp"])
def test_relevance_books_close(tiny, variant):
    """Σ input relevance + what biases and softmaxes absorbed = the target logit."""
    res = getattr(A, variant)(tiny, _text(tiny), 7)
    info = res.info
    assert info["seed_total"] == pytest.approx(res.target_value, rel=1e-6)
    scale = abs(info["input_total"]) + abs(info["absorbed_bias"]) + float(info["absorbed_softmax"].abs().sum())
    assert abs(info["residual"]) <= 1e-5 * scale
    if variant == "cp_lrp":
        assert float(info["absorbed_softmax"].abs().max()) == 0.0


@pytest.mark.parametrize("variant", ["attnlrp", "cp_lrp"])
def test_layerwise_conservation_without_biases(tiny, variant):
    model = iw.wrap(zero_biases(tiny.hf), tiny.tokenizer)
    res = getattr(A, variant)(model, _text(model), 11)
    totals = res.scores.double().sum(-1)  # rows: embed, resid_pre 0, resid_post 0..L-1
    seed = res.info["seed_total"]
    tol = 1e-5 * (abs(seed) + float(res.scores.abs().sum()))
    assert totals[-1] == pytest.approx(seed, abs=tol)  # final norm and head conserve
    assert res.info["input_total"] == pytest.approx(float(totals[1]), abs=tol)
    absorbed = res.info["absorbed_softmax"].double()
    for layer in range(model.cfg.n_layers):  # a block loses exactly what its softmax absorbed
        assert float(totals[layer + 2] - totals[layer + 1]) == pytest.approx(float(absorbed[layer]), abs=tol)
    if variant == "cp_lrp":
        assert (totals[1:] - seed).abs().max() <= tol


def test_contrastive_seed_is_the_difference(tiny):
    a = A.attnlrp(tiny, _text(tiny), 7)
    b = A.attnlrp(tiny, _text(tiny), 9)
    c = A.attnlrp(tiny, _text(tiny), 7, contrast=9)
    torch.testing.assert_close(c.scores, a.scores - b.scores, rtol=1e-4, atol=1e-6)
    assert c.target_value == pytest.approx(a.target_value - b.target_value, abs=1e-5)
    m = A.attnlrp(tiny, _text(tiny), 7, contrast="mean")
    assert "mean logit" in m.target and m.info["seed_total"] == pytest.approx(m.target_value, abs=1e-5)


def _hooks(hf):
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) for m in hf.modules())


def test_model_restored_and_other_models_untouched(tiny):
    text = _text(tiny)
    other = iw.wrap(tiny_hf_model(tiny.cfg.family if tiny.cfg.family != "llama" else "llama", seed=1),
                    tiny.tokenizer)
    before, other_before = tiny(text), other(text)
    impl = tiny.hf.config._attn_implementation
    hooks = _hooks(tiny.hf)
    seen = {}

    def target(logits_row):  # runs inside the LRP call: the other model must behave normally
        seen["other"] = other(text)
        return logits_row[-1, 7] if logits_row.ndim == 2 else logits_row[7]

    A.attnlrp(tiny, text, Target.function(target))
    torch.testing.assert_close(seen["other"], other_before, rtol=0, atol=0)
    assert torch.equal(tiny(text), before) and torch.equal(other(text), other_before)
    assert tiny.hf.config._attn_implementation == impl and _hooks(tiny.hf) == hooks

    def failing(logits_row):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        A.cp_lrp(tiny, text, Target.function(failing))
    assert torch.equal(tiny(text), before)
    assert tiny.hf.config._attn_implementation == impl and _hooks(tiny.hf) == hooks
    assert all(p.grad is None for p in tiny.hf.parameters())


@pytest.mark.parametrize("kind,cls", [("bert", "BertForSequenceClassification"),
                                      ("roberta", "RobertaForSequenceClassification"),
                                      ("gpt2", "GPT2ForSequenceClassification"),
                                      ("llama", "LlamaForSequenceClassification")])
def test_classification_heads(kind, cls, causal_tokenizer, encoder_tokenizer):
    torch.manual_seed(0)
    config = _config(kind)
    config.num_labels = 3
    config.pad_token_id = 0
    hf = getattr(transformers, cls)(config).eval()
    model = iw.wrap(hf, encoder_tokenizer if kind in ("bert", "roberta") else causal_tokenizer)
    res = A.attnlrp(model, TEXT, Target.class_score(2))
    assert res.target == "class 2"
    assert res.target_value == pytest.approx(float(model(TEXT)[0, 2]), abs=1e-4)
    scale = abs(res.info["input_total"]) + abs(res.info["absorbed_bias"]) + float(res.info["absorbed_softmax"].abs().sum())
    assert abs(res.info["residual"]) <= 1e-5 * scale
    # the pad-token baseline: a zero input makes RMSNorm singular at the start of the path
    ig = A.integrated_gradients(model, TEXT, 2, steps=24, baseline="pad")
    assert abs(ig.delta) <= 1e-3 * max(1.0, abs(ig.target_value - ig.info["baseline_value"]))
