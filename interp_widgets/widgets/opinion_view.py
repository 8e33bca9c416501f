"""OpinionView: per question, each model's answer distribution next to a human group's (bars);
with human data, the model × group representativeness heat map (a cell click picks the group)."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..outputs.opinions import HumanDistributions, OpinionDistributions, _group_labels, representativeness
from ._base import ArrayTrait
from .logit_lens_view import ReportingView


class OpinionView(ReportingView):
    """View of an :class:`~interp_widgets.outputs.OpinionDistributions` result, optionally with
    :class:`~interp_widgets.outputs.HumanDistributions` on the same questions.

    Eager data: ``dist`` [K, Q, O] model distributions (NaN past a question's options),
    ``refusal`` [K, Q]; with humans, ``human`` [G, Q, O] and ``R`` [K, G] (representativeness,
    1 − mean normalised Wasserstein distance), else both empty; ``names``, ``groups`` (labels),
    ``question_ids``, ``options`` (per question). State: ``question`` and ``group`` (indices).
    """

    _bundle = "opinion_view"

    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    groups = traitlets.List(traitlets.Unicode()).tag(sync=True)
    question_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    options = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    dist = ArrayTrait(ndim=3)
    refusal = ArrayTrait(ndim=2)
    human = ArrayTrait(ndim=3)
    R = ArrayTrait(ndim=2)

    question = traitlets.Int(0).tag(sync=True)
    group = traitlets.Int(0).tag(sync=True)

    def __init__(self, opinions: OpinionDistributions, humans: HumanDistributions | None = None,
                 question: int = 0, group: int = 0, **kwargs: Any) -> None:
        if not isinstance(opinions, OpinionDistributions):
            raise TypeError(f"OpinionView shows an OpinionDistributions result (from iw.outputs.opinion_distributions), "
                            f"got {type(opinions).__name__}")
        if humans is not None and not isinstance(humans, HumanDistributions):
            raise TypeError(f"humans must be a HumanDistributions result, got {type(humans).__name__}")
        self.opinions, self.humans = opinions, humans
        k, q, o = opinions.dist.shape
        if humans is None:
            human, R, groups = np.zeros((0, q, o)), np.zeros((k, 0)), []
        else:
            R = representativeness(opinions, humans).R
            human, groups = humans.dist, _group_labels(humans.attributes, humans.groups)
        super().__init__(names=[str(n) for n in opinions.names], groups=[str(g) for g in groups],
                         question_ids=[str(i) for i in opinions.question_ids],
                         options=[[str(x) for x in opts] for opts in opinions.options],
                         dist=opinions.dist, refusal=opinions.refusal, human=human, R=R, **kwargs)
        self.question, self.group = question, group

    @traitlets.validate("question")
    def _check_question(self, proposal):
        n = len(self.question_ids)
        return self._in_range("question", proposal["value"], 0, n, f" (one of the {n} questions)")

    @traitlets.validate("group")
    def _check_group(self, proposal):
        n = max(len(self.groups), 1)
        return self._in_range("group", proposal["value"], 0, n, f" (one of the {len(self.groups)} human groups)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("questions", str(len(self.question_ids))),
                ("groups", str(len(self.groups))), ("question", str(self.question)), ("group", str(self.group))]
