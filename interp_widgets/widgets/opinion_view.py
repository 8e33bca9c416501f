"""OpinionView: per question, each model's answer distribution next to a human group's (bars);
with human data, the model × group representativeness heat map (a cell click picks the group);
with steering, the selected model's default and steered distributions for the selected group and
each context's representativeness. RepresentativenessView: the heat map and steering table alone."""

from __future__ import annotations

from typing import Any

import numpy as np
import traitlets

from ..outputs.opinions import (HumanDistributions, OpinionDistributions, Representativeness, _group_labels,
                                representativeness)
from ._base import ArrayTrait, ReportingView


class OpinionView(ReportingView):
    """View of an :class:`~interp_widgets.outputs.OpinionDistributions` result, optionally with
    :class:`~interp_widgets.outputs.HumanDistributions` on the same questions.

    Eager data: ``dist`` [K, Q, O] model distributions (NaN past a question's options),
    ``refusal`` [K, Q]; with humans, ``human`` [G, Q, O] and ``R`` [K, G] (representativeness,
    1 − mean normalised Wasserstein distance), else both empty; when the opinions were steered
    towards the humans' groups, ``steer_kinds`` [C], ``steered`` [C, G, K, Q, O] (context c towards
    group g, in the humans' group order) and ``steered_R`` [C, K, G], else empty; ``names``,
    ``groups`` (labels), ``question_ids``, ``options`` (per question). State: ``question``,
    ``group`` and ``model`` (whose steered distributions are drawn), indices.
    """

    _bundle = "opinion_view"

    names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    groups = traitlets.List(traitlets.Unicode()).tag(sync=True)
    question_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    options = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    steer_kinds = traitlets.List(traitlets.Unicode()).tag(sync=True)
    dist = ArrayTrait(ndim=3)
    refusal = ArrayTrait(ndim=2)
    human = ArrayTrait(ndim=3)
    R = ArrayTrait(ndim=2)
    steered = ArrayTrait(ndim=5)
    steered_R = ArrayTrait(ndim=3)

    question = traitlets.Int(0).tag(sync=True)
    group = traitlets.Int(0).tag(sync=True)
    model = traitlets.Int(0).tag(sync=True)

    def __init__(self, opinions: OpinionDistributions, humans: HumanDistributions | None = None,
                 question: int = 0, group: int = 0, model: int = 0, **kwargs: Any) -> None:
        if not isinstance(opinions, OpinionDistributions):
            raise TypeError(f"OpinionView shows an OpinionDistributions result (from iw.outputs.opinion_distributions), "
                            f"got {type(opinions).__name__}")
        if humans is not None and not isinstance(humans, HumanDistributions):
            raise TypeError(f"humans must be a HumanDistributions result, got {type(humans).__name__}")
        self.opinions, self.humans = opinions, humans
        k, q, o = opinions.dist.shape
        data = {"human": np.zeros((0, q, o)), "R": np.zeros((k, 0)), "groups": []}
        if humans is not None:
            rep = representativeness(opinions, humans)
            data = {"human": humans.dist, "R": rep.R, "groups": _group_labels(humans.attributes, humans.groups),
                    **_steering(rep)}
            if rep.steered_R is not None:
                index = {key: i for i, key in enumerate(zip(opinions.steer_attributes, opinions.steer_groups))}
                order = [index[key] for key in zip(humans.attributes, humans.groups)]
                data["steered"] = opinions.steered_dist[:, order]
        super().__init__(names=[str(n) for n in opinions.names], question_ids=[str(i) for i in opinions.question_ids],
                         options=[[str(x) for x in opts] for opts in opinions.options],
                         dist=opinions.dist, refusal=opinions.refusal, **data, **kwargs)
        self.question, self.group, self.model = question, group, model

    @traitlets.validate("question")
    def _check_question(self, proposal):
        n = len(self.question_ids)
        return self._in_range("question", proposal["value"], 0, max(n, 1), f" (one of the {n} questions)")

    @traitlets.validate("group")
    def _check_group(self, proposal):
        n = max(len(self.groups), 1)
        return self._in_range("group", proposal["value"], 0, n, f" (one of the {len(self.groups)} human groups)")

    @traitlets.validate("model")
    def _check_model(self, proposal):
        n = len(self.names)
        return self._in_range("model", proposal["value"], 0, n, f" (one of the {n} models)")

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("questions", str(len(self.question_ids))),
                ("groups", str(len(self.groups))), ("steering", repr(self.steer_kinds)),
                ("question", str(self.question)), ("group", str(self.group)), ("model", str(self.model))]


def _steering(rep: Representativeness) -> dict:
    if rep.steered_R is None:
        return {}
    return {"steer_kinds": [str(s) for s in rep.steer_kinds], "steered_R": rep.steered_R}


class RepresentativenessView(OpinionView):
    """View of a :class:`~interp_widgets.outputs.Representativeness` result: the model × group
    heat map of ``R`` and, with steering, each context's representativeness (``steered_R``
    [C, K, G]) for the selected group. No per-question data: ``question_ids`` is empty and the
    distribution arrays have zero-length question axes. State: ``group`` and ``model``."""

    def __init__(self, rep: Representativeness, group: int = 0, model: int = 0, **kwargs: Any) -> None:
        if not isinstance(rep, Representativeness):
            raise TypeError(f"RepresentativenessView shows a Representativeness result (from "
                            f"iw.outputs.representativeness), got {type(rep).__name__}")
        self.rep = rep
        k, g = rep.R.shape
        ReportingView.__init__(self, names=[str(n) for n in rep.names],
                               groups=_group_labels(rep.attributes, rep.groups), dist=np.zeros((k, 0, 0)),
                               refusal=np.zeros((k, 0)), human=np.zeros((g, 0, 0)), R=rep.R, **_steering(rep),
                               **kwargs)
        self.group, self.model = group, model

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("models", str(len(self.names))), ("groups", str(len(self.groups))),
                ("steering", repr(self.steer_kinds)), ("group", str(self.group)), ("model", str(self.model))]
