"""Brain alignment of layer activations (Raugel, d'Ascoli, Rapin, Wyart, King 2025, arXiv 2512.01591).
Levels 2 (blocks) and 4 (layer outputs).

For each layer l, word-level activations X_l [words, d] (the mean of each word's tokens,
``blocks.{l}.hook_resid_post``) predict brain recordings Y [words, channels, times] (epochs
time-locked to word onsets) with one ridge encoding model per channel and time lag:

* cross-validation over contiguous blocks of words (never shuffled); with ``onsets``, training
  words whose epoch overlaps a test word's epoch are dropped (purged), so nothing of the test
  signal leaks into training;
* in each training set features are standardised (training statistics only) and the ridge
  penalty is chosen per target by exact leave-one-out inner cross-validation in closed form
  (:func:`ridge_loo`; the same estimator as scikit-learn's ``RidgeCV(alpha_per_target=True)``);
* score = Pearson r between held-out predictions and recordings, averaged over folds and channels:
  the layer × time alignment map.

Summaries: the peak latency of each layer (time of its maximal r at lags ≥ 0), the temporal score
— the correlation across layers between relative depth (l + 1) / n_layers and peak latency
(Pearson r by default; ``temporal="spearman"`` for the rank version; the result stores which) —
and the alignment score, the peak r of the map. Several models give a :class:`BrainComparison`
(scores against model size).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import ClassVar

import numpy as np
import torch

from ..analysis.attention._common import check_layers
from ..analysis.result import Result

DEFAULT_ALPHAS = tuple(10.0 ** np.arange(-2, 7))
TEMPORAL = ("pearson", "spearman")


@dataclasses.dataclass(repr=False)
class BrainAlignment(Result):
    """Layer × time alignment of one model (or one set of activations) with recordings.

    ``scores`` [layer, time] mean held-out Pearson r; ``channel_scores`` [layer, channel, time]
    (mean over folds); ``fold_scores`` [fold, layer, time] (mean over channels); ``peak_latency``
    and ``peak_r`` [layer]; ``relative_depth`` [layer]; ``alpha`` [fold, layer] median chosen
    ridge penalty; ``folds`` [fold, 2] the [start, stop) word range of each test block.
    """

    levels: ClassVar[tuple[int, ...]] = (2, 4)

    name: str
    layers: list[int]
    relative_depth: torch.Tensor
    times: torch.Tensor
    scores: torch.Tensor
    channel_scores: torch.Tensor = dataclasses.field(repr=False)
    fold_scores: torch.Tensor = dataclasses.field(repr=False)
    peak_latency: torch.Tensor
    peak_r: torch.Tensor
    temporal_score: float
    temporal_method: str
    alignment_score: float
    alpha: torch.Tensor = dataclasses.field(repr=False)
    folds: torch.Tensor
    n_words: int
    n_params: int | None = None

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.brain_view.BrainAlignmentView`."""
        from ..widgets.brain_view import BrainAlignmentView

        return BrainAlignmentView(self, **kwargs)

    def figure(self, **kw):
        """Layer × time heatmap of held-out r with each layer's peak latency marked."""
        import matplotlib.pyplot as plt

        from ..figures import DIVERGING, paper_style

        data = self.scores.float().numpy()
        times = self.times.double().numpy()
        limit = max(float(np.abs(data).max()), 1e-6)
        step = (times[-1] - times[0]) / max(len(times) - 1, 1)
        with paper_style():
            fig, ax = plt.subplots(figsize=(kw.get("width", 3.6), kw.get("height", 0.9 + 0.25 * len(self.layers))))
            image = ax.imshow(data, cmap=DIVERGING, vmin=-limit, vmax=limit, aspect="auto", origin="lower",
                              extent=(times[0] - step / 2, times[-1] + step / 2, -0.5, len(self.layers) - 0.5))
            ax.plot(self.peak_latency.numpy(), range(len(self.layers)), "o-", color="black", ms=2.5, lw=0.8)
            ax.axvline(0, color="grey", lw=0.5, ls=":")
            ax.set_yticks(range(len(self.layers)), [f"L{layer}" for layer in self.layers])
            ax.set_xlabel("time after word onset (s)")
            ax.set_ylabel("layer")
            ax.set_title(f"{self.name} (dots: peak latency)\nalignment {self.alignment_score:.3f}, "
                         f"temporal score {self.temporal_score:.2f} ({self.temporal_method})")
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.02, label="held-out Pearson r")
            fig.tight_layout()
        return fig


@dataclasses.dataclass(repr=False)
class BrainComparison(Result):
    """Alignment and temporal scores of several models against their size (parameters)."""

    levels: ClassVar[tuple[int, ...]] = (2, 4)

    names: list[str]
    sizes: torch.Tensor
    alignment_scores: torch.Tensor
    temporal_scores: torch.Tensor
    temporal_method: str
    relative_depths: list[list[float]] = dataclasses.field(repr=False)
    peak_latencies: list[list[float]] = dataclasses.field(repr=False)

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.brain_view.BrainComparisonView`."""
        from ..widgets.brain_view import BrainComparisonView

        return BrainComparisonView(self, **kwargs)

    def figure(self, **kw):
        """Alignment score and temporal score against model size, and each model's peak latency
        against relative depth."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        sizes = self.sizes.double().numpy()
        with paper_style():
            fig, axes = plt.subplots(1, 3, figsize=(kw.get("width", 7.0), kw.get("height", 2.2)))
            for ax, values, label in ((axes[0], self.alignment_scores, "alignment score (peak r)"),
                                      (axes[1], self.temporal_scores, f"temporal score ({self.temporal_method})")):
                ax.scatter(sizes, values.numpy(), s=12, color="C0")
                for x, y, name in zip(sizes, values.tolist(), self.names):
                    ax.annotate(name, (x, y), fontsize=6, xytext=(2, 2), textcoords="offset points")
                ax.set_xscale("log")
                ax.set_xlabel("parameters")
                ax.set_ylabel(label)
            for depth, peaks, name in zip(self.relative_depths, self.peak_latencies, self.names):
                axes[2].plot(depth, peaks, "o-", ms=2.5, lw=0.8, label=name)
            axes[2].set_xlabel("relative layer depth")
            axes[2].set_ylabel("peak latency (s)")
            axes[2].legend(frameon=False)
            fig.tight_layout()
        return fig


# -- words and activations -----------------------------------------------------------------
def split_words(words) -> list[str]:
    """A text (split on whitespace) or a list of words -> the list of words."""
    if isinstance(words, str):
        words = words.split()
    words = list(words)
    if not words:
        raise ValueError("no words given; pass the stimulus text or its list of words")
    bad = [i for i, w in enumerate(words) if not isinstance(w, str) or not w or any(c.isspace() for c in w)]
    if bad:
        raise ValueError(f"word {bad[0]} ({words[bad[0]]!r}) must be a non-empty string without whitespace")
    return words


def word_activations(model, words, layers=None, point: str = "resid_post") -> np.ndarray:
    """Word-level activations [layer, word, d_model]: each word's tokens averaged.

    The words are joined by single spaces; each token belongs to the word its first non-space
    character falls in (fast-tokenizer offsets). Texts longer than the context run in windows of
    whole words, each starting with up to half a context of preceding words.
    """
    words = split_words(words)
    layers = check_layers(model, layers)
    tok = model.tokenizer
    if not getattr(tok, "is_fast", False):
        raise ValueError("word alignment needs a fast tokenizer (character offsets); load the model's "
                         "tokenizer with use_fast=True")
    text = " ".join(words)
    starts = np.cumsum([0] + [len(w) + 1 for w in words[:-1]])
    ends = starts + np.array([len(w) for w in words])
    full = tok(text, add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    counts = np.bincount(_word_of(full["offset_mapping"], text, starts, ends), minlength=len(words) + 1)[:-1]
    n_special = len(tok("a")["input_ids"]) - len(tok("a", add_special_tokens=False)["input_ids"])
    budget = model.cfg.n_ctx - n_special
    names = [f"blocks.{layer}.hook_{point}" for layer in layers]
    out = np.zeros((len(layers), len(words), model.cfg.d_model))
    n_tokens = np.zeros(len(words))
    total = np.concatenate([[0], np.cumsum(counts)])
    start = 0
    while start < len(words):
        ctx, stop = _window(total, start, budget)
        sub, enc, ctx, stop = _fit_window(tok, text, starts, ends, ctx, start, stop, model.cfg.n_ctx)
        base = int(starts[ctx])
        trace = model.run(sub, names=names)
        if trace.input_ids[0].tolist() != list(enc["input_ids"]):
            raise RuntimeError("the tokenizer's offsets do not match the model's input; cannot align words")
        owner = _word_of(enc["offset_mapping"], sub, starts - base, ends - base)
        keep = (owner >= start) & (owner < stop)
        np.add.at(n_tokens, owner[keep], 1)
        for i, name in enumerate(names):
            acts = trace[name][0].double().cpu().numpy()
            np.add.at(out[i], owner[keep], acts[keep])
        start = stop
    empty = np.flatnonzero(n_tokens == 0)
    if empty.size:
        raise ValueError(f"word {empty[0]} ({words[empty[0]]!r}) got no tokens; check the words")
    return out / n_tokens[None, :, None]


def _word_of(offsets, text, starts, ends) -> np.ndarray:
    """For each token, the index of the word holding its first non-space character (len(starts)
    for specials and pure-whitespace tokens, which belong to no word)."""
    n = len(starts)
    owner = np.full(len(offsets), n)
    for t, (s, e) in enumerate(offsets):
        chars = [i for i in range(s, e) if not text[i].isspace()]
        if not chars:
            continue
        w = int(np.searchsorted(starts, chars[0], side="right")) - 1
        if 0 <= w < n and chars[0] < ends[w]:
            owner[t] = w
    return owner


def _window(total: np.ndarray, start: int, budget: int) -> tuple[int, int]:
    """(context start, stop) of the window whose new words begin at ``start``: up to half the
    ``budget`` of preceding words, then new words while they fit (estimated from ``total``, the
    cumulative token counts of the whole text; :func:`_fit_window` trims what does not fit)."""
    ctx = start
    while ctx > 0 and total[start] - total[ctx - 1] <= budget // 2:
        ctx -= 1
    stop = min(int(np.searchsorted(total, total[ctx] + budget, side="right")) - 1, len(total) - 1)
    return ctx, max(stop, start + 1)


def _fit_window(tok, text, starts, ends, ctx, start, stop, n_ctx):
    """Tokenise words [ctx, stop) of ``text``; while they exceed the context drop new words from
    the end (keeping at least one), then context words from the front."""
    while True:
        sub = text[int(starts[ctx]):int(ends[stop - 1])]
        enc = tok(sub, return_offsets_mapping=True)
        if len(enc["input_ids"]) <= n_ctx:
            return sub, enc, ctx, stop
        if stop > start + 1:
            stop -= 1
        elif ctx < start:
            ctx += 1
        else:
            raise ValueError(f"word {start} alone has more tokens than the model's context ({n_ctx})")


# -- cross-validation ------------------------------------------------------------------------
def contiguous_folds(n_words: int, n_folds: int = 5, onsets=None, span: float = 0.0):
    """[(train indices, test indices)] over contiguous test blocks, in order, never shuffled.

    With ``onsets`` [words] (seconds) and the epoch ``span`` (seconds), training words whose epoch
    [onset, onset + span] overlaps that of any test word are dropped.
    """
    if not isinstance(n_folds, int) or not 2 <= n_folds <= n_words:
        raise ValueError(f"n_folds must be an int from 2 to the number of words ({n_words}), got {n_folds!r}")
    folds = []
    for test in np.array_split(np.arange(n_words), n_folds):
        train = np.setdiff1d(np.arange(n_words), test)
        if onsets is not None:
            lo, hi = onsets[test[0]] - span, onsets[test[-1]] + span
            train = train[(onsets[train] <= lo) | (onsets[train] >= hi)]
        if len(train) < 3:
            raise ValueError("a training set has fewer than 3 words after removing overlapping epochs; "
                             "use fewer folds or more words")
        folds.append((train, test))
    return folds


def _pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r of each column of a with the same column of b (0 where either is constant)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denom = np.sqrt((a * a).sum(0) * (b * b).sum(0))
    return np.divide((a * b).sum(0), denom, out=np.zeros(a.shape[1]), where=denom > 0)


def ridge_loo(x: np.ndarray, y: np.ndarray, alphas) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression of y [n, targets] on x [n, d] with an unpenalised intercept, the penalty of
    each target chosen among ``alphas`` by exact leave-one-out error (closed form through the SVD
    of the centred x, as scikit-learn's ``RidgeCV`` does). Returns (coef [d, targets],
    intercept [targets], alpha [targets])."""
    n = x.shape[0]
    x_mean, y_mean = x.mean(0), y.mean(0)
    u, s, vt = np.linalg.svd(x - x_mean, full_matrices=False)
    yc = y - y_mean
    uty = u.T @ yc
    best = np.full(y.shape[1], np.inf)
    chosen = np.zeros(y.shape[1])
    for alpha in alphas:
        shrink = s**2 / (s**2 + alpha)
        leverage = (u**2) @ shrink + 1.0 / n
        with np.errstate(divide="ignore", invalid="ignore"):
            error = (((yc - u @ (shrink[:, None] * uty)) / (1.0 - leverage)[:, None]) ** 2).sum(0)
        error = np.where(np.isfinite(error), error, np.inf)
        better = error < best
        best[better], chosen[better] = error[better], alpha
    coef = vt.T @ (uty * (s[:, None] / (s[:, None] ** 2 + chosen[None, :])))
    return coef, y_mean - x_mean @ coef, chosen


def _fit_layer(x, y, folds, alphas):
    """Held-out r [fold, target] and the median chosen alpha [fold] for one layer."""
    scores, chosen = [], []
    for train, test in folds:
        mean, std = x[train].mean(0), x[train].std(0)
        std = np.where(std > 0, std, 1.0)
        coef, intercept, alpha = ridge_loo((x[train] - mean) / std, y[train], alphas)
        scores.append(_pearson_columns((x[test] - mean) / std @ coef + intercept, y[test]))
        chosen.append(float(np.median(alpha)))
    return np.stack(scores), np.array(chosen)


def _correlation(a, b, method: str) -> float:
    from scipy import stats

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    fn = stats.pearsonr if method == "pearson" else stats.spearmanr
    return float(fn(a, b)[0])


# -- entry points ------------------------------------------------------------------------------
def _check_recordings(recordings, n_words: int | None) -> np.ndarray:
    y = recordings.detach().cpu().numpy() if isinstance(recordings, torch.Tensor) else np.asarray(recordings)
    if y.ndim != 3:
        raise ValueError(f"recordings must be [words, channels, times], got shape {y.shape}")
    y = y.astype(np.float64)
    bad = ~np.isfinite(y)
    if bad.any():
        w, c, t = np.argwhere(bad)[0]
        raise ValueError(f"recordings contain {int(bad.sum())} NaN or infinite values (first at word {w}, "
                         f"channel {c}, time index {t}); interpolate them or drop those words first")
    if n_words is not None and y.shape[0] != n_words:
        raise ValueError(f"recordings hold {y.shape[0]} words but the text has {n_words} (whitespace-separated); "
                         "give one epoch per word, in order")
    return y


def _activations(source, words, layers, point):
    """(activations [layer, word, d], layer indices, relative depths, name, parameter count)."""
    if hasattr(source, "run") and hasattr(source, "cfg"):
        if words is None:
            raise ValueError("a model needs the stimulus words (words=text or list of words)")
        layers = check_layers(source, layers)
        acts = word_activations(source, words, layers, point)
        depth = [(layer + 1) / source.cfg.n_layers for layer in layers]
        return acts, layers, depth, source.name, sum(p.numel() for p in source.hf.parameters())
    if isinstance(source, torch.Tensor):
        source = source.detach().cpu().numpy()
    acts = np.stack([np.asarray(a, dtype=np.float64) for a in source]) if isinstance(source, (list, tuple)) \
        else np.asarray(source, dtype=np.float64)
    if acts.ndim != 3:
        raise ValueError(f"activations must be [layers, words, features], got shape {acts.shape}")
    if not np.isfinite(acts).all():
        raise ValueError("activations contain NaN or infinite values")
    n = acts.shape[0]
    if layers is not None:
        raise ValueError("layers= selects model layers; slice the activations array instead")
    return acts, list(range(n)), [(i + 1) / n for i in range(n)], "activations", None


def brain_alignment(source, recordings, words=None, times=None, onsets=None, *, layers=None, n_folds: int = 5,
                    alphas=DEFAULT_ALPHAS, temporal: str = "pearson", point: str = "resid_post", sizes=None,
                    name: str | None = None):
    """Align the layers of a model (or precomputed activations) with brain recordings (levels 2, 4).

    ``source``: a Model (with ``words``: the stimulus text or its words, one epoch each), an
    array [layers, words, features], or — to compare models — a dict name -> either of those
    (returns a :class:`BrainComparison`; ``sizes`` gives sizes for arrays, models count their
    parameters). ``recordings`` [words, channels, times]; ``times`` [times] seconds relative to
    word onset (default 0, 1, 2, ... samples); ``onsets`` [words] seconds, increasing, to purge
    overlapping epochs between training and test words. See the module docstring.
    """
    if temporal not in TEMPORAL:
        raise ValueError(f"temporal must be one of {TEMPORAL}, got {temporal!r}")
    if isinstance(source, Mapping):
        return _compare(source, recordings, words, times, onsets, layers=layers, n_folds=n_folds, alphas=alphas,
                        temporal=temporal, point=point, sizes=sizes)
    acts, layers, depth, default_name, n_params = _activations(source, words, layers, point)
    y = _check_recordings(recordings, acts.shape[1])
    n_words, n_channels, n_times = y.shape
    times = np.arange(n_times, dtype=np.float64) if times is None else np.asarray(times, dtype=np.float64)
    if times.shape != (n_times,):
        raise ValueError(f"times must have one value per recording sample ({n_times}), got shape {times.shape}")
    span = 0.0
    if onsets is not None:
        onsets = np.asarray(onsets, dtype=np.float64)
        if onsets.shape != (n_words,) or np.any(np.diff(onsets) < 0) or not np.isfinite(onsets).all():
            raise ValueError(f"onsets must be {n_words} finite, non-decreasing word onset times (seconds)")
        span = float(times[-1] - times[0])
    folds = contiguous_folds(n_words, n_folds, onsets, span)
    alphas = np.asarray(alphas, dtype=np.float64)
    fold_r, chosen = [], []
    flat = y.reshape(n_words, -1)
    for x in acts:
        r, a = _fit_layer(x, flat, folds, alphas)
        fold_r.append(r.reshape(len(folds), n_channels, n_times))
        chosen.append(a)
    fold_r = np.stack(fold_r, axis=1)  # [fold, layer, channel, time]
    scores = fold_r.mean(axis=(0, 2))
    after = np.flatnonzero(times >= 0) if (times >= 0).any() else np.arange(n_times)
    peak_idx = after[scores[:, after].argmax(axis=1)]
    peak_latency = times[peak_idx]
    depth = np.asarray(depth)
    return BrainAlignment(
        name=name or default_name, layers=layers, relative_depth=torch.from_numpy(depth), times=torch.from_numpy(times),
        scores=torch.from_numpy(scores), channel_scores=torch.from_numpy(fold_r.mean(axis=0)),
        fold_scores=torch.from_numpy(fold_r.mean(axis=2)), peak_latency=torch.from_numpy(peak_latency),
        peak_r=torch.from_numpy(scores[np.arange(len(layers)), peak_idx]),
        temporal_score=_correlation(depth, peak_latency, temporal), temporal_method=temporal,
        alignment_score=float(scores[:, after].max()), alpha=torch.from_numpy(np.stack(chosen, axis=1)),
        folds=torch.tensor([[int(t[0]), int(t[-1]) + 1] for _, t in folds]), n_words=n_words, n_params=n_params)


def _compare(sources: Mapping, recordings, words, times, onsets, *, sizes, **kw) -> BrainComparison:
    if not sources:
        raise ValueError("no models to compare; pass a dict name -> model or activations")
    results = [brain_alignment(src, recordings, words, times, onsets, name=str(key), **kw)
               for key, src in sources.items()]
    if sizes is None:
        missing = [r.name for r in results if r.n_params is None]
        if missing:
            raise ValueError(f"sizes are needed for activation arrays ({missing}); pass sizes={{name: n_params}}")
        sizes = [r.n_params for r in results]
    elif isinstance(sizes, Mapping):
        sizes = [sizes[str(k)] if str(k) in sizes else sizes[k] for k in sources]
    elif not isinstance(sizes, Sequence) or len(sizes) != len(results):
        raise ValueError(f"sizes must give one size per model ({len(results)})")
    return BrainComparison(
        names=[r.name for r in results], sizes=torch.tensor([float(s) for s in sizes], dtype=torch.float64),
        alignment_scores=torch.tensor([r.alignment_score for r in results], dtype=torch.float64),
        temporal_scores=torch.tensor([r.temporal_score for r in results], dtype=torch.float64),
        temporal_method=results[0].temporal_method, relative_depths=[r.relative_depth.tolist() for r in results],
        peak_latencies=[r.peak_latency.tolist() for r in results])


__all__ = ["DEFAULT_ALPHAS", "BrainAlignment", "BrainComparison", "brain_alignment", "contiguous_folds",
           "ridge_loo", "split_words", "word_activations"]
