"""HeadStatsView: every head as a point on two head statistics (or the MDS of their attention),
coloured by layer; clicking a head selects it and can open it in an AttentionView."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ..analysis.attention.head_stats import HeadStats
from ._base import ArrayTrait, InterpWidget, check_result

MODES = ("stats", "mds")


class HeadStatsView(InterpWidget):
    """Scatter of the heads of a :class:`HeadStats` result.

    Eager data: ``stat_names`` (S names), ``values`` [S, L·H] (head index = layer·H + head),
    ``mds`` [L·H, 2] (empty when not clustered), ``n_layers``, ``n_heads``, ``uniform_entropy``.
    State: ``mode`` (``"stats"``: ``x_stat`` against ``y_stat``; ``"mds"``: the 2-D MDS of the
    Jensen–Shannon distances), ``selected_head`` (``[layer, head]``, or ``[]`` for none; set by a
    click in the view). :meth:`link` opens the selected head in an ``AttentionView``.
    """

    _bundle = "head_stats_view"

    stat_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    values = ArrayTrait(ndim=2)
    mds = ArrayTrait(ndim=2)
    n_layers = traitlets.Int(0).tag(sync=True)
    n_heads = traitlets.Int(0).tag(sync=True)
    uniform_entropy = traitlets.Float(0.0).tag(sync=True)
    first_label = traitlets.Unicode("first token").tag(sync=True)

    mode = traitlets.Enum(MODES, default_value="stats").tag(sync=True)
    x_stat = traitlets.Unicode("to_first").tag(sync=True)
    y_stat = traitlets.Unicode("entropy").tag(sync=True)
    selected_head = traitlets.List(traitlets.Int()).tag(sync=True)

    def __init__(self, result: HeadStats, **kwargs: Any) -> None:
        check_result("HeadStatsView", result, HeadStats, "iw.attention.head_stats")
        self.result = result
        names = list(result.stat_names)
        values = np.stack([getattr(result, n).double().numpy().reshape(-1) for n in names])
        mds = np.zeros((0, 2)) if result.mds is None else result.mds.double().numpy()
        if result.mds is None and kwargs.get("mode") == "mds":
            raise ValueError("this HeadStats result has no MDS; compute it with head_stats(..., cluster=True)")
        super().__init__(stat_names=names, values=values, mds=mds, n_layers=result.n_layers,
                         n_heads=result.n_heads, uniform_entropy=float(result.uniform_entropy),
                         first_label=result.first_label, **kwargs)

    @traitlets.validate("x_stat", "y_stat")
    def _check_stat(self, proposal):
        value = proposal["value"]
        if self.stat_names and value not in self.stat_names:
            raise TraitError(f"HeadStatsView.{proposal['trait'].name} must be one of {self.stat_names}, "
                             f"got {value!r}")
        return value

    @traitlets.validate("mode")
    def _check_mode(self, proposal):
        if proposal["value"] == "mds" and self.n_layers and self.mds.shape[0] == 0:
            raise TraitError("HeadStatsView.mode 'mds' needs a result computed with cluster=True")
        return proposal["value"]

    @traitlets.validate("selected_head")
    def _check_selected(self, proposal):
        value = list(proposal["value"])
        if not value:
            return value
        if (len(value) != 2 or not 0 <= value[0] < self.n_layers or not 0 <= value[1] < self.n_heads):
            raise TraitError(f"HeadStatsView.selected_head must be [layer, head] with layer in "
                             f"[0, {self.n_layers}) and head in [0, {self.n_heads}), or [] for none; "
                             f"got {value!r}")
        return value

    def head_values(self, layer: int, head: int) -> dict[str, float]:
        """Every statistic of one head."""
        index = layer * self.n_heads + head
        return {name: float(self.values[s, index]) for s, name in enumerate(self.stat_names)}

    def link(self, view, open_view: str | None = "heatmap") -> Callable[[], None]:
        """Open the head clicked here in ``view`` (an ``AttentionView`` of the same model): sets
        its ``layer`` and ``head`` (and ``view`` to ``open_view`` unless None). Returns a function
        that removes the link."""
        if not all(hasattr(view, name) for name in ("layer", "head", "n_layers", "n_heads")):
            raise TypeError(f"link() takes an AttentionView (patterns(...).show()), got {type(view).__name__}")
        if (view.n_layers, view.n_heads) != (self.n_layers, self.n_heads):
            raise ValueError(f"the AttentionView has {view.n_layers} layers x {view.n_heads} heads but these "
                             f"statistics have {self.n_layers} x {self.n_heads}; link views of the same model")

        def follow(change):
            if not change["new"]:
                return
            layer, head = change["new"]
            with view.hold_sync():
                view.layer, view.head = layer, head
                if open_view is not None:
                    view.view = open_view

        self.observe(follow, "selected_head")
        if self.selected_head:
            follow({"new": self.selected_head})
        return lambda: self.unobserve(follow, "selected_head")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("layers", str(self.n_layers)), ("heads", str(self.n_heads)), ("mode", repr(self.mode)),
                ("x_stat", repr(self.x_stat)), ("y_stat", repr(self.y_stat)),
                ("selected_head", repr(self.selected_head))]
