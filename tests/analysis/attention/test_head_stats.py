"""Head statistics (Clark et al. 2019): stochastic rows, entropy bound, JS matrix, syntax."""

from __future__ import annotations

import math

import conllu
import pytest
import torch

from interp_widgets.analysis.attention import head_stats, merge_words
from interp_widgets.analysis.attention._common import patterns_of
from interp_widgets.model.tokens import word_groups

from .conftest import check_figure

TEXTS = ["The quick brown fox jumps over the lazy dog.", "To be, or not to be, that is the question"]
SPLIT = "Xylophones quietly zigzag, whimsically."  # words the model tokenizer splits into pieces


def test_rows_sum_to_one_before_and_after_word_merging(model):
    pats, ids, _ = patterns_of(model, SPLIT)
    torch.testing.assert_close(pats.sum(-1), torch.ones(pats.shape[:-1], dtype=pats.dtype))
    groups = word_groups(model.tokenizer, ids)
    words = merge_words(pats, groups.token_to_word, len(groups.words))
    assert words.shape[-1] == len(groups.words) < pats.shape[-1]
    torch.testing.assert_close(words.sum(-1), torch.ones(words.shape[:-1], dtype=words.dtype))
    # to a word: summed over its pieces; from a word: averaged
    a, b = groups.word_to_tokens[1]
    torch.testing.assert_close(words[..., 0, 1], pats[..., groups.word_to_tokens[0][0]:groups.word_to_tokens[0][1],
                                                       a:b].sum(-1).mean(-1))


@pytest.mark.parametrize("word_level", [False, True])
def test_entropy_bound_and_js_matrix(model, word_level):
    s = head_stats(model, TEXTS, word_level=word_level)
    longest = max(len(t) for t in s.tokens)
    assert (s.entropy >= 0).all() and (s.entropy <= math.log(longest) + 1e-9).all()
    assert s.uniform_entropy <= math.log(longest)
    assert (s.per_text[:, s.stat_names.index("entropy")] <= math.log(longest) + 1e-9).all()
    n = model.cfg.n_layers * model.cfg.n_heads
    assert s.js.shape == (n, n) and s.mds.shape == (n, 2)
    torch.testing.assert_close(s.js, s.js.T)
    assert (s.js.diagonal() == 0).all() and (s.js >= -1e-12).all() and (s.js <= math.log(2)).all()
    for name in ("to_self", "to_prev", "to_first", "to_special", "to_punct"):
        values = getattr(s, name)
        assert values.shape == (model.cfg.n_layers, model.cfg.n_heads)
        assert ((values >= -1e-12) & (values <= 1 + 1e-9)).all()
    if model.cfg.causal:
        assert (s.to_next == 0).all()


def test_padding_is_excluded_and_texts_are_averaged(model):
    both = head_stats(model, TEXTS, cluster=False)
    single = [head_stats(model, t, cluster=False) for t in TEXTS]
    for k in range(2):
        torch.testing.assert_close(both.per_text[k], single[k].per_text[0])
    weights = torch.tensor([len(t) for t in both.tokens], dtype=torch.float64)
    expected = (both.per_text[:, 0] * weights[:, None, None]).sum(0) / weights.sum()
    torch.testing.assert_close(both.to_self, expected)


def _previous_token_head(pattern):
    out = pattern.clone()
    n = pattern.shape[-1]
    prev = torch.zeros(n, n, dtype=pattern.dtype)
    prev[torch.arange(1, n), torch.arange(n - 1)] = 1.0
    prev[0, 0] = 1.0
    out[:, 0] = prev
    return out


def test_previous_token_head_scores_like_the_minus_one_offset(model, parses):
    with model.patch({"blocks.0.attn.hook_pattern": _previous_token_head}):
        s = head_stats(model, parses=parses, cluster=False)
        tokens_level = head_stats(model, TEXTS[0], cluster=False)
    assert tokens_level.to_prev[0, 0] == pytest.approx(1.0)
    # independent baseline: fraction of dependencies whose head is the previous word (and reverse)
    hits = {d: {} for d in range(2)}
    for sentence in conllu.parse(parses):
        words = [t for t in sentence if isinstance(t["id"], int)]
        for t in words:
            if t["head"] == 0:
                continue
            rel = t["deprel"].split(":")[0]
            for d, ok in enumerate((t["head"] == t["id"] - 1, t["id"] == t["head"] - 1)):
                hits[d].setdefault(rel, []).append(ok)
    for d in range(2):
        for r, rel in enumerate(s.relations):
            expected = sum(hits[d][rel]) / len(hits[d][rel])
            assert s.syntax_acc[d, r, 0, 0].item() == pytest.approx(expected), (s.directions[d], rel)
    rows = {row["relation"]: row for row in s.best_heads()}
    assert rows["amod"]["baseline"] >= rows["amod"]["accuracy"] - 1e-9 or rows["amod"]["layer"] != 0


def test_syntax_fields(model, parses):
    s = head_stats(model, parses=parses)
    assert s.relations == sorted(s.relations) and "nmod" in s.relations and "root" not in s.relations
    assert s.syntax_acc.shape == (2, len(s.relations), model.cfg.n_layers, model.cfg.n_heads)
    assert ((s.syntax_acc >= 0) & (s.syntax_acc <= 1)).all()
    assert (s.baseline_offset != 0).all()
    assert int(s.relation_counts.sum()) == 18  # 20 words minus 2 roots


def test_errors(model, parses):
    with pytest.raises(ValueError, match="at least 2 tokens"):
        head_stats(model, [[5]])
    specials = [model.tokenizer.cls_token_id, model.tokenizer.sep_token_id] if not model.cfg.causal else \
        [model.tokenizer.eos_token_id] * 2
    with pytest.raises(ValueError, match="only special tokens"):
        head_stats(model, [specials])
    with pytest.raises(ValueError, match="either texts or parses"):
        head_stats(model, TEXTS, parses=parses)
    with pytest.raises(ValueError, match="one text, a list"):
        head_stats(model)


def test_figure(figure_model, parses):
    check_figure(head_stats(figure_model, TEXTS).figure())
    check_figure(head_stats(figure_model, parses=parses).figure())
