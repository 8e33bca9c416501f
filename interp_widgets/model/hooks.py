"""Hook points: canonical names bound to native modules, without global patching.

A :class:`HookRegistry` belongs to one model. It keeps, per canonical hook name,
an ordered list of functions ``value -> value`` (patches first, then caches) and
installs PyTorch hooks on the native modules only while some name served by a
:class:`Site` has functions. Removing the last function removes the PyTorch
hook, so an idle model runs exactly its own code.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch
from torch import nn

HookFn = Callable[[torch.Tensor], "torch.Tensor | None"]


class Deferred:
    """A recorded value that is computed when first read (see :meth:`HookRegistry.observe`)."""

    def __init__(self, compute: Callable[[], torch.Tensor]):
        self.compute = compute


class HookRegistry:
    """Per-model table ``name -> [fn, ...]`` and the sites that serve the names."""

    def __init__(self, sites: Sequence[Site]):
        self.sites = list(sites)
        self.site_of: dict[str, Site] = {}
        for site in self.sites:
            for name in site.names:
                self.site_of[name] = site
        self.names = [name for site in self.sites for name in site.names]
        self._fns: dict[str, list[tuple[int, HookFn]]] = {}
        self._observers: set[int] = set()
        self._ids = itertools.count()
        self.on_change: list[Callable[[], None]] = []
        self.stash: dict[Any, torch.Tensor] = {}
        # a site that stashes a value is installed while any name that reads the stash is active
        providers = {s.stash_key: s for s in self.sites if getattr(s, "stash_key", None) is not None}
        self._readers: dict[Site, list[str]] = {}
        self._provider_of: dict[Site, Site] = {}
        for site in self.sites:
            key, name = getattr(site, "stash_reader", (None, None))
            if name is not None:
                self._readers.setdefault(providers[key], []).append(name)
                self._provider_of[site] = providers[key]

    def add(self, fns: Sequence[tuple[str, HookFn]], observer: bool = False) -> list[tuple[str, int]]:
        """Append each ``(name, fn)``; returns handles for :meth:`remove`. An ``observer`` only
        reads values (returns None) and also accepts a :class:`Deferred` one."""
        handles = []
        for name, fn in fns:
            token = next(self._ids)
            self._fns.setdefault(name, []).append((token, fn))
            if observer:
                self._observers.add(token)
            handles.append((name, token))
        self._sync(name for name, _ in handles)
        return handles

    def remove(self, handles: Sequence[tuple[str, int]]) -> None:
        for name, token in handles:
            self._observers.discard(token)
            fns = [(t, f) for t, f in self._fns.get(name, []) if t != token]
            if fns:
                self._fns[name] = fns
            else:
                self._fns.pop(name, None)
        self._sync(name for name, _ in handles)

    def active(self, name: str) -> bool:
        return name in self._fns

    def only_observed(self, name: str) -> bool:
        """Whether every function on ``name`` is an observer (so its value may be deferred)."""
        return all(token in self._observers for token, _ in self._fns.get(name, ()))

    def observe(self, name: str, value: Deferred) -> None:
        for _, fn in self._fns.get(name, ()):
            fn(value)

    def apply(self, name: str, value: torch.Tensor) -> torch.Tensor:
        """Run the functions registered on ``name`` in order; ``None`` keeps the value."""
        for _, fn in self._fns.get(name, ()):
            new = fn(value)
            if new is not None:
                if not isinstance(new, torch.Tensor) or new.shape != value.shape:
                    got = tuple(new.shape) if isinstance(new, torch.Tensor) else type(new).__name__
                    raise ValueError(
                        f"hook function on {name!r} returned {got}; expected a tensor of shape "
                        f"{tuple(value.shape)} (return None to keep the value unchanged)"
                    )
                value = new.to(value.dtype)
        return value

    def _sync(self, names) -> None:
        """Install or remove the PyTorch hooks of the sites serving ``names`` (in site order)."""
        touched = {self.site_of[name] for name in names}
        touched |= {self._provider_of[site] for site in touched if site in self._provider_of}
        for site in self.sites:
            if site in touched:
                wanted = (*site.names, *self._readers.get(site, ()))
                site.set_installed(self, any(n in self._fns for n in wanted))
        for callback in self.on_change:
            callback()


def changed(old: torch.Tensor, new: torch.Tensor) -> bool:
    """Whether ``new`` must be written back into the forward pass."""
    return new is not old or (torch.is_grad_enabled() and new.requires_grad)


class Site:
    """One PyTorch hook on one module, serving one or more canonical names in order."""

    names: tuple[str, ...] = ()

    def __init__(self, module: nn.Module, names: Sequence[str]):
        self.module = module
        self.names = tuple(names)
        self._handle = None

    def set_installed(self, registry: HookRegistry, on: bool) -> None:
        if on and self._handle is None:
            self._handle = self.install(registry)
        elif not on and self._handle is not None:
            self._handle.remove()
            self._handle = None

    def install(self, registry: HookRegistry):  # pragma: no cover - interface
        raise NotImplementedError


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _replace_first(output, value):
    return (value, *output[1:]) if isinstance(output, tuple) else value


class OutputSite(Site):
    """The module's output (first element of a tuple output), optionally seen through a view.

    ``split`` maps the raw output to one tensor per name; ``join`` maps them back.
    """

    def __init__(self, module, names, split=None, join=None):
        super().__init__(module, names)
        self.split = split or (lambda out: [out])
        self.join = join or (lambda parts, out: parts[0])

    def install(self, registry):
        def hook(module, args, output):
            raw = _first(output)
            parts = self.split(raw)
            new = [registry.apply(n, p) for n, p in zip(self.names, parts)]
            if any(changed(p, q) for p, q in zip(parts, new)):
                return _replace_first(output, self.join(new, raw))
            return None

        return self.module.register_forward_hook(hook)


class InputSite(Site):
    """The module's first input (``hidden_states``); ``stash_key`` keeps it for other sites."""

    def __init__(self, module, names, stash_key=None, view=None, unview=None):
        super().__init__(module, names)
        self.stash_key = stash_key
        self.view = view or (lambda x: x)
        self.unview = unview or (lambda v, x: v)

    def install(self, registry):
        def hook(module, args, kwargs):
            positional = bool(args)
            x = args[0] if positional else kwargs["hidden_states"]
            value = self.view(x)
            for name in self.names:
                value = registry.apply(name, value)
            new_x = self.unview(value, x)
            if self.stash_key is not None:
                registry.stash[self.stash_key] = new_x
            if not changed(x, new_x):
                return None
            if positional:
                return (new_x, *args[1:]), kwargs
            return args, {**kwargs, "hidden_states": new_x}

        return self.module.register_forward_pre_hook(hook, with_kwargs=True)


class NormSite(Site):
    """LayerNorm / RMSNorm: ``hook_scale`` [batch, pos, 1] then ``hook_normalized`` (output).

    A changed scale (patched, frozen, or detached for gradient rules) is written back by
    recomputing the norm from its input with that scale.
    """

    def __init__(self, module, prefix: str, kind: str, eps: float):
        super().__init__(module, [f"{prefix}.hook_scale", f"{prefix}.hook_normalized"])
        self.kind = kind
        self.eps = eps

    def scale(self, x: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        if self.kind == "layernorm":  # two passes: Tensor.var accumulates in float64, 15x slower
            xf = xf - xf.mean(-1, keepdim=True)
        return xf.pow(2).mean(-1, keepdim=True).add(self.eps).sqrt()

    def normalize(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        xf = x.float()
        if self.kind == "layernorm":
            xf = xf - xf.mean(-1, keepdim=True)
        out = (xf / scale).to(x.dtype) * self.module.weight
        bias = getattr(self.module, "bias", None)
        return out + bias if bias is not None else out

    def install(self, registry):
        scale_name, norm_name = self.names

        def hook(module, args, output):
            out = output
            if registry.active(scale_name):
                x = args[0]
                scale = self.scale(x)
                new_scale = registry.apply(scale_name, scale)
                if changed(scale, new_scale):
                    out = self.normalize(x, new_scale.float())
            new_out = registry.apply(norm_name, out)
            return new_out if changed(output, new_out) else None

        return self.module.register_forward_hook(hook)


class AttnOutSite(Site):
    """The attention output projection (``o_proj`` / ``c_proj`` / ``dense``).

    Serves, in order: per-head ``hook_result`` [batch, pos, head, d_model] computed from the
    projection's input z, ``hook_attn_out`` [batch, pos, d_model], and for sequential
    pre-norm blocks ``hook_resid_mid`` = resid_pre + attn_out (written back through attn_out).
    Without gradients and when only observed, ``hook_result`` is deferred until it is read.
    """

    def __init__(self, module, prefix: str, n_heads: int, weights: Callable, resid_mid: str | None,
                 resid_pre_key=None):
        names = [f"{prefix}.attn.hook_result", f"{prefix}.hook_attn_out"]
        if resid_mid:
            names.append(resid_mid)
        super().__init__(module, names)
        self.n_heads = n_heads
        self.weights = weights  # module -> (W [head * d_head, d_model], b_O [d_model] | None)
        self.resid_pre_key = resid_pre_key
        self.stash_reader = (resid_pre_key, resid_mid)  # resid_mid reads the stashed resid_pre

    def install(self, registry):
        result_name, out_name = self.names[:2]
        mid_name = self.names[2] if len(self.names) > 2 else None

        def hook(module, args, output):
            out = output
            if registry.active(result_name):
                w, b_o = self.weights(module)
                w_o = w.unflatten(0, (self.n_heads, -1))
                z = args[0].unflatten(-1, (self.n_heads, -1))
                if registry.only_observed(result_name) and not torch.is_grad_enabled():
                    w_o = w_o.detach()
                    registry.observe(result_name, Deferred(partial(_deferred_result, z, w_o, w_o._version)))
                else:
                    result = _per_head_result(z, w_o)
                    new_result = registry.apply(result_name, result)
                    if changed(result, new_result):
                        out = new_result.sum(-2) + (b_o if b_o is not None else 0)
            out = registry.apply(out_name, out)
            if mid_name is not None and registry.active(mid_name):
                resid_pre = registry.stash[self.resid_pre_key]
                mid = resid_pre + out
                new_mid = registry.apply(mid_name, mid)
                if changed(mid, new_mid):
                    out = new_mid - resid_pre
            return out if out is not output else None

        return self.module.register_forward_hook(hook)


def _per_head_result(z: torch.Tensor, w_o: torch.Tensor) -> torch.Tensor:
    """z [batch, pos, head, d_head], W_O [head, d_head, d_model] -> [batch, pos, head, d_model]."""
    return torch.einsum("bphd,hdm->bphm", z, w_o.to(z.dtype))


def _deferred_result(z: torch.Tensor, w_o: torch.Tensor, version: int) -> torch.Tensor:
    if w_o._version != version:
        raise RuntimeError("the attention output weights were changed in place after this trace was "
                           "recorded, and hook_result is computed from them when first read: read "
                           "it before editing weights, or run the model again")
    return _per_head_result(z, w_o)


class AttentionSite(Site):
    """Points inside attention, served by :mod:`interp_widgets.model.attention`.

    Installing it registers the attention module with the traced attention function; the
    model's attention implementation is switched to it while any of these names is active.
    """

    def __init__(self, module, prefix: str, rotary: bool):
        names = [f"{prefix}.attn.hook_rot_q", f"{prefix}.attn.hook_rot_k"] if rotary else []
        names += [f"{prefix}.attn.hook_attn_scores", f"{prefix}.attn.hook_pattern",
                  f"{prefix}.attn.hook_z"]
        super().__init__(module, names)
        self.rotary = rotary

    def install(self, registry):
        from .attention import bind

        return bind(self.module, registry, self)
