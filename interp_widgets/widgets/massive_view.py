"""MassiveView: per-layer head × dimension norms of Q, K and V (Jin et al. 2025) with the
massive dimensions marked and the RoPE frequency of every dimension."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..analysis.attention.massive_values import PARTS, MassiveValues
from ._base import ArrayTrait, InterpWidget, check_result


class MassiveView(InterpWidget):
    """Views of a :class:`MassiveValues` result (axis 0 = the analysed ``layers``).

    Eager data: ``M_q`` [L, H, D], ``M_k`` and ``M_v`` [L, H_kv, D] (‖column‖₂ over tokens),
    ``mask_q``/``mask_k``/``mask_v`` of the same shapes (1 = massive: M > λ·mean_d M),
    ``frequency`` [D] RoPE θ per dim (NaN unrotated; empty without RoPE), ``band`` [D] strings.
    State: ``layer`` (index into ``layers``), ``log_scale`` (colour by log10 M).
    """

    _bundle = "massive_view"

    layers = traitlets.List(traitlets.Int()).tag(sync=True)
    lam = traitlets.Float(5.0).tag(sync=True)
    rotary = traitlets.Bool(False).tag(sync=True)
    n_tokens = traitlets.Int(0).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    band = traitlets.List(traitlets.Unicode()).tag(sync=True)
    frequency = ArrayTrait(ndim=1)
    M_q = ArrayTrait(ndim=3)
    M_k = ArrayTrait(ndim=3)
    M_v = ArrayTrait(ndim=3)
    mask_q = ArrayTrait(ndim=3, wire_dtype="uint8")
    mask_k = ArrayTrait(ndim=3, wire_dtype="uint8")
    mask_v = ArrayTrait(ndim=3, wire_dtype="uint8")

    layer = traitlets.Int(0).tag(sync=True)
    log_scale = traitlets.Bool(False).tag(sync=True)

    def __init__(self, result: MassiveValues, **kwargs: Any) -> None:
        check_result("MassiveView", result, MassiveValues, "iw.attention.massive_values")
        self.result = result
        data = {f"M_{p}": result._norms(p) for p in PARTS}
        data.update({f"mask_{p}": result.mask(p).numpy().astype(np.float32) for p in PARTS})
        frequency = np.zeros(0) if result.frequency is None else result.frequency.double().numpy()
        super().__init__(layers=[int(l) for l in result.layers], lam=float(result.lam), rotary=bool(result.rotary),
                         n_tokens=int(result.n_tokens), note=result.note, band=list(result.band or []),
                         frequency=frequency, **data, **kwargs)

    @traitlets.validate("layer")
    def _check_layer(self, proposal):
        return self._in_range("layer", proposal["value"], 0, max(len(self.layers), 1),
                              f" (it indexes the analysed layers {self.layers})")

    def _repr_fields(self) -> list[tuple[str, str]]:
        counts = {p: int(np.asarray(getattr(self, f"mask_{p}")).sum()) for p in PARTS}
        return [("layers", repr(self.layers)), ("rotary", repr(self.rotary)), ("lam", f"{self.lam:g}"),
                ("massive", repr(counts)), ("layer", str(self.layer))]
