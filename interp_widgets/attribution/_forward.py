"""Forward passes of one input with its embeddings (or any hook point) replaced, in row chunks."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
from collections.abc import Callable, Mapping

import torch

LOCAL_KINDS = ("logit", "prob", "logit_diff")  # targets that read the logits of one position
BYTES_BUDGET = 2**30  # default activation memory per chunk when internal_batch_size is None


class Runner:
    """One encoded input of ``model``; runs it ``n`` times at once with patched activations.

    ``embeddings`` [pos, d_model] is the output of the input embedding (``hook_embed``), before
    positions, token types or any norm are added inside the model.
    """

    def __init__(self, model, inputs, pair=None):
        if model.adapter.embedding() is None:
            raise ValueError("this model has no input embedding module to attribute to")
        encoded = model.encode(inputs, pair=pair)
        if encoded.input_ids.shape[0] != 1:
            raise ValueError(f"attribution explains one sequence at a time; got a batch of "
                             f"{encoded.input_ids.shape[0]}: loop over the inputs instead")
        self.model = model
        self.input_ids = encoded.input_ids[0]
        self.tokens = model.to_str_tokens(self.input_ids)
        device = model.adapter.device
        self._kwargs = {k: v.to(device) for k, v in encoded.model_kwargs().items()}

    @functools.cached_property
    def _plain_run(self) -> tuple[torch.Tensor, torch.Tensor]:
        record: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            logits = self.logits(patches={"hook_embed": lambda v: record.setdefault("e", v.detach())})
        return logits, record["e"][0]

    @property
    def logits0(self) -> torch.Tensor:
        """Logits [1, ...] of the unpatched input (one no-grad forward pass, on first use)."""
        return self._plain_run[0]

    @property
    def embeddings(self) -> torch.Tensor:
        return self._plain_run[1]

    @property
    def n_pos(self) -> int:
        return self.input_ids.shape[0]

    def logits(self, embeds: torch.Tensor | None = None, patches: Mapping[str, Callable] | None = None,
               n: int | None = None, keep: torch.Tensor | None = None) -> torch.Tensor:
        """Logits [n, ...] of the input repeated ``n`` times (``n`` = len(embeds) by default),
        with ``hook_embed`` replaced by ``embeds`` [n, pos, d_model] and other ``patches``;
        ``keep`` [k]: only those positions' logits ([n, k, vocab]; causal LMs, see
        :meth:`values`)."""
        model = self.model
        all_patches = dict(patches or {})
        if embeds is not None:
            n = embeds.shape[0]
            all_patches["hook_embed"] = lambda v: embeds
        n = n or 1
        kwargs = {k: v.expand(n, *v.shape[1:]) for k, v in self._kwargs.items()}
        if model.cfg.causal:
            kwargs["use_cache"] = False
        if keep is not None:
            kwargs["logits_to_keep"] = keep.to(model.adapter.device)
        with contextlib.ExitStack() as stack:
            stack.enter_context(model._eval_mode())
            stack.enter_context(model.patch(all_patches))
            out = model.hf(**kwargs)
        logits = getattr(out, "logits", None)
        if logits is None:
            raise ValueError(f"{type(model.hf).__name__} returns no logits; load the model with a "
                             "language-model or classification head to have something to explain")
        return logits

    def values(self, bound, embeds: torch.Tensor | None = None, patches: Mapping[str, Callable] | None = None,
               n: int | None = None) -> torch.Tensor:
        """``bound(logits)`` [n] for the same run as :meth:`logits`. When the target reads one
        position (logit, probability or logit difference) and the model's forward takes
        ``logits_to_keep``, the output head runs at that position only (the same values, without
        the [n, pos, vocab] product elsewhere)."""
        if bound.spec.kind in LOCAL_KINDS and self._keeps_logits:
            logits = self.logits(embeds, patches, n, keep=torch.tensor([bound.pos]))
            return dataclasses.replace(bound, pos=0)(logits)
        return bound(self.logits(embeds, patches, n))

    @functools.cached_property
    def _keeps_logits(self) -> bool:
        return "logits_to_keep" in inspect.signature(self.model.hf.forward).parameters

    def chunk_size(self, internal_batch_size: int | None) -> int:
        """Rows per forward pass: the given size, or an estimate of what fits BYTES_BUDGET."""
        if internal_batch_size is not None:
            if internal_batch_size < 1:
                raise ValueError("internal_batch_size must be at least 1")
            return int(internal_batch_size)
        c, p = self.model.cfg, self.n_pos
        per_row = 4 * 3 * c.n_layers * p * (12 * c.d_model + 3 * c.d_mlp + 3 * c.n_heads * p)
        return max(1, BYTES_BUDGET // max(per_row, 1))


def resolve_baseline(runner: Runner, baseline) -> torch.Tensor:
    """``"zeros"``, ``"pad"``, ``"mask"``, a token id, or a tensor [pos, d_model] -> [pos, d_model]."""
    x = runner.embeddings
    tok = runner.model.tokenizer
    if isinstance(baseline, torch.Tensor):
        if tuple(baseline.shape) != tuple(x.shape):
            raise ValueError(f"baseline has shape {tuple(baseline.shape)}; it must match the input "
                             f"embeddings [pos, d_model] = {tuple(x.shape)}")
        return baseline.to(x.device, x.dtype)
    if isinstance(baseline, str) and baseline == "zeros":
        return torch.zeros_like(x)
    if isinstance(baseline, str) and baseline in ("pad", "mask"):
        ids = ([tok.pad_token_id, tok.eos_token_id] if baseline == "pad" else [tok.mask_token_id])
        token = next((i for i in ids if i is not None), None)
        if token is None:
            raise ValueError(f"this tokenizer has no {baseline} token; use baseline='zeros', a token "
                             "id, or a tensor [pos, d_model]")
        baseline = token
    if isinstance(baseline, int) and not isinstance(baseline, bool):
        if not 0 <= baseline < runner.model.cfg.d_vocab:
            raise ValueError(f"baseline token id {baseline} is outside the vocabulary")
        ids = torch.full((1, runner.n_pos), baseline, device=x.device)
        return runner.model.adapter.embedding()(ids)[0].detach()
    raise ValueError("baseline must be 'zeros', 'pad', 'mask', a token id, or a tensor "
                     f"[pos, d_model]; got {baseline!r}")
