"""The slices of an :class:`AttentionPatterns` result that the attention view fetches lazily.

A slice is named by a key string and holds a few named arrays:

* ``edges:{layer}`` — the top-K keys of every query row of every head: ``key`` [head, q, K]
  (indices; -1 pads rows shorter than K), ``weight`` [head, q, K] (descending), ``coverage``
  [head, q] (the attention share the K edges hold).
* ``matrix:{layer}:{head}:{q0}:{q1}:{k0}:{k1}`` — ``values``: the window ``[q0:q1, k0:k1]`` of
  one head, block-max pooled to at most :data:`MATRIX_SIZE` per side.
* ``token:{layer}:{t}`` — ``from`` [head, T] (row t: what t attends to) and ``to`` [head, T]
  (column t: how much each query attends to t).
* ``qk:{layer}:{head}`` — ``q`` and ``k`` [T, d_head] (post-rotary for RoPE models).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..analysis.attention.patterns import AttentionPatterns, pooled_max
from ._base import array_to_payload

MATRIX_SIZE = 512
EDGES_PER_ROW = 32


class SliceError(ValueError):
    """A slice key that names no valid slice."""


def _ints(parts: list[str], key: str) -> list[int]:
    try:
        return [int(p) for p in parts]
    except ValueError:
        raise SliceError(f"slice key {key!r} must hold integers after its kind") from None


def _check(value: int, stop: int, what: str, key: str, start: int = 0) -> int:
    if not start <= value < stop:
        raise SliceError(f"{what} {value} in slice key {key!r} is out of range [{start}, {stop})")
    return value


def edges(result: AttentionPatterns, layer: int, per_row: int = EDGES_PER_ROW) -> dict[str, np.ndarray]:
    """Top-``per_row`` keys per query row of every head of ``layer`` (see module docs)."""
    k = min(per_row, result.n_tokens)
    weights, indices = [], []
    for h in range(result.n_heads):  # one head at a time bounds memory for lazy results
        weight, index = torch.topk(result.pattern(layer, h)[0], k, dim=-1)
        weights.append(weight)
        indices.append(index)
    weight, index = torch.stack(weights), torch.stack(indices)
    return {"key": index.numpy().astype(np.float32), "weight": weight.numpy(),
            "coverage": weight.sum(-1).numpy()}


def matrix(result: AttentionPatterns, layer: int, head: int, window: tuple[int, int, int, int],
           size: int = MATRIX_SIZE) -> dict[str, np.ndarray]:
    q0, q1, k0, k1 = window
    block = result.pattern(layer, head, slice(q0, q1), slice(k0, k1))[0].numpy()
    return {"values": pooled_max(block, size)}


def token(result: AttentionPatterns, layer: int, t: int) -> dict[str, np.ndarray]:
    row = result.pattern(layer, None, slice(t, t + 1))[:, 0]
    column = result.pattern(layer, None, slice(None), slice(t, t + 1))[:, :, 0]
    return {"from": row.numpy(), "to": column.numpy()}


def qk(result: AttentionPatterns, layer: int, head: int) -> dict[str, np.ndarray]:
    if result.queries is None or result.keys is None:
        raise SliceError("this result holds no queries/keys; compute it with patterns(..., qk=True)")
    return {"q": result.queries[layer, :, head].float().numpy(), "k": result.keys[layer, :, head].float().numpy()}


def compute(result: AttentionPatterns, key: str, per_row: int = EDGES_PER_ROW) -> dict[str, np.ndarray]:
    """The arrays of slice ``key``; raises :class:`SliceError` for an invalid key."""
    if not isinstance(key, str) or not key:
        raise SliceError(f"a slice key must be a non-empty string, got {key!r}")
    kind, *rest = key.split(":")
    L, H, T = result.n_layers, result.n_heads, result.n_tokens
    shapes = {"edges": 1, "matrix": 6, "token": 2, "qk": 2}
    if kind not in shapes:
        raise SliceError(f"unknown slice kind {kind!r} in {key!r}; expected one of {sorted(shapes)}")
    if len(rest) != shapes[kind]:
        raise SliceError(f"slice key {key!r} needs {shapes[kind]} numbers after '{kind}:'")
    nums = _ints(rest, key)
    layer = _check(nums[0], L, "layer", key)
    if kind == "edges":
        return edges(result, layer, per_row)
    if kind == "token":
        return token(result, layer, _check(nums[1], T, "token", key))
    head = _check(nums[1], H, "head", key)
    if kind == "qk":
        return qk(result, layer, head)
    q0, q1, k0, k1 = nums[2:]
    if not (0 <= q0 < q1 <= T and 0 <= k0 < k1 <= T):
        raise SliceError(f"matrix window {nums[2:]} in {key!r} must satisfy 0 <= q0 < q1 <= {T} "
                         f"and 0 <= k0 < k1 <= {T}")
    return matrix(result, layer, head, (q0, q1, k0, k1))


WIRE = {"key": "float32", "weight": "float16", "coverage": "float16", "values": "float16",
        "from": "float16", "to": "float16", "q": "float32", "k": "float32"}


def encode(arrays: dict[str, np.ndarray]) -> tuple[dict[str, Any], list[bytes]]:
    """Arrays -> (JSON metadata per array, binary buffers in the order of ``names``)."""
    meta, buffers, names = {}, [], []
    for name, array in arrays.items():
        payload = array_to_payload(array, WIRE.get(name, "float32"))
        buffers.append(payload.pop("data"))
        meta[name] = payload
        names.append(name)
    return {"arrays": meta, "names": names}, buffers


def embedded(arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """Arrays as full payloads (binary ``data`` included), for a static page."""
    return {name: array_to_payload(a, WIRE.get(name, "float32")) for name, a in arrays.items()}
