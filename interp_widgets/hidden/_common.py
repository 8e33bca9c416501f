"""Helpers shared by the hidden-state analyses: single-sequence runs, token look-up, metrics."""

from __future__ import annotations

import torch

from ..analysis.attention._common import check_position, single_input

__all__ = ["check_position", "encode_one", "resolve_token", "single_input", "token_label", "token_labels"]


def encode_one(model, text) -> torch.Tensor:
    """Token ids [pos] of one text (or one id sequence) exactly as ``model.run`` feeds them."""
    enc = model.encode(single_input(text))
    if enc.input_ids.shape[0] != 1:
        raise ValueError(f"this analysis takes one text, got a batch of {enc.input_ids.shape[0]}")
    return enc.input_ids[0]


def resolve_token(model, token, what: str = "token") -> int:
    """A token id, or a string that is exactly one token of the model's vocabulary -> its id.

    A string is tried as text (``" the"``, tokenised without specials) and then as a raw vocabulary
    entry (``"Ġthe"``, ``"[MASK]"``); anything else is an error naming the pieces it splits into.
    """
    n_vocab = model.cfg.d_vocab
    if isinstance(token, bool) or not isinstance(token, (int, str, torch.Tensor)):
        raise TypeError(f"{what} must be a token string or an int id, got {type(token).__name__}")
    if isinstance(token, torch.Tensor):
        if token.numel() != 1:
            raise ValueError(f"{what} must be one token id, got a tensor of shape {tuple(token.shape)}")
        token = int(token)
    if isinstance(token, int):
        if not 0 <= token < n_vocab:
            raise ValueError(f"{what} id {token} is outside the vocabulary (size {n_vocab})")
        return token
    tok = model.tokenizer
    ids = tok.encode(token, add_special_tokens=False) if token else []
    if len(ids) == 1 and ids[0] < n_vocab:
        return int(ids[0])
    raw = tok.convert_tokens_to_ids(token) if token else None
    if isinstance(raw, int) and raw != tok.unk_token_id and 0 <= raw < n_vocab:
        return raw
    pieces = tok.convert_ids_to_tokens(ids) if ids else []
    raise ValueError(f"{what} {token!r} is not a single token of this model's vocabulary (it splits into "
                     f"{pieces}); pass one token, e.g. {pieces[0]!r} or its id, or model.to_str_tokens(...) "
                     "to see how the text is tokenised" if pieces else
                     f"{what} {token!r} is not in this model's vocabulary; pass a token string or an id")


def token_label(model, token_id: int) -> str:
    """Readable text of one token id; ids the tokenizer lacks (models often pad their vocabulary
    beyond the tokenizer's) read ``<id N>``."""
    try:
        return model.to_str_tokens([int(token_id)])[0]
    except ValueError:
        return f"<id {int(token_id)}>"


def token_labels(model, ids) -> list[str]:
    """Readable texts of a token sequence (decoded together, so byte pieces join up)."""
    ids = [int(i) for i in ids]
    try:
        return model.to_str_tokens(ids)
    except ValueError:
        return [token_label(model, i) for i in ids]
