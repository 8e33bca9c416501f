"""Several attribution methods on one input and target, side by side, with their faithfulness."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ..analysis.result import Result
from ..figures import DIVERGING, paper_style
from .faithfulness import Faithfulness, _method_name, _scores_of, faithfulness
from .generation_steps import METHODS, _method
from .results import _colorbar, _limit, _text_panel

DEFAULT_METHODS = ("gradient_x_input", "integrated_gradients", "attnlrp")


@dataclass(repr=False)
class Comparison(Result):
    """``results`` one attribution result per method (in order), all of ``tokens`` for
    ``target``; ``faithfulness`` their MoRF/LeRF curves (None if not computed)."""

    levels: ClassVar[tuple[int, ...]] = (1, 5)

    methods: list[str]
    tokens: list[str]
    target: str
    results: list = field(default_factory=list)
    faithfulness: Faithfulness | None = None

    def scores(self) -> np.ndarray:
        """[method, T] the token scores of every method."""
        return np.stack([_scores_of(r)[0].float().cpu().numpy() for r in self.results])

    def figure(self, normalize: str = "row", cmap: str = DIVERGING):
        """One row of coloured text per method (``normalize``: ``"row"`` or ``"shared"`` colour
        scale) and, if computed, the faithfulness curves."""
        return comparison_figure(self.results, self.faithfulness, normalize=normalize, cmap=cmap)

    def show(self, **kwargs):
        """The :class:`~interp_widgets.widgets.relevance_view.RelevanceView` of the methods."""
        from ..widgets.relevance_view import RelevanceView

        return RelevanceView.from_results(self.results, faithfulness=self.faithfulness, **kwargs)


def comparison_figure(results, faith=None, *, normalize: str = "row", cmap: str = DIVERGING, width: float = 6.4):
    """Rows of tokens coloured by each result's scores, above the faithfulness curves."""
    import matplotlib.pyplot as plt

    if normalize not in ("row", "shared"):
        raise ValueError("normalize must be 'row' or 'shared'")
    names = [_method_name(r, i) for i, r in enumerate(results)]
    rows = [_scores_of(r)[0].float().cpu().numpy() for r in results]
    tokens = (results[0].attribution() if hasattr(results[0], "attribution") and callable(results[0].attribution)
              else results[0]).tokens
    shared = _limit(np.nan_to_num(np.stack(rows)))
    left, frac = 0.26, 0.58
    span = frac * width / 5.04  # axis units across the panel: characters as wide as in TokenAttribution.figure
    n_lines = 1 + int(sum(len(t) + 1 for t in tokens) * 0.0125 // span)
    row_h = 0.3 + 0.22 * n_lines
    curves_h = 3.0 if faith is not None else 0.0
    total = 0.5 + row_h * len(rows) + curves_h
    with paper_style():
        fig = plt.figure(figsize=(width, total))
        for i, (name, s) in enumerate(zip(names, rows)):
            top = 1 - (0.35 + row_h * i) / total
            ax = fig.add_axes([left, top - row_h * 0.8 / total, frac, row_h * 0.8 / total])
            vmax = _limit(np.nan_to_num(s)) if normalize == "row" else shared
            _text_panel(ax, tokens, np.nan_to_num(s), vmax, plt.get_cmap(cmap), width=span)
            fig.text(0.02, top - row_h * 0.4 / total, name, fontsize=8, va="center")
        _colorbar(fig, [0.89, 1 - (0.35 + row_h * len(rows)) / total, 0.015, row_h * len(rows) * 0.8 / total],
                  1.0 if normalize == "row" else shared, cmap,
                  "relevance / row max" if normalize == "row" else "relevance")
        fig.suptitle(getattr(results[0], "target", ""), x=0.02, ha="left", fontsize=9)
        if faith is not None:
            ax = fig.add_axes([0.12, 1.25 / total, 0.6, (curves_h - 1.6) / total])
            x = faith.fractions.numpy()
            for i, name in enumerate(faith.methods):
                ax.plot(x, faith.morf[i].numpy(), color=f"C{i % 10}", lw=1.2,
                        label=f"{name} (area {float(faith.area[i]):.3g})")
                ax.plot(x, faith.lerf[i].numpy(), color=f"C{i % 10}", lw=1.2, ls="--")
            ax.set_xlabel(f"fraction of tokens replaced by {faith.replacement!r} (solid MoRF, dashed LeRF)")
            ax.set_ylabel(faith.measure)
            ax.legend(frameon=False, fontsize=6, loc="upper left", bbox_to_anchor=(0.0, -0.3), ncol=2)
    return fig


def compare(model, inputs, target=None, *, methods=DEFAULT_METHODS, faithfulness_curves: bool = True,
            pair=None, **faithfulness_kwargs) -> Comparison:
    """Run several attribution ``methods`` on one input and target and measure their faithfulness.

    ``methods``: names of :data:`~interp_widgets.attribution.generation_steps.METHODS`, or a
    ``{name: kwargs}`` mapping (e.g. ``{"integrated_gradients": {"steps": 20}}``).
    ``faithfulness_kwargs`` go to :func:`faithfulness` (``replacement``, ``top_k``,
    ``keep_specials``, ...).
    """
    spec = dict(methods) if isinstance(methods, Mapping) else {m: {} for m in methods}
    if not spec:
        raise ValueError(f"pass at least one method, e.g. {list(DEFAULT_METHODS)}")
    results, names = [], []
    for name, kwargs in spec.items():
        if not isinstance(name, str) or name not in METHODS:
            raise ValueError(f"unknown method {name!r}; choose from {sorted(METHODS)}")
        _, fn = _method(name)
        extra = {"pair": pair} if pair is not None else {}
        results.append(fn(model, inputs, target, **extra, **dict(kwargs or {})))
        names.append(name)
    first = results[0].attribution() if hasattr(results[0], "attribution") and callable(results[0].attribution) \
        else results[0]
    faith = None
    if faithfulness_curves:
        faith = faithfulness(model, inputs, dict(zip(names, results)), target, pair=pair, **faithfulness_kwargs)
    return Comparison(methods=names, tokens=list(first.tokens), target=first.target, results=results,
                      faithfulness=faith)
