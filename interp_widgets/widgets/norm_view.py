"""NormView: attention weights α next to the norms ‖αf(x)‖ (Kobayashi et al. 2020) per layer and
head, and the mixing-ratio curves Attn-N / AttnRes-N / AttnResLn-N across layers (2021)."""

from __future__ import annotations

from typing import Any

import traitlets
from traitlets import TraitError

from ..analysis.attention.norms import AttentionNorms
from ._base import ArrayTrait, InterpWidget, check_result


class NormView(InterpWidget):
    """Views of an :class:`AttentionNorms` result (axis 0 = the analysed ``layers``).

    Eager data: ``alpha`` and ``weighted`` [L, H, T, T] (α and ‖α^h_ij f^h(x_j)‖), ``summed``
    [L, T, T] (‖Σ_h α f‖, Attn-N), ``with_residual`` and ``with_ln`` [L, T, T] (AttnRes-N,
    AttnResLn-N; NaN where undefined), ``mixing`` [L, 3, T] in the order of ``kinds``.
    State: ``layer`` (an index into ``layers``), ``head`` (-1 = all heads: mean α and Attn-N),
    ``norm`` (the right-hand matrix: ``"weighted"`` or one of ``kinds``), ``token`` (-1 none).
    """

    _bundle = "norm_view"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layers = traitlets.List(traitlets.Int()).tag(sync=True)
    kinds = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_heads = traitlets.Int(0).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    alpha = ArrayTrait(ndim=4, wire_dtype="float16")
    weighted = ArrayTrait(ndim=4)
    summed = ArrayTrait(ndim=3)
    with_residual = ArrayTrait(ndim=3)
    with_ln = ArrayTrait(ndim=3)
    mixing = ArrayTrait(ndim=3)

    layer = traitlets.Int(0).tag(sync=True)
    head = traitlets.Int(-1).tag(sync=True)
    norm = traitlets.Unicode("weighted").tag(sync=True)
    token = traitlets.Int(-1).tag(sync=True)

    def __init__(self, result: AttentionNorms, **kwargs: Any) -> None:
        check_result("NormView", result, AttentionNorms, "iw.attention.norms")
        self.result = result
        super().__init__(tokens=list(result.tokens), layers=[int(l) for l in result.layers],
                         kinds=list(result.kinds), n_heads=int(result.alpha.shape[1]), note=result.note,
                         alpha=result.alpha, weighted=result.weighted, summed=result.summed,
                         with_residual=result.with_residual, with_ln=result.with_ln, mixing=result.mixing,
                         **kwargs)

    @traitlets.validate("layer")
    def _check_layer(self, proposal):
        return self._in_range("layer", proposal["value"], 0, max(len(self.layers), 1),
                              f" (it indexes the analysed layers {self.layers})")

    @traitlets.validate("head")
    def _check_head(self, proposal):
        return self._in_range("head", proposal["value"], -1, max(self.n_heads, 1), " (-1 = all heads)")

    @traitlets.validate("norm")
    def _check_norm(self, proposal):
        value = proposal["value"]
        allowed = ["weighted", *self.kinds]
        if self.kinds and value not in allowed:
            raise TraitError(f"NormView.norm must be one of {allowed}, got {value!r}")
        return value

    @traitlets.validate("token")
    def _check_token(self, proposal):
        return self._in_range("token", proposal["value"], -1, len(self.tokens), " (-1 = none)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("tokens", str(len(self.tokens))), ("layers", repr(self.layers)), ("heads", str(self.n_heads)),
                ("layer", str(self.layer)), ("head", str(self.head)), ("norm", repr(self.norm))]
