"""exBERT corpus search: self-match at similarity 1, equality with brute-force cosine, specials
not indexed, tag histograms, the masked-LM path, save/load, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from interp_widgets.hidden import NeighborIndex, Neighbors
from interp_widgets.hidden._common import token_label

from .conftest import check_figure, wrap

CORPUS = ["The quick brown fox jumps over the lazy dog.", "To be, or not to be, that is the question.",
          "Shall I compare thee to a summer's day?", "The dog sleeps in the sun, the fox does not."]


def _brute_force(model, texts, hook, heads=None):
    """Every non-special token's vector, one text at a time, and its (doc, position)."""
    special = set(model.tokenizer.all_special_ids)
    rows, where = [], []
    for d, text in enumerate(texts):
        trace = model.run(text, names=[hook])
        acts = trace[hook][0]
        acts = acts.reshape(acts.shape[0], -1).double().numpy()
        if heads is not None:
            d_head = model.cfg.d_head
            acts = np.concatenate([acts[:, h * d_head:(h + 1) * d_head] for h in heads], axis=1)
        for p, i in enumerate(trace.input_ids[0].tolist()):
            if i not in special:
                rows.append(acts[p])
                where.append((d, p))
    return np.stack(rows), where


def _cosine_top(matrix, query, k):
    sims = matrix @ query / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(query))
    order = np.argsort(-sims, kind="stable")[:k]
    return sims[order], order


@pytest.mark.parametrize("kind", ["gpt2", "bert"])
def test_matches_brute_force_and_self_is_nearest(kind, causal_tokenizer, encoder_tokenizer):
    model = wrap(kind, causal_tokenizer, encoder_tokenizer)
    index = NeighborIndex.build(model, CORPUS, layer=1, batch_size=3)  # batches pad: exercises masking
    matrix, where = _brute_force(model, CORPUS, "blocks.1.hook_resid_post")
    assert len(index) == len(matrix)
    for doc, position in [(0, 3), (3, 5)]:
        if kind == "bert":
            position += 1  # [CLS]
        res = index.search(CORPUS[doc], position, k=8, chunk_size=7)  # chunks smaller than the corpus
        assert res.similarities[0] == pytest.approx(1.0, abs=1e-5)
        assert (int(res.doc_ids[0]), int(res.positions[0])) == (doc, position)
        query = matrix[where.index((doc, position))]
        sims, order = _cosine_top(matrix, query, 8)
        np.testing.assert_allclose(res.similarities.numpy(), sims, atol=1e-5)
        assert [(int(d), int(p)) for d, p in zip(res.doc_ids, res.positions)][1:] == [where[i] for i in order][1:]
        assert res.tokens[0] == model.to_str_tokens(CORPUS[doc])[position]


def test_specials_absent_and_context_heads(causal_tokenizer, encoder_tokenizer):
    model = wrap("bert", causal_tokenizer, encoder_tokenizer)
    index = NeighborIndex.build(model, CORPUS, layer=0, kind="context")
    special = set(model.tokenizer.all_special_ids)
    n_real = sum(sum(i not in special for i in model.to_tokens(t)[0].tolist()) for t in CORPUS)
    assert len(index) == n_real
    assert all(index.doc_tokens[d][p] not in ("[CLS]", "[SEP]") for d, p in zip(index.doc_ids, index.positions))
    assert index.vectors.shape[1] == model.cfg.n_heads * model.cfg.d_head
    matrix, where = _brute_force(model, CORPUS, "blocks.0.attn.hook_z", heads=[1, 3])
    res = index.search(CORPUS[1], 2, k=5, heads=[3, 1])
    sims, order = _cosine_top(matrix, matrix[where.index((1, 2))], 5)
    np.testing.assert_allclose(res.similarities.numpy(), sims, atol=1e-5)
    assert res.heads == [1, 3] and res.similarities[0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="special token"):
        index.search(CORPUS[1], 0)


def test_tags_histogram_and_contexts(tmp_path, causal_tokenizer, encoder_tokenizer):
    model = wrap("llama", causal_tokenizer, encoder_tokenizer)
    tags = [["PUNCT" if t.strip() in ".,?" else "DET" if t.strip().lower() == "the" else "X"
             for t in model.to_str_tokens(text)] for text in CORPUS]
    index = NeighborIndex.build(model, CORPUS, layer=-1, tags=tags)
    res = index.search(CORPUS[3], " the", k=10, window=2)
    assert sum(res.tag_counts.values()) == 10
    for tag, count in res.tag_counts.items():
        assert count == sum(t == tag for t in res.tags)
    for d, p, tag, left, right in zip(res.doc_ids.tolist(), res.positions.tolist(), res.tags, res.left, res.right):
        assert tag == tags[d][p]
        assert left == index.doc_tokens[d][max(0, p - 2):p] and right == index.doc_tokens[d][p + 1:p + 3]
    assert list(res.tag_counts.values()) == sorted(res.tag_counts.values(), reverse=True)
    assert isinstance(res, Neighbors) and repr(res) == repr(index.search(CORPUS[3], " the", k=10, window=2))
    check_figure(res.figure())
    loaded = Neighbors.load(res.save(tmp_path / "hits"))
    assert loaded.rows() == res.rows() and loaded.tag_counts == res.tag_counts


def test_masked_lm_path(causal_tokenizer, encoder_tokenizer):
    model = wrap("bert", causal_tokenizer, encoder_tokenizer)
    index = NeighborIndex.build(model, CORPUS, layer=1)
    res = index.mask_and_predict(CORPUS[0], 3, k=4, n_predictions=5)
    ids = model.to_tokens(CORPUS[0])[0].clone()
    ids[3] = model.tokenizer.mask_token_id
    trace = model.run(ids, names=["blocks.1.hook_resid_post"])
    probs = trace.logits[0, 3].softmax(-1)
    top = probs.topk(5)
    assert res.masked and res.predictions == [token_label(model, i) for i in top.indices.tolist()]
    torch.testing.assert_close(res.prediction_probs, top.values)
    direct = index.search_vector(trace["blocks.1.hook_resid_post"][0, 3].numpy(), k=4)
    torch.testing.assert_close(res.similarities, direct[0])
    check_figure(res.figure())
    causal = NeighborIndex.build(wrap("gpt2", causal_tokenizer, encoder_tokenizer), CORPUS[:1])
    with pytest.raises(ValueError, match="masked LM"):
        causal.mask_and_predict(CORPUS[0], 1)


def test_save_load_roundtrip(tmp_path, causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    tags = [["T"] * len(model.to_str_tokens(t)) for t in CORPUS]
    index = NeighborIndex.build(model, CORPUS, layer=0, kind="context", tags=tags)
    path = index.save(tmp_path / "index")
    loaded = NeighborIndex.load(path, model)
    assert repr(loaded) == repr(index)
    np.testing.assert_array_equal(loaded.vectors, index.vectors)
    assert loaded.doc_tokens == index.doc_tokens and loaded.texts == CORPUS
    a, b = index.search(CORPUS[2], 4, k=6), loaded.search(CORPUS[2], 4, k=6)
    assert repr(a) == repr(b) and a.rows() == b.rows()
    bare = NeighborIndex.load(path)
    torch.testing.assert_close(bare.search_vector(index.vectors[5], k=3)[0],
                               index.search_vector(index.vectors[5], k=3)[0])
    with pytest.raises(ValueError, match="loaded without its model"):
        bare.search(CORPUS[0], 1)
    with pytest.raises(ValueError, match="cannot be searched"):
        NeighborIndex.load(path, wrap("llama", causal_tokenizer, encoder_tokenizer))


def test_bad_input(causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="corpus is empty"):
        NeighborIndex.build(model, [])
    with pytest.raises(ValueError, match="empty or not a string"):
        NeighborIndex.build(model, ["fine", "   "])
    with pytest.raises(ValueError, match="kind must be"):
        NeighborIndex.build(model, CORPUS, kind="keys")
    with pytest.raises(ValueError, match="one tag per token"):
        NeighborIndex.build(model, CORPUS[:1], tags=[["X", "Y"]])
    index = NeighborIndex.build(model, CORPUS[:2])
    with pytest.raises(IndexError, match="out of range"):
        index.search(CORPUS[0], 99)
    with pytest.raises(ValueError, match="does not occur"):
        index.search(CORPUS[0], "zebra")
    with pytest.raises(ValueError, match="heads= applies to context"):
        index.search(CORPUS[0], 1, heads=[0])
    with pytest.raises(ValueError, match="k must be"):
        index.search(CORPUS[0], 1, k=0)
