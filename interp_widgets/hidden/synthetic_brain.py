"""Synthetic brain recordings with a planted layer → lag structure, for tutorials and tests.

Each layer l drives the channels through its own random linear read-out of its (standardised)
word activations, with a Gaussian time course peaking at lag_l after word onset; lags grow with
depth by default, so a correct :func:`~interp_widgets.hidden.brain_alignment` recovers peak
latencies that increase with layer depth. Seeded: the same inputs give the same recordings.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .brain_alignment import split_words, word_activations


@dataclasses.dataclass
class SyntheticRecordings:
    """``recordings`` [words, channels, times]; ``times`` [times] seconds after word onset;
    ``onsets`` [words] seconds; ``lags`` [layers] the planted peak latency of each layer;
    ``words`` the stimulus words (None when built from arrays)."""

    recordings: np.ndarray
    times: np.ndarray
    onsets: np.ndarray
    lags: np.ndarray
    words: list[str] | None

    def __repr__(self) -> str:
        w, c, t = self.recordings.shape
        return (f"SyntheticRecordings(words={w}, channels={c}, times={t} from {self.times[0]:.3g} to "
                f"{self.times[-1]:.3g} s, lags={np.round(self.lags, 3).tolist()})")


def synthetic_recordings(source, words=None, *, layers=None, n_channels: int = 16, times=None, lags=None,
                         width: float = 0.06, snr: float = 1.0, seed: int = 0) -> SyntheticRecordings:
    """Recordings [words, channels, times] generated from word-level activations.

    ``source``: a Model (with ``words``: a text or list of words; ``layers`` as in
    :func:`word_activations`) or activations [layers, words, features]. ``lags`` [layers]
    (default evenly from 0.15 s to 0.75 s by depth); ``width`` the standard deviation (s) of each
    layer's time course; ``snr`` the signal-to-noise variance ratio at a peak; ``times`` default
    −0.1 s to 1.0 s every 25 ms.
    """
    if hasattr(source, "run") and hasattr(source, "cfg"):
        if words is None:
            raise ValueError("a model needs the stimulus words (words=text or list of words)")
        words = split_words(words)
        acts = word_activations(source, words, layers)
    else:
        acts = np.asarray(source, dtype=np.float64)
        if acts.ndim != 3:
            raise ValueError(f"activations must be [layers, words, features], got shape {acts.shape}")
    n_layers, n_words, n_features = acts.shape
    if n_words < 10:
        raise ValueError(f"need at least 10 words to simulate recordings, got {n_words}")
    if not isinstance(n_channels, int) or n_channels < 1:
        raise ValueError(f"n_channels must be a positive int, got {n_channels!r}")
    if snr <= 0 or width <= 0:
        raise ValueError("snr and width must be positive")
    times = np.round(np.arange(-0.1, 1.0 + 1e-9, 0.025), 6) if times is None else np.asarray(times, dtype=np.float64)
    lags = np.linspace(0.15, 0.75, n_layers) if lags is None else np.asarray(lags, dtype=np.float64)
    if lags.shape != (n_layers,):
        raise ValueError(f"lags must give one latency per layer ({n_layers}), got shape {lags.shape}")
    rng = np.random.default_rng(seed)
    signal = np.zeros((n_words, n_channels, len(times)))
    for x, lag in zip(acts, lags):
        std = x.std(0)
        z = (x - x.mean(0)) / np.where(std > 0, std, 1.0)
        drive = z @ rng.normal(size=(n_features, n_channels))
        drive = (drive - drive.mean(0)) / np.where(drive.std(0) > 0, drive.std(0), 1.0)
        signal += drive[:, :, None] * np.exp(-0.5 * ((times - lag) / width) ** 2)[None, None, :]
    noise = rng.normal(size=signal.shape) / np.sqrt(snr)
    onsets = 0.5 + np.concatenate([[0.0], np.cumsum(rng.uniform(0.25, 0.45, size=n_words - 1))])
    return SyntheticRecordings(recordings=signal + noise, times=times, onsets=onsets, lags=lags,
                               words=None if words is None else list(words))


__all__ = ["SyntheticRecordings", "synthetic_recordings"]
