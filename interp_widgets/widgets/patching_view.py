"""PatchingView: one activation-patching heatmap per component kind (layer × position or
layer × head), diverging colours centred at 0, the metric and the component on hover."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ..hidden.patching import KINDS, ActivationPatching
from ._base import ArrayTrait, ReportingView, check_result


def pack_scores(scores: dict) -> tuple[np.ndarray, list[int]]:
    """``{kind: [layer, n]}`` -> (array [kind, layer, max n] padded with NaN, each kind's n)."""
    mats = [np.asarray(v, dtype=np.float64) for v in scores.values()]
    widths = [m.shape[1] for m in mats]
    n_layers = mats[0].shape[0] if mats else 0
    out = np.full((len(mats), n_layers, max(widths, default=0)), np.nan)
    for i, m in enumerate(mats):
        out[i, :, : m.shape[1]] = m
    return out, widths


class PatchingView(ReportingView):
    """View of an :class:`~interp_widgets.hidden.ActivationPatching` result.

    Eager data: ``scores`` [kind, layer, max width] (NaN beyond a kind's width), ``kinds``,
    ``widths`` (positions or heads per kind), ``axes`` (``"position"`` or ``"head"`` per kind),
    ``clean_tokens`` / ``corrupted_tokens``, ``metric`` (its label, with "normalised" when the
    scores are), ``mode``, ``clean_score`` / ``corrupted_score`` (the raw metric of the unpatched
    runs). State: ``kind`` (the heatmap shown).
    """

    _bundle = "patching_view"

    kinds = traitlets.List(traitlets.Unicode()).tag(sync=True)
    widths = traitlets.List(traitlets.Int()).tag(sync=True)
    axes = traitlets.List(traitlets.Unicode()).tag(sync=True)
    clean_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    corrupted_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metric = traitlets.Unicode("").tag(sync=True)
    mode = traitlets.Unicode("").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    clean_score = traitlets.Float(0.0).tag(sync=True)
    corrupted_score = traitlets.Float(0.0).tag(sync=True)
    scores = ArrayTrait(ndim=3)

    kind = traitlets.Unicode("").tag(sync=True)

    def __init__(self, result: ActivationPatching, kind: str | None = None, **kwargs: Any) -> None:
        check_result("PatchingView", result, ActivationPatching, "iw.hidden.activation_patching")
        self.result = result
        packed, widths = pack_scores(result.scores)
        kinds = list(result.scores)
        metric = ("normalised " if result.normalized else "") + result.metric
        axes = ["position" if KINDS[k][1] == "pos" else "head" for k in kinds]
        super().__init__(kinds=kinds, widths=widths, axes=axes,
                         clean_tokens=list(result.clean_tokens), corrupted_tokens=list(result.corrupted_tokens),
                         metric=metric, mode=result.mode, clean_score=float(result.clean_score),
                         corrupted_score=float(result.corrupted_score),
                         title=f"activation patching ({result.mode}) — {result.model_name}", scores=packed,
                         **kwargs)
        self.kind = kinds[0] if kind is None else kind

    @traitlets.validate("kind")
    def _check_kind(self, proposal):
        value = proposal["value"]
        if value not in self.kinds:
            raise TraitError(f"PatchingView.kind must be one of the patched components {self.kinds}, got {value!r}")
        return value

    def matrix(self, kind: str) -> np.ndarray:
        """The [layer, position or head] scores of ``kind`` as the view draws them."""
        i = self.kinds.index(kind)
        return self.scores[i, :, : self.widths[i]]

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("kinds", repr(self.kinds)), ("layers", str(self.scores.shape[1])), ("metric", repr(self.metric)),
                ("kind", repr(self.kind))]
