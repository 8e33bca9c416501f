"""Token windows over a corpus and the transcoder's inputs/targets recorded from a model.

A corpus (list of texts) is tokenised without special tokens and concatenated into one token
stream; a window is ``context - 1`` consecutive tokens of that stream, preceded by the model's
BOS token when it has one. The BOS position (massive, text-independent activations) is left out
of training and evaluation statistics: ``first_position`` says where the real text begins.
"""

from __future__ import annotations

import numpy as np
import torch

from .transcoder import INPUT_HOOK, OUTPUT_HOOK


def check_model(model, tc) -> None:
    """A transcoder must match the model's layer count and width."""
    cfg, c = model.cfg, tc.config
    if (c.n_layers, c.d_model) != (cfg.n_layers, cfg.d_model):
        raise ValueError(
            f"the transcoder has n_layers={c.n_layers}, d_model={c.d_model} but the model {model.name!r} has "
            f"n_layers={cfg.n_layers}, d_model={cfg.d_model}: it was trained for another model "
            f"({c.model_name or 'unnamed'}); load or train one for this model")


def bos_id(model) -> int | None:
    return None if not model.cfg.causal else model.tokenizer.bos_token_id


def first_position(model) -> int:
    """1 when windows start with BOS (skipped in statistics), else 0."""
    return 0 if bos_id(model) is None else 1


def token_stream(model, texts) -> torch.Tensor:
    """Concatenated token ids [n_tokens] of ``texts`` (a string or a list of strings)."""
    if isinstance(texts, str):
        texts = [texts]
    if not texts or not all(isinstance(t, str) for t in texts):
        raise TypeError("texts must be a non-empty list of strings")
    ids: list[int] = []
    for t in texts:
        ids += model.tokenizer(t, add_special_tokens=False, verbose=False)["input_ids"]
    if not ids:
        raise ValueError("the texts contain no tokens; pass non-empty texts")
    return torch.tensor(ids, dtype=torch.long)


def check_context(model, context: int, stream: torch.Tensor) -> int:
    """The window length actually used: ``context`` capped by the model's context and the corpus."""
    if context < 2 + first_position(model):
        raise ValueError(f"context must be at least {2 + first_position(model)} tokens, got {context}")
    if context > model.cfg.n_ctx:
        raise ValueError(f"context={context} exceeds the model's context of {model.cfg.n_ctx} tokens")
    return min(context, len(stream) + first_position(model))


def windows(model, stream: torch.Tensor, starts, context: int) -> torch.Tensor:
    """Token ids [len(starts), context] of the windows starting at ``starts`` in ``stream``."""
    body = context - first_position(model)
    rows = torch.stack([stream[s:s + body] for s in starts])
    if first_position(model):
        rows = torch.cat([torch.full((len(rows), 1), bos_id(model), dtype=torch.long), rows], 1)
    return rows


def random_starts(rng: np.random.Generator, stream: torch.Tensor, n: int, context: int, model) -> list[int]:
    hi = len(stream) - (context - first_position(model))
    return rng.integers(0, hi + 1, size=n).tolist()


def tiled_starts(stream: torch.Tensor, context: int, model) -> list[int]:
    """Non-overlapping windows covering the stream (the remainder shorter than a window is dropped)."""
    body = context - first_position(model)
    return list(range(0, len(stream) - body + 1, body))


def input_hook(model, layer: int) -> str:
    """Where the features of ``layer`` read: ``hook_resid_mid``, or ``hook_resid_pre`` in a
    parallel-residual block (attention and MLP read the same stream there)."""
    if model.cfg.parallel_residual:
        return f"blocks.{layer}.hook_resid_pre"
    return INPUT_HOOK.format(layer=layer)


@torch.no_grad()
def record(model, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(resid_mid, mlp_out) [layer, batch, pos, d_model] of windows ``ids`` [batch, pos]; no grad."""
    L = model.cfg.n_layers
    ins = [input_hook(model, l) for l in range(L)]
    outs = [OUTPUT_HOOK.format(layer=l) for l in range(L)]
    tr = model.run(ids, names=ins + outs)
    return torch.stack([tr[n] for n in ins]), torch.stack([tr[n] for n in outs])
