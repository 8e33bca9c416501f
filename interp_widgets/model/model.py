"""A Hugging Face model seen through canonical hook names (levels: embeddings to outputs)."""

from __future__ import annotations

import contextlib
import fnmatch
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from . import attention
from .adapters import adapter_for
from .hooks import AttentionSite, Deferred, HookRegistry
from .inputs import encode
from .tokens import token_strings
from .trace import Trace, closest_names

Names = str | Iterable[str] | Callable[[str], bool] | None


class Model:
    """Wraps a native ``transformers`` model and its tokenizer; weights are never converted.

    ``run`` records activations, ``patch``/``freeze`` intervene inside a ``with`` block and always
    restore the model; the per-layer weight accessors return TransformerLens shapes.
    """

    def __init__(self, hf_model: nn.Module, tokenizer, name: str | None = None):
        self.hf = hf_model
        self.tokenizer = tokenizer
        self.adapter = adapter_for(hf_model)
        self.cfg = self.adapter.cfg
        self.name = name or getattr(hf_model.config, "_name_or_path", "") or self.cfg.model_type
        self._registry = HookRegistry(self.adapter.sites())
        self._attention_sites = [s for s in self._registry.sites if isinstance(s, AttentionSite)]
        self._saved_attn_impl: str | None = None
        self._registry.on_change.append(self._sync_attention_impl)

    # -- hook names ----------------------------------------------------------------------
    @property
    def hook_names(self) -> list[str]:
        """Every canonical hook name of this model, in forward order."""
        return list(self._registry.names)

    def resolve_names(self, names: Names) -> list[str]:
        """Names, glob patterns (``"blocks.*.attn.hook_pattern"``) or a filter -> hook names."""
        all_names = self._registry.names
        if names is None:
            return list(all_names)
        if callable(names):
            return [n for n in all_names if names(n)]
        if isinstance(names, str):
            names = [names]
        out: list[str] = []
        for pattern in names:
            hits = fnmatch.filter(all_names, pattern) if any(c in pattern for c in "*?[") else (
                [pattern] if pattern in self._registry.site_of else [])
            if not hits:
                raise KeyError(f"unknown hook name {pattern!r} for this {self.cfg.family} model; "
                               f"closest valid names: {closest_names(pattern, all_names)}")
            out += [h for h in hits if h not in out]
        return out

    # -- running -------------------------------------------------------------------------
    def encode(self, inputs, pair=None, padding_side: str | None = None, truncate: bool = False):
        """Inputs (text, list of texts, token ids, sentence pair) -> padded model inputs."""
        return encode(self.tokenizer, inputs, n_ctx=self.cfg.n_ctx, vocab_size=self.cfg.d_vocab,
                      causal=self.cfg.causal, pair=pair, padding_side=padding_side, truncate=truncate)

    def run(self, inputs, names: Names = None, grad: bool = False, *, pair=None,
            padding_side: str | None = None, truncate: bool = False) -> Trace:
        """One forward pass recording the activations ``names`` (default: all hook points).

        ``inputs``: a string, a list of strings (padded; ``padding_side`` left or right), token
        ids [pos] or [batch, pos], with ``pair`` a second sentence for encoders. With
        ``grad=True`` the activations stay in the autograd graph (see :meth:`Trace.backward`).
        """
        encoded = self.encode(inputs, pair=pair, padding_side=padding_side, truncate=truncate)
        device = self.adapter.device
        kwargs = {k: v.to(device) for k, v in encoded.model_kwargs().items()}
        cache: dict[str, torch.Tensor] = {}

        def recorder(name):
            def record(value):
                keep = grad or isinstance(value, Deferred) or not value.requires_grad
                cache[name] = value if keep else value.detach()
            return record

        with contextlib.ExitStack() as stack:
            stack.enter_context(self._eval_mode())
            resolved = self.resolve_names(names)
            stack.enter_context(self._hooked([(n, recorder(n)) for n in resolved], observer=True))
            stack.enter_context(torch.enable_grad() if grad else torch.no_grad())
            out = self.hf(**kwargs, use_cache=False) if self.cfg.causal else self.hf(**kwargs)
        logits = getattr(out, "logits", None)
        if logits is not None and not grad:
            logits = logits.detach()
        return Trace(self, encoded, cache, logits, grad)

    def __call__(self, inputs, **kwargs) -> torch.Tensor:
        """Logits of ``inputs`` (no activations recorded)."""
        return self.run(inputs, names=[], **kwargs).logits

    # -- interventions -------------------------------------------------------------------
    @contextlib.contextmanager
    def patch(self, patches: Mapping[str, Callable | torch.Tensor]):
        """Within the block, replace activations: ``{name_or_glob: fn(value) -> value | None}``
        or ``{name: tensor}`` (broadcast to the activation's shape). Always restored."""
        fns = []
        for key, spec in patches.items():
            fn = spec if callable(spec) else _constant(spec, key)
            fns += [(name, fn) for name in self.resolve_names(key)]
        with self._hooked(fns):
            yield self

    def freeze(self, names: Names, source: Trace | None = None):
        """Within the block, hold ``names`` fixed: at ``source``'s recorded values, or, without a
        source, at their own values with gradients stopped (treated as constants)."""
        resolved = self.resolve_names(names)
        if source is None:
            return self.patch({n: (lambda v: v.detach()) for n in resolved})
        missing = [n for n in resolved if n not in source]
        if missing:
            raise KeyError(f"the source trace did not record {missing[:3]}; run it with these names")
        return self.patch({n: source[n].detach() for n in resolved})

    @contextlib.contextmanager
    def _hooked(self, fns: list[tuple[str, Callable]], observer: bool = False):
        handles = self._registry.add(fns, observer)
        try:
            yield
        finally:
            self._registry.remove(handles)

    @contextlib.contextmanager
    def _eval_mode(self):
        """Every module in eval mode within the block; those that were training are restored."""
        training = [m for m in self.hf.modules() if m.training]
        for m in training:
            m.training = False
        try:
            yield
        finally:
            for m in training:
                m.training = True

    def _sync_attention_impl(self) -> None:
        """Use the traced attention function while any attention hook point is active."""
        config = self.hf.config
        needed = any(attention.is_bound(s.module) for s in self._attention_sites)
        if needed and self._saved_attn_impl is None:
            self._saved_attn_impl = config._attn_implementation or "eager"
            config._attn_implementation = attention.IMPLEMENTATION
        elif not needed and self._saved_attn_impl is not None:
            config._attn_implementation = self._saved_attn_impl
            self._saved_attn_impl = None

    # -- weights (TransformerLens shapes) ------------------------------------------------
    def W_Q(self, layer: int) -> torch.Tensor:
        """[head, d_model, d_head]."""
        return self.adapter.W_Q(layer)

    def W_K(self, layer: int) -> torch.Tensor:
        """[head, d_model, d_head], grouped KV heads expanded to all query heads."""
        return self.adapter.W_K(layer)

    def W_V(self, layer: int) -> torch.Tensor:
        """[head, d_model, d_head], grouped KV heads expanded to all query heads."""
        return self.adapter.W_V(layer)

    def W_O(self, layer: int) -> torch.Tensor:
        """[head, d_head, d_model]."""
        return self.adapter.W_O(layer)

    def b_Q(self, layer: int) -> torch.Tensor:
        return self.adapter.b_Q(layer)

    def b_K(self, layer: int) -> torch.Tensor:
        return self.adapter.b_K(layer)

    def b_V(self, layer: int) -> torch.Tensor:
        return self.adapter.b_V(layer)

    def b_O(self, layer: int) -> torch.Tensor | None:
        return self.adapter.b_O(layer)

    def mlp_weights(self, layer: int) -> dict[str, torch.Tensor | None]:
        return self.adapter.mlp_weights(layer)

    @property
    def W_E(self) -> torch.Tensor:
        """[d_vocab, d_model]."""
        return self.adapter.W_E()

    @property
    def W_pos(self) -> torch.Tensor | None:
        """[n_ctx, d_model] for learned positions, else None."""
        return self.adapter.W_pos()

    @property
    def W_U(self) -> torch.Tensor | None:
        """[d_model, d_vocab] of the last linear map to logits."""
        return self.adapter.W_U()

    @property
    def b_U(self) -> torch.Tensor | None:
        return self.adapter.b_U()

    def norm(self, name: str) -> nn.Module:
        """The native norm module for ``"blocks.{l}.ln1"``, ``"blocks.{l}.ln2"``, ``"ln_final"``,
        ``"embed.ln"``; its weight, bias and eps are its own attributes."""
        site = self._registry.site_of.get(f"{name}.hook_scale")
        if site is None:
            raise KeyError(f"no norm {name!r}; closest: {closest_names(name + '.hook_scale', self.hook_names)}")
        return site.module

    @property
    def rotary(self) -> dict | None:
        """Rotary settings (rotary_dim, theta, rope_type, layout, parameters) or None."""
        return self.adapter.rotary()

    def final_norm(self, resid: torch.Tensor) -> torch.Tensor:
        return self.adapter.apply_final_norm(resid)

    def unembed(self, resid: torch.Tensor) -> torch.Tensor:
        """Residual [.., d_model] -> logits [.., d_vocab] through the final norm and the head."""
        return self.adapter.unembed(resid)

    # -- tokens --------------------------------------------------------------------------
    def to_tokens(self, text, **kwargs) -> torch.Tensor:
        """Token ids [batch, pos] exactly as :meth:`run` feeds them."""
        return self.encode(text, **kwargs).input_ids

    def to_str_tokens(self, inputs) -> list[str]:
        """Readable token strings of a text or of token ids."""
        ids = self.to_tokens(inputs)[0] if isinstance(inputs, str) else torch.as_tensor(inputs)
        return token_strings(self.tokenizer, ids.reshape(-1).tolist())

    def __repr__(self) -> str:
        c = self.cfg
        return (f"Model({self.name!r}, family={c.family}, layers={c.n_layers}, heads={c.n_heads}, "
                f"d_model={c.d_model}, vocab={c.d_vocab})")


def _constant(value: torch.Tensor, name: str) -> Callable:
    value = torch.as_tensor(value)

    def replace(current: torch.Tensor) -> torch.Tensor:
        try:
            return value.to(current.device, current.dtype).expand_as(current)
        except RuntimeError:
            raise ValueError(f"patch value for {name!r} has shape {tuple(value.shape)}, which does "
                             f"not broadcast to the activation's shape {tuple(current.shape)}") from None
    return replace
