"""NeuronFactorView: one sparkline per NMF factor over the tokens; the token strip coloured by
the selected factor, with that factor's top tokens and top neurons."""

from __future__ import annotations

from typing import Any

import traitlets

from ..hidden.neuron_factors import NeuronFactors
from ._base import ArrayTrait, ReportingView, check_result


class NeuronFactorView(ReportingView):
    """View of a :class:`~interp_widgets.hidden.NeuronFactors` result.

    Eager data: ``factors`` [factor, pos] (the NMF factor strengths, Wᵀ), ``top_positions`` /
    ``top_strengths`` [factor, k] where each factor is strongest, ``top_neurons`` (labels, one
    list of k per factor) and ``top_loadings`` [factor, k] its largest loadings. State:
    ``factor`` (the selected factor, clicked in the browser).
    """

    _bundle = "neuron_factor_view"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    factors = ArrayTrait(ndim=2)
    top_positions = ArrayTrait(ndim=2)
    top_strengths = ArrayTrait(ndim=2)
    top_neurons = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    top_loadings = ArrayTrait(ndim=2)

    factor = traitlets.Int(0).tag(sync=True)

    def __init__(self, result: NeuronFactors, factor: int = 0, k: int = 5, **kwargs: Any) -> None:
        check_result("NeuronFactorView", result, NeuronFactors, "iw.hidden.neuron_factors")
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k (tokens and neurons listed per factor) must be a positive int, got {k!r}")
        self.result = result
        strengths, positions = result.factors.topk(min(k, result.factors.shape[1]), dim=1)
        neurons = [result.top_neurons(f, k) for f in range(result.n_factors)]
        super().__init__(tokens=list(result.tokens),
                         title=(f"NMF of MLP activations — {result.model_name}, layers {result.layers}, "
                                f"{result.n_factors} factors, relative error {result.relative_error:.3f}"),
                         factors=result.factors, top_positions=positions.float(), top_strengths=strengths,
                         top_neurons=[[label for label, _ in row] for row in neurons],
                         top_loadings=[[value for _, value in row] for row in neurons], **kwargs)
        self.factor = factor

    @traitlets.validate("factor")
    def _check_factor(self, proposal):
        n = self.factors.shape[0]
        return self._in_range("factor", proposal["value"], 0, max(n, 1), f" (a factor row; there are {n} factors)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("tokens", str(len(self.tokens))), ("factors", str(self.factors.shape[0])),
                ("factor", str(self.factor))]
