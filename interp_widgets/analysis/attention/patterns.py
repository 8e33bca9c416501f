"""Attention patterns of one text, for the bertviz-style views (Vig 2019). Level 3 (attention).

:func:`patterns` runs the model once and keeps, for sequence 0 with padding removed, every
layer's attention weights ``[layer, head, query, key]`` and the post-rotary queries and keys
``[layer, pos, head, d_head]`` (keys expanded to one per query head) used by the query/key
("neuron") view. Long inputs are stored in float16 to bound memory (see ``dtype``).
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from ...model.tokens import word_groups
from ..result import Result

LONG_INPUT = 1024  # above this many tokens, patterns are stored in float16 by default


@dataclasses.dataclass(repr=False)
class AttentionPatterns(Result):
    """Attention weights of one text.

    ``patterns`` [layer, head, q, k] (rows sum to 1); ``queries``/``keys`` [layer, pos, head,
    d_head] (post-rotary for RoPE models; ``None`` when not recorded); ``segments`` [pos]
    (0 = sentence A, 1 = sentence B); ``is_special`` [pos]; ``token_to_word`` [pos] indexes
    ``words``.
    """

    levels: ClassVar[tuple[int, ...]] = (3,)

    tokens: list[str]
    patterns: torch.Tensor
    segments: list[int]
    is_special: list[bool]
    words: list[str]
    token_to_word: list[int]
    model_name: str
    family: str
    causal: bool
    queries: torch.Tensor | None = None
    keys: torch.Tensor | None = None

    @property
    def n_layers(self) -> int:
        return int(self.patterns.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.patterns.shape[1])

    @property
    def n_tokens(self) -> int:
        return int(self.patterns.shape[-1])

    def entropy(self) -> torch.Tensor:
        """Mean attention entropy (nats) over query rows, [layer, head]."""
        p = self.patterns.float()
        return -(p * torch.log(p.clamp_min(1e-12))).sum(-1).mean(-1)

    def word_patterns(self, layer: int) -> torch.Tensor:
        """Layer ``layer`` aggregated to words, [head, word_q, word_k]: attention *to* a word sums
        over its pieces, attention *from* a word is the mean over its pieces (rows sum to 1)."""
        p = self.patterns[layer].float()
        n_words = len(self.words)
        index = torch.tensor(self.token_to_word)
        onehot = torch.zeros(self.n_tokens, n_words).index_put_((torch.arange(self.n_tokens), index),
                                                                 torch.tensor(1.0))
        summed = torch.einsum("hqk,kw->hqw", p, onehot)
        counts = onehot.sum(0)
        return torch.einsum("hqw,qv->hvw", summed, onehot) / counts[None, :, None]

    def figure(self, kind: str = "head", layer: int = 0, heads=None, **kwargs):
        """``kind="head"`` (one layer, token columns, lines per head), ``"model"`` (layer × head
        grid of patterns) or ``"heatmap"`` (query × key matrices of ``heads`` in ``layer``)."""
        from ...widgets.attention_figures import attention_figure

        return attention_figure(self, kind=kind, layer=layer, heads=heads, **kwargs)

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.attention.AttentionView`."""
        from ...widgets.attention import AttentionView

        return AttentionView(self, **kwargs)


def _checked_heads(result: AttentionPatterns, heads) -> list[int]:
    if heads is None:
        return list(range(result.n_heads))
    heads = [heads] if isinstance(heads, int) else list(heads)
    for h in heads:
        if not isinstance(h, int) or not -result.n_heads <= h < result.n_heads:
            raise IndexError(f"head {h!r} is out of range: this model has {result.n_heads} heads per layer")
    return [h % result.n_heads for h in heads]


def _qk_names(model) -> tuple[str, str]:
    rotary = model.cfg.positional == "rotary"
    return ("hook_rot_q", "hook_rot_k") if rotary else ("hook_q", "hook_k")


def patterns(model, text, pair=None, *, qk: bool = True, dtype: torch.dtype | None = None) -> AttentionPatterns:
    """Attention patterns (and queries/keys) of ``text`` (and ``pair``, a second sentence for
    encoders) under ``model``; one forward pass.

    ``dtype``: storage type of the patterns and q/k; default float32 up to 1,024 tokens and
    float16 beyond (a 12 × 12-head model at 4,096 tokens then holds 4.8 GB instead of 9.7 GB).
    Needs attention weights, which the model layer records whatever the attention backend.
    """
    if not isinstance(text, str) and pair is None and not torch.is_tensor(text) and not (
            isinstance(text, (list, tuple)) and text and isinstance(text[0], int)):
        raise TypeError("patterns() takes one text (str) or one sequence of token ids; "
                        f"got {type(text).__name__}. For several texts, call it once per text.")
    encoded = model.encode(text, pair=pair)
    n_tokens = int(encoded.attention_mask[0].sum())
    store = dtype or (torch.float32 if n_tokens <= LONG_INPUT else torch.float16)
    keep = encoded.attention_mask[0].bool()
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    q_name, k_name = _qk_names(model)
    pats: list[torch.Tensor | None] = [None] * n_layers
    qs: list[torch.Tensor | None] = [None] * n_layers
    ks: list[torch.Tensor | None] = [None] * n_layers

    def grab(store_list, layer, select):
        def record(value):
            store_list[layer] = select(value.detach()[0]).to(store)
        return record

    def pattern_rows(p):  # [head, q, k] -> real tokens only
        return p[:, keep][:, :, keep]

    def qk_rows(x):  # [pos, head, d] -> real tokens, one key per query head
        x = x[keep]
        return x.repeat_interleave(n_heads // x.shape[1], dim=1) if x.shape[1] != n_heads else x

    hooks = {f"blocks.{l}.attn.hook_pattern": grab(pats, l, pattern_rows) for l in range(n_layers)}
    if qk:
        hooks.update({f"blocks.{l}.attn.{q_name}": grab(qs, l, qk_rows) for l in range(n_layers)})
        hooks.update({f"blocks.{l}.attn.{k_name}": grab(ks, l, qk_rows) for l in range(n_layers)})
    with model.patch(hooks):
        trace = model.run(text, names=[], pair=pair)
    ids = trace.input_ids[0][keep].tolist()
    groups = word_groups(model.tokenizer, ids)
    types = trace.token_type_ids
    segments = types[0][keep].tolist() if types is not None else [0] * n_tokens
    specials = set(getattr(model.tokenizer, "all_special_ids", []) or [])
    return AttentionPatterns(
        tokens=trace.str_tokens(0),
        patterns=torch.stack(pats),
        segments=[int(s) for s in segments],
        is_special=[i in specials for i in ids],
        words=list(groups.words),
        token_to_word=list(groups.token_to_word),
        model_name=str(model.name),
        family=str(model.cfg.family),
        causal=bool(model.cfg.causal),
        queries=torch.stack(qs) if qk else None,
        keys=torch.stack(ks) if qk else None,
    )


def pooled_max(matrix: np.ndarray, size: int) -> np.ndarray:
    """Block-max pooling of a [q, k] matrix to at most ``size`` × ``size`` (keeps sharp peaks)."""
    rows, cols = matrix.shape
    out_r, out_c = min(rows, size), min(cols, size)
    r_edges = np.linspace(0, rows, out_r + 1).astype(int)
    c_edges = np.linspace(0, cols, out_c + 1).astype(int)
    by_rows = np.maximum.reduceat(matrix, r_edges[:-1], axis=0)
    return np.maximum.reduceat(by_rows, c_edges[:-1], axis=1)


def describe(result: AttentionPatterns) -> dict[str, Any]:
    """Plain metadata of a result (for reprs and page captions)."""
    return {"model": result.model_name, "family": result.family, "tokens": result.n_tokens,
            "layers": result.n_layers, "heads": result.n_heads, "causal": result.causal}
