"""Attribution results: per-token scores (text coloured by relevance) and layers x tokens maps."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ..figures import DIVERGING, paper_style


def _limit(values: np.ndarray) -> float:
    m = float(np.abs(values).max()) if values.size else 0.0
    return m if m > 0 else 1.0


def _text_panel(ax, tokens: list[str], scores: np.ndarray, vmax: float, cmap, width: float = 1.0):
    """Tokens laid out as running text, each on a box coloured by its score."""
    import matplotlib.colors as mcolors

    norm = mcolors.TwoSlopeNorm(vcenter=0.0, vmin=-vmax, vmax=vmax)
    ax.set_axis_off()
    x, y, line_h = 0.0, 0.0, 1.0
    char_w = 0.0125
    rows = 1
    for tok, s in zip(tokens, scores):
        text = tok.replace("\n", "\\n") or " "
        w = char_w * (len(text) + 1)
        if x + w > width and x > 0:
            x, y, rows = 0.0, y - line_h, rows + 1
        color = cmap(norm(s))
        lum = 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]
        ax.text(x, y, text, fontsize=8, family="monospace", va="center", ha="left",
                color="white" if lum < 0.5 else "black",
                bbox={"boxstyle": "square,pad=0.15", "fc": color, "ec": "none"})
        x += w
    ax.set_xlim(-0.01, width)
    ax.set_ylim(y - 0.6, 0.6)
    return rows


@dataclass(repr=False)
class TokenAttribution(Result):
    """Signed relevance of each input token for one target.

    ``scores`` [pos] (attributions summed over d_model), ``attributions`` [pos, d_model] on the
    input embeddings, ``target_value`` the explained scalar at the input, ``delta`` the
    method's conservation/completeness residual (None where the method has none), ``info``
    method settings and checks, ``path`` [points, pos, d_model] the integration path of path
    methods that are not a straight line (DIG, UDIG).
    """

    levels: ClassVar[tuple[int, ...]] = (1, 5)

    method: str
    tokens: list[str]
    scores: torch.Tensor
    target: str
    target_value: float
    delta: float | None = None
    attributions: torch.Tensor | None = field(default=None, repr=False)
    info: dict[str, Any] = field(default_factory=dict, repr=False)
    path: torch.Tensor | None = field(default=None, repr=False)

    def top(self, k: int = 5) -> list[tuple[int, str, float]]:
        """The ``k`` tokens with the largest scores: (position, token, score)."""
        order = torch.argsort(self.scores, descending=True)[:k].tolist()
        return [(i, self.tokens[i], float(self.scores[i])) for i in order]

    def show(self, **kwargs):
        """The :class:`~interp_widgets.widgets.relevance_view.RelevanceView` of this result."""
        from ..widgets.relevance_view import RelevanceView

        return RelevanceView.from_results([self], **kwargs)

    def figure(self, cmap: str = DIVERGING, width: float = 6.0):
        """Tokens as running text coloured by score (diverging palette centred at zero)."""
        import matplotlib.pyplot as plt

        scores = self.scores.float().numpy()
        vmax = _limit(scores)
        with paper_style():
            n_lines = 1 + sum(len(t) + 1 for t in self.tokens) // 75
            fig = plt.figure(figsize=(width, 0.9 + 0.28 * n_lines))
            ax = fig.add_axes([0.02, 0.05, 0.84, 0.72])
            _text_panel(ax, self.tokens, scores, vmax, plt.get_cmap(cmap))
            _colorbar(fig, [0.89, 0.12, 0.015, 0.6], vmax, cmap)
            fig.suptitle(f"{self.method}: {self.target}", x=0.02, ha="left", fontsize=9)
        return fig


@dataclass(repr=False)
class LayerAttribution(Result):
    """Relevance of each token at each layer: ``scores`` [layer, pos] with row labels ``layers``.

    ``totals`` [layer] are the row sums and ``deltas`` [layer] their completeness/conservation
    residuals; ``target_value`` the explained scalar at the input.
    """

    levels: ClassVar[tuple[int, ...]] = (1, 2, 4, 5)

    method: str
    tokens: list[str]
    layers: list[str]
    scores: torch.Tensor
    target: str
    target_value: float
    deltas: torch.Tensor | None = None
    input_scores: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def row(self, layer: str | int) -> TokenAttribution:
        """One layer's row as a :class:`TokenAttribution`."""
        i = self.layers.index(layer) if isinstance(layer, str) else layer
        return TokenAttribution(f"{self.method} [{self.layers[i]}]", self.tokens, self.scores[i],
                                self.target, self.target_value)

    def show(self, **kwargs):
        """The :class:`~interp_widgets.widgets.relevance_view.RelevanceView` of this result."""
        from ..widgets.relevance_view import RelevanceView

        return RelevanceView.from_results([self], **kwargs)

    def figure(self, cmap: str = DIVERGING, normalize: str = "row"):
        """Input tokens coloured by relevance (if any) above a layers x tokens heatmap;
        ``normalize="row"`` scales each layer by its own max |score|, ``"shared"`` uses one."""
        import matplotlib.pyplot as plt

        if normalize not in ("row", "shared"):
            raise ValueError("normalize must be 'row' or 'shared'")
        scores = self.scores.float().numpy()
        shown = scores / np.array([[_limit(r)] for r in scores]) if normalize == "row" else scores
        vmax = 1.0 if normalize == "row" else _limit(scores)
        n_layer, n_pos = scores.shape
        with paper_style():
            fig = plt.figure(figsize=(max(4.0, 0.32 * n_pos + 1.6), 1.4 + 0.22 * n_layer
                                      + (0.5 if self.input_scores is not None else 0)))
            top = 0.86
            if self.input_scores is not None:
                inp = self.input_scores.float().numpy()
                ax_t = fig.add_axes([0.16, 0.80, 0.66, 0.1])
                _text_panel(ax_t, self.tokens, inp, _limit(inp), plt.get_cmap(cmap))
                top = 0.74
            ax = fig.add_axes([0.16, 0.22, 0.66, top - 0.22])
            ax.imshow(shown, cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto", interpolation="nearest")
            ax.set_yticks(range(n_layer), self.layers)
            ax.set_xticks(range(n_pos), [t.replace("\n", "\\n") for t in self.tokens], rotation=90)
            ax.set_xlabel("token")
            _colorbar(fig, [0.86, 0.22, 0.015, top - 0.22], vmax, cmap,
                      "relevance / row max" if normalize == "row" else "relevance")
            fig.suptitle(f"{self.method}: {self.target}", x=0.02, ha="left", fontsize=9)
        return fig


def _colorbar(fig, rect, vmax: float, cmap: str, label: str = "relevance"):
    import matplotlib as mpl

    cax = fig.add_axes(rect)
    norm = mpl.colors.Normalize(vmin=-vmax, vmax=vmax)
    cb = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), cax=cax)
    cb.set_label(label)
    cb.outline.set_visible(False)
    return cb
