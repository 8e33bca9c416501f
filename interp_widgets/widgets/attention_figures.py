"""Publication figures of :class:`AttentionPatterns`: head view, model grid and heatmaps."""

from __future__ import annotations

import numpy as np

from ..figures import SEQUENTIAL, paper_style

HEAD_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a"]


def _heads(result, heads) -> list[int]:
    from ..analysis.attention.patterns import _checked_heads

    return _checked_heads(result, heads)


def _layer(result, layer: int) -> int:
    if not isinstance(layer, int) or not -result.n_layers <= layer < result.n_layers:
        raise IndexError(f"layer {layer!r} is out of range: this result has {result.n_layers} layers")
    return layer % result.n_layers


def head_figure(result, layer: int, heads, threshold: float = 0.02, max_tokens: int = 60):
    """Token columns with one line per (head, query, key) weight above ``threshold``."""
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection
    from matplotlib.colors import to_rgba

    T = min(result.n_tokens, max_tokens)
    fig, ax = plt.subplots(figsize=(3.2, max(1.5, 0.16 * T + 0.4)))
    for h in heads:
        p = result.pattern(layer, h, slice(0, T), slice(0, T))[0].numpy()
        q, k = np.nonzero(p > threshold)
        segments = [((0, -i), (1, -j)) for i, j in zip(q, k)]
        base = to_rgba(HEAD_COLORS[h % len(HEAD_COLORS)])
        colors = [(*base[:3], float(min(1.0, p[i, j]))) for i, j in zip(q, k)]
        ax.add_collection(LineCollection(segments, colors=colors, linewidths=1.0, label=f"H{h}"))
    for i, tok in enumerate(result.tokens[:T]):
        ax.text(-0.03, -i, tok, ha="right", va="center", fontsize=6, family="monospace")
        ax.text(1.03, -i, tok, ha="left", va="center", fontsize=6, family="monospace")
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(-T + 0.5, 0.5)
    ax.axis("off")
    ax.set_title(f"{result.model_name} layer {layer}" + (f" (first {T} tokens)" if T < result.n_tokens else ""))
    return fig


def model_figure(result, heads):
    import matplotlib.pyplot as plt

    L = result.n_layers
    fig, axes = plt.subplots(L, len(heads), figsize=(0.7 * len(heads) + 0.4, 0.7 * L + 0.4), squeeze=False)
    for l in range(L):
        for c, h in enumerate(heads):
            ax = axes[l][c]
            ax.imshow(result.pattern(l, h)[0].numpy(), cmap=SEQUENTIAL, vmin=0, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if l == 0:
                ax.set_title(f"H{h}", fontsize=6)
            if c == 0:
                ax.set_ylabel(f"L{l}", fontsize=6)
    fig.suptitle(f"{result.model_name}: attention patterns (query \u2193, key \u2192)")
    return fig


def heatmap_figure(result, layer: int, heads, max_labels: int = 40):
    import matplotlib.pyplot as plt

    n = len(heads)
    fig, axes = plt.subplots(1, n, figsize=(2.4 * n + 0.6, 2.6), squeeze=False)
    T = result.n_tokens
    for ax, h in zip(axes[0], heads):
        p = result.pattern(layer, h)[0].numpy()
        if result.causal:
            p = np.ma.masked_where(np.triu(np.ones_like(p, dtype=bool), 1), p)
        im = ax.imshow(p, cmap=SEQUENTIAL, vmin=0, vmax=1, interpolation="nearest")
        ax.set_title(f"L{layer} H{h}")
        if T <= max_labels:
            ax.set_xticks(range(T), result.tokens, rotation=90, fontsize=5, family="monospace")
            ax.set_yticks(range(T), result.tokens, fontsize=5, family="monospace")
        ax.set_xlabel("key")
        ax.set_ylabel("query")
    fig.colorbar(im, ax=list(axes[0]), shrink=0.8, label="attention weight")
    return fig


def attention_figure(result, kind: str = "head", layer: int = 0, heads=None, **kwargs):
    """Dispatch for :meth:`AttentionPatterns.figure`."""
    layer = _layer(result, layer)
    with paper_style():
        if kind == "head":
            return head_figure(result, layer, _heads(result, heads), **kwargs)
        if kind == "model":
            return model_figure(result, _heads(result, heads), **kwargs)
        if kind == "heatmap":
            return heatmap_figure(result, layer, _heads(result, heads if heads is not None else [0]), **kwargs)
    raise ValueError(f"kind must be 'head', 'model' or 'heatmap', got {kind!r}")
