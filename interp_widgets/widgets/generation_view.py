"""GenerationView: the prompt (grey) and the generated tokens coloured by their probability, the
alternatives and the entropy on hover; selecting a generated token computes, in Python, the
attribution of that token over its prefix and draws it under the text."""

from __future__ import annotations

from typing import Any

import torch
import traitlets

from ..hidden.generation import Generation
from ._base import ArrayTrait, ReportingView, check_result, vocabulary_index

METHODS = ("gradient_x_input", "attnlrp")


def step_attribution(model, generation: Generation, step: int, method: str = "gradient_x_input") -> torch.Tensor:
    """Relevance [prompt + step] of each prefix token for the logit of generated token ``step``
    at the last prefix position (the logit it was chosen from): one forward and one backward."""
    from ..attribution import Target, attnlrp, gradient_x_input

    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    n = len(generation.tokens)
    if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < n:
        raise ValueError(f"step must be an int in [0, {n}) (one of the {n} generated tokens), got {step!r}")
    prefix = torch.cat([generation.prompt_ids, generation.ids[:step]])
    target = Target.logit(int(generation.ids[step]), pos=-1)
    if method == "attnlrp":
        return attnlrp(model, prefix, target).input_scores.float()
    return gradient_x_input(model, prefix, target).scores.float()


def check_model(model, generation: Generation, atol: float = 1e-3) -> None:
    """Raise unless ``model`` gives the recorded probabilities of the generated tokens (one
    forward pass over prompt + generation), i.e. unless it is the model that generated them."""
    sequence = torch.cat([generation.prompt_ids, generation.ids])
    if int(sequence.max()) >= model.cfg.d_vocab:
        raise ValueError(f"the generation holds token ids beyond this model's vocabulary ({model.cfg.d_vocab}); "
                         f"pass the model that generated it ({generation.model_name!r})")
    with torch.no_grad():
        logits = model(sequence)[0, len(generation.prompt_ids) - 1: -1].float()
    probs = torch.softmax(logits, -1).gather(-1, generation.ids[:, None].to(logits.device))[:, 0].cpu()
    gap = float((probs - generation.probs.float()).abs().max())
    if gap > atol:
        raise ValueError(f"this model gives the generated tokens probabilities up to {gap:.3g} away from the "
                         f"recorded ones; pass the model that generated them ({generation.model_name!r})")


class GenerationView(ReportingView):
    """View of a :class:`~interp_widgets.hidden.Generation`.

    Eager data: ``prompt_tokens``, ``tokens`` (generated), ``probs`` / ``entropy`` [step],
    ``topk_probs`` / ``topk_index`` [step, k] (indices into ``vocab``). State: ``selected`` (a
    generated step, -1 none). With the ``model`` that generated it (checked: it must give the
    recorded probabilities), selecting step s sets ``relevance`` [prompt + s]
    (``method`` over the prefix, target the logit of the chosen token) and ``relevance_step``
    = s; without one, ``error`` says to pass it.
    """

    _bundle = "generation_view"

    prompt_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    vocab = traitlets.List(traitlets.Unicode()).tag(sync=True)
    title = traitlets.Unicode("").tag(sync=True)
    method = traitlets.Unicode("").tag(sync=True)
    probs = ArrayTrait(ndim=1)
    entropy = ArrayTrait(ndim=1)
    topk_probs = ArrayTrait(ndim=2)
    topk_index = ArrayTrait(ndim=2)

    selected = traitlets.Int(-1).tag(sync=True)
    relevance = ArrayTrait(ndim=1, allow_none=True)
    relevance_step = traitlets.Int(-1).tag(sync=True)

    def __init__(self, result: Generation, model=None, method: str = "gradient_x_input", **kwargs: Any) -> None:
        check_result("GenerationView", result, Generation, "iw.hidden.generate")
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, got {method!r}")
        if model is not None:
            check_model(model, result)
        self.result = result
        self.model = model
        vocab, index = vocabulary_index(result.topk_tokens)
        mode = "greedy" if result.greedy else f"sampled, T={result.temperature:g}, seed={result.seed}"
        super().__init__(prompt_tokens=list(result.prompt_tokens), tokens=list(result.tokens), vocab=vocab,
                         title=f"{mode} generation — {result.model_name}", method=method if model else "",
                         probs=result.probs, entropy=result.entropy, topk_probs=result.topk_probs,
                         topk_index=index, relevance=None, **kwargs)
        self.observe(self._attribute, names=["selected"])

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        return self._in_range("selected", proposal["value"], -1, len(self.tokens),
                              f" (a generated token; there are {len(self.tokens)}, -1 = none)")

    def _attribute(self, change: dict[str, Any]) -> None:
        step = change["new"]
        if step < 0:
            with self.hold_sync():
                self.relevance, self.relevance_step = None, -1
            return
        if self.model is None:
            self.error = ("no attribution: this view has no model; open it with "
                          "generation.show(model=model) to attribute a generated token")
            return
        try:
            scores = step_attribution(self.model, self.result, step, self.method)
        except (ValueError, RuntimeError) as exc:
            self.error = f"no attribution for generated token {step}: {exc}"
            return
        with self.hold_sync():
            self.relevance, self.relevance_step = scores, step
            self.error = ""

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("prompt_tokens", str(len(self.prompt_tokens))), ("tokens", str(len(self.tokens))),
                ("method", repr(self.method)), ("selected", str(self.selected))]
