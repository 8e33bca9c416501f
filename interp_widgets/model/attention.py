"""A traced attention function, used only while attention hook points are active.

Hugging Face attention modules call ``ALL_ATTENTION_FUNCTIONS[config._attn_implementation]``
with post-rotary queries and keys. We register one more implementation under the name
:data:`IMPLEMENTATION`; a model is switched to it (its own config only, restored afterwards)
while one of its attention hook points is active, so patterns are available whatever
implementation the model was loaded with. Modules that were not bound to a registry run
plain eager attention, so no other model is ever affected.
"""

from __future__ import annotations

import weakref

import torch
from transformers import AttentionInterface
from transformers.masking_utils import AttentionMaskInterface, eager_mask

IMPLEMENTATION = "interp_widgets_traced"

_BOUND: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _repeat_heads(x: torch.Tensor, n_heads: int) -> torch.Tensor:
    """[batch, kv_head, pos, d_head] -> [batch, head, pos, d_head] (grouped-query attention)."""
    groups = n_heads // x.shape[1]
    return x if groups == 1 else x.repeat_interleave(groups, dim=1)


def traced_attention(module, query, key, value, attention_mask, scaling=None, dropout=0.0, **kwargs):
    """Eager attention with hook points; query [b, h, q, d], key/value [b, kv_h, k, d].

    Returns (z [b, q, h, d], pattern [b, h, q, k]) like the Hugging Face functions.
    """
    bound = _BOUND.get(module)
    if scaling is None:
        scaling = query.shape[-1] ** -0.5
    if bound is not None:
        registry, site = bound
        prefix = site.names[0].rsplit(".", 1)[0]

        def hook(name, x):
            return registry.apply(f"{prefix}.{name}", x)
    else:
        def hook(name, x):
            return x

    if bound is not None and site.rotary:
        query = hook("hook_rot_q", query.transpose(1, 2)).transpose(1, 2)
        key = hook("hook_rot_k", key.transpose(1, 2)).transpose(1, 2)
    n_heads = query.shape[1]
    key, value = _repeat_heads(key, n_heads), _repeat_heads(value, n_heads)
    scores = torch.matmul(query, key.transpose(-1, -2)) * scaling
    if attention_mask is not None:
        scores = scores + attention_mask[:, :, :, : key.shape[-2]]
    scores = hook("hook_attn_scores", scores)
    pattern = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    pattern = hook("hook_pattern", pattern)
    if dropout and module.training:
        pattern = torch.nn.functional.dropout(pattern, p=dropout)
    z = torch.matmul(pattern, value).transpose(1, 2).contiguous()
    z = hook("hook_z", z)
    return z, pattern


AttentionInterface.register(IMPLEMENTATION, traced_attention)
AttentionMaskInterface.register(IMPLEMENTATION, eager_mask)


class _Binding:
    def __init__(self, module):
        self._module = weakref.ref(module)

    def remove(self):
        module = self._module()
        if module is not None:
            _BOUND.pop(module, None)


def bind(module, registry, site) -> _Binding:
    """Route ``module``'s attention through :func:`traced_attention` hooks of ``registry``."""
    _BOUND[module] = (registry, site)
    return _Binding(module)


def is_bound(module) -> bool:
    return module in _BOUND
