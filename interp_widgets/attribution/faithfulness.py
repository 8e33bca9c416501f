"""Perturbation faithfulness of token attributions: MoRF/LeRF curves, the area between them,
log-odds, comprehensiveness and sufficiency at a top-k (DeYoung et al. 2020; Chen et al. 2019).

Tokens are removed by replacing their word embedding with a replacement token's (positions and
token types stay), in the order of an attribution: most relevant first (MoRF) or least relevant
first (LeRF, the exact reverse order). Step k of a curve has exactly k tokens removed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ..figures import paper_style
from ._forward import Runner, resolve_baseline
from .results import LayerAttribution, TokenAttribution
from .targets import resolve_target

REPLACEMENTS = ("pad", "mask", "unk")


@dataclass(repr=False)
class Faithfulness(Result):
    """Curves and scores of several attributions of one input, one row per ``methods`` entry.

    ``fractions`` [T + 1] = k / T; ``morf``/``lerf`` [method, T + 1] the ``measure`` with the k
    most / least relevant tokens removed; ``order`` [method, T] the MoRF removal order;
    ``area`` [method] = ∫ (LeRF - MoRF) d fraction (trapezoid; larger is more faithful).
    At ``top_k`` tokens: ``comprehensiveness`` = m(x) - m(x without the top k) (larger is
    better), ``sufficiency`` = m(x) - m(only the top k kept) (smaller is better),
    ``log_odds`` = log p(x without the top k) - log p(x) (more negative is better; NaN unless
    ``measure == "prob"``).
    """

    levels: ClassVar[tuple[int, ...]] = (1, 5)

    methods: list[str]
    tokens: list[str]
    target: str
    measure: str
    replacement: str
    top_k: int
    fractions: torch.Tensor
    morf: torch.Tensor
    lerf: torch.Tensor
    order: torch.Tensor
    area: torch.Tensor
    comprehensiveness: torch.Tensor
    sufficiency: torch.Tensor
    log_odds: torch.Tensor
    info: dict[str, Any] = field(default_factory=dict, repr=False)

    def table(self) -> list[dict[str, Any]]:
        """One row per method: area, comprehensiveness, sufficiency, log-odds."""
        return [{"method": m, "area": float(self.area[i]), "comprehensiveness": float(self.comprehensiveness[i]),
                 "sufficiency": float(self.sufficiency[i]), "log_odds": float(self.log_odds[i])}
                for i, m in enumerate(self.methods)]

    def figure(self, width: float = 4.2):
        """MoRF (solid) and LeRF (dashed) curves of every method on one axis."""
        import matplotlib.pyplot as plt

        x = self.fractions.numpy()
        with paper_style():
            fig, ax = plt.subplots(figsize=(width, 3.0))
            for i, name in enumerate(self.methods):
                color = f"C{i % 10}"
                ax.plot(x, self.morf[i].numpy(), color=color, lw=1.2,
                        label=f"{name} (area {float(self.area[i]):.3g})")
                ax.plot(x, self.lerf[i].numpy(), color=color, lw=1.2, ls="--")
            ax.axvline(self.top_k / max(len(self.fractions) - 1, 1), color="0.6", lw=0.6, ls=":")
            ax.plot([], [], color="0.3", lw=1.2, label="MoRF (most relevant removed first)")
            ax.plot([], [], color="0.3", lw=1.2, ls="--", label="LeRF (least relevant first)")
            ax.set_xlabel(f"fraction of tokens replaced by {self.replacement}")
            ax.set_ylabel(self.measure)
            ax.set_title(self.target)
            ax.legend(frameon=False, fontsize=6)
            fig.tight_layout()
        return fig


def _scores_of(attribution) -> tuple[torch.Tensor, str | None]:
    """(scores [T], target label or None) of a result or an array."""
    if hasattr(attribution, "attribution") and callable(attribution.attribution):
        attribution = attribution.attribution()
    if isinstance(attribution, TokenAttribution):
        return attribution.scores, attribution.target
    if isinstance(attribution, LayerAttribution):
        if attribution.input_scores is None:
            raise ValueError(f"this {attribution.method} result has no input-token scores; pass "
                             "one of its rows with .row(i)")
        return attribution.input_scores, attribution.target
    values = torch.as_tensor(np.asarray(attribution, dtype=np.float64))
    if values.ndim != 1:
        raise ValueError(f"an attribution array must have shape (T,); got {tuple(values.shape)}")
    return values, None


def _method_name(attribution, i: int) -> str:
    if hasattr(attribution, "attribution") and callable(attribution.attribution):
        attribution = attribution.attribution()
    return getattr(attribution, "method", None) or f"attribution {i}"


def _replacement_id(model, replacement) -> int:
    tok = model.tokenizer
    if isinstance(replacement, str):
        if replacement not in REPLACEMENTS:
            raise ValueError(f"replacement must be one of {REPLACEMENTS} or a token id; got {replacement!r}")
        ids = {"pad": [tok.pad_token_id, tok.eos_token_id], "mask": [tok.mask_token_id],
               "unk": [tok.unk_token_id]}[replacement]
        found = next((i for i in ids if i is not None), None)
        if found is None:
            raise ValueError(f"this tokenizer has no {replacement} token; pass another replacement "
                             "or a token id")
        return int(found)
    if isinstance(replacement, bool) or not isinstance(replacement, int) or not 0 <= replacement < model.cfg.d_vocab:
        raise ValueError(f"replacement token id {replacement!r} is not in [0, {model.cfg.d_vocab})")
    return replacement


def _top_k(top_k, n_tok: int) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, (int, float)):
        raise ValueError(f"top_k must be a fraction in [0, 1] or a token count; got {top_k!r}")
    if isinstance(top_k, float):
        if not 0.0 <= top_k <= 1.0:
            raise ValueError(f"top_k as a fraction must lie in [0, 1]; got {top_k}")
        return int(math.floor(top_k * n_tok + 0.5))
    if not 0 <= top_k <= n_tok:
        raise ValueError(f"top_k = {top_k} tokens is out of range for an input of {n_tok} tokens "
                         f"(valid: 0 to {n_tok}, or a fraction in [0, 1])")
    return top_k


def faithfulness(model, inputs, attributions, target=None, *, replacement="pad", top_k=0.2,
                 measure: str | None = None, internal_batch_size: int | None = None,
                 pair=None, keep_specials: bool = False) -> Faithfulness:
    """MoRF/LeRF curves and top-k scores of one or more token attributions of ``inputs``.

    ``attributions``: a :class:`TokenAttribution`, :class:`LayerAttribution` (its input
    scores), a result with ``.attribution()`` (token_relevance, chefer), an array of shape
    (T,), or a list / ``{name: attribution}`` of them. ``target`` must be what they explain
    (checked against their target label). ``replacement``: ``"pad"``, ``"mask"``, ``"unk"``
    or a token id. ``top_k``: a fraction of the tokens (rounded) or a count. ``measure``:
    ``"prob"`` (the target token's or class's probability; the default where there is one)
    or ``"target"`` (the target value itself, e.g. a logit). 2 (T + 1) input rows per
    attribution, run ``internal_batch_size`` rows per forward pass. ``keep_specials``: never
    replace the tokenizer's special tokens (BOS, CLS, SEP, ...); the curves then run over the
    T' other tokens (steps 0 .. T', ``order`` [method, T'], ``top_k`` counted among them) and
    the specials' scores are ignored.
    """
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    if isinstance(attributions, Mapping):
        named = list(attributions.items())
    elif isinstance(attributions, (list, tuple)):
        named = [(_method_name(a, i), a) for i, a in enumerate(attributions)]
    else:
        named = [(_method_name(attributions, 0), attributions)]
    if not named:
        raise ValueError("no attributions given")
    n_tok = runner.n_pos
    scores = []
    for name, a in named:
        s, label = _scores_of(a)
        if s.shape[0] != n_tok:
            raise ValueError(f"attribution {name!r} has {s.shape[0]} scores but the input has {n_tok} "
                             "tokens; attribute the same input (same special tokens) you pass here")
        if label is not None and label != bound.label:
            raise ValueError(f"attribution {name!r} explains {label!r} but the target here is "
                             f"{bound.label!r}; pass the same target")
        scores.append(s.double().cpu())
    has_prob = bound.spec.kind in ("logit", "prob", "class")
    measure = measure or ("prob" if has_prob else "target")
    if measure not in ("prob", "target") or (measure == "prob" and not has_prob):
        raise ValueError(f"measure must be 'target' or, for token/class targets, 'prob'; got {measure!r}")
    n_all = n_tok
    special = set(model.tokenizer.all_special_ids) if keep_specials else set()
    movable = torch.tensor([i for i, t in enumerate(runner.input_ids.tolist()) if t not in special], dtype=torch.long)
    n_tok = len(movable)
    if n_tok == 0:
        raise ValueError("every token of this input is a special token; with keep_specials=True nothing "
                         "can be removed")
    k_top = _top_k(top_k, n_tok)
    rep = _replacement_id(model, replacement)
    x = runner.embeddings
    base = resolve_baseline(runner, rep)
    orders = torch.stack([movable[torch.argsort(-s[movable], stable=True)] for s in scores])  # [method, T']
    steps = torch.arange(n_tok + 1)
    # removal masks [method, 2 (morf, lerf), T' + 1, T]: step k removes the first k of the order;
    # fixed positions get rank T' and are never removed
    rank = torch.full((len(scores), n_all), n_tok, dtype=torch.long)
    rank.scatter_(1, orders, torch.arange(n_tok).expand_as(orders))
    fixed = rank == n_tok
    morf_mask = rank[:, None, :] < steps[None, :, None]
    lerf_mask = ((n_tok - 1 - rank)[:, None, :] < steps[None, :, None]) & ~fixed[:, None, :]
    masks = torch.stack([morf_mask, lerf_mask], 1).reshape(-1, n_all).to(x.device)
    chunk = runner.chunk_size(internal_batch_size)
    values = []
    with torch.no_grad():
        for i in range(0, len(masks), chunk):
            m = masks[i:i + chunk, :, None]
            logits = runner.logits(torch.where(m, base, x))
            values.append(_measure(bound, logits, measure).double().cpu())
    curves = torch.cat(values).reshape(len(named), 2, n_tok + 1)
    morf, lerf = curves[:, 0], curves[:, 1]
    fractions = steps.double() / n_tok
    area = torch.trapezoid(lerf - morf, fractions, dim=-1)
    full = morf[:, 0]
    log_odds = (morf[:, k_top].log() - full.log()) if measure == "prob" else torch.full_like(full, float("nan"))
    return Faithfulness(
        methods=[n for n, _ in named], tokens=runner.tokens, target=bound.label, measure=measure,
        replacement=model.to_str_tokens([rep])[0], top_k=k_top, fractions=fractions.float(),
        morf=morf.float(), lerf=lerf.float(), order=orders, area=area.float(),
        comprehensiveness=(full - morf[:, k_top]).float(),
        sufficiency=(full - lerf[:, n_tok - k_top]).float(), log_odds=log_odds.float(),
        info={"replacement_id": rep, "forward_rows": int(len(masks)),
              "kept_positions": sorted(set(range(n_all)) - set(movable.tolist()))},
    )


def _measure(bound, logits: torch.Tensor, measure: str) -> torch.Tensor:
    if measure == "target":
        return bound(logits)
    row = logits if bound.spec.kind == "class" else logits[:, bound.pos]
    return row.double().softmax(-1)[:, bound.token]
