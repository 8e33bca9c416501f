"""Influence-based pruning of attribution graphs, replacement and completeness scores.

With Â the adjacency with absolute values and each row (a target's inputs) scaled to sum to 1,
and w the logit nodes' probabilities, a node's influence is the weight of all its paths to the
logits: w^T (Â + Â² + Â³ + ...) (a finite sum: the graph is acyclic).

- Pruning keeps the most influential nodes until their cumulative share reaches
  ``node_threshold``, then the edges with the largest influence-weighted normalised weight
  until ``edge_threshold``; token and logit nodes are always kept; nodes that lost all their
  outgoing (or, for features, all their incoming) edges are dropped. A threshold of 1 keeps
  everything.
- Replacement score: the tokens' share of the influence reaching the logits from the graph's
  roots (token + error nodes), token / (token + error).
- Completeness score: the share of every node's input that does not come from error nodes,
  averaged with weights influence + logit probability; nodes without inputs (token embeddings,
  error nodes) count as complete, as in circuit-tracer, so the numbers compare across tools.
Both lie in [0, 1] and are 1 when all error nodes are zero.
"""

from __future__ import annotations

import torch


def normalize_rows(adjacency: torch.Tensor) -> torch.Tensor:
    """|A| with each non-empty row scaled to sum to 1."""
    a = adjacency.abs().double()
    total = a.sum(1, keepdim=True)
    return torch.where(total > 0, a / total.clamp_min(1e-300), torch.zeros_like(a))


def influence(normalized: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """w^T Σ_{k>=1} Â^k for ``normalized`` [N, N] (target, source) and ``weights`` [N]."""
    v = weights.double()
    total = torch.zeros_like(v)
    for _ in range(len(v) + 1):
        v = v @ normalized
        if not v.any():
            return total
        total += v
    raise ValueError("the graph has a cycle; attribution graphs are acyclic")


def logit_weights(graph) -> torch.Tensor:
    is_logit = torch.tensor([t == "logit" for t in graph.node_type])
    return torch.where(is_logit, graph.token_prob.double(), torch.zeros(len(is_logit), dtype=torch.float64))


def _cumulative_before(scores: torch.Tensor) -> torch.Tensor:
    """For each entry, the share of the total held by the entries ranked strictly before it
    (largest first)."""
    order = scores.argsort(descending=True, stable=True)
    ranked = scores[order]
    total = ranked.sum()
    before = torch.empty_like(scores)
    before[order] = (ranked.cumsum(0) - ranked) / total if total > 0 else torch.ones_like(ranked)
    return before


def node_influence(graph) -> tuple[torch.Tensor, torch.Tensor]:
    """(share [N], cumulative [N]): each node's share of the total influence and the share of
    the nodes ranked at or above it (circuit-tracer's ``influence``, lower = more important)."""
    scores = influence(normalize_rows(graph.adjacency), logit_weights(graph))
    total = scores.sum()
    if total <= 0:
        return torch.zeros(len(scores)), torch.ones(len(scores))
    share = scores / total
    return share.float(), (_cumulative_before(scores) + share).clamp(max=1).float()


def _keep(scores: torch.Tensor, threshold: float) -> torch.Tensor:
    if threshold >= 1:
        return torch.ones_like(scores, dtype=torch.bool)
    return _cumulative_before(scores) < threshold


def prune(graph, node_threshold: float = 0.8, edge_threshold: float = 0.98):
    """The graph restricted to its most influential nodes and edges (see the module docstring)."""
    for name, t in (("node_threshold", node_threshold), ("edge_threshold", edge_threshold)):
        if not 0 <= t <= 1:
            raise ValueError(f"{name} must lie in [0, 1], got {t}")
    A = graph.adjacency
    w = logit_weights(graph)
    always = torch.tensor([t in ("embedding", "logit") for t in graph.node_type])
    keep = _keep(influence(normalize_rows(A), w), node_threshold) | always

    inner = A * (keep[:, None] & keep[None, :])
    norm = normalize_rows(inner)
    target_weight = influence(norm, w) + w
    scores = norm * target_weight[:, None]
    edges = _keep(scores.flatten(), edge_threshold).view_as(A) & (inner != 0)

    had_out, had_in = (A != 0).any(0), (A != 0).any(1)
    while True:
        ok = (edges.any(0) | ~had_out) & (edges.any(1) | ~had_in)
        new_keep = (keep & ok) | always
        edges &= new_keep[:, None] & new_keep[None, :]
        if torch.equal(new_keep, keep):
            break
        keep = new_keep

    idx = keep.nonzero().squeeze(1)
    sub = (A * edges)[idx][:, idx]
    share, cumulative = graph.influence, graph.cumulative_influence
    pick = idx.tolist()
    from .graph import Graph

    return Graph(
        prompt=graph.prompt, tokens=list(graph.tokens), str_tokens=list(graph.str_tokens),
        n_layers=graph.n_layers, node_type=[graph.node_type[i] for i in pick],
        node_layer=graph.node_layer[idx], node_pos=graph.node_pos[idx], node_index=graph.node_index[idx],
        activation=graph.activation[idx], token_prob=graph.token_prob[idx],
        clerp=[graph.clerp[i] for i in pick], adjacency=sub, model_name=graph.model_name,
        transcoder=graph.transcoder, node_threshold=float(node_threshold),
        edge_threshold=float(edge_threshold), influence=share[idx], cumulative_influence=cumulative[idx],
        q_params=dict(graph.q_params), slug=graph.slug,
    ).attach(graph._model, graph._tc, graph._descriptions)


def graph_scores(graph) -> tuple[float, float]:
    """(replacement score, completeness score) of ``graph`` (see the module docstring)."""
    norm = normalize_rows(graph.adjacency)
    w = logit_weights(graph)
    scores = influence(norm, w)
    types = graph.node_type
    err = torch.tensor([t == "error" for t in types])
    tok = torch.tensor([t == "embedding" for t in types])
    token, error = float(scores[tok].sum()), float(scores[err].sum())
    replacement = token / (token + error) if token + error > 0 else 1.0
    weight = scores + w
    from_errors = norm[:, err].sum(1)
    total = float(weight.sum())
    completeness = float((weight * (1 - from_errors)).sum()) / total if total > 0 else 1.0
    clip = lambda x: min(1.0, max(0.0, x))  # noqa: E731 - rounding can overshoot by an ulp
    return clip(replacement), clip(completeness)
