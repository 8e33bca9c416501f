"""NeighborView: a corpus search result — the query token in context, the matches in context
(left / match / right) with similarity bars, and the histogram of the matches' tags."""

from __future__ import annotations

from typing import Any

import traitlets

from ..hidden.neighbor_index import Neighbors
from ._base import ArrayTrait, ReportingView, check_result


class NeighborView(ReportingView):
    """View of a :class:`~interp_widgets.hidden.Neighbors` search result.

    Eager data: ``query_tokens`` and ``query_position``; per match (best first) ``tokens``,
    ``left`` / ``right`` contexts, ``tags`` and ``similarities`` / ``doc_ids`` / ``positions``
    [k]; the tag histogram ``tag_names`` with ``tag_counts`` [tag]; after masking,
    ``predictions`` with ``prediction_probs`` [k_pred]. State: ``selected`` (the clicked match,
    -1 for none), whose tag is highlighted in the histogram.
    """

    _bundle = "neighbor_view"

    title = traitlets.Unicode("").tag(sync=True)
    query_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    query_position = traitlets.Int(0).tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    left = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    right = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    tags = traitlets.List(traitlets.Unicode()).tag(sync=True)
    tag_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    predictions = traitlets.List(traitlets.Unicode()).tag(sync=True)
    similarities = ArrayTrait(ndim=1)
    doc_ids = ArrayTrait(ndim=1)
    positions = ArrayTrait(ndim=1)
    tag_counts = ArrayTrait(ndim=1)
    prediction_probs = ArrayTrait(ndim=1)

    selected = traitlets.Int(-1).tag(sync=True)

    def __init__(self, result: Neighbors, **kwargs: Any) -> None:
        check_result("NeighborView", result, Neighbors, "NeighborIndex.search")
        self.result = result
        what = "masked " if result.masked else ""
        where = f"layer {result.layer} {result.kind}" + (f", heads {result.heads}" if result.kind == "context" else "")
        super().__init__(title=f"nearest neighbours of {what}{result.query_token!r} ({where})",
                         query_tokens=list(result.query_tokens), query_position=result.query_position,
                         tokens=list(result.tokens), left=[list(x) for x in result.left],
                         right=[list(x) for x in result.right], tags=list(result.tags),
                         tag_names=list(result.tag_counts), predictions=list(result.predictions),
                         similarities=result.similarities, doc_ids=result.doc_ids.float(),
                         positions=result.positions.float(), tag_counts=list(result.tag_counts.values()),
                         prediction_probs=result.prediction_probs, **kwargs)

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        return self._in_range("selected", proposal["value"], -1, len(self.tokens),
                              f" (a match, -1 for none; there are {len(self.tokens)} matches)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("query", repr(self.result.query_token)), ("matches", str(len(self.tokens))),
                ("tags", str(len(self.tag_names))), ("selected", str(self.selected))]
