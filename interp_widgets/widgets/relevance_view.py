"""RelevanceView: text coloured by signed relevance, one row per attribution method, with the
generation steps, a layers x tokens map, token-to-token redistribution and faithfulness curves;
and :func:`link_tokens`, which keeps the selected token of several views equal."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import traitlets
from traitlets import TraitError

from ._base import ArrayTrait, InterpWidget

NORMALIZE = ("shared", "row")


class RelevanceView(InterpWidget):
    """Attributions of one text (or of every step of a generation) side by side.

    Data: ``tokens`` [T]; ``methods`` [M] the row names; ``scores`` [S, M, T] the relevance of
    every token per step and method (S = 1 unless a generation; NaN where a step does not read
    the token); ``targets`` [S] what each step explains; ``n_prompt`` the tokens before the first
    generated one (= T for one text). Optional: ``layer_scores`` [S, L, T] with row names
    ``layer_names`` (from ``layer_method``); ``redistribution`` [T, T], row i the share of
    position i's relevance that each input token receives (token_relevance's chained map);
    ``faith_fractions`` [F], ``faith_morf`` / ``faith_lerf`` [M', F] for ``faith_methods``.
    State: ``step`` in [0, S), ``normalize`` (``"shared"``: one colour scale for all rows of a
    step; ``"row"``: each row by its own max |relevance|), ``token`` (selected, -1 none).
    """

    _bundle = "relevance_view"

    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    methods = traitlets.List(traitlets.Unicode()).tag(sync=True)
    targets = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_prompt = traitlets.Int(0).tag(sync=True)
    scores = ArrayTrait(ndim=3)
    layer_names = traitlets.List(traitlets.Unicode()).tag(sync=True)
    layer_method = traitlets.Unicode("").tag(sync=True)
    layer_scores = ArrayTrait(ndim=3)
    redistribution = ArrayTrait(ndim=2)
    faith_methods = traitlets.List(traitlets.Unicode()).tag(sync=True)
    faith_measure = traitlets.Unicode("").tag(sync=True)
    faith_fractions = ArrayTrait(ndim=1)
    faith_morf = ArrayTrait(ndim=2)
    faith_lerf = ArrayTrait(ndim=2)

    step = traitlets.Int(0).tag(sync=True)
    normalize = traitlets.Unicode("shared").tag(sync=True)
    token = traitlets.Int(-1).tag(sync=True)

    def __init__(self, tokens: Sequence[str], methods: Sequence[str], scores: Any, *, targets: Sequence[str] = (),
                 n_prompt: int | None = None, **kwargs: Any) -> None:
        scores = np.asarray(scores, dtype=np.float32)
        if scores.ndim == 2:
            scores = scores[None]
        if scores.ndim != 3 or scores.shape[1:] != (len(methods), len(tokens)):
            raise ValueError(f"scores must have shape [steps, methods, tokens] = [S, {len(methods)}, {len(tokens)}] "
                             f"(or [methods, tokens]); got {scores.shape}")
        if scores.shape[0] < 1 or not methods:
            raise ValueError("a RelevanceView needs at least one step and one method")
        targets = list(targets) or [""] * scores.shape[0]
        if len(targets) != scores.shape[0]:
            raise ValueError(f"got {len(targets)} target labels for {scores.shape[0]} steps")
        n_prompt = len(tokens) if n_prompt is None else n_prompt
        T = len(tokens)
        checks = {"layer_scores": (3, lambda s: s[0] == scores.shape[0] and s[2] == T, "[steps, layers, tokens]"),
                  "redistribution": (2, lambda s: s == (T, T), "[tokens, tokens]")}
        for key, (ndim, ok, what) in checks.items():
            if key in kwargs and kwargs[key] is not None:
                arr = np.asarray(kwargs[key], dtype=np.float32)
                if arr.ndim != ndim or not ok(arr.shape):
                    raise ValueError(f"{key} must have shape {what} with {scores.shape[0]} steps and {T} tokens; "
                                     f"got {arr.shape}")
                kwargs[key] = arr
            else:
                kwargs.pop(key, None)
        layer_scores = kwargs.get("layer_scores")
        if layer_scores is not None and len(kwargs.get("layer_names", [])) != layer_scores.shape[1]:
            raise ValueError("layer_names must name every row of layer_scores")
        super().__init__(tokens=[str(t) for t in tokens], methods=[str(m) for m in methods], scores=scores,
                         targets=[str(t) for t in targets], n_prompt=int(n_prompt), **kwargs)

    @classmethod
    def from_results(cls, results, *, faithfulness=None, **kwargs: Any) -> RelevanceView:
        """A view of attribution results of one input (or one generation), one row each.

        ``results``: TokenAttribution, LayerAttribution (its input scores as a row and its
        layers x tokens map), TokenRelevance (its chained relevance as a row and its
        redistribution map), CheferRelevance, GenerationAttribution (one row per method, one
        step per generated token), Faithfulness (curves); all of the same tokens.
        ``faithfulness`` may also be passed here. ``kwargs``: initial state (``normalize``,
        ``step``, ``token``).
        """
        from ..attribution.faithfulness import Faithfulness, _scores_of
        from ..attribution.generation_steps import GenerationAttribution
        from ..attribution.results import LayerAttribution
        from ..attribution.token_relevance import TokenRelevance

        items = list(results) if isinstance(results, (list, tuple)) else [results]
        if faithfulness is not None:
            items.append(faithfulness)
        faiths = [r for r in items if isinstance(r, Faithfulness)]
        rows = [r for r in items if not isinstance(r, Faithfulness)]
        if not rows:
            raise ValueError("pass at least one attribution result (TokenAttribution, LayerAttribution, ...)")
        if len(faiths) > 1:
            raise ValueError("pass at most one Faithfulness result (it already compares several methods)")
        gens = [r for r in rows if isinstance(r, GenerationAttribution)]
        if gens and len(gens) != len(rows):
            raise ValueError("a generation's attributions cannot share a view with single-input results; "
                             "show them separately")
        state: dict[str, Any] = {}
        if gens:
            tokens, n_prompt = gens[0].tokens, gens[0].n_prompt
            for g in gens[1:]:
                if g.tokens != tokens or g.n_prompt != n_prompt:
                    raise ValueError("every GenerationAttribution must come from the same generation")
            scores = np.stack([g.scores.float().numpy() for g in gens], 1)
            methods, targets = [g.method for g in gens], gens[0].targets
            layered = next((g for g in gens if g.layer_scores is not None), None)
            if layered is not None:
                state.update(layer_names=list(layered.layers), layer_method=layered.method,
                             layer_scores=layered.layer_scores.float().numpy())
        else:
            tokens = None
            methods, vectors = [], []
            for r in rows:
                inner = r.attribution() if hasattr(r, "attribution") and callable(r.attribution) else r
                r_tokens = getattr(inner, "tokens", None)
                if tokens is None:
                    tokens = r_tokens
                elif r_tokens != tokens:
                    raise ValueError(f"{getattr(inner, 'method', type(r).__name__)} attributes other tokens "
                                     f"({len(r_tokens)}) than the first result ({len(tokens)}); show results "
                                     "of one input together")
                s, _ = _scores_of(r)
                methods.append(getattr(inner, "method", type(r).__name__))
                vectors.append(s.float().cpu().numpy())
                if isinstance(r, LayerAttribution) and "layer_scores" not in state:
                    state.update(layer_names=list(r.layers), layer_method=r.method,
                                 layer_scores=r.scores.float().numpy()[None])
                if isinstance(r, TokenRelevance) and "redistribution" not in state:
                    state["redistribution"] = r.joint.float().numpy()
            scores, n_prompt = np.stack(vectors)[None], len(tokens)
            targets = [getattr(rows[0], "target", "")]
        if faiths:
            f = faiths[0]
            if list(f.tokens) != list(tokens):
                raise ValueError("the Faithfulness result is of other tokens than the attributions")
            state.update(faith_methods=list(f.methods), faith_measure=f.measure,
                         faith_fractions=f.fractions.float().numpy(), faith_morf=f.morf.float().numpy(),
                         faith_lerf=f.lerf.float().numpy())
        view = cls(tokens, methods, scores, targets=targets, n_prompt=n_prompt, **state, **kwargs)
        view.results = items
        return view

    @traitlets.validate("step")
    def _check_step(self, proposal):
        return self._in_range("step", proposal["value"], 0, max(self.scores.shape[0], 1), " (a generation step)")

    @traitlets.validate("token")
    def _check_token(self, proposal):
        return self._in_range("token", proposal["value"], -1, len(self.tokens), " (a token index, -1 = none)")

    @traitlets.validate("normalize")
    def _check_normalize(self, proposal):
        if proposal["value"] not in NORMALIZE:
            raise TraitError(f"RelevanceView.normalize must be one of {list(NORMALIZE)}, got {proposal['value']!r}")
        return proposal["value"]

    def figure(self, **kwargs):
        """The publication figure of what the view shows: the first result's ``figure()``, or,
        for several, the comparison figure (rows of coloured text and faithfulness curves)."""
        results = getattr(self, "results", None)
        if not results:
            raise ValueError("this view was not built from results; call .figure() on the results")
        rows = [r for r in results if type(r).__name__ != "Faithfulness"]
        if len(rows) == 1 and len(results) == 1:
            return rows[0].figure(**kwargs)
        from ..attribution.compare import comparison_figure

        faith = next((r for r in results if type(r).__name__ == "Faithfulness"), None)
        return comparison_figure(rows, faith, normalize=self.normalize, **kwargs)

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("tokens", str(len(self.tokens))), ("methods", repr(self.methods)),
                ("steps", str(self.scores.shape[0])), ("layers", str(len(self.layer_names))),
                ("step", str(self.step)), ("normalize", repr(self.normalize)), ("token", str(self.token))]


def _token_trait(view) -> str:
    for name in ("token", "selected"):
        if isinstance(view, InterpWidget) and view.has_trait(name) and view.has_trait("tokens"):
            return name
    raise TypeError(f"link_tokens takes views with a selected-token trait (RelevanceView, AttentionView, NormView, "
                    f"TokenStrip, ...); got {type(view).__name__}")


class TokenLink:
    """Keeps the selected token of several views equal (see :func:`link_tokens`)."""

    def __init__(self, views: Sequence[InterpWidget]) -> None:
        names = [_token_trait(v) for v in views]
        counts = {len(v.tokens) for v in views}
        if len(counts) != 1:
            raise ValueError(f"linked views must show the same tokens; they have {sorted(counts)} tokens: build them "
                             "from the same text (for a generation, the prompt plus the generated tokens)")
        self.views = list(views)
        self.names = names
        first = (views[0], names[0])
        self._links = [traitlets.link(first, (v, n)) for v, n in zip(views[1:], names[1:])]

    @property
    def html_links(self) -> list[tuple[InterpWidget, str, InterpWidget, str]]:
        """The same links for :func:`~interp_widgets.widgets.html.save_html` (``links=``)."""
        a, na = self.views[0], self.names[0]
        return [(a, na, v, n) for v, n in zip(self.views[1:], self.names[1:])]

    def unlink(self) -> None:
        for link in self._links:
            link.unlink()
        self._links = []


def link_tokens(*views: InterpWidget) -> TokenLink:
    """Select a token in one view and the others follow: links the ``token`` (or ``selected``)
    traits of ``views`` both ways, in Python and, through ``.html_links``, in saved pages."""
    if len(views) < 2:
        raise ValueError("link_tokens needs at least two views")
    return TokenLink(views)
