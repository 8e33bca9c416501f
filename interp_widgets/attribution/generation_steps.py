"""Attribution of every token of a greedy generation, step by step.

Step t explains the t-th generated token g_t: its logit (or probability) at the last position of
the prefix prompt + g_0 .. g_{t-1}, attributed to the tokens of that prefix by any token
attribution method. The rows form a steps x tokens matrix over the whole sequence
(prompt + generated tokens); row t covers the first n_prompt + t columns and holds NaN beyond.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ..figures import DIVERGING, paper_style
from .chefer import chefer
from .discretized_ig import dig, udig
from .faithfulness import _scores_of
from .gradients import gradient_x_input, integrated_gradients
from .layer_ig import layer_integrated_gradients
from .lrp import attnlrp, cp_lrp
from .results import LayerAttribution, TokenAttribution, _colorbar, _limit
from .sequential_ig import sig
from .targets import Target
from .token_relevance import token_relevance

METHODS: dict[str, Callable] = {
    "attnlrp": attnlrp, "cp_lrp": cp_lrp, "integrated_gradients": integrated_gradients,
    "gradient_x_input": gradient_x_input, "layer_integrated_gradients": layer_integrated_gradients,
    "dig": dig, "udig": udig, "sig": sig, "chefer": chefer, "token_relevance": token_relevance,
}
TARGETS = ("logit", "prob")


@dataclass(repr=False)
class GenerationAttribution(Result):
    """Token attributions of every generated token.

    ``tokens`` [n_prompt + steps] the prompt then the generated tokens, ``ids`` their ids;
    ``scores`` [steps, n_prompt + steps]: row t attributes generated token t (at column
    n_prompt + t) to columns 0 .. n_prompt + t - 1 and is NaN from column n_prompt + t on.
    ``targets`` [steps] the explained scalars' labels, ``target_values`` [steps] their values.
    For methods with per-layer relevance (attnlrp, cp_lrp, layer IG) ``layers`` names the rows
    of ``layer_scores`` [steps, layer, n_prompt + steps] (NaN-padded the same way), else None.
    """

    levels: ClassVar[tuple[int, ...]] = (1, 5)

    method: str
    tokens: list[str]
    ids: torch.Tensor
    n_prompt: int
    scores: torch.Tensor
    targets: list[str]
    target_values: torch.Tensor
    layers: list[str] | None = None
    layer_scores: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_steps(self) -> int:
        return self.scores.shape[0]

    @property
    def generated(self) -> list[str]:
        """The generated tokens."""
        return self.tokens[self.n_prompt:]

    def step(self, t: int) -> TokenAttribution:
        """Step ``t`` as a :class:`TokenAttribution` over its prefix (n_prompt + t tokens)."""
        if isinstance(t, bool) or not isinstance(t, int) or not -self.n_steps <= t < self.n_steps:
            raise ValueError(f"step must be an int in [0, {self.n_steps}), got {t!r}")
        t %= self.n_steps
        n = self.n_prompt + t
        return TokenAttribution(self.method, self.tokens[:n], self.scores[t, :n].clone(), self.targets[t],
                                float(self.target_values[t]))

    def figure(self, cmap: str = DIVERGING, normalize: str = "row"):
        """Steps x tokens heatmap (generated token on each row, the tokens it reads on the
        columns; blank beyond the prefix). ``normalize="row"`` scales each step by its own
        max |score|, ``"shared"`` uses one scale for all."""
        import matplotlib.pyplot as plt

        if normalize not in ("row", "shared"):
            raise ValueError("normalize must be 'row' or 'shared'")
        scores = self.scores.float().numpy()
        finite = np.where(np.isfinite(scores), scores, 0.0)
        if normalize == "row":
            shown = scores / np.array([[_limit(r)] for r in finite])
            vmax = 1.0
        else:
            shown, vmax = scores, _limit(finite)
        n_steps, n_tok = scores.shape
        labels = [t.replace("\n", "\\n") for t in self.tokens]
        with paper_style():
            fig = plt.figure(figsize=(max(4.0, 0.3 * n_tok + 2.0), 1.5 + 0.25 * n_steps))
            ax = fig.add_axes([0.18, 0.3, 0.66, 0.58])
            ax.imshow(np.ma.masked_invalid(shown), cmap=cmap, vmin=-vmax, vmax=vmax, aspect="auto",
                      interpolation="nearest")
            ax.set_yticks(range(n_steps), [f"{t}: {labels[self.n_prompt + t]}" for t in range(n_steps)])
            ax.set_xticks(range(n_tok), labels, rotation=90)
            ax.axvline(self.n_prompt - 0.5, color="0.3", lw=0.8, ls="--")
            ax.set_xlabel("token read (prompt | generated)")
            ax.set_ylabel("generated token")
            _colorbar(fig, [0.87, 0.3, 0.015, 0.58], vmax, cmap,
                      "relevance / row max" if normalize == "row" else "relevance")
            fig.suptitle(f"{self.method}: every generated token", x=0.02, ha="left", fontsize=9)
        return fig

    def show(self, **kwargs):
        """The :class:`~interp_widgets.widgets.relevance_view.RelevanceView`, one step at a time."""
        from ..widgets.relevance_view import RelevanceView

        return RelevanceView.from_results([self], **kwargs)


def _method(method) -> tuple[str, Callable]:
    if callable(method):
        return getattr(method, "__name__", "method"), method
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {sorted(METHODS)} or pass a callable "
                         "(model, ids, target, **kwargs) -> attribution")
    return method, METHODS[method]


def generation_attribution(model, prompt, max_new_tokens: int = 10, method="attnlrp", *, target: str = "logit",
                           stop_at_eos: bool = True, **method_kwargs) -> GenerationAttribution:
    """Generate greedily from ``prompt`` and attribute every generated token.

    Step t calls ``method(model, prefix_ids, Target.logit(g_t, pos=-1), **method_kwargs)``
    (``Target.prob`` with ``target="prob"``) on prefix = prompt + the first t generated tokens.
    ``method``: a name in :data:`METHODS` or a callable with that signature returning a
    :class:`TokenAttribution`, :class:`LayerAttribution` or a result with ``.attribution()``.
    Cost: ``max_new_tokens`` attributions of growing prefixes.
    """
    if not model.cfg.causal:
        raise ValueError(f"generation attribution needs a causal language model; this {model.cfg.family} model "
                         "is a bidirectional encoder: attribute a masked-token prediction with a method directly")
    if isinstance(max_new_tokens, bool) or not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS} (of each generated token), got {target!r}")
    name, fn = _method(method)
    from ..hidden.generation import generate

    gen = generate(model, prompt, max_new_tokens=max_new_tokens, greedy=True, stop_at_eos=stop_at_eos)
    prompt_ids = gen.prompt_ids.cpu()
    new_ids = gen.ids.cpu()
    ids = torch.cat([prompt_ids, new_ids.to(prompt_ids.dtype)])
    n_known = len(model.tokenizer)
    unknown = [int(i) for i in new_ids if int(i) >= n_known]
    if unknown:
        raise ValueError(f"the model generated token id {unknown[0]}, which its tokenizer (size {n_known}) cannot "
                         "show; the model's vocabulary is padded beyond the tokenizer's. Lower max_new_tokens to "
                         f"stop before it (step {new_ids.tolist().index(unknown[0])}) or use a matching tokenizer")
    n_prompt, n_steps = len(prompt_ids), len(new_ids)
    width = n_prompt + n_steps
    scores = torch.full((n_steps, width), float("nan"))
    layer_rows, layers, labels, values = [], None, [], []
    for t in range(n_steps):
        prefix = ids[:n_prompt + t]
        spec = Target.logit(int(new_ids[t]), pos=-1) if target == "logit" else Target.prob(int(new_ids[t]), pos=-1)
        result = fn(model, prefix, spec, **method_kwargs)
        s, label = _scores_of(result)
        scores[t, :len(prefix)] = s.float().cpu()
        labels.append(label if label is not None else f"{target}({gen.tokens[t]!r})")
        values.append(float(getattr(result, "target_value", float("nan"))))
        if isinstance(result, LayerAttribution):
            row = torch.full((len(result.layers), width), float("nan"))
            row[:, :len(prefix)] = result.scores.float().cpu()
            layer_rows.append(row)
            layers = list(result.layers)
    return GenerationAttribution(
        method=name, tokens=gen.prompt_tokens + list(gen.tokens), ids=ids, n_prompt=n_prompt, scores=scores,
        targets=labels, target_values=torch.tensor(values), layers=layers,
        layer_scores=torch.stack(layer_rows) if layer_rows else None,
        info={"target": target, "stop": gen.stop, "method_kwargs": sorted(method_kwargs)},
    )
