"""FlowView: attention rollout / flow (Abnar & Zuidema 2020) and traced-attention comparison of
two models (DeRose et al. 2020) as a tokens × layers graph plus side-by-side heatmaps."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
import traitlets
from traitlets import TraitError

from ..analysis.attention.compare_flows import FlowComparison
from ..analysis.attention.rollout import AttentionFlow, Rollout
from ._base import ArrayTrait, InterpWidget

SHARED, ONLY_A, ONLY_B = 1, 2, 3


def edge_classes(result: FlowComparison) -> np.ndarray:
    """[L, T, T] per merged-over-heads edge: 0 none, 1 shared, 2 only model a, 3 only model b.
    An edge traced by some head in both models is shared."""
    a, b = result.edges_a.any(1), result.edges_b.any(1)
    out = torch.zeros(a.shape, dtype=torch.uint8)
    out[a & b] = SHARED
    out[a & ~b] = ONLY_A
    out[b & ~a] = ONLY_B
    return out.numpy()


def _empty(ndim: int) -> np.ndarray:
    return np.zeros((0,) * ndim)


class FlowView(InterpWidget):
    """Rollout / flow of one text, or the comparison of two models' traced attention.

    ``mode="rollout"`` (from a :class:`Rollout`, optionally with the :class:`AttentionFlow` of
    the same text, or from an :class:`AttentionFlow` alone): ``raw`` [L, T, T] head-mean
    attention, ``joint`` [L, T, T] rollout (both empty without a Rollout), ``flow`` and
    ``flow_rollout`` [n_out, T] for output tokens ``flow_outputs`` at layer ``flow_layer``.
    The graph draws edges of ``raw`` with weight ≥ ``threshold``; with ``token`` ≥ 0 only those
    on paths from that output token.
    ``mode="compare"`` (from a :class:`FlowComparison`): ``classes`` [L, T, T] (0 none,
    1 shared, 2 only ``names[0]``, 3 only ``names[1]``), ``influence_a``/``influence_b``
    [L + 1, T], traced from ``start`` with threshold ``tau``.
    State: ``layer`` (the heatmaps' layer), ``token``, ``threshold``.
    """

    _bundle = "flow_view"

    mode = traitlets.Enum(("rollout", "compare"), default_value="rollout").tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    raw = ArrayTrait(ndim=3)
    joint = ArrayTrait(ndim=3)
    flow = ArrayTrait(ndim=2)
    flow_rollout = ArrayTrait(ndim=2)
    flow_outputs = traitlets.List(traitlets.Int()).tag(sync=True)
    flow_layer = traitlets.Int(-1).tag(sync=True)
    classes = ArrayTrait(ndim=3, wire_dtype="uint8")
    influence_a = ArrayTrait(ndim=2)
    influence_b = ArrayTrait(ndim=2)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    start = traitlets.Int(-1).tag(sync=True)
    tau = traitlets.Float(0.0).tag(sync=True)

    layer = traitlets.Int(0).tag(sync=True)
    token = traitlets.Int(-1).tag(sync=True)
    threshold = traitlets.Float(0.1).tag(sync=True)

    def __init__(self, result: Rollout | AttentionFlow | FlowComparison, flow: AttentionFlow | None = None,
                 **kwargs: Any) -> None:
        data: dict[str, Any] = dict(raw=_empty(3), joint=_empty(3), flow=_empty(2), flow_rollout=_empty(2),
                                    classes=_empty(3), influence_a=_empty(2), influence_b=_empty(2))
        if isinstance(result, FlowComparison):
            if flow is not None:
                raise ValueError("a FlowComparison is shown on its own; pass flow= with a Rollout")
            data.update(mode="compare", tokens=list(result.tokens), n_layers=int(result.edges_a.shape[0]),
                        classes=edge_classes(result), influence_a=result.influence_a,
                        influence_b=result.influence_b, names=[str(n) for n in result.names],
                        start=int(result.start), tau=float(result.threshold), token=int(result.start))
        elif isinstance(result, (Rollout, AttentionFlow)):
            rollout = result if isinstance(result, Rollout) else None
            flow = result if isinstance(result, AttentionFlow) else flow
            if flow is not None and not isinstance(flow, AttentionFlow):
                raise TypeError(f"flow= takes an AttentionFlow (iw.attention.flow), got {type(flow).__name__}")
            tokens = list(result.tokens)
            if rollout is not None and flow is not None and list(flow.tokens) != tokens:
                raise ValueError("the rollout and the flow are of different texts (their tokens differ)")
            data.update(mode="rollout", tokens=tokens)
            if rollout is not None:
                data.update(raw=rollout.raw, joint=rollout.joint, n_layers=int(rollout.raw.shape[0]))
            if flow is not None:
                data.update(flow=flow.flow, flow_rollout=flow.rollout, flow_outputs=[int(o) for o in flow.outputs],
                            flow_layer=int(flow.layer))
                data.setdefault("n_layers", int(flow.layer) + 1)
        else:
            raise TypeError(f"FlowView shows a Rollout, an AttentionFlow or a FlowComparison "
                            f"(iw.attention.rollout / flow / compare_flows), got {type(result).__name__}")
        self.result = result
        super().__init__(**data, **kwargs)

    @traitlets.validate("layer")
    def _check_layer(self, proposal):
        return self._in_range("layer", proposal["value"], 0, max(self.n_layers, 1))

    @traitlets.validate("token")
    def _check_token(self, proposal):
        return self._in_range("token", proposal["value"], -1, len(self.tokens), " (a token index, -1 = none)")

    @traitlets.validate("threshold")
    def _check_threshold(self, proposal):
        value = proposal["value"]
        if not 0.0 <= value <= 1.0:
            raise TraitError(f"FlowView.threshold is an attention weight in [0, 1], got {value!r}")
        return value

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("mode", repr(self.mode)), ("tokens", str(len(self.tokens))), ("layers", str(self.n_layers)),
                ("flow", "yes" if self.flow.size else "no"), ("layer", str(self.layer)),
                ("token", str(self.token)), ("threshold", f"{self.threshold:g}")]
