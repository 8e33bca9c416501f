"""LogitLensView: the logit-lens grid (stages × positions, top token coloured by its probability,
top-k on hover) and the rank curves of the watched tokens at the selected position."""

from __future__ import annotations

from typing import Any

import traitlets

from ..hidden.logit_lens import LogitLens
from ._base import ArrayTrait, ReportingView, check_result, vocabulary_index

POINT_OFFSET = {"resid_pre": 0.0, "resid_mid": 0.5, "resid_post": 1.0}


class LogitLensView(ReportingView):
    """View of a :class:`~interp_widgets.hidden.LogitLens` result.

    Eager data: ``topk_probs`` [stage, pos, k], ``topk_index`` [stage, pos, k] (indices into
    ``vocab``, the distinct top-k token strings), ``entropy`` [stage, pos] (nats),
    ``watch_ranks`` / ``watch_probs`` [stage, pos, watched]; ``stages`` (labels such as
    ``"L0 pre"``), ``depth`` (x of each stage in layers: layer + 0 / 0.5 / 1 for pre / mid /
    post). State: ``position`` (the column whose watched-token ranks are drawn).
    """

    _bundle = "logit_lens_view"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    stages = traitlets.List(traitlets.Unicode()).tag(sync=True)
    depth = traitlets.List(traitlets.Float()).tag(sync=True)
    vocab = traitlets.List(traitlets.Unicode()).tag(sync=True)
    watch_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    topk_probs = ArrayTrait(ndim=3)
    topk_index = ArrayTrait(ndim=3)
    entropy = ArrayTrait(ndim=2)
    watch_ranks = ArrayTrait(ndim=3)
    watch_probs = ArrayTrait(ndim=3)

    position = traitlets.Int(0).tag(sync=True)

    def __init__(self, result: LogitLens, position: int = -1, **kwargs: Any) -> None:
        check_result("LogitLensView", result, LogitLens, "iw.hidden.logit_lens")
        self.result = result
        n_pos = len(result.tokens)
        if isinstance(position, int) and not isinstance(position, bool) and -n_pos <= position < 0:
            position += n_pos
        vocab, index = vocabulary_index(result.topk_tokens)
        super().__init__(tokens=list(result.tokens), stages=list(result.stages),
                         depth=[layer + POINT_OFFSET[p] for layer, p in zip(result.layers, result.points)],
                         vocab=vocab, watch_tokens=list(result.watch_tokens),
                         title=f"logit lens — {result.model_name}", topk_probs=result.topk_probs,
                         topk_index=index, entropy=result.entropy, watch_ranks=result.watch_ranks.float(),
                         watch_probs=result.watch_probs, **kwargs)
        self.position = position

    @traitlets.validate("position")
    def _check_position(self, proposal):
        return self._in_range("position", proposal["value"], 0, max(len(self.tokens), 1),
                              f" (a column of the grid; the text has {len(self.tokens)} tokens)")

    def cell(self, stage: int, position: int) -> list[tuple[str, float]]:
        """The top-k (token, probability) pairs the view shows for one cell."""
        return self.result.top(stage, position)

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("tokens", str(len(self.tokens))), ("stages", str(len(self.stages))),
                ("k", str(self.topk_probs.shape[-1])), ("watched", repr(self.watch_tokens)),
                ("position", str(self.position))]
