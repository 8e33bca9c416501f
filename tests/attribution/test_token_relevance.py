"""Token-wise relevance redistribution: per-layer matrices against the CP-LRP engine, chaining,
row sums, targets, results."""

from __future__ import annotations

import matplotlib
import pytest
import torch
import transformers

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Target, TokenAttribution, TokenRelevance

from tests.conftest import FAMILIES, _config, tiny_hf_model, zero_biases

matplotlib.use("Agg")
TEXT = "The quick brown fox jumps"
MASKED = "The quick [MASK] fox jumps"
PRE_NORM = [k for k in FAMILIES if k not in ("bert", "roberta")]


def _text(model):
    return TEXT if model.cfg.causal else MASKED


def _tol(x: torch.Tensor) -> float:
    return 1e-5 * max(float(x.abs().max()), 1e-6)


def test_chain_reproduces_cp_lrp_without_biases(tiny):
    """Without biases nothing is absorbed: every row of M_l carries exactly the CP-LRP relevance
    at block l's output, every column what block l's input receives, and the chain lands on
    CP-LRP's relevance of the stream entering block 0."""
    model = iw.wrap(zero_biases(tiny.hf), tiny.tokenizer)
    text = _text(model)
    res = A.token_relevance(model, text, 11)
    cp = A.cp_lrp(model, text, 11)  # rows: embed, resid_pre 0, resid_post 0 .. L-1
    n = model.cfg.n_layers
    m = res.matrices.double()
    ref = cp.scores.double()
    for layer in range(n):
        torch.testing.assert_close(m[layer].sum(-1), ref[layer + 2], rtol=0, atol=_tol(ref))
        torch.testing.assert_close(m[layer].sum(0), ref[layer + 1], rtol=0, atol=_tol(ref))
    torch.testing.assert_close(res.input_relevance.double(), ref[1], rtol=0, atol=_tol(ref))
    torch.testing.assert_close(res.layer_relevance.double(), ref[1:], rtol=0, atol=_tol(ref))
    assert float(res.info["row_residual"].max()) <= _tol(ref)
    ones = torch.ones(m.shape[-1])
    torch.testing.assert_close(res.fractions.sum(-1), ones.expand(n, -1), rtol=0, atol=1e-4)
    torch.testing.assert_close(res.joint.sum(-1), ones, rtol=0, atol=1e-4)
    # the attention part (METHODS formula) carries exactly the relevance of the attention output
    rel = A.relevance(model, text, 11, variant="cp_lrp", names="blocks.*.hook_attn_out")
    for layer in range(n):
        got = res.info["attention"][layer].double().sum(-1)
        want = rel[f"blocks.{layer}.hook_attn_out"].double()
        torch.testing.assert_close(got, want, rtol=0, atol=_tol(want))


@pytest.mark.parametrize("kind", PRE_NORM)
def test_formula_columns_equal_lrp_at_attention_input(kind, causal_tokenizer):
    """With biases: Σ_i R_{i<-j} (the METHODS formula from patterns, weights and the gradient at
    the attention output) equals the gradient engine's CP-LRP relevance at the normalised
    attention input of position j (biases of q, k, v, o and the norms included)."""
    hf = tiny_hf_model(kind)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if name.endswith("bias"):
                p.add_(0.1 * torch.randn_like(p))
    model = iw.wrap(hf, causal_tokenizer)
    res = A.token_relevance(model, TEXT, 11)
    rel = A.relevance(model, TEXT, 11, variant="cp_lrp", names="blocks.*.ln1.hook_normalized")
    for layer in range(model.cfg.n_layers):
        want = rel[f"blocks.{layer}.ln1.hook_normalized"].double()
        got = res.info["attention"][layer].double().sum(0)
        torch.testing.assert_close(got, want, rtol=0, atol=_tol(want))


def test_structure_and_agreement_with_biases(tiny):
    text = _text(tiny)
    res = A.token_relevance(tiny, text, 7)
    cp = A.cp_lrp(tiny, text, 7)
    n_tok = len(res.tokens)
    assert res.matrices.shape == (tiny.cfg.n_layers, n_tok, n_tok) == res.fractions.shape
    torch.testing.assert_close(res.layer_relevance[-1], res.output_relevance)
    torch.testing.assert_close(res.layer_relevance.double(), cp.scores[1:].double(),
                               rtol=0, atol=_tol(cp.scores))
    # each block's shares carry its output relevance to its input; chained, to CP-LRP's input
    for layer in range(tiny.cfg.n_layers):
        carried = res.layer_relevance[layer + 1].double() @ res.fractions[layer].double()
        torch.testing.assert_close(carried, res.layer_relevance[layer].double(), rtol=0,
                                   atol=1e-4 * float(res.layer_relevance.abs().max()))
    torch.testing.assert_close(res.input_relevance.double(), cp.scores[1].double(), rtol=0,
                               atol=1e-4 * float(cp.scores[1].abs().max()))
    if tiny.cfg.causal:  # no relevance flows to later tokens
        assert torch.equal(res.matrices.triu(1), torch.zeros_like(res.matrices))
        assert torch.equal(res.joint.triu(1), torch.zeros_like(res.joint))


@pytest.mark.parametrize("target", [Target.logit(7, pos=2), Target.prob(7), Target.logit_diff(7, 9),
                                    Target.logit_diff(7, "mean"), Target.function(lambda r: r[-1, 3] * 2)])
def test_target_kinds(target, causal_tokenizer):
    model = iw.wrap(zero_biases(tiny_hf_model("llama")), causal_tokenizer)
    res = A.token_relevance(model, TEXT, target)
    cp = A.cp_lrp(model, TEXT, target)
    assert res.target == cp.target and res.target_value == pytest.approx(cp.target_value, abs=1e-6)
    torch.testing.assert_close(res.input_relevance.double(), cp.scores[1].double(), rtol=0,
                               atol=_tol(cp.scores))


def test_contrast_and_classification_head(encoder_tokenizer, causal_tokenizer):
    model = iw.wrap(zero_biases(tiny_hf_model("gpt2")), causal_tokenizer)
    a, b = A.token_relevance(model, TEXT, 7), A.token_relevance(model, TEXT, 9)
    c = A.token_relevance(model, TEXT, 7, contrast=9)
    torch.testing.assert_close(c.matrices, a.matrices - b.matrices, rtol=1e-4, atol=1e-7)
    config = _config("bert")
    config.num_labels = 3
    torch.manual_seed(0)
    hf = zero_biases(transformers.BertForSequenceClassification(config).eval())
    clf = iw.wrap(hf, encoder_tokenizer)
    res = A.token_relevance(clf, TEXT, Target.class_score(1))
    cp = A.cp_lrp(clf, TEXT, Target.class_score(1))
    assert res.target == "class 1"
    torch.testing.assert_close(res.input_relevance.double(), cp.scores[1].double(), rtol=0,
                               atol=_tol(cp.scores))


def test_result_figure_save_load_and_bad_input(tmp_path, causal_tokenizer):
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    res = A.token_relevance(model, TEXT, 7)
    assert isinstance(res, TokenRelevance)
    att = res.attribution()
    assert isinstance(att, TokenAttribution) and torch.equal(att.scores, res.input_relevance)
    assert repr(res) == repr(A.token_relevance(model, TEXT, 7))
    fig = res.figure()
    assert len(fig.axes) >= model.cfg.n_layers + 2
    back = TokenRelevance.load(res.save(tmp_path / "tr"))
    torch.testing.assert_close(back.joint, res.joint)
    with pytest.raises(ValueError, match="out of range"):
        A.token_relevance(model, TEXT, Target.logit(7, pos=50))
    with pytest.raises(ValueError, match="not a token id"):
        A.token_relevance(model, TEXT, 10_000)
