"""Faithfulness curves: closed form on a model with a known additive output, bookkeeping against
forward passes on edited token ids, top-k identities, every family, bad input."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import Faithfulness, Target

from tests.conftest import tiny_hf_model

matplotlib.use("Agg")
TEXT = "The quick brown fox jumps over the lazy dog"
MASKED = "The quick brown [MASK] jumps over the lazy dog"
V = 17  # the vocabulary entry summed by the additive target
# modules whose outputs write into the residual stream: zeroed, every position is on its own
WRITERS = {"gpt2": ("attn.c_proj", "mlp.c_proj"), "llama": ("o_proj", "down_proj"),
           "bert": ("attention.output.dense", "output.dense")}


def _text(model):
    return TEXT if model.cfg.causal else MASKED


def _additive(kind, causal_tokenizer, encoder_tokenizer):
    """F(x) = Σ_p logit_p[V], and logit_p depends only on the token (and position) at p."""
    hf = tiny_hf_model(kind)
    with torch.no_grad():
        for name, p in hf.named_parameters():
            if any(w in name for w in WRITERS[kind]):
                p.zero_()
    model = iw.wrap(hf, encoder_tokenizer if kind == "bert" else causal_tokenizer)
    return model, Target.function(lambda row: row[:, V].sum())


@pytest.mark.parametrize("kind", sorted(WRITERS))
def test_closed_form_on_an_additive_model(kind, causal_tokenizer, encoder_tokenizer):
    model, target = _additive(kind, causal_tokenizer, encoder_tokenizer)
    text = _text(model)
    ids = model.to_tokens(text)[0]
    rep = 0
    clean = model(ids[None])[0, :, V].double()
    replaced = model(torch.full_like(ids, rep)[None])[0, :, V].double()
    contrib = clean - replaced  # the exact effect of replacing each token on F
    n_tok = len(ids)
    gen = torch.Generator().manual_seed(0)
    randoms = [torch.randn(n_tok, generator=gen) for _ in range(20)]
    res = A.faithfulness(model, text, [contrib.numpy()] + randoms, target, replacement=rep,
                         internal_batch_size=9)
    assert res.measure == "target" and torch.isnan(res.log_odds).all()
    f0 = float(clean.sum())
    for i, s in enumerate([contrib] + randoms):  # MoRF/LeRF = F(x) - cumulative removed effects
        order = torch.argsort(-s.double(), stable=True)
        morf = f0 - torch.cat([torch.zeros(1, dtype=torch.float64), contrib[order].cumsum(0)])
        lerf = f0 - torch.cat([torch.zeros(1, dtype=torch.float64), contrib[order.flip(0)].cumsum(0)])
        tol = 1e-4 * (abs(f0) + float(contrib.abs().sum()))
        torch.testing.assert_close(res.morf[i].double(), morf, rtol=0, atol=tol)
        torch.testing.assert_close(res.lerf[i].double(), lerf, rtol=0, atol=tol)
    # removing the largest effects first is optimal at every step, and a random order scores worse
    assert (res.morf[0] <= res.morf[1:] + 1e-4).all() and (res.lerf[0] >= res.lerf[1:] - 1e-4).all()
    assert (res.area[0] >= res.area[1:] - 1e-5).all()
    assert float(res.area[0]) > float(res.area[1:].mean()) + 1e-3


def test_bookkeeping_against_edited_ids(tiny):
    """Step k of MoRF removes the first k tokens of the order, LeRF the last k; every value is
    the measure of a separate forward pass on token ids with those tokens replaced."""
    text = _text(tiny)
    ig = A.gradient_x_input(tiny, text, 7)
    lrp = A.attnlrp(tiny, text, 7)
    res = A.faithfulness(tiny, text, {"gxi": ig, "lrp": lrp}, 7, replacement="unk")
    ids = tiny.to_tokens(text)[0]
    n_tok = len(ids)
    pos = n_tok - 1 if tiny.cfg.causal else int((ids == tiny.tokenizer.mask_token_id).nonzero()[0, 0])
    rep = tiny.tokenizer.unk_token_id

    def prob(edited):
        return float(tiny(edited[None])[0, pos].double().softmax(-1)[7])

    p0 = prob(ids)
    assert res.measure == "prob" and res.replacement == tiny.to_str_tokens([rep])[0]
    torch.testing.assert_close(res.morf[:, 0].double(), torch.full((2,), p0, dtype=torch.float64), rtol=1e-5, atol=1e-7)
    torch.testing.assert_close(res.lerf[:, 0], res.morf[:, 0])
    torch.testing.assert_close(res.morf[:, -1], res.lerf[:, -1])
    for m, scores in enumerate([ig.scores, lrp.input_scores]):
        order = res.order[m]
        assert sorted(order.tolist()) == list(range(n_tok))
        assert (scores[order][:-1] >= scores[order][1:]).all()  # most relevant first
        for k in (1, n_tok // 2, n_tok - 1):
            morf_ids, lerf_ids = ids.clone(), ids.clone()
            morf_ids[order[:k]] = rep
            lerf_ids[order.flip(0)[:k]] = rep
            assert int((morf_ids != ids).sum()) <= k  # k positions replaced (a token may equal rep)
            assert float(res.morf[m, k]) == pytest.approx(prob(morf_ids), rel=1e-4, abs=1e-7)
            assert float(res.lerf[m, k]) == pytest.approx(prob(lerf_ids), rel=1e-4, abs=1e-7)
    assert res.info["forward_rows"] == 2 * 2 * (n_tok + 1)


def test_top_k_identities(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    ig = A.integrated_gradients(model, TEXT, 7, steps=8)
    n_tok = len(ig.tokens)
    at = {k: A.faithfulness(model, TEXT, ig, 7, top_k=k) for k in (0, n_tok, 3)}
    assert float(at[0].comprehensiveness[0]) == 0.0 and float(at[0].log_odds[0]) == 0.0
    assert float(at[n_tok].sufficiency[0]) == 0.0
    assert float(at[n_tok].comprehensiveness[0]) == pytest.approx(float(at[0].sufficiency[0]), abs=1e-7)
    r = at[3]
    full = float(r.morf[0, 0])
    assert float(r.comprehensiveness[0]) == pytest.approx(full - float(r.morf[0, 3]), abs=1e-7)
    assert float(r.sufficiency[0]) == pytest.approx(full - float(r.lerf[0, n_tok - 3]), abs=1e-7)
    assert float(r.log_odds[0]) == pytest.approx(np.log(float(r.morf[0, 3]) / full), abs=1e-5)
    frac = A.faithfulness(model, TEXT, ig, 7, top_k=0.2)
    assert frac.top_k == round(0.2 * n_tok)
    logit = A.faithfulness(model, TEXT, ig, 7, measure="target")
    assert float(logit.morf[0, 0]) == pytest.approx(ig.target_value, abs=1e-5)


def test_targets_methods_and_result(tmp_path, causal_tokenizer, encoder_tokenizer):
    import transformers

    from tests.conftest import _config

    model = iw.wrap(tiny_hf_model("llama"), causal_tokenizer)
    diff = Target.logit_diff(7, 9)
    results = [A.integrated_gradients(model, TEXT, diff, steps=8, baseline="pad"),
               A.attnlrp(model, TEXT, diff), A.token_relevance(model, TEXT, diff),
               A.chefer(model, TEXT, diff), A.chefer(model, TEXT, diff, variant="generic")]
    res = A.faithfulness(model, TEXT, results, diff, top_k=0.3)
    assert res.methods == ["integrated_gradients", "attnlrp", "token_relevance", "chefer_cvpr", "chefer_generic"]
    assert res.measure == "target"
    logits = model(TEXT)[0, -1]
    assert float(res.morf[0, 0]) == pytest.approx(float(logits[7] - logits[9]), abs=1e-5)
    assert [r["method"] for r in res.table()] == res.methods
    fig = res.figure()
    assert len(fig.axes[0].lines) == 2 * len(results) + 3
    back = Faithfulness.load(res.save(tmp_path / "f"))
    torch.testing.assert_close(back.morf, res.morf)
    torch.manual_seed(0)
    config = _config("bert")
    config.num_labels = 3
    clf = iw.wrap(transformers.BertForSequenceClassification(config).eval(), encoder_tokenizer)
    ig = A.gradient_x_input(clf, TEXT, Target.class_score(1))
    c = A.faithfulness(clf, TEXT, ig, Target.class_score(1), replacement="mask")
    assert c.measure == "prob"
    assert float(c.morf[0, 0]) == pytest.approx(float(clf(TEXT)[0].softmax(-1)[1]), abs=1e-6)


def test_bad_input(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)
    ig = A.gradient_x_input(model, TEXT, 7)
    n_tok = len(ig.tokens)
    for k in (n_tok + 1, -1, 1.5, "all"):
        with pytest.raises(ValueError, match="top_k"):
            A.faithfulness(model, TEXT, ig, 7, top_k=k)
    with pytest.raises(ValueError, match=f"has {n_tok - 1} scores but the input has {n_tok}"):
        A.faithfulness(model, TEXT, ig.scores[:-1], 7)
    with pytest.raises(ValueError, match="shape"):
        A.faithfulness(model, TEXT, np.zeros((2, n_tok)), 7)
    with pytest.raises(ValueError, match="explains"):
        A.faithfulness(model, TEXT, ig, 9)
    with pytest.raises(ValueError, match="replacement"):
        A.faithfulness(model, TEXT, ig, 7, replacement="cls")
    with pytest.raises(ValueError, match="replacement token id"):
        A.faithfulness(model, TEXT, ig, 7, replacement=10_000)
    with pytest.raises(ValueError, match="no mask token"):
        A.faithfulness(model, TEXT, ig, 7, replacement="mask")
    with pytest.raises(ValueError, match="measure"):
        A.faithfulness(model, TEXT, ig.scores.numpy(), Target.logit_diff(7, 9), measure="prob")
    with pytest.raises(ValueError, match="no attributions"):
        A.faithfulness(model, TEXT, [], 7)
    with pytest.raises(ValueError, match="internal_batch_size"):
        A.faithfulness(model, TEXT, ig, 7, internal_batch_size=0)
