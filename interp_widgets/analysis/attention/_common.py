"""Helpers shared by the attention analyses: validation, patterns per text, token classes."""

from __future__ import annotations

import unicodedata

import torch

PATTERN = "blocks.*.attn.hook_pattern"


def check_layer(model, layer: int, what: str = "layer") -> int:
    """``layer`` (negative counts from the end) -> index in [0, n_layers), or a clear error."""
    n = model.cfg.n_layers
    if not isinstance(layer, int) or isinstance(layer, bool):
        raise TypeError(f"{what} must be an int, got {type(layer).__name__}")
    if not -n <= layer < n:
        raise IndexError(f"{what} {layer} is out of range: this model has {n} layers "
                         f"(valid: 0 to {n - 1}, or -{n} to -1 from the end)")
    return layer % n


def check_layers(model, layers) -> list[int]:
    if layers is None:
        return list(range(model.cfg.n_layers))
    if isinstance(layers, int):
        return [check_layer(model, layers)]
    layers = [check_layer(model, layer) for layer in layers]
    if not layers:
        raise ValueError("layers is empty; pass None for every layer")
    return layers


def check_head(model, head: int) -> int:
    n = model.cfg.n_heads
    if not isinstance(head, int) or not -n <= head < n:
        raise IndexError(f"head {head} is out of range: this model has {n} heads per layer "
                         f"(valid: 0 to {n - 1})")
    return head % n


def check_position(position: int, n_tokens: int, what: str = "token position") -> int:
    if not isinstance(position, int) or not -n_tokens <= position < n_tokens:
        raise IndexError(f"{what} {position} is out of range for a sequence of {n_tokens} tokens "
                         f"(valid: 0 to {n_tokens - 1}, or negative from the end)")
    return position % n_tokens


def as_texts(texts) -> list:
    """One text (or one sequence of token ids) or many -> a list of single inputs."""
    if isinstance(texts, str):
        return [texts]
    if isinstance(texts, torch.Tensor):
        return [texts] if texts.ndim == 1 else list(texts)
    texts = list(texts)
    if not texts:
        raise ValueError("no texts given; pass a string or a non-empty list of strings")
    if isinstance(texts[0], int):
        return [texts]
    return texts


def single_input(text):
    """Reject a batch where one sequence is expected."""
    if isinstance(text, (list, tuple)) and text and isinstance(text[0], str):
        if len(text) > 1:
            raise ValueError(f"this analysis takes one text, got {len(text)}; loop over them")
        return text[0]
    if isinstance(text, torch.Tensor) and text.ndim == 2:
        if text.shape[0] > 1:
            raise ValueError(f"this analysis takes one sequence, got a batch of {text.shape[0]}")
        return text[0]
    return text


def run_one(model, text, names):
    """Run a single text; returns (trace, its real positions [T], token ids [T])."""
    trace = model.run(single_input(text), names=names)
    keep = trace.attention_mask[0].bool()
    return trace, keep, trace.input_ids[0][keep]


def patterns_of(model, text) -> tuple[torch.Tensor, torch.Tensor, list[str]]:
    """Attention of one sequence with padding removed: ([layer, head, T, T] float64, ids, tokens)."""
    trace, keep, ids = run_one(model, text, PATTERN)
    pats = torch.stack([trace[f"blocks.{l}.attn.hook_pattern"][0] for l in range(model.cfg.n_layers)])
    pats = pats[:, :, keep][:, :, :, keep].double()
    return pats, ids, trace.str_tokens(0)


def special_mask(tokenizer, ids) -> torch.Tensor:
    """[T] booleans: special tokens ([CLS], [SEP], BOS/EOS, pad)."""
    special = set(getattr(tokenizer, "all_special_ids", []) or [])
    return torch.tensor([int(i) in special for i in ids], dtype=torch.bool)


def is_punctuation(text: str) -> bool:
    text = text.strip()
    return bool(text) and all(unicodedata.category(c).startswith("P") for c in text)
