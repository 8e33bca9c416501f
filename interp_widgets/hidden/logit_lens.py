"""Logit lens (nostalgebraist 2020; ecco's ``layer_predictions``, with the final norm applied).

Levels 4 (layer outputs) and 5 (final outputs). Every intermediate residual ``x`` [pos, d_model]
is read out exactly as the model reads its last one:

    logits_lens(x) = head(final_norm(x))

with the model's own final norm and unembedding (``model.unembed``; for BERT/RoBERTa the whole
masked-LM head: dense, activation, LayerNorm, decoder). ecco skips the final norm, which
mis-scales early layers; here the last layer's ``resid_post`` lens is the model's logits.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import torch

from ..analysis.result import Result
from ._common import check_position, encode_one, resolve_token, token_label

POINTS = ("resid_pre", "resid_mid", "resid_post")
SHORT = {"resid_pre": "pre", "resid_mid": "mid", "resid_post": "post"}


@dataclasses.dataclass(repr=False)
class LogitLens(Result):
    """Lens read-outs of one text at ``stages`` (one per layer and point, in forward order).

    ``topk_ids``/``topk_probs`` [stage, pos, k] (probabilities under the lens softmax, sorted);
    ``entropy`` [stage, pos] in nats; ``watch_ranks`` [stage, pos, watched] (1 = top token) and
    ``watch_probs`` [stage, pos, watched]. For a causal model, position ``t`` predicts token t+1.
    """

    levels: ClassVar[tuple[int, ...]] = (4, 5)

    tokens: list[str]
    input_ids: torch.Tensor
    stages: list[str]
    layers: list[int]
    points: list[str]
    topk_ids: torch.Tensor
    topk_probs: torch.Tensor
    topk_tokens: list
    entropy: torch.Tensor
    watch_ids: list[int]
    watch_tokens: list[str]
    watch_ranks: torch.Tensor
    watch_probs: torch.Tensor
    model_name: str

    def top(self, stage: int, position: int) -> list[tuple[str, float]]:
        """The top-k (token, probability) pairs of one cell."""
        return list(zip(self.topk_tokens[stage][position], self.topk_probs[stage, position].tolist()))

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.logit_lens_view.LogitLensView`."""
        from ..widgets.logit_lens_view import LogitLensView

        return LogitLensView(self, **kwargs)

    def figure(self, position: int = -1, max_positions: int = 24, **kw):
        """Stage × position grid (cell text: top-1 lens token, colour: its probability) and, with
        watched tokens, their rank per stage at ``position`` (log scale)."""
        import matplotlib.pyplot as plt

        from ..figures import SEQUENTIAL, paper_style

        n_stage, n_pos = self.topk_probs.shape[:2]
        cols = list(range(max(0, n_pos - max_positions), n_pos))
        position = check_position(position, n_pos)
        watched = bool(self.watch_ids)
        with paper_style():
            width = kw.get("width", 1.0 + 0.55 * len(cols) + (2.6 if watched else 0))
            fig, axes = plt.subplots(1, 2 if watched else 1, squeeze=False,
                                     figsize=(width, kw.get("height", 0.9 + 0.22 * n_stage)),
                                     gridspec_kw={"width_ratios": [max(len(cols), 1) * 0.55, 2.4][: 1 + watched]})
            ax = axes[0, 0]
            probs = self.topk_probs[:, cols, 0].float().numpy()
            image = ax.imshow(probs, cmap=SEQUENTIAL, vmin=0, vmax=1, aspect="auto", origin="lower")
            for s in range(n_stage):
                for j, p in enumerate(cols):
                    ax.text(j, s, _short(self.topk_tokens[s][p][0]), ha="center", va="center", fontsize=5.5,
                            color="white" if probs[s, j] > 0.6 else "black")
            ax.set_xticks(range(len(cols)), [self.tokens[p] for p in cols], rotation=90)
            ax.set_yticks(range(n_stage), self.stages)
            ax.set_xlabel("input token (prediction for the next position)")
            ax.set_ylabel("layer · point")
            ax.set_title(f"logit lens (final norm applied) — {self.model_name}")
            fig.colorbar(image, ax=ax, fraction=0.04, pad=0.01, label="top-1 probability")
            if watched:
                rx = axes[0, 1]
                for w, label in enumerate(self.watch_tokens):
                    rx.plot(self.watch_ranks[:, position, w].numpy(), range(n_stage), marker="o", ms=2,
                            label=repr(label))
                rx.set_xscale("log")
                rx.set_yticks(range(n_stage), [])
                rx.set_ylim(-0.5, n_stage - 0.5)
                rx.set_xlabel("rank (1 = top)")
                rx.set_title(f"watched tokens at {self.tokens[position]!r}")
                rx.legend(frameon=False)
            fig.tight_layout()
        return fig


def _short(text: str, n: int = 7) -> str:
    text = text.replace("\n", "⏎")
    return text if len(text) <= n else text[: n - 1] + "…"


def _point_names(model, points) -> list[str]:
    if isinstance(points, str):
        points = (points,)
    points = list(points)
    bad = [p for p in points if p not in POINTS]
    if bad or not points:
        raise ValueError(f"points must be a non-empty subset of {POINTS}, got {points}")
    return [p for p in POINTS if p in points]


def residuals(model, trace, layer: int, point: str) -> torch.Tensor:
    """Residual [batch, pos, d_model] at ``blocks.{layer}.hook_{point}``; for parallel-residual
    blocks (no sequential mid point) ``resid_mid`` is resid_pre + attn_out."""
    name = f"blocks.{layer}.hook_{point}"
    if point == "resid_mid" and name not in model.hook_names:
        return trace[f"blocks.{layer}.hook_resid_pre"] + trace[f"blocks.{layer}.hook_attn_out"]
    return trace[name]


def _hook_names(model, points) -> list[str]:
    names = []
    for layer in range(model.cfg.n_layers):
        for point in points:
            name = f"blocks.{layer}.hook_{point}"
            if point == "resid_mid" and name not in model.hook_names:
                names += [f"blocks.{layer}.hook_resid_pre", f"blocks.{layer}.hook_attn_out"]
            else:
                names.append(name)
    return list(dict.fromkeys(names))


def logit_lens(model, text, k: int = 10, watch=None, points=POINTS) -> LogitLens:
    """Logit lens of one text (levels 4, 5).

    For every layer and every point in ``points`` (``resid_pre``: block input, ``resid_mid``:
    after attention, ``resid_post``: block output), apply the model's final norm and unembedding
    to the residual at each position. Returns the top-``k`` tokens with their probabilities
    ([stage, pos, k]), the entropy of each read-out, and for each ``watch`` token (strings that
    are single tokens, or ids) its rank (1 = top) and probability [stage, pos, watched].
    """
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= model.cfg.d_vocab:
        raise ValueError(f"k must be an int from 1 to the vocabulary size {model.cfg.d_vocab}, got {k!r}")
    watch = [] if watch is None else [watch] if isinstance(watch, (str, int)) else list(watch)
    watch_ids = [resolve_token(model, w, "watched token") for w in watch]
    points = _point_names(model, points)
    ids = encode_one(model, text)
    trace = model.run(ids, names=_hook_names(model, points))
    stages, layers, point_of, tops, top_p, ent, ranks, wprobs = [], [], [], [], [], [], [], []
    with torch.no_grad():
        for layer in range(model.cfg.n_layers):
            for point in points:
                logits = model.unembed(residuals(model, trace, layer, point)[0]).float()  # [pos, vocab]
                logp = torch.log_softmax(logits, dim=-1)
                p_top, i_top = logp.exp().topk(k, dim=-1)
                stages.append(f"L{layer} {SHORT[point]}")
                layers.append(layer)
                point_of.append(point)
                tops.append(i_top)
                top_p.append(p_top)
                ent.append(-(logp.exp() * logp).sum(-1))
                w = torch.tensor(watch_ids, dtype=torch.long)
                target = logits[:, w]  # [pos, watched]
                ranks.append((logits[:, None, :] > target[:, :, None]).sum(-1) + 1)
                wprobs.append(logp[:, w].exp())
    topk_ids = torch.stack(tops)
    labels = {}
    topk_tokens = [[[labels.setdefault(int(i), token_label(model, int(i))) for i in cell] for cell in row]
                   for row in topk_ids.tolist()]
    return LogitLens(tokens=model.to_str_tokens(ids), input_ids=ids, stages=stages, layers=layers,
                     points=point_of, topk_ids=topk_ids, topk_probs=torch.stack(top_p),
                     topk_tokens=topk_tokens, entropy=torch.stack(ent), watch_ids=watch_ids,
                     watch_tokens=[token_label(model, i) for i in watch_ids],
                     watch_ranks=torch.stack(ranks), watch_probs=torch.stack(wprobs), model_name=model.name)


__all__ = ["POINTS", "LogitLens", "logit_lens", "residuals"]
