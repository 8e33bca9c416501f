"""Attention flow (Abnar & Zuidema 2020): the layered Dinic solver against networkx.

Both solve the same maximum-flow problems: from one output token (top layer) to each of several
input tokens through the residual-augmented attention graph [L, T, T] (peaked random softmax
rows + identity, row-normalised; causal or bidirectional). Reference: networkx's Edmonds–Karp
(``nx.maximum_flow_value(..., flow_func=edmonds_karp)``, the solver of the paper's reference
code) on a ``DiGraph`` built once outside the timed call; contender:
``iw.attention.layered_max_flow`` on the capacity array. Before timing, the two must agree
within 1e-9 on every problem of the case. Target: at least 20x faster at 12 layers x 64 tokens
(ratio <= 0.05; not applied to the toy ``--quick`` cases). networkx needs seconds per problem there, so a case times a sample of input
tokens evenly spread over the sequence.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from .timing import Row, Table, compare

TITLE = "attention flow: max-flow from one output token to several input tokens"
BASELINE = "networkx edmonds_karp"
OURS = "iw layered_max_flow"
TARGET = 0.05  # at least 20x faster


def attention_graph(n_layers: int, n_tok: int, causal: bool, seed: int = 0) -> np.ndarray:
    """Residual-augmented, row-stochastic attention [L, T, T] with peaked softmax rows."""
    rng = np.random.default_rng(seed)
    scores = 3.0 * rng.standard_normal((n_layers, n_tok, n_tok))
    if causal:
        scores = np.where(np.tril(np.ones((n_tok, n_tok), dtype=bool)), scores, -np.inf)
    att = np.exp(scores - scores.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    att = att + np.eye(n_tok)
    return att / att.sum(-1, keepdims=True)


def networkx_graph(cap: np.ndarray):
    """Node (l + 1, i) -> (l, j) with capacity cap[l, i, j] for every positive entry."""
    import networkx as nx

    n_layers, n_tok, _ = cap.shape
    graph = nx.DiGraph()
    for layer in range(n_layers):
        for i in range(n_tok):
            for j in range(n_tok):
                if cap[layer, i, j] > 0:
                    graph.add_edge((layer + 1, i), (layer, j), capacity=float(cap[layer, i, j]))
    return graph


def networkx_flows(graph, n_layers: int, source: int, sinks: list[int]) -> np.ndarray:
    import networkx as nx

    return np.array([nx.maximum_flow_value(graph, (n_layers, source), (0, s),
                                           flow_func=nx.algorithms.flow.edmonds_karp) for s in sinks])


def _cases(quick: bool) -> list[tuple[int, int, bool, int]]:
    """(layers, tokens, causal, input tokens timed) per case."""
    if quick:
        return [(3, 12, True, 4), (3, 12, False, 4)]
    return [(12, 64, True, 8), (12, 64, False, 2)]


def run(quick: bool = False, reps: int | None = None,
        select: Callable[[str], bool] = lambda case: True) -> Iterator[Table]:
    """One table per selected case ("<layers>x<tokens>/<causal|bidir>")."""
    from interp_widgets.analysis.attention import layered_max_flow

    reps = reps or (1 if quick else 5)
    for n_layers, n_tok, causal, n_sinks in _cases(quick):
        case = f"{n_layers}x{n_tok}/{'causal' if causal else 'bidir'}"
        if not select(case):
            continue
        try:
            import networkx  # noqa: F401
        except ImportError as exc:
            yield Table(TITLE, repr(BASELINE), [Row(case, n, skipped=f"networkx is not installed ({exc})")
                                                for n in (BASELINE, OURS)])
            continue
        cap = attention_graph(n_layers, n_tok, causal)
        source = n_tok - 1
        sinks = [int(s) for s in np.linspace(0, n_tok - 1, n_sinks).round()]
        graph = networkx_graph(cap)
        ours = layered_max_flow(cap, [source], sinks)[0]
        peer = networkx_flows(graph, n_layers, source, sinks)
        if not np.allclose(ours, peer, atol=1e-9, rtol=0):
            raise AssertionError(f"{case}: flow differs from networkx by {np.abs(ours - peer).max():.2e}")
        contenders = {BASELINE: lambda: networkx_flows(graph, n_layers, source, sinks),
                      OURS: lambda: layered_max_flow(cap, [source], sinks)}
        rows = compare(case, contenders, BASELINE, reps=reps, warmup=0,
                       targets=None if quick else {OURS: TARGET})
        yield Table(f"{TITLE} ({n_sinks} input tokens; results agree within 1e-9)", repr(BASELINE), rows)


if __name__ == "__main__":
    import sys

    for table in run(quick="--quick" in sys.argv):
        print(table.format())
