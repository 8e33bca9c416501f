"""CompassView: the political compass (economic x, social y, quadrants shaded), models as points,
arrows between checkpoints; hover a model for its coordinates and answers, click it to list them."""

from __future__ import annotations

from typing import Any

import traitlets
from traitlets import TraitError

from ..outputs.compass import ANSWERS, PoliticalCompass
from ._base import ArrayTrait, check_result
from .model_map_view import ModelPointsView


class CompassView(ModelPointsView):
    """View of a :class:`~interp_widgets.outputs.PoliticalCompass` result.

    Eager data: ``coords`` [K, 2] (economic, social), ``p_agree`` [K, S] (NaN = unknown),
    ``answers`` [K, S, 4] distributions over ``answer_names``, ``bounds`` [2, 2] (min, max per
    axis), ``origin`` (economic, social), ``arrows`` ([from, to] model indices), ``names``,
    ``statement_ids``. State: ``selected`` ("" or the model whose answers are listed).
    """

    _bundle = "compass_view"

    statement_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    answer_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    arrows = traitlets.List(traitlets.List(traitlets.Int())).tag(sync=True)
    origin = traitlets.List(traitlets.Float()).tag(sync=True)
    p_agree = ArrayTrait(ndim=2)
    answers = ArrayTrait(ndim=3)
    bounds = ArrayTrait(shape=(2, 2))

    selected = traitlets.Unicode("").tag(sync=True)

    def __init__(self, result: PoliticalCompass, selected: str = "", **kwargs: Any) -> None:
        check_result("CompassView", result, PoliticalCompass, "iw.outputs.political_compass")
        self.result = result
        super().__init__(names=[str(n) for n in result.names], statement_ids=[str(s) for s in result.statement_ids],
                         answer_names=list(ANSWERS), arrows=[[int(i), int(j)] for i, j in result.arrows],
                         origin=[float(o) for o in result.origin],
                         title=f"political compass ({result.probe} probe, {result.mapping})",
                         coords=result.coords, p_agree=result.p_agree, answers=result.answers,
                         bounds=result.bounds, **kwargs)
        self.selected = selected

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        value = proposal["value"]
        if value and value not in self.names:
            raise TraitError(f"CompassView.selected must be '' or one of the models {self.names}, got {value!r}")
        return value

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("statements", str(len(self.statement_ids))),
                ("arrows", str(len(self.arrows))), ("selected", repr(self.selected))]
