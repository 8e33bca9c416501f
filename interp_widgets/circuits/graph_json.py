"""Graph JSON in the circuit-tracer / Neuronpedia schema.

``{"metadata": {slug, scan, transcoder_list, prompt_tokens, prompt, node_threshold,
schema_version, ...}, "qParams": {pinnedIds, supernodes, linkType, clickedId, sg_pos},
"nodes": [{node_id, feature, layer, ctx_idx, feature_type, token_prob, is_target_logit,
run_idx, reverse_ctx_idx, jsNodeId, clerp, influence, activation}], "links": [{source, target,
weight}]}``. Node ids: feature ``"{layer}_{feature}_{pos}"``, error ``"0_{layer}_{pos}"``,
embedding ``"E_{vocab}_{pos}"``, logit ``"{n_layers+1}_{vocab}_{pos}"``. An error id can
coincide with the id of a layer-0 feature (feature index = the error's layer); the error node
then gets the suffix ``"__err"`` so that links stay unambiguous. Node kinds are read from
``feature_type``, not from the id.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

SCHEMA_VERSION = 1
FEATURE_TYPES = {"feature": "cross layer transcoder", "error": "mlp reconstruction error",
                 "embedding": "embedding", "logit": "logit"}


def _base_id(graph, i: int) -> str:
    kind, l, p, f = (graph.node_type[i], int(graph.node_layer[i]), int(graph.node_pos[i]),
                     int(graph.node_index[i]))
    if kind == "feature":
        return f"{l}_{f}_{p}"
    if kind == "error":
        return f"0_{l}_{p}"
    if kind == "embedding":
        return f"E_{f}_{p}"
    return f"{graph.n_layers + 1}_{f}_{p}"


def node_id(graph, i: int) -> str:
    """The circuit-tracer id of node ``i`` (see the module docstring for the error-node suffix)."""
    base = _base_id(graph, i)
    if graph.node_type[i] == "error":
        feature_ids = {_base_id(graph, j) for j, t in enumerate(graph.node_type) if t == "feature"}
        if base in feature_ids:
            return base + "__err"
    return base


def _js_id(graph, i: int) -> str:
    kind, l, p, f = (graph.node_type[i], int(graph.node_layer[i]), int(graph.node_pos[i]),
                     int(graph.node_index[i]))
    return {"feature": f"{l}_{f}-0", "error": f"{l}_{p}-0", "embedding": f"E_{f}-{p}",
            "logit": f"L_{f}-{p}"}[kind]


def _num(x) -> float | None:
    x = float(x)
    return None if x != x else x


def to_json(graph) -> dict:
    ids = graph.node_ids
    nodes = []
    top_logit = max((i for i, t in enumerate(graph.node_type) if t == "logit"),
                    key=lambda i: float(graph.token_prob[i]), default=None)
    for i, kind in enumerate(graph.node_type):
        p, f = int(graph.node_pos[i]), int(graph.node_index[i])
        layer = "E" if kind == "embedding" else str(
            graph.n_layers + 1 if kind == "logit" else int(graph.node_layer[i]))
        nodes.append({
            "node_id": ids[i], "feature": {"feature": f, "error": -1, "embedding": p, "logit": f}[kind],
            "layer": layer, "ctx_idx": p, "feature_type": FEATURE_TYPES[kind],
            "token_prob": float(graph.token_prob[i]), "is_target_logit": i == top_logit, "run_idx": 0,
            "reverse_ctx_idx": 0, "jsNodeId": _js_id(graph, i), "clerp": graph.clerp[i],
            "influence": float(graph.cumulative_influence[i]), "influence_raw": float(graph.influence[i]),
            "activation": None if kind == "embedding" else _num(graph.activation[i]),
        })
    tgt, src = graph.adjacency.nonzero(as_tuple=True)
    weights = graph.adjacency[tgt, src].tolist()
    links = [{"source": ids[s], "target": ids[t], "weight": w}
             for s, t, w in zip(src.tolist(), tgt.tolist(), weights)]
    q = {"pinnedIds": [], "supernodes": [], "linkType": "both", "clickedId": "", "sg_pos": ""}
    q.update(graph.q_params)
    metadata = {
        "slug": graph.slug or _slug(graph.prompt), "scan": graph.model_name, "transcoder_list": [],
        "prompt_tokens": list(graph.str_tokens), "prompt": graph.prompt,
        "node_threshold": graph.node_threshold, "edge_threshold": graph.edge_threshold,
        "schema_version": SCHEMA_VERSION, "n_layers": graph.n_layers, "prompt_token_ids": list(graph.tokens),
        "transcoder": graph.transcoder, "generator": "interp_widgets",
    }
    return {"metadata": metadata, "qParams": q, "nodes": nodes, "links": links}


def _slug(prompt: str) -> str:
    words = "".join(c if c.isalnum() else "-" for c in prompt.lower()).split("-")
    return "-".join(w for w in words if w)[:40] or "graph"


def _kind(feature_type: str) -> str:
    if feature_type == "embedding":
        return "embedding"
    if feature_type == "logit":
        return "logit"
    if "error" in feature_type:
        return "error"
    return "feature"


def from_json(data):
    """A :class:`Graph` from a dict or a JSON file in the schema above (no model attached)."""
    from .graph import Graph

    if isinstance(data, (str, Path)):
        data = json.loads(Path(data).read_text())
    try:
        meta, raw_nodes, raw_links = data["metadata"], data["nodes"], data["links"]
    except (KeyError, TypeError):
        raise ValueError("not a circuit-tracer graph: expected a dict with 'metadata', 'nodes' and "
                         "'links'") from None
    str_tokens = list(meta.get("prompt_tokens", []))
    logit_layers = [int(n["layer"]) for n in raw_nodes if _kind(n["feature_type"]) == "logit"]
    other_layers = [int(n["layer"]) for n in raw_nodes
                    if _kind(n["feature_type"]) in ("feature", "error")]
    n_layers = int(meta.get("n_layers") or (max(logit_layers) - 1 if logit_layers else
                                           max(other_layers, default=-1) + 1))
    tokens = meta.get("prompt_token_ids")
    if tokens is None:
        tokens = [-1] * len(str_tokens)
        for n in raw_nodes:
            if _kind(n["feature_type"]) == "embedding":
                tokens[int(n["ctx_idx"])] = int(n["node_id"].split("_")[1])
    types, layer, pos, index, act, prob, clerp, infl, cum = [], [], [], [], [], [], [], [], []
    for n in raw_nodes:
        kind = _kind(n["feature_type"])
        p = int(n["ctx_idx"])
        parts = n["node_id"].split("__")[0].split("_")
        if kind == "feature":
            l, f = int(parts[0]), int(parts[1])
        elif kind == "error":
            l, f = int(n["layer"]), -1
        elif kind == "embedding":
            l, f = -1, int(parts[1])
        else:
            l, f = n_layers, int(parts[1])
        types.append(kind)
        layer.append(l)
        pos.append(p)
        index.append(f)
        a = n.get("activation")
        act.append(0.0 if a is None else float(a))
        prob.append(float(n.get("token_prob") or 0.0))
        clerp.append(n.get("clerp") or "")
        cum.append(float(n["influence"]) if n.get("influence") is not None else 1.0)
        infl.append(float(n.get("influence_raw") or 0.0))
    ids = [n["node_id"] for n in raw_nodes]
    where = {nid: i for i, nid in enumerate(ids)}
    if len(where) != len(ids):
        raise ValueError("node ids repeat in this graph, so its links are ambiguous")
    adjacency = torch.zeros(len(ids), len(ids))
    for link in raw_links:
        try:
            adjacency[where[link["target"]], where[link["source"]]] = float(link["weight"])
        except KeyError as e:
            raise ValueError(f"link {link.get('source')!r} -> {link.get('target')!r} names a node that "
                             f"is not in the graph ({e.args[0]!r})") from None
    has_raw = any(n.get("influence_raw") is not None for n in raw_nodes)
    q = dict(data.get("qParams") or {})
    graph = Graph(
        prompt=meta.get("prompt", ""), tokens=[int(t) for t in tokens], str_tokens=str_tokens,
        n_layers=n_layers, node_type=types, node_layer=torch.tensor(layer, dtype=torch.long),
        node_pos=torch.tensor(pos, dtype=torch.long), node_index=torch.tensor(index, dtype=torch.long),
        activation=torch.tensor(act), token_prob=torch.tensor(prob), clerp=clerp, adjacency=adjacency,
        model_name=meta.get("scan") or "", transcoder=meta.get("transcoder", ""),
        node_threshold=meta.get("node_threshold"), edge_threshold=meta.get("edge_threshold"),
        influence=torch.tensor(infl) if has_raw else None, cumulative_influence=torch.tensor(cum)
        if has_raw else None, q_params=q, slug=meta.get("slug", ""),
    )
    return graph
