"""Faithfulness with ``keep_specials=True``: CLS/SEP (and BOS) are never replaced, every curve
value matches a forward pass on edited ids with the specials in place; the default is unchanged."""

from __future__ import annotations

import pytest
import torch

import interp_widgets as iw
from interp_widgets import attribution as A

from tests.conftest import tiny_hf_model

MASKED = "The quick brown [MASK] jumps over the lazy dog"


@pytest.fixture(scope="module")
def bert(encoder_tokenizer):
    return iw.wrap(tiny_hf_model("bert"), encoder_tokenizer)


def test_specials_are_never_replaced(bert):
    ids = bert.to_tokens(MASKED)[0]
    specials = set(bert.tokenizer.all_special_ids)
    kept = [i for i, t in enumerate(ids.tolist()) if t in specials]
    assert kept  # [CLS], [MASK], [SEP]
    movable = [i for i in range(len(ids)) if i not in kept]
    # scores that rank the specials first: without keep_specials they would go first
    scores = torch.arange(len(ids), dtype=torch.float32)
    scores[kept] = 100.0
    gxi = A.gradient_x_input(bert, MASKED, 7)
    res = A.faithfulness(bert, MASKED, {"ranked": scores, "gxi": gxi}, 7, replacement="unk", keep_specials=True)
    n = len(movable)
    assert res.order.shape == (2, n) and res.fractions.shape == (n + 1,)
    assert res.info["kept_positions"] == kept
    pos = int((ids == bert.tokenizer.mask_token_id).nonzero()[0, 0])
    rep = bert.tokenizer.unk_token_id

    def prob(edited):
        return float(bert(edited[None])[0, pos].double().softmax(-1)[7])

    for m in range(2):
        order = res.order[m]
        assert sorted(order.tolist()) == movable
        for k in range(n + 1):
            morf_ids, lerf_ids = ids.clone(), ids.clone()
            morf_ids[order[:k]] = rep
            lerf_ids[order.flip(0)[:k]] = rep
            assert morf_ids[kept].tolist() == ids[kept].tolist()
            assert float(res.morf[m, k]) == pytest.approx(prob(morf_ids), rel=1e-4, abs=1e-7)
            assert float(res.lerf[m, k]) == pytest.approx(prob(lerf_ids), rel=1e-4, abs=1e-7)
    assert res.order[0].tolist() == sorted(movable, reverse=True)  # the specials' scores are ignored
    assert res.top_k == int(0.2 * n + 0.5)


def test_default_unchanged(bert):
    ids = bert.to_tokens(MASKED)[0]
    gxi = A.gradient_x_input(bert, MASKED, 7)
    default = A.faithfulness(bert, MASKED, gxi, 7)
    explicit = A.faithfulness(bert, MASKED, gxi, 7, keep_specials=False)
    assert default.order.shape == (1, len(ids)) and default.info["kept_positions"] == []
    assert torch.equal(default.order[0], torch.argsort(-gxi.scores.double(), stable=True))
    for name in ("morf", "lerf", "order", "area", "comprehensiveness", "sufficiency"):
        assert torch.equal(getattr(default, name), getattr(explicit, name))
    # the last step replaces every token, specials included
    pad = bert.tokenizer.pad_token_id
    pos = int((ids == bert.tokenizer.mask_token_id).nonzero()[0, 0])
    all_pad = torch.full_like(ids, pad)
    assert float(default.morf[0, -1]) == pytest.approx(
        float(bert(all_pad[None])[0, pos].double().softmax(-1)[7]), rel=1e-4, abs=1e-7)


def test_only_specials(bert):
    ids = torch.tensor([bert.tokenizer.cls_token_id, bert.tokenizer.mask_token_id, bert.tokenizer.sep_token_id])
    with pytest.raises(ValueError, match="every token of this input is a special token"):
        A.faithfulness(bert, ids, torch.zeros(3), 7, keep_specials=True)
