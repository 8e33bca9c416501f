"""Exact maximum flow through the layered attention graph of Abnar & Zuidema (2020), Sec. 3.

The graph has ``L + 1`` layers of ``T`` nodes; node ``(l + 1, i)`` sends to ``(l, j)`` along an
edge of capacity ``C[l, i, j]`` (the residual-augmented attention of layer ``l``). Flow starts at
one node of the top layer and ends at one input token (layer 0). Because every edge joins two
consecutive layers, residual capacities live in two dense arrays ``[L, T, T]`` (down: unused
capacity, up: flow that can be cancelled) and the breadth-first search of Dinic's algorithm is a
few vectorised numpy operations per level. Blocking flows are found by depth-first search with
current-arc pointers. The result is the exact maximum flow (floating-point arithmetic only;
residuals below ``eps`` count as saturated), the same value an Edmonds–Karp solver such as
networkx returns, found orders of magnitude faster.
"""

from __future__ import annotations

import numpy as np


def max_flow(capacity: np.ndarray, source: int, sink: int, eps: float = 1e-12) -> float:
    """Maximum flow from node ``(L, source)`` to node ``(0, sink)``; ``capacity`` [L, T, T]."""
    cap = np.asarray(capacity, dtype=np.float64)
    down = cap.copy()
    keep = np.zeros(cap.shape[-1], dtype=bool)
    keep[sink] = True
    down[0][:, ~keep] = 0.0  # other input tokens are dead ends: they never carry flow
    up = np.zeros_like(down)
    # the depth-first searches read and write single edges: plain lists are much faster there
    flat_down, flat_up = down.ravel().tolist(), up.ravel().tolist()
    total = 0.0
    while True:
        down = np.asarray(flat_down).reshape(cap.shape)
        up = np.asarray(flat_up).reshape(cap.shape)
        dist = _levels(down, up, source, sink, eps)
        if dist is None:
            return total
        total += _blocking_flow(down, up, flat_down, flat_up, dist, source, sink, eps)


def _levels(down, up, source, sink, eps):
    """Breadth-first distances [L + 1, T] from the source in the residual graph (-1: unreached),
    or None when the sink is unreachable. Only nodes closer than the sink are kept."""
    n_layers, n_tok, _ = down.shape
    dist = np.full((n_layers + 1, n_tok), -1, dtype=np.int64)
    dist[n_layers, source] = 0
    frontier = dist == 0
    open_down, open_up = down > eps, up > eps
    level = 0
    while frontier.any():
        reach = np.zeros_like(frontier)
        # (l + 1, i) -> (l, j) along unused capacity; (l, j) -> (l + 1, i) along cancellable flow
        reach[:-1] |= (open_down & frontier[1:, :, None]).any(axis=1)
        reach[1:] |= (open_up & frontier[:-1, None, :]).any(axis=2)
        reach &= dist < 0
        level += 1
        dist[reach] = level
        if reach[0, sink]:
            dist[dist > level] = -1
            dist[0, :] = -1
            dist[0, sink] = level
            return dist
        frontier = reach
    return None


def _blocking_flow(down, up, flat_down, flat_up, dist, source, sink, eps):
    """Dinic's blocking flow on the level graph ``dist``; updates ``flat_down``/``flat_up``.

    Nodes are ``layer * T + token``; the edge between (l + 1, i) and (l, j) has flat index
    ``(l * T + i) * T + j`` in both residual lists (down: unused capacity, up: flow)."""
    n_layers, n_tok, _ = down.shape
    level = dist.ravel().tolist()
    goal = sink  # node id of (0, sink)
    arcs: dict[int, list[tuple[int, int, bool]]] = {}
    pointer: dict[int, int] = {}

    def candidates(u):
        layer, tok = divmod(u, n_tok)
        d = level[u] + 1
        out = []
        if layer > 0:
            js = np.flatnonzero((down[layer - 1, tok] > eps) & (dist[layer - 1] == d))
            out += zip(((layer - 1) * n_tok + js).tolist(), (((layer - 1) * n_tok + tok) * n_tok + js).tolist(),
                       [True] * len(js))
        if layer < n_layers:
            iss = np.flatnonzero((up[layer, :, tok] > eps) & (dist[layer + 1] == d))
            out += zip(((layer + 1) * n_tok + iss).tolist(), ((layer * n_tok + iss) * n_tok + tok).tolist(),
                       [False] * len(iss))
        return out

    total = 0.0
    path: list[int] = [n_layers * n_tok + source]
    edges: list[tuple[int, bool]] = []
    while path:
        u = path[-1]
        if u == goal:
            flow = min(flat_down[e] if is_down else flat_up[e] for e, is_down in edges)
            cut = -1
            for k, (e, is_down) in enumerate(edges):
                if is_down:
                    flat_down[e] -= flow
                    flat_up[e] += flow
                    left = flat_down[e]
                else:
                    flat_up[e] -= flow
                    flat_down[e] += flow
                    left = flat_up[e]
                if cut < 0 and left <= eps:
                    cut = k
            total += flow
            del path[cut + 1:]
            del edges[cut:]
            continue
        options = arcs.get(u)
        if options is None:
            options = arcs[u] = candidates(u)
            pointer[u] = 0
        k = pointer[u]
        while k < len(options):
            v, e, is_down = options[k]
            if level[v] >= 0 and (flat_down[e] if is_down else flat_up[e]) > eps:
                break
            k += 1
        pointer[u] = k
        if k < len(options):
            path.append(v)
            edges.append((e, is_down))
        else:
            level[u] = -1  # dead end for the rest of this phase
            path.pop()
            if edges:
                edges.pop()
    return total


def layered_max_flow(capacity, sources=None, sinks=None, eps: float = 1e-12, progress: bool = False) -> np.ndarray:
    """Max-flow values [len(sources), len(sinks)] from top-layer ``sources`` to input ``sinks``
    (default: every token). Pairs with no path give 0 without running the solver."""
    cap = np.asarray(capacity, dtype=np.float64)
    n_tok = cap.shape[-1]
    sources = list(range(n_tok)) if sources is None else [int(s) for s in sources]
    sinks = list(range(n_tok)) if sinks is None else [int(s) for s in sinks]
    reach = _reachability(cap > 0)
    out = np.zeros((len(sources), len(sinks)))
    pairs = [(a, b) for a in range(len(sources)) for b in range(len(sinks)) if reach[sources[a], sinks[b]]]
    if progress:
        from tqdm.auto import tqdm

        pairs = tqdm(pairs, desc="attention flow (max-flow per token pair)", leave=False)
    for a, b in pairs:
        out[a, b] = max_flow(cap, sources[a], sinks[b], eps)
    return out


def _reachability(edges: np.ndarray) -> np.ndarray:
    """[T, T] booleans: whether a top-layer token reaches an input token along positive edges."""
    reach = np.eye(edges.shape[-1], dtype=bool)
    for layer in range(edges.shape[0] - 1, -1, -1):
        reach = (reach.astype(np.float64) @ edges[layer].astype(np.float64)) > 0
    return reach
