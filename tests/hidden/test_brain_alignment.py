"""Brain alignment (Raugel et al.): ridge equals scikit-learn's RidgeCV, folds contiguous, disjoint
and leak-free, planted layer → lag structure recovered, shuffled activations at chance, word-level
activations, model comparison, bad input."""

from __future__ import annotations

import importlib
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

import interp_widgets as iw
from interp_widgets.hidden import (BrainAlignment, BrainComparison, brain_alignment, synthetic_recordings,
                                   word_activations)
from interp_widgets.hidden.brain_alignment import DEFAULT_ALPHAS, contiguous_folds, ridge_loo

ba_module = importlib.import_module("interp_widgets.hidden.brain_alignment")  # the module, not the function

from .conftest import check_figure, wrap

TIMES = np.round(np.arange(-0.1, 0.9 + 1e-9, 0.05), 6)
WORDS = Path(iw.__file__).parent.joinpath("shipped", "heldout_sample.txt").read_text().split()


def _residual_layers(n_layers=6, n_words=300, d=16, seed=0):
    """Correlated 'layers' like a residual stream: each adds a new random direction to the last."""
    rng = np.random.default_rng(seed)
    layers = [rng.normal(size=(n_words, d))]
    for _ in range(n_layers - 1):
        layers.append(layers[-1] + rng.normal(size=(n_words, d)))
    return np.stack(layers)


def test_ridge_loo_equals_sklearn_ridgecv():
    from sklearn.linear_model import RidgeCV

    rng = np.random.default_rng(0)
    for n, d in [(60, 10), (40, 80)]:
        x = rng.normal(size=(n, d))
        y = x @ rng.normal(size=(d, 6)) * np.array([0.01, 0.1, 1, 3, 0, 2]) + rng.normal(size=(n, 6))
        coef, intercept, alpha = ridge_loo(x, y, np.array(DEFAULT_ALPHAS))
        ref = RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True).fit(x, y)
        np.testing.assert_array_equal(alpha, ref.alpha_)
        np.testing.assert_allclose(coef.T, ref.coef_, atol=1e-10)
        np.testing.assert_allclose(intercept, ref.intercept_, atol=1e-10)


def test_folds_contiguous_disjoint_and_purged():
    folds = contiguous_folds(103, 5)
    tests = [t for _, t in folds]
    np.testing.assert_array_equal(np.concatenate(tests), np.arange(103))  # in order, covering all words
    for train, test in folds:
        assert (np.diff(test) == 1).all() and not set(train) & set(test)
        assert len(train) + len(test) == 103
    onsets = np.cumsum(np.full(103, 0.3))
    for train, test in contiguous_folds(103, 5, onsets, span=1.0):
        gaps = np.abs(onsets[train][:, None] - onsets[test][None, :])
        assert gaps.min() >= 1.0  # no training epoch overlaps a test epoch
        assert not set(train) & set(test)


def test_training_never_sees_test_words(monkeypatch):
    """Spy on the ridge fits: a marker channel holding each word's index tells which words
    trained each model; none may be a test word or have an epoch overlapping one."""
    rng = np.random.default_rng(1)
    n = 60
    recordings = rng.normal(size=(n, 2, len(TIMES)))
    recordings[:, 0, 0] = np.arange(n)
    onsets = 0.5 + np.cumsum(rng.uniform(0.25, 0.45, size=n))
    seen = []
    original = ba_module.ridge_loo

    def spy(x, y, alphas):
        seen.append(np.round(y[:, 0]).astype(int))
        return original(x, y, alphas)

    monkeypatch.setattr(ba_module, "ridge_loo", spy)
    res = brain_alignment(rng.normal(size=(2, n, 5)), recordings, times=TIMES, onsets=onsets, n_folds=4)
    assert len(seen) == 2 * 4
    span = TIMES[-1] - TIMES[0]
    for i, trained in enumerate(seen):
        start, stop = res.folds[i % 4].tolist()
        test = np.arange(start, stop)
        assert not set(trained) & set(test)
        assert np.abs(onsets[trained][:, None] - onsets[test][None, :]).min() >= span


def test_planted_lags_recovered_from_arrays_and_shuffled_is_chance():
    acts = _residual_layers()
    rec = synthetic_recordings(acts, n_channels=8, times=TIMES, snr=0.5, seed=3)
    res = brain_alignment(acts, rec.recordings, times=rec.times, onsets=rec.onsets)
    assert stats.spearmanr(res.relative_depth, res.peak_latency)[0] >= 0.9
    np.testing.assert_allclose(res.peak_latency.numpy(), rec.lags, atol=0.051)
    assert res.temporal_method == "pearson"
    assert res.temporal_score == pytest.approx(stats.pearsonr(res.relative_depth, res.peak_latency)[0])
    n = res.n_words
    assert res.alignment_score > 0.3 and res.alignment_score == pytest.approx(float(res.scores[:, TIMES >= 0].max()))
    # Chance: with the word order of the activations shuffled, every held-out r estimates 0 with a
    # standard deviation of about 1/sqrt(n) (folds pool n test words; averages over channels and
    # folds cannot widen it). Bound every layer x time cell at 4.5 sd (Bonferroni over the cells).
    shuffled = brain_alignment(acts[:, np.random.default_rng(0).permutation(n)], rec.recordings,
                               times=rec.times, onsets=rec.onsets)
    bound = 4.5 / np.sqrt(n)
    assert float(shuffled.scores.abs().max()) < bound < res.alignment_score
    assert abs(float(shuffled.scores.mean())) < 3 / np.sqrt(n)


def test_planted_lags_recovered_through_a_model(shipped_llama):
    words = WORDS[:160]
    rec = synthetic_recordings(word_activations(shipped_llama, words), n_channels=6, times=TIMES, snr=0.5)
    res = brain_alignment(shipped_llama, rec.recordings, words, rec.times, rec.onsets, n_folds=4)
    assert isinstance(res, BrainAlignment) and res.name == "tiny-llama" and res.layers == [0, 1, 2, 3]
    assert stats.spearmanr(res.relative_depth, res.peak_latency)[0] >= 0.9
    assert res.n_params == sum(p.numel() for p in shipped_llama.hf.parameters())
    check_figure(res.figure())


def test_word_activations_average_each_words_tokens(causal_tokenizer, encoder_tokenizer):
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    words = "The quick brown fox jumps over the lazy dog, whether tis nobler in the mind".split()
    acts = word_activations(model, words)
    trace = model.run(" ".join(words), names="blocks.*.hook_resid_post")
    # independent alignment: walk the decoded token strings through the words' characters
    owner, word, used = [], 0, 0
    for piece in model.to_str_tokens(" ".join(words)):
        piece = piece.lstrip()
        owner.append(word)
        used += len(piece)
        if used == len(words[word]):
            word, used = word + 1, 0
    owner = np.array(owner)
    for layer in range(model.cfg.n_layers):
        hidden = trace[f"blocks.{layer}.hook_resid_post"][0].double().numpy()
        expected = np.stack([hidden[owner == w].mean(0) for w in range(len(words))])
        np.testing.assert_allclose(acts[layer], expected, atol=1e-5)
    # longer than the 64-token context: windows of whole words; the first window matches a direct run
    long_words = (words * 4)[:45]
    long_acts = word_activations(model, long_words, layers=[1])
    assert long_acts.shape == (1, 45, model.cfg.d_model) and np.isfinite(long_acts).all()
    np.testing.assert_allclose(long_acts[0, :10], word_activations(model, long_words[:10], layers=[1])[0], atol=1e-5)


def test_comparison_across_models(causal_tokenizer, encoder_tokenizer, tmp_path):
    words = WORDS[:24]
    small = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    other = wrap("llama", causal_tokenizer, encoder_tokenizer)
    rec = synthetic_recordings(small, words, n_channels=4, times=TIMES, seed=1)
    assert rec.words == words and rec.recordings.shape == (24, 4, len(TIMES))
    comp = brain_alignment({"gpt2": small, "llama": other}, rec.recordings, words, rec.times, rec.onsets, n_folds=3)
    assert isinstance(comp, BrainComparison) and comp.names == ["gpt2", "llama"]
    assert comp.sizes.tolist() == [float(sum(p.numel() for p in m.hf.parameters())) for m in (small, other)]
    single = brain_alignment(small, rec.recordings, words, rec.times, rec.onsets, n_folds=3)
    assert float(comp.alignment_scores[0]) == pytest.approx(single.alignment_score)
    arrays = brain_alignment({"a": _residual_layers(3, 24), "b": _residual_layers(4, 24, seed=1)}, rec.recordings,
                             times=rec.times, sizes={"a": 1e6, "b": 1e7}, n_folds=3)
    assert arrays.sizes.tolist() == [1e6, 1e7] and len(arrays.peak_latencies[1]) == 4
    check_figure(comp.figure())
    loaded = BrainAlignment.load(single.save(tmp_path / "single"))
    assert repr(loaded) == repr(single)
    torch.testing.assert_close(loaded.scores, single.scores)


def test_bad_input(causal_tokenizer, encoder_tokenizer):
    acts = _residual_layers(2, 40)
    good = np.random.default_rng(0).normal(size=(40, 3, len(TIMES)))
    model = wrap("gpt2", causal_tokenizer, encoder_tokenizer)
    with pytest.raises(ValueError, match="recordings hold 40 words but the text has 5"):
        brain_alignment(model, good, "one two three four five", times=TIMES)
    nan = good.copy()
    nan[7, 1, 2] = np.nan
    with pytest.raises(ValueError, match="1 NaN .* word 7, channel 1, time index 2"):
        brain_alignment(acts, nan, times=TIMES)
    with pytest.raises(ValueError, match=r"\[words, channels, times\]"):
        brain_alignment(acts, good[:, 0], times=TIMES)
    with pytest.raises(ValueError, match="n_folds"):
        brain_alignment(acts, good, times=TIMES, n_folds=1)
    with pytest.raises(ValueError, match="times must have one value"):
        brain_alignment(acts, good, times=TIMES[:-1])
    with pytest.raises(ValueError, match="non-decreasing"):
        brain_alignment(acts, good, times=TIMES, onsets=np.arange(40)[::-1])
    with pytest.raises(ValueError, match="needs the stimulus words"):
        brain_alignment(model, good)
    with pytest.raises(ValueError, match="sizes are needed"):
        brain_alignment({"a": acts}, good, times=TIMES)
    with pytest.raises(ValueError, match="temporal must be"):
        brain_alignment(acts, good, temporal="kendall")
    with pytest.raises(ValueError, match="without whitespace"):
        word_activations(model, ["two words"])
