"""Exact nearest neighbours among the rows of an input-embedding matrix, computed in row chunks
(never a full vocabulary x vocabulary distance matrix) and cached per embedding module."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import torch

BLOCK_BYTES = 2**28  # one chunk's distance block [rows, V] in float32 when chunk_size is None

_CACHE: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # embedding module -> (key, graph)


@dataclass(frozen=True, eq=False)
class NeighborGraph:
    """``indices`` [V, k] of each row's k nearest other rows (closest first) and their Euclidean
    ``distances`` [V, k], over the first V rows of the embedding matrix."""

    indices: torch.Tensor
    distances: torch.Tensor

    @property
    def k(self) -> int:
        return self.indices.shape[1]


def nearest(queries: torch.Tensor, table: torch.Tensor, k: int, *, exclude_self: bool = False,
            chunk_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``k`` rows of ``table`` [V, d] closest (L2) to each of ``queries`` [n, d]:
    (distances [n, k], indices [n, k]), closest first. ``exclude_self``: query i is table row i
    and does not count as its own neighbour. ``chunk_size`` query rows per distance block
    (default: blocks of at most 256 MiB)."""
    n, v = queries.shape[0], table.shape[0]
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= v - exclude_self:
        raise ValueError(f"k must be an int in [1, {v - exclude_self}] for {v} candidate rows; got {k!r}")
    if chunk_size is None:
        chunk_size = max(1, BLOCK_BYTES // (4 * v))
    elif not isinstance(chunk_size, int) or chunk_size < 1:
        raise ValueError("chunk_size must be a positive int (query rows per distance block)")
    dist_out = torch.empty(n, k, dtype=table.dtype, device=table.device)
    idx_out = torch.empty(n, k, dtype=torch.long, device=table.device)
    for start in range(0, n, chunk_size):
        block = torch.cdist(queries[start:start + chunk_size], table)
        if exclude_self:
            rows = torch.arange(block.shape[0], device=block.device)
            block[rows, rows + start] = float("inf")
        d, i = block.topk(k, dim=1, largest=False, sorted=True)
        dist_out[start:start + chunk_size], idx_out[start:start + chunk_size] = d, i
    return dist_out, idx_out


def build_graph(table: torch.Tensor, k: int, chunk_size: int | None = None) -> NeighborGraph:
    """The k-nearest-neighbour graph of the rows of ``table`` [V, d] (a row is not its own
    neighbour); see :func:`nearest` for ``chunk_size``."""
    with torch.no_grad():
        table = table.detach()
        if table.dtype != torch.float64:
            table = table.float()
        distances, indices = nearest(table, table, k, exclude_self=True, chunk_size=chunk_size)
    return NeighborGraph(indices, distances)


def word_count(model) -> int:
    """Rows of the input embedding that are tokenizer tokens (padding rows of the matrix are no
    words and never anchors)."""
    n = model.adapter.embedding().weight.shape[0]
    return min(n, len(model.tokenizer)) if model.tokenizer is not None else n


def _fingerprint(weight: torch.Tensor) -> tuple:
    return (weight.data_ptr(), weight._version, tuple(weight.shape), weight.dtype, str(weight.device),
            float(weight.detach().sum(dtype=torch.float64)))


def neighbor_graph(model, k: int = 500, *, chunk_size: int | None = None) -> NeighborGraph:
    """The k-NN graph [V, k] over ``model``'s input-embedding rows of tokenizer tokens, cached
    on the embedding module itself: two models never share a graph, and the graph is rebuilt
    when the embedding weights change (in place or replaced) or ``k`` changes. ``k`` is capped
    at V - 1."""
    emb = model.adapter.embedding()
    if emb is None:
        raise ValueError("this model has no input embedding module to build a neighbour graph of")
    n = word_count(model)
    if n < 2:
        raise ValueError("the vocabulary needs at least two tokens for a neighbour graph")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k (neighbours per token) must be a positive int; got {k!r}")
    k = min(k, n - 1)
    key = (k, n, _fingerprint(emb.weight))
    cached = _CACHE.get(emb)
    if cached is not None and cached[0] == key:
        return cached[1]
    graph = build_graph(emb.weight[:n], k, chunk_size)
    _CACHE[emb] = (key, graph)
    return graph
