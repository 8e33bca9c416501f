"""The demo zoo: at least 12 causal models and scorers, perturbed copies distinct, texts disjoint."""

from __future__ import annotations

import numpy as np

import interp_widgets as iw
from interp_widgets.outputs import NGramModel, demo_zoo, loglik_matrix, model_fingerprint


def test_demo_zoo():
    zoo = demo_zoo()
    assert len(zoo) >= 12 and set(zoo.models) == set(zoo.families) == set(zoo.descriptions)
    assert "tiny-bert" not in zoo.models
    assert not set(zoo.fit_texts.texts) & set(zoo.texts.texts)
    models = [m for m in zoo.models.values() if isinstance(m, iw.Model)]
    assert len({model_fingerprint(m) for m in models}) == len(models) == 8
    ngrams = [m for m in zoo.models.values() if isinstance(m, NGramModel)]
    assert sorted(m.order for m in ngrams) == [1, 1, 2, 2, 3, 3]
    L = np.asarray(loglik_matrix({k: zoo.models[k] for k in ("tiny-llama", "tiny-llama+noise0.05", "unigram/llama-tok")},
                                 zoo.texts.texts[:2], progress=False))
    assert np.isfinite(L).all() and (L < 0).all() and not np.array_equal(L[0], L[1])
