"""Targets, bad input, and the result objects (figure, repr, save/load)."""

from __future__ import annotations

import matplotlib
import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A
from interp_widgets.attribution import LayerAttribution, Target, TokenAttribution
from tests.conftest import tiny_hf_model

matplotlib.use("Agg")
TEXT = "The quick brown fox jumps"


@pytest.fixture(scope="module")
def gpt2(causal_tokenizer):
    return iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer)


def test_targets_evaluate_what_they_say(gpt2):
    logits = gpt2(TEXT)
    g = A.gradient_x_input(gpt2, TEXT, Target.logit(7, pos=2))
    assert g.target_value == pytest.approx(float(logits[0, 2, 7]), abs=1e-5)
    p = A.gradient_x_input(gpt2, TEXT, Target.prob(7))
    assert p.target_value == pytest.approx(float(logits[0, -1].softmax(-1)[7]), abs=1e-6)
    d = A.gradient_x_input(gpt2, TEXT, Target.logit_diff(7, "mean"))
    assert d.target_value == pytest.approx(float(logits[0, -1, 7] - logits[0, -1].mean()), abs=1e-5)
    f = A.gradient_x_input(gpt2, TEXT, lambda row: row[-1].logsumexp(-1))
    assert f.target_value == pytest.approx(float(logits[0, -1].logsumexp(-1)), abs=1e-5)
    top = A.gradient_x_input(gpt2, TEXT)
    assert top.target_value == pytest.approx(float(logits[0, -1].max()), abs=1e-5)


@pytest.mark.parametrize("target,match", [
    (Target.logit(10_000), "not a token id"),
    (Target.logit(3, pos=40), "out of range"),
    ("The quick", "tokens"),
    (Target.class_score(1), "classification head"),
    (Target.function(lambda row: row[-1]), "scalar"),
    (1.5, "target must be"),
])
def test_bad_targets(gpt2, target, match):
    with pytest.raises((ValueError, TypeError), match=match):
        A.gradient_x_input(gpt2, TEXT, target)


def test_bad_inputs(gpt2):
    with pytest.raises(ValueError, match="empty"):
        A.integrated_gradients(gpt2, "   ", 3)
    with pytest.raises(ValueError, match="one sequence"):
        A.attnlrp(gpt2, ["a b", "c d"], 3)
    with pytest.raises(ValueError, match="baseline has shape"):
        A.integrated_gradients(gpt2, TEXT, 3, baseline=torch.zeros(2, 32))
    with pytest.raises(ValueError, match="mask token"):
        A.integrated_gradients(gpt2, TEXT, 3, baseline="mask")
    with pytest.raises(ValueError, match="steps"):
        A.integrated_gradients(gpt2, TEXT, 3, steps=0)
    with pytest.raises(ValueError, match="contrast"):
        A.attnlrp(gpt2, TEXT, Target.prob(3), contrast=4)


def test_masked_lm_needs_a_position(encoder_tokenizer):
    bert = iw.wrap(tiny_hf_model("bert"), encoder_tokenizer)
    with pytest.raises(ValueError, match="mask token"):
        A.gradient_x_input(bert, TEXT, 3)
    ok = A.gradient_x_input(bert, TEXT, Target.logit(3, pos=2))
    assert "@ 2" in ok.target


def test_results_figure_repr_save_load(gpt2, tmp_path):
    import matplotlib.pyplot as plt

    ig = A.integrated_gradients(gpt2, TEXT, 3, steps=4)
    lrp = A.attnlrp(gpt2, TEXT, 3)
    assert repr(ig) == repr(A.integrated_gradients(gpt2, TEXT, 3, steps=4))
    assert "0x" not in repr(ig) + repr(lrp)
    for fig in (ig.figure(), lrp.figure(), lrp.figure(normalize="shared"), lrp.row(0).figure()):
        assert fig.axes
        plt.close(fig)
    back = TokenAttribution.load(ig.save(tmp_path / "ig"))
    torch.testing.assert_close(back.scores, ig.scores)
    assert back.tokens == ig.tokens and back.info["steps"] == 4
    back = LayerAttribution.load(lrp.save(tmp_path / "lrp"))
    torch.testing.assert_close(back.scores, lrp.scores)
    assert ig.to_dict()["scores"].shape == (len(ig.tokens),)
