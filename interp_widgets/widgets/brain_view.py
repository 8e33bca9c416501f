"""Brain-alignment views: the layer × time map of held-out r with the peak-latency line
(:class:`BrainAlignmentView`) and the cross-model scores against model size
(:class:`BrainComparisonView`)."""

from __future__ import annotations

from typing import Any

import traitlets

from ..hidden.brain_alignment import BrainAlignment, BrainComparison
from ._base import ArrayTrait, InterpWidget, check_result


class BrainAlignmentView(InterpWidget):
    """View of a :class:`~interp_widgets.hidden.BrainAlignment` result.

    Eager data: ``scores`` [layer, time] held-out Pearson r, ``times`` [time] seconds after word
    onset, ``peak_latency`` / ``peak_r`` [layer], ``layers`` (layer numbers), scores summary in
    ``title``. Hover a cell for (layer, lag, r).
    """

    _bundle = "brain_view"

    kind = traitlets.Unicode("alignment").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    layers = traitlets.List(traitlets.Int()).tag(sync=True)
    times = ArrayTrait(ndim=1)
    scores = ArrayTrait(ndim=2)
    peak_latency = ArrayTrait(ndim=1)
    peak_r = ArrayTrait(ndim=1)

    def __init__(self, result: BrainAlignment, **kwargs: Any) -> None:
        check_result("BrainAlignmentView", result, BrainAlignment, "iw.hidden.brain_alignment")
        self.result = result
        super().__init__(title=(f"{result.name}: alignment {result.alignment_score:.3f}, temporal score "
                                f"{result.temporal_score:.2f} ({result.temporal_method})"),
                         layers=list(result.layers), times=result.times, scores=result.scores,
                         peak_latency=result.peak_latency, peak_r=result.peak_r, **kwargs)

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("name", self.result.name), ("layers", str(len(self.layers))), ("times", str(len(self.times)))]


class BrainComparisonView(InterpWidget):
    """View of a :class:`~interp_widgets.hidden.BrainComparison`: alignment and temporal score of
    each model against its size (``sizes`` [model] parameters, log x); names on hover."""

    _bundle = "brain_view"

    kind = traitlets.Unicode("comparison").tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    temporal_method = traitlets.Unicode("").tag(sync=True)
    sizes = ArrayTrait(ndim=1)
    alignment_scores = ArrayTrait(ndim=1)
    temporal_scores = ArrayTrait(ndim=1)

    def __init__(self, result: BrainComparison, **kwargs: Any) -> None:
        check_result("BrainComparisonView", result, BrainComparison, "iw.hidden.brain_alignment of a dict of models")
        if (result.sizes <= 0).any():
            raise ValueError("model sizes must be positive to be drawn on a log axis; pass sizes={name: n_params}")
        self.result = result
        super().__init__(title=f"brain alignment of {len(result.names)} models", names=list(result.names),
                         temporal_method=result.temporal_method, sizes=result.sizes,
                         alignment_scores=result.alignment_scores, temporal_scores=result.temporal_scores, **kwargs)

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", repr(self.names))]
