"""n-gram and Markov text scorers: normalised probabilities, the first token unscored, exact KL."""

from __future__ import annotations

import math

import numpy as np
import pytest

from interp_widgets.outputs import MarkovChain, NGramModel, markov_kl

FIT = ["To be, or not to be, that is the question.", "The quick brown fox jumps over the lazy dog."]


@pytest.mark.parametrize("order,smoothing,kw", [(1, "add-k", {"k": 1.0}), (2, "add-k", {"k": 0.1}),
                                                  (3, "interpolated", {"lambdas": (0.2, 0.3, 0.5)})])
def test_ngram_probabilities_sum_to_one(causal_tokenizer, order, smoothing, kw):
    m = NGramModel(causal_tokenizer, order, smoothing, **kw).fit(FIT)
    ids = m._ids(FIT[0])
    for history in ([], ids[:1], ids[2:4], [-1, ids[0]], [7, 9]):
        h = list(history)[-(order - 1):] if order > 1 else []
        total = sum(math.exp(m.logprob(h, w)) for w in range(m.vocab))
        assert total == pytest.approx(1.0, abs=1e-9)


def test_ngram_scores_tokens_after_the_first(causal_tokenizer):
    m = NGramModel(causal_tokenizer, 2, "add-k", k=0.5).fit(FIT)
    text = "To be the fox."
    ids = m._ids(text)
    by_hand = sum(math.log((m.counts[1][(a, b)] + 0.5) / (m.context[1][(a,)] + 0.5 * m.vocab))
                  for a, b in zip(ids[:-1], ids[1:]))
    assert m([text])[0] == pytest.approx(by_hand, rel=1e-12)
    assert m([causal_tokenizer.decode(ids[:1])])[0] == 0.0  # one token: nothing scored
    fitted_again = NGramModel(causal_tokenizer, 2, "add-k", k=0.5).fit(FIT)
    assert fitted_again.fingerprint == m.fingerprint
    assert NGramModel(causal_tokenizer, 2, "add-k", k=0.5).fit(FIT[:1]).fingerprint != m.fingerprint


def test_ngram_bad_input(causal_tokenizer):
    with pytest.raises(RuntimeError, match="fit"):
        NGramModel(causal_tokenizer, 2)(["x"])
    with pytest.raises(ValueError, match="lambdas"):
        NGramModel(causal_tokenizer, 2, "interpolated", lambdas=(0.5, 0.6))
    with pytest.raises(ValueError, match="smoothing"):
        NGramModel(causal_tokenizer, 2, "kneser")


def test_markov_kl_closed_form_matches_monte_carlo():
    rng = np.random.default_rng(3)
    P = rng.dirichlet(np.ones(3) * 2, size=3)
    Q = rng.dirichlet(np.ones(3) * 2, size=3)
    p, q = MarkovChain(P, "abc"), MarkovChain(Q, "abc")
    assert np.allclose(p.stationary @ P, p.stationary)
    texts = p.sample(20000, 12, seed=1)
    mc = np.mean(p(texts) - q(texts))  # E_p[log p(x_1.. | x_0) - log q(x_1.. | x_0)]
    se = np.std(p(texts) - q(texts)) / np.sqrt(len(texts))
    exact = markov_kl(p, q, 12)
    assert abs(mc - exact) < 4 * se
    assert markov_kl(p, p, 12) == 0.0
    # first-order chain log-likelihood by hand
    x = p.ids("abca")
    assert p(["abca"])[0] == pytest.approx(np.log(P[x[:-1], x[1:]]).sum())
    mixed = ["abca", "c", "bbacab", "ab"]  # one batch of different lengths = one text at a time
    np.testing.assert_allclose(p(mixed), [p([t])[0] for t in mixed], rtol=1e-12)
    assert p(["c"])[0] == 0.0


def test_markov_bad_input():
    with pytest.raises(ValueError, match="sum to 1"):
        MarkovChain([[0.5, 0.6], [0.5, 0.5]], "ab")
    with pytest.raises(ValueError, match="alphabet"):
        MarkovChain([[0.5, 0.5], [0.5, 0.5]], "ab")(["abz"])
