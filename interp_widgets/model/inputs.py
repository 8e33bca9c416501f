"""Turning user inputs (text, batches, sentence pairs, token ids) into padded model inputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch


@dataclass
class Encoded:
    """input_ids / attention_mask [batch, pos]; token_type_ids for encoders; position_ids for
    causal models (counted over real tokens, so left padding does not shift positions)."""

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor | None = None
    position_ids: torch.Tensor | None = None

    def model_kwargs(self) -> dict:
        kw = {"input_ids": self.input_ids, "attention_mask": self.attention_mask}
        if self.token_type_ids is not None:
            kw["token_type_ids"] = self.token_type_ids
        if self.position_ids is not None:
            kw["position_ids"] = self.position_ids
        return kw


def _as_list(x) -> list:
    return [x] if isinstance(x, str) else list(x)


def _is_ids(inputs) -> bool:
    if isinstance(inputs, torch.Tensor):
        return True
    if isinstance(inputs, Sequence) and not isinstance(inputs, str) and len(inputs) > 0:
        first = inputs[0]
        return isinstance(first, int) or (isinstance(first, Sequence) and not isinstance(first, str)
                                          and len(first) > 0 and isinstance(first[0], int))
    return False


def _tokenize(tokenizer, texts: list[str], pairs: list[str] | None, n_ctx: int, truncate: bool):
    for t in texts + (pairs or []):
        if not isinstance(t, str):
            raise TypeError(f"expected text as str, got {type(t).__name__}")
        if not t.strip():
            raise ValueError("the input text is empty or only whitespace; pass a non-empty string")
    rows, types = [], []
    for i, text in enumerate(texts):
        kw = {"text_pair": pairs[i]} if pairs else {}
        if truncate:
            kw.update(truncation="longest_first" if pairs else True, max_length=n_ctx)
        enc = tokenizer(text, add_special_tokens=True, return_token_type_ids=True, **kw)
        rows.append(list(enc["input_ids"]))
        types.append(list(enc.get("token_type_ids") or [0] * len(enc["input_ids"])))
    return rows, types


def encode(tokenizer, inputs, *, n_ctx: int, vocab_size: int, causal: bool, pair=None,
           padding_side: str | None = None, truncate: bool = False) -> Encoded:
    """Encode a string, a list of strings, token ids ([pos] or [batch, pos]) or sentence pairs."""
    if pair is not None and causal:
        raise ValueError("sentence pairs are for encoder models (BERT/RoBERTa); for a causal model "
                         "join the two texts into one string")
    if _is_ids(inputs):
        if pair is not None:
            raise ValueError("pass sentence pairs as text, not token ids")
        ids = torch.as_tensor(inputs) if not isinstance(inputs, torch.Tensor) else inputs
        if ids.dtype.is_floating_point:
            raise TypeError("token ids must be integers")
        ids = ids.long()
        rows = [r.tolist() for r in (ids[None] if ids.ndim == 1 else ids)]
        types = None
    elif isinstance(inputs, str) or (isinstance(inputs, Sequence) and inputs and
                                     all(isinstance(t, str) for t in inputs)):
        texts = _as_list(inputs)
        pairs = None if pair is None else _as_list(pair)
        if pairs is not None and len(pairs) != len(texts):
            raise ValueError(f"got {len(texts)} texts but {len(pairs)} second sentences")
        rows, types = _tokenize(tokenizer, texts, pairs, n_ctx, truncate)
    else:
        raise TypeError("inputs must be a string, a list of strings, or token ids "
                        f"(a list/tensor of ints); got {type(inputs).__name__}"
                        + (" (empty)" if hasattr(inputs, "__len__") and len(inputs) == 0 else ""))

    for r in rows:
        if not r:
            raise ValueError("an input has no tokens; pass a non-empty text")
        if len(r) > n_ctx:
            if not truncate:
                raise ValueError(f"input has {len(r)} tokens but the model's context is {n_ctx}; "
                                 "shorten the text or pass truncate=True to keep the first "
                                 f"{n_ctx} tokens")
    if truncate:
        rows = [r[:n_ctx] for r in rows]
        types = None if types is None else [t[:n_ctx] for t in types]
    bad = [i for r in rows for i in r if not 0 <= i < vocab_size]
    if bad:
        raise ValueError(f"token id {bad[0]} is outside the model's vocabulary (size {vocab_size}); "
                         "the tokenizer probably does not match the model")

    side = padding_side or getattr(tokenizer, "padding_side", "right") or "right"
    if side not in ("left", "right"):
        raise ValueError(f"padding_side must be 'left' or 'right', got {side!r}")
    if not causal:
        side = "right"
    pad_id = next((i for i in (getattr(tokenizer, "pad_token_id", None),
                               getattr(tokenizer, "eos_token_id", None)) if i is not None), 0)
    width = max(len(r) for r in rows)

    def pad(seq, value):
        fill = [value] * (width - len(seq))
        return fill + seq if side == "left" else seq + fill

    input_ids = torch.tensor([pad(r, pad_id) for r in rows])
    mask = torch.tensor([pad([1] * len(r), 0) for r in rows])
    token_types = None
    if not causal:
        token_types = torch.tensor([pad(t, 0) for t in types]) if types else torch.zeros_like(input_ids)
    positions = (mask.cumsum(-1) - 1).clamp(min=0) if causal else None
    return Encoded(input_ids, mask, token_types, positions)
