"""Attention patterns of one text, for the bertviz-style views (Vig 2019). Level 3 (attention).

:func:`patterns` runs the model once and keeps, for sequence 0 with padding removed, the
post-rotary queries and keys ``[layer, pos, head, d_head]`` (keys expanded to one per query
head) used by the query/key ("neuron") view, and the attention weights ``[layer, head, query,
key]`` in one of two forms:

* stored (up to :data:`LAZY_TOKENS` tokens): the full tensor ``patterns``;
* lazy (longer inputs): no ``[L, H, T, T]`` tensor (9.7 GB in float32 for 12 × 12 heads at
  4,096 tokens). Any block is recomputed exactly on demand as ``exp(scale · q·k - lse)``
  from the float32 queries and keys and each row's log-sum-exp ``lse`` [layer, head, query]
  recorded during the forward pass. Each layer is checked at capture against the weights
  the model computed; a layer that does not match (sliding windows, ALiBi, soft-capping...)
  is kept instead in float16 in ``stored_layers``. Memory is O(L·T·H·d_head + L·H·T).

Read weights through :meth:`AttentionPatterns.pattern`, which works in both forms.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import numpy as np
import torch

from ...model.tokens import word_groups
from ..result import Result

LAZY_TOKENS = 1024  # above this many tokens, patterns are recomputed on demand by default
THUMBNAIL_SIZE = 48  # side of the block-max pooled per-head overviews of the model view
MATCH_TOLERANCE = 1e-4  # largest |recomputed - model| weight for a layer to be recomputed lazily


@dataclasses.dataclass(repr=False)
class AttentionPatterns(Result):
    """Attention weights of one text.

    ``patterns`` [layer, head, q, k] (rows sum to 1; ``None`` for a lazy result, see the
    module docs); ``queries``/``keys`` [layer, pos, head, d_head] (post-rotary for RoPE models;
    ``None`` when not recorded); ``segments`` [pos] (0 = sentence A, 1 = sentence B);
    ``is_special`` [pos]; ``token_to_word`` [pos] indexes ``words``. Lazy results also hold
    ``lse`` [layer, head, q], ``scale``, ``stored_layers`` [n, head, q, k] (float16) for the
    layers listed in ``stored_index``, ``head_entropy`` [layer, head] and ``thumbnails``
    [layer, head, s, s] (block-max pooled weights, s = min(T, :data:`THUMBNAIL_SIZE`), float16),
    all recorded during the forward pass so that overviews never recompute every head.
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
    lse: torch.Tensor | None = None
    scale: float = 0.0
    stored_layers: torch.Tensor | None = None
    stored_index: list[int] = dataclasses.field(default_factory=list)
    head_entropy: torch.Tensor | None = None
    thumbnails: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.patterns is None and (self.lse is None or self.queries is None or self.keys is None):
            raise ValueError("an AttentionPatterns without patterns needs queries, keys and lse "
                             "(compute it with iw.attention.patterns)")

    @property
    def lazy(self) -> bool:
        """True when weights are recomputed on demand instead of stored."""
        return self.patterns is None

    @property
    def n_layers(self) -> int:
        return int((self.lse if self.lazy else self.patterns).shape[0])

    @property
    def n_heads(self) -> int:
        return int((self.lse if self.lazy else self.patterns).shape[1])

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    def pattern(self, layer: int, heads=None, rows: slice = slice(None), cols: slice = slice(None)) -> torch.Tensor:
        """Attention weights of ``layer``, float32 [head, q, k] for ``heads`` (an int, a list or
        ``None`` = all) and the query ``rows`` / key ``cols`` slices (step 1)."""
        head_index = list(range(self.n_heads)) if heads is None else [heads] if isinstance(heads, int) else list(heads)
        if not self.lazy:
            return self.patterns[layer][head_index][:, rows][:, :, cols].float()
        if layer in self.stored_index:
            block = self.stored_layers[self.stored_index.index(layer)]
            return block[head_index][:, rows][:, :, cols].float()
        q0, q1, _ = rows.indices(self.n_tokens)
        k0, k1, _ = cols.indices(self.n_tokens)
        q = self.queries[layer, q0:q1][:, head_index].float()
        k = self.keys[layer, k0:k1][:, head_index].float()
        return recompute(q, k, self.lse[layer, head_index, q0:q1], self.scale, self.causal, q0, k0)

    def entropy(self) -> torch.Tensor:
        """Mean attention entropy (nats) over query rows, [layer, head]."""
        if self.head_entropy is not None:
            return self.head_entropy.float()
        p = self.patterns.float() if not self.lazy else torch.stack(
            [torch.cat([self.pattern(l, h) for h in range(self.n_heads)]) for l in range(self.n_layers)])
        return -(p * torch.log(p.clamp_min(1e-12))).sum(-1).mean(-1)

    def word_patterns(self, layer: int) -> torch.Tensor:
        """Layer ``layer`` aggregated to words, [head, word_q, word_k]: attention *to* a word sums
        over its pieces, attention *from* a word is the mean over its pieces (rows sum to 1)."""
        p = self.pattern(layer)
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


def recompute(q: torch.Tensor, k: torch.Tensor, lse: torch.Tensor, scale: float, causal: bool,
              q0: int = 0, k0: int = 0) -> torch.Tensor:
    """Attention weights from queries ``q`` [tq, head, d], keys ``k`` [tk, head, d] and each row's
    log-sum-exp ``lse`` [head, tq]: ``exp(scale · q·k - lse)``, [head, tq, tk]; with ``causal``,
    keys after the query (positions offset by ``q0``/``k0``) get 0."""
    scores = torch.einsum("qhd,khd->hqk", q, k).mul_(scale)
    if causal:  # positions offset by q0/k0
        later = (torch.arange(k.shape[0]) + k0)[None, :] > (torch.arange(q.shape[0]) + q0)[:, None]
        scores.masked_fill_(later, float("-inf"))
    return scores.sub_(lse[..., None]).exp_()


def _row_lse(p: torch.Tensor, q: torch.Tensor, k: torch.Tensor, scale: float) -> torch.Tensor:
    """Log-sum-exp of each row's scores from the model's weights ``p`` [head, q, k] and queries/keys
    [pos, head, d]: ``score - log(weight)`` at each row's largest weight, [head, q]."""
    top, at = p.max(-1)
    scores = torch.einsum("qhd,qhd->hq", q, k[at.T, torch.arange(k.shape[1])]) * scale
    return scores - torch.log(top)


def _recomputes(p: torch.Tensor, q: torch.Tensor, k: torch.Tensor, lse: torch.Tensor, scale: float,
                causal: bool, n_rows: int = 256) -> bool:
    """Whether :func:`recompute` reproduces the weights ``p`` [head, q, k] on ``n_rows`` rows spread
    over the sequence (a mismatch in scale, mask or bias shows on every row it affects)."""
    rows = torch.linspace(0, p.shape[1] - 1, min(n_rows, p.shape[1])).long().unique()
    for r in rows.tolist():
        again = recompute(q[r:r + 1], k, lse[:, r:r + 1], scale, causal, q0=r)
        if (again[:, 0] - p[:, r]).abs().max() > MATCH_TOLERANCE:
            return False
    return True


def patterns(model, text, pair=None, *, qk: bool = True, dtype: torch.dtype | None = None,
             lazy: bool | None = None) -> AttentionPatterns:
    """Attention patterns (and queries/keys) of ``text`` (and ``pair``, a second sentence for
    encoders) under ``model``; one forward pass.

    ``lazy`` (default: more than :data:`LAZY_TOKENS` tokens): keep queries, keys and row
    log-sum-exps instead of the [layer, head, T, T] weights and recompute weights on demand
    (see the module docs; q/k are then always recorded, in float32). ``dtype``: storage type
    of stored patterns and q/k (default float32). Needs attention weights, which the model
    layer records whatever the attention backend.
    """
    if not isinstance(text, str) and pair is None and not torch.is_tensor(text) and not (
            isinstance(text, (list, tuple)) and text and isinstance(text[0], int)):
        raise TypeError("patterns() takes one text (str) or one sequence of token ids; "
                        f"got {type(text).__name__}. For several texts, call it once per text.")
    encoded = model.encode(text, pair=pair)
    n_tokens = int(encoded.attention_mask[0].sum())
    lazy = n_tokens > LAZY_TOKENS if lazy is None else bool(lazy)
    qk = qk or lazy
    store = torch.float32 if lazy else (dtype or torch.float32)
    keep = encoded.attention_mask[0].bool()
    n_layers, n_heads = model.cfg.n_layers, model.cfg.n_heads
    causal = bool(model.cfg.causal)
    scale = model.cfg.d_head ** -0.5
    q_name, k_name = _qk_names(model)
    pats: list[torch.Tensor | None] = [None] * n_layers
    qs: list[torch.Tensor | None] = [None] * n_layers
    ks: list[torch.Tensor | None] = [None] * n_layers
    lses: list[torch.Tensor | None] = [None] * n_layers
    entropies: list[torch.Tensor | None] = [None] * n_layers
    thumbs: list[np.ndarray | None] = [None] * n_layers
    stored: dict[int, torch.Tensor] = {}

    def grab(store_list, layer, select):
        def record(value):
            store_list[layer] = select(value.detach()[0]).to(store)
        return record

    def summarise(layer):  # lazy: row log-sum-exps, checked against the model's weights
        def record(value):
            p = pattern_rows(value.detach()[0]).float()
            q, k = qs[layer], ks[layer]
            lses[layer] = _row_lse(p, q, k, scale)
            if not _recomputes(p, q, k, lses[layer], scale, causal):
                stored[layer] = p.to(torch.float16)
            entropies[layer] = torch.special.entr(p).sum(-1).mean(-1)
            thumbs[layer] = np.stack([pooled_max(head.numpy(), THUMBNAIL_SIZE) for head in p])
        return record

    def pattern_rows(p):  # [head, q, k] -> real tokens only
        return p if bool(keep.all()) else p[:, keep][:, :, keep]

    def qk_rows(x):  # [pos, head, d] -> real tokens, one key per query head
        x = x[keep]
        return x.repeat_interleave(n_heads // x.shape[1], dim=1) if x.shape[1] != n_heads else x

    hooks = {f"blocks.{l}.attn.hook_pattern": (summarise(l) if lazy else grab(pats, l, pattern_rows))
             for l in range(n_layers)}
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
    order = sorted(stored)
    return AttentionPatterns(
        tokens=trace.str_tokens(0),
        patterns=None if lazy else torch.stack(pats),
        segments=[int(s) for s in segments],
        is_special=[i in specials for i in ids],
        words=list(groups.words),
        token_to_word=list(groups.token_to_word),
        model_name=str(model.name),
        family=str(model.cfg.family),
        causal=causal,
        queries=torch.stack(qs) if qk else None,
        keys=torch.stack(ks) if qk else None,
        lse=torch.stack(lses) if lazy else None,
        scale=scale if lazy else 0.0,
        stored_layers=torch.stack([stored[l] for l in order]) if order else None,
        stored_index=order,
        head_entropy=torch.stack(entropies) if lazy else None,
        thumbnails=torch.from_numpy(np.stack(thumbs)).to(torch.float16) if lazy else None,
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
