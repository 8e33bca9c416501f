"""The result of one forward pass: activations cached by canonical hook name."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .hooks import Deferred
from .inputs import Encoded
from .tokens import token_strings

if TYPE_CHECKING:
    from .model import Model


def closest_names(name: str, names, n: int = 5) -> str:
    close = difflib.get_close_matches(name, list(names), n=n, cutoff=0.5)
    return ", ".join(close) if close else "(none close; see model.hook_names)"


class Trace:
    """Activations of one run, e.g. ``trace["blocks.0.attn.hook_pattern"]`` [batch, head, q, k].

    Shapes follow TransformerLens: residual points [batch, pos, d_model]; ``hook_q|k|v|z``,
    ``hook_rot_q|rot_k`` [batch, pos, head, d_head] (keys/values keep the model's KV heads);
    ``hook_attn_scores``/``hook_pattern`` [batch, head, q, k]; ``hook_result``
    [batch, pos, head, d_model] (computed when first read in traces without gradients); norm
    ``hook_scale`` [batch, pos, 1].
    """

    def __init__(self, model: Model, encoded: Encoded, cache: dict[str, torch.Tensor],
                 logits: torch.Tensor | None, grad: bool):
        self.model = model
        self.input_ids = encoded.input_ids
        self.attention_mask = encoded.attention_mask
        self.token_type_ids = encoded.token_type_ids
        self.logits = logits
        self.cache = cache
        self.grad_enabled = grad
        self.grads: dict[str, torch.Tensor] = {}

    def __getitem__(self, name: str) -> torch.Tensor:
        if name in self.cache:
            value = self.cache[name]
            if isinstance(value, Deferred):
                value = self.cache[name] = value.compute()
            return value
        if name in self.model.hook_names:
            raise KeyError(f"{name!r} was not recorded in this trace; include it in names= when "
                           "calling model.run")
        raise KeyError(f"unknown hook name {name!r}; closest valid names: "
                       f"{closest_names(name, self.model.hook_names)}")

    def __contains__(self, name: str) -> bool:
        return name in self.cache

    def keys(self) -> list[str]:
        return list(self.cache)

    @property
    def batch_size(self) -> int:
        return self.input_ids.shape[0]

    def str_tokens(self, index: int = 0) -> list[str]:
        """Readable token strings of sequence ``index`` (padding removed)."""
        ids = self.input_ids[index][self.attention_mask[index].bool()]
        return token_strings(self.model.tokenizer, ids.tolist())

    def positions(self, index: int = 0) -> torch.Tensor:
        """Indices of the real (non-padding) tokens of sequence ``index``."""
        return self.attention_mask[index].nonzero().squeeze(-1)

    def decompose_resid(self, layer: int | None = None) -> tuple[torch.Tensor, list[str]]:
        """Residual stream after ``layer`` (default: last) split into its additive parts.

        Returns ([component, batch, pos, d_model], labels): embeddings, then each block's
        attention and MLP outputs. Their sum is ``blocks.{layer}.hook_resid_post``. Needs a
        pre-norm model (post-norm blocks normalise the stream, so it is not a sum).
        """
        cfg = self.model.cfg
        if cfg.post_norm:
            raise ValueError(f"{cfg.family} normalises the residual stream after each block, so it "
                             "does not decompose into a sum of components")
        layer = cfg.n_layers - 1 if layer is None else layer % cfg.n_layers
        labels = ["hook_embed"] + (["hook_pos_embed"] if cfg.positional == "learned" else [])
        for i in range(layer + 1):
            labels += [f"blocks.{i}.hook_attn_out", f"blocks.{i}.hook_mlp_out"]
        return torch.stack([self[n] for n in labels]), labels

    def backward(self, metric: torch.Tensor | Callable[[Trace], torch.Tensor]) -> dict[str, torch.Tensor]:
        """Gradients of a scalar ``metric`` (or ``metric(trace)``) w.r.t. every cached activation."""
        if not self.grad_enabled:
            raise RuntimeError("this trace was recorded without gradients; call model.run(..., grad=True)")
        value = metric(self) if callable(metric) else metric
        if value.numel() != 1:
            raise ValueError(f"metric must be a scalar, got shape {tuple(value.shape)}; reduce it "
                             "(e.g. .sum()) first")
        names = [n for n, t in self.cache.items() if t.requires_grad]
        grads = torch.autograd.grad(value.reshape(()), [self.cache[n] for n in names], allow_unused=True)
        self.grads = {n: g for n, g in zip(names, grads) if g is not None}
        return self.grads

    def __repr__(self) -> str:
        b, p = self.input_ids.shape
        return (f"Trace({self.model.name}, batch={b}, pos={p}, activations={len(self.cache)}"
                f"{', grad' if self.grad_enabled else ''})")
