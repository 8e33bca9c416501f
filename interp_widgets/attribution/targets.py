"""What an attribution explains: a scalar function of the model's output logits, per input row."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Target:
    """A scalar per input row, computed from the logits.

    Build one with :meth:`logit`, :meth:`prob`, :meth:`logit_diff`, :meth:`class_score` or
    :meth:`function`; tokens may be ids or strings of exactly one token. ``pos`` indexes the
    sequence (negative counts from the end; default: the last position for causal models, the
    first ``[MASK]`` for masked LMs).
    """

    kind: str  # "logit" | "prob" | "logit_diff" | "class" | "function"
    token: int | str | None = None
    other: int | str | None = None  # logit_diff: the subtracted token, or "mean" (all logits)
    pos: int | None = None
    fn: Callable | None = None

    @classmethod
    def logit(cls, token, pos: int | None = None) -> Target:
        return cls("logit", token, pos=pos)

    @classmethod
    def prob(cls, token, pos: int | None = None) -> Target:
        return cls("prob", token, pos=pos)

    @classmethod
    def logit_diff(cls, token, other, pos: int | None = None) -> Target:
        """logit(token) - logit(other); ``other="mean"`` subtracts the mean logit."""
        return cls("logit_diff", token, other, pos=pos)

    @classmethod
    def class_score(cls, index: int) -> Target:
        """Logit ``index`` of a sequence-classification head (logits [batch, classes])."""
        return cls("class", index)

    @classmethod
    def function(cls, fn: Callable[[torch.Tensor], torch.Tensor]) -> Target:
        """Any ``fn(logits_row) -> scalar``; ``logits_row`` is one row of the output logits
        ([pos, vocab] for language models, [classes] for classifiers)."""
        if not callable(fn):
            raise TypeError("Target.function needs a callable logits_row -> scalar tensor")
        return cls("function", fn=fn)

    @property
    def linear(self) -> bool:
        """Whether the target is a linear function of the logits (LRP conserves exactly then)."""
        return self.kind in ("logit", "logit_diff", "class")


@dataclass(frozen=True)
class BoundTarget:
    """A :class:`Target` resolved against one model and input: ids and position are ints."""

    spec: Target
    token: int | None
    other: int | None  # -1 means the mean of all logits
    pos: int | None
    label: str

    def __call__(self, logits: torch.Tensor) -> torch.Tensor:
        """logits [batch, pos, vocab] or [batch, classes] -> [batch]."""
        kind = self.spec.kind
        if kind == "function":
            values = [torch.as_tensor(self.spec.fn(row)) for row in logits]
            bad = [tuple(v.shape) for v in values if v.numel() != 1]
            if bad:
                raise ValueError(f"the target function must return a scalar per row, got shape {bad[0]}")
            return torch.stack([v.reshape(()) for v in values]).to(logits.dtype)
        if kind == "class":
            return logits[:, self.token]
        row = logits[:, self.pos]
        if kind == "logit":
            return row[:, self.token]
        if kind == "prob":
            return row.float().softmax(-1)[:, self.token].to(logits.dtype)
        sub = row.mean(-1) if self.other == -1 else row[:, self.other]
        return row[:, self.token] - sub


def _token_id(model, token, what: str) -> int:
    vocab = model.cfg.d_vocab
    if isinstance(token, str):
        ids = model.tokenizer(token, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise ValueError(f"{what} {token!r} is {len(ids)} tokens ({ids}); pass one token or its id")
        return int(ids[0])
    if isinstance(token, bool) or not isinstance(token, int) or not 0 <= token < vocab:
        raise ValueError(f"{what} {token!r} is not a token id in [0, {vocab}); pass an int id or a "
                         "one-token string")
    return int(token)


def resolve_target(model, target, input_ids: torch.Tensor, logits: torch.Tensor) -> BoundTarget:
    """``target`` (Target, token id, one-token string, callable or None) -> :class:`BoundTarget`.

    ``input_ids`` [pos] of the explained input; ``logits`` [1, ...] of its clean forward pass,
    used for the defaults: ``None`` explains the top prediction (or the top class).
    """
    classifier = logits.ndim == 2
    if target is None:
        target = Target.class_score(int(logits[0].argmax())) if classifier else Target.logit(None)
    elif isinstance(target, (int, str)) and not isinstance(target, bool):
        target = Target.class_score(target) if classifier else Target.logit(target)
    elif callable(target) and not isinstance(target, Target):
        target = Target.function(target)
    if not isinstance(target, Target):
        raise TypeError("target must be a Target, a token id, a one-token string, a callable "
                        f"logits_row -> scalar, or None; got {type(target).__name__}")
    if target.kind == "function":
        return BoundTarget(target, None, None, None, getattr(target.fn, "__name__", "function"))
    if target.kind == "class":
        if not classifier:
            raise ValueError("Target.class_score needs a sequence-classification head (logits "
                             f"[batch, classes]); this model outputs {tuple(logits.shape)}")
        n = logits.shape[-1]
        if not isinstance(target.token, int) or not 0 <= target.token < n:
            raise ValueError(f"class index {target.token!r} is out of range for {n} classes")
        return BoundTarget(target, target.token, None, None, f"class {target.token}")
    if classifier:
        raise ValueError(f"{target.kind} targets need token logits; this model is a classifier "
                         "(use Target.class_score(index))")
    n_pos = input_ids.shape[-1]
    pos = target.pos
    if pos is None:
        pos = _default_pos(model, input_ids)
    if not -n_pos <= pos < n_pos:
        raise ValueError(f"target position {pos} is out of range for an input of {n_pos} tokens")
    pos %= n_pos
    token = target.token
    if token is None:
        token = int(logits[0, pos].argmax())
    token = _token_id(model, token, "target token")
    other = None
    if target.kind == "logit_diff":
        other = -1 if target.other == "mean" else _token_id(model, target.other, "contrast token")
    name = model.to_str_tokens([token])[0]
    label = {"logit": f"logit({name!r})", "prob": f"p({name!r})"}.get(target.kind)
    if label is None:
        label = f"logit({name!r}) - " + ("mean logit" if other == -1 else
                                          f"logit({model.to_str_tokens([other])[0]!r})")
    return BoundTarget(target, token, other, pos, f"{label} @ {pos}")


def _default_pos(model, input_ids: torch.Tensor) -> int:
    if model.cfg.causal:
        return -1
    mask_id = getattr(model.tokenizer, "mask_token_id", None)
    hits = (input_ids == mask_id).nonzero() if mask_id is not None else torch.empty(0)
    if len(hits) == 0:
        raise ValueError("for a masked LM, put a mask token in the text or pass Target.logit(token, "
                         "pos=...) with the position to explain")
    return int(hits[0, -1])
