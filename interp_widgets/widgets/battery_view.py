"""BatteryView: a survey battery over several models — the items × variants answer grid of one
model (modal answer and run agreement with repeated runs), the consistency summary per model and
the scaling curve (a score or consistency metric against parameter count, log x)."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ..outputs.battery import BatteryResult
from ._base import ArrayTrait, ReportingView, check_result

SCORES = ("score", "expected score")


class BatteryView(ReportingView):
    """View of a :class:`~interp_widgets.outputs.BatteryResult`.

    Eager data: ``answers`` [K, V, I, R] chosen level indices (−1 = the item lacks the variant),
    ``probs`` [K, V, I, L] answer distributions (NaN where absent), ``consistency`` [K, M]
    the metrics named in ``metric_names`` (those of ``BatteryResult.consistency()`` that some model
    has: negation, reversed, paraphrase, languages, modal agreement), ``score`` / ``expected_score`` / ``n_params`` [K] (NaN size: left
    off the curve); ``names``, ``variants``, ``item_ids``, ``texts`` [V][I], ``scale`` and
    ``values`` [L]. State: ``model`` (index of the model whose grid is drawn) and ``curve`` (the
    quantity on the scaling curve: a score or one of ``metric_names``).
    """

    _bundle = "battery_view"

    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    variants = traitlets.List(traitlets.Unicode()).tag(sync=True)
    item_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    texts = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    scale = traitlets.List(traitlets.Unicode()).tag(sync=True)
    values = traitlets.List(traitlets.Float()).tag(sync=True)
    metric_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    answers = ArrayTrait(ndim=4)
    probs = ArrayTrait(ndim=4)
    consistency = ArrayTrait(ndim=2)
    score = ArrayTrait(ndim=1)
    expected_score = ArrayTrait(ndim=1)
    n_params = ArrayTrait(ndim=1)

    model = traitlets.Int(0).tag(sync=True)
    curve = traitlets.Unicode("score").tag(sync=True)

    def __init__(self, result: BatteryResult, model: int | str = 0, curve: str = "score", **kwargs: Any) -> None:
        check_result("BatteryView", result, BatteryResult, "iw.outputs.run_battery")
        self.result = result
        if isinstance(model, str):
            if model not in result.names:
                raise ValueError(f"model must be an index or one of {result.names}, got {model!r}")
            model = result.names.index(model)
        n_items = len(result.item_ids)
        texts = result.texts or [["" for _ in range(n_items)] for _ in result.variants]
        measured = {k: v.numpy() for k, v in result.consistency().items() if not np.isnan(v.numpy()).all()}
        consistency = np.stack(list(measured.values()), 1) if measured else np.zeros((len(result.names), 0))
        mode = {"probs": "most probable answer", "sample": f"{result.runs} sampled runs",
                "generate": f"answers read from generated text, {result.runs} run(s)"}[result.mode]
        super().__init__(names=[str(n) for n in result.names], variants=list(result.variants),
                         item_ids=[str(i) for i in result.item_ids], texts=[[str(t) for t in row] for row in texts],
                         scale=[str(s) for s in result.scale], values=[float(v) for v in result.values],
                         title=f"survey battery ({mode})", answers=result.answers, probs=result.probs,
                         metric_names=list(measured), consistency=consistency, score=result.score,
                         expected_score=result.expected_score,
                         n_params=result.n_params, **kwargs)
        self.model, self.curve = model, curve

    @traitlets.validate("model")
    def _check_model(self, proposal):
        n = len(self.names)
        return self._in_range("model", proposal["value"], 0, n, f" (one of the {n} models)")

    @traitlets.validate("curve")
    def _check_curve(self, proposal):
        value = proposal["value"]
        curves = list(SCORES) + self.metric_names
        if value not in curves:
            raise TraitError(f"BatteryView.curve must be one of {curves}, got {value!r}")
        return value

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("items", str(len(self.item_ids))),
                ("variants", str(len(self.variants))), ("runs", str(self.answers.shape[-1])),
                ("model", repr(self.names[self.model])), ("curve", repr(self.curve))]
