"""ModelMapView: the model map as a scatter (colour by family, hover for metadata); two selected
models show their estimated KL and the texts whose double-centred log-likelihoods differ most."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ..outputs.model_map import ModelMap
from ._base import ArrayTrait, ReportingView, check_result


def top_differences(q: np.ndarray, m: int) -> tuple[np.ndarray, np.ndarray]:
    """For every ordered pair (i, j) of rows of ``q`` [K, N], the ``m`` texts with the largest
    |q_i − q_j|: (index [K, K, m] by decreasing |difference|, difference q_i − q_j [K, K, m])."""
    q = np.asarray(q, dtype=np.float64)
    k, n = q.shape
    m = min(m, n)
    index = np.zeros((k, k, m), dtype=np.int64)
    for i in range(k):
        diff = np.abs(q[i][None, :] - q)
        part = np.argpartition(-diff, m - 1, axis=1)[:, :m]
        order = np.argsort(-np.take_along_axis(diff, part, 1), axis=1, kind="stable")
        index[i] = np.take_along_axis(part, order, 1)
    rows = np.arange(k)[:, None, None]
    cols = np.arange(k)[None, :, None]
    return index, q[rows, index] - q[cols, index]


def _metadata(result: ModelMap) -> list[list[str]]:
    lines = []
    for i, name in enumerate(result.names):
        near = result.nearest(i, 1) if len(result.names) > 1 else []
        item = [f"family: {result.families[i]}"]
        if near:
            item.append(f"nearest: {near[0][0]} (KL {near[0][1]:.4g} nats/text)")
        if result.scores is not None:
            s, p = float(result.scores[i]), float(result.predicted[i])
            item.append(f"score: {'—' if np.isnan(s) else f'{s:.4g}'}, predicted {p:.4g}"
                        + (" (flagged)" if bool(result.flagged[i]) else ""))
        lines.append(item)
    return lines


class ModelPointsView(ReportingView):
    """Base of the views that place models as labelled points in a plane: ``names`` [K],
    ``title`` and ``coords`` [K, 2]."""

    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    coords = ArrayTrait(shape=(None, 2))


class ModelMapView(ModelPointsView):
    """View of a :class:`~interp_widgets.outputs.ModelMap` result.

    Eager data: ``coords`` [K, 2] (the map), ``kl`` [K, K] (nats per text), ``top_index`` /
    ``top_diff`` [K, K, m] — for every pair, the ``m`` texts with the largest |q_i − q_j| (text
    indices, and the double-centred difference q_i − q_j in nats), precomputed for all pairs so a
    saved page works without a kernel; ``names``, ``families``, ``metadata`` (hover lines per
    model), ``texts`` (the N texts, or empty: shown as ``text #n``). State: ``selected`` ([] or two
    model names).
    """

    _bundle = "model_map_view"

    families = traitlets.List(traitlets.Unicode()).tag(sync=True)
    metadata = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    texts = traitlets.List(traitlets.Unicode()).tag(sync=True)
    kl = ArrayTrait(ndim=2)
    top_index = ArrayTrait(ndim=3)
    top_diff = ArrayTrait(ndim=3)

    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)

    def __init__(self, result: ModelMap, texts: Sequence[str] | None = None, top: int = 5,
                 selected: Sequence[str] = (), **kwargs: Any) -> None:
        check_result("ModelMapView", result, ModelMap, "iw.outputs.model_map")
        if texts is not None and len(texts) != result.n_texts:
            raise ValueError(f"texts must be the {result.n_texts} texts the map was computed on, got {len(texts)}")
        if isinstance(top, bool) or not isinstance(top, int) or top < 1:
            raise ValueError(f"top must be a positive number of texts per pair, got {top!r}")
        self.result = result
        index, diff = top_differences(result.q.numpy(), top)
        super().__init__(names=[str(n) for n in result.names], families=[str(f) for f in result.families],
                         metadata=_metadata(result), texts=[] if texts is None else [str(t) for t in texts],
                         title=f"model map ({result.method.upper()}, N={result.n_texts} texts)",
                         coords=result.coords, kl=result.kl, top_index=index, top_diff=diff, **kwargs)
        self.selected = list(selected)

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        value = list(proposal["value"])
        if not value:
            return value
        unknown = [v for v in value if v not in self.names]
        if len(value) != 2 or unknown or value[0] == value[1]:
            why = f"unknown models {unknown}" if unknown else "need two different models"
            raise TraitError(f"ModelMapView.selected must be [] or two different model names ({why}), got {value!r}")
        return value

    def differences(self) -> list[tuple[int, float]]:
        """For the selected pair: (text index, q_a − q_b) of the texts the view lists."""
        if not self.selected:
            return []
        a, b = (self.names.index(s) for s in self.selected)
        return [(int(t), float(d)) for t, d in zip(self.top_index[a, b], self.top_diff[a, b])]

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("texts", str(self.result.n_texts)),
                ("method", repr(self.result.method)), ("selected", repr(self.selected))]
