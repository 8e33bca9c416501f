"""CircuitGraphView: an attribution graph (circuit-tracer / Neuronpedia JSON schema) with token
positions on x and layer bands (Emb, 0 .. L-1, Lgt) on y; selection, pins, labels, supernodes,
re-pruning and interventions in the kernel, and export of the annotated graph JSON."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import traitlets
from traitlets import TraitError

from ._base import ArrayTrait, InterpWidget

EMBEDDING, FEATURE, ERROR, LOGIT = 0, 1, 2, 3
TYPE_NAMES = {EMBEDDING: "embedding", FEATURE: "cross layer transcoder", ERROR: "mlp reconstruction error",
              LOGIT: "logit"}
NODE_COLUMNS = ("band", "ctx_idx", "type", "influence", "activation", "token_prob", "feature", "is_target_logit")
LINK_TYPES = ("input", "output", "both")
MAX_LABEL = 200
_FEATURE_ID = re.compile(r"^(\d+)_(\d+)_(\d+)$")


class GraphLike(Protocol):
    """What the view needs of a kernel-side graph (``iw.circuits.Graph``)."""

    def to_json(self) -> dict: ...
    def prune(self, node_threshold: float = ..., edge_threshold: float = ...) -> GraphLike: ...
    def feature_details(self, layer: int, feature: int) -> dict | None: ...
    def intervene(self, changes: dict, freeze_attention: bool = ...) -> dict: ...


def _number(value: Any, default: float = math.nan) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        return default
    return out if math.isfinite(out) else default


def node_kind(feature_type: Any) -> int:
    """Node type code from a ``feature_type``: "embedding", "logit", any "... error", else a feature."""
    text = str(feature_type)
    return EMBEDDING if text == "embedding" else LOGIT if text == "logit" else ERROR if "error" in text else FEATURE


def feature_index(node: Mapping[str, Any]) -> int:
    """Transcoder feature index of a feature node: parsed from its id ``{layer}_{feat}_{pos}``,
    else its ``feature`` field (which circuit-tracer offsets by the layer)."""
    match = _FEATURE_ID.match(str(node.get("node_id", "")))
    return int(match.group(2)) if match else int(_number(node.get("feature"), -1))


def parse_graph(data: Mapping[str, Any] | str | Path) -> dict[str, Any]:
    """Checks a graph JSON (dict or path) and returns the view's columns.

    Returns ``ids``, ``clerps`` (lists), ``nodes`` [N, 8] (see :data:`NODE_COLUMNS`; band -1 =
    embeddings, ``n_layers`` = logits), ``links`` [E, 3] (source index, target index, weight),
    ``n_layers``, ``prompt_tokens``, ``metadata``, ``qparams``, ``node_dicts`` and ``link_dicts`` (as given).
    """
    if isinstance(data, (str, Path)):
        data = json.loads(Path(data).read_text(encoding="utf-8"))
    if not (isinstance(data, Mapping) and isinstance(data.get("nodes"), list) and isinstance(data.get("links"), list)):
        raise ValueError("a graph JSON needs 'nodes' and 'links' lists (circuit-tracer / Neuronpedia schema); "
                         "make one with Graph.to_json()")
    nodes, links = data["nodes"], data["links"]
    ids: list[str] = []
    for i, node in enumerate(nodes):
        if not isinstance(node, Mapping) or "node_id" not in node or "feature_type" not in node:
            raise ValueError(f"node {i} of the graph JSON needs 'node_id' and 'feature_type', got {node!r:.200}")
        ids.append(str(node["node_id"]))
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise ValueError(f"node ids must be unique in the graph JSON, repeated: {dup}")
    inner = [int(_number(n.get("layer"), 0)) for n in nodes if node_kind(n["feature_type"]) in (FEATURE, ERROR)]
    metadata = dict(data.get("metadata") or {})
    n_layers = int(metadata.get("n_layers") or (max(inner) + 1 if inner else 0))
    table = np.zeros((len(nodes), len(NODE_COLUMNS)), dtype=np.float64)
    for i, node in enumerate(nodes):
        kind = node_kind(node["feature_type"])
        band = -1 if kind == EMBEDDING else n_layers if kind == LOGIT else int(_number(node.get("layer"), 0))
        feature = feature_index(node) if kind == FEATURE else int(_number(node.get("feature"), -1))
        table[i] = (band, _number(node.get("ctx_idx"), 0), kind, _number(node.get("influence")),
                    _number(node.get("activation")), _number(node.get("token_prob"), 0.0), feature,
                    float(bool(node.get("is_target_logit"))))
    index = {node_id: i for i, node_id in enumerate(ids)}
    link_table = np.zeros((len(links), 3), dtype=np.float64)
    for k, link in enumerate(links):
        try:
            link_table[k] = (index[str(link["source"])], index[str(link["target"])], float(link["weight"]))
        except KeyError as exc:
            raise ValueError(f"link {k} of the graph JSON names node {exc.args[0]!r}, which is not among the "
                             "nodes (every link endpoint must be a node)") from None
        except (TypeError, ValueError):
            raise ValueError(f"link {k} needs 'source', 'target' and a numeric 'weight', got {link!r:.200}") from None
    tokens = [str(t) for t in metadata.get("prompt_tokens") or []]
    n_ctx = int(table[:, 1].max()) + 1 if len(nodes) else 0
    if len(tokens) < n_ctx:
        tokens += [f"#{p}" for p in range(len(tokens), n_ctx)]
    return {"ids": ids, "clerps": [str(n.get("clerp") or "") for n in nodes], "nodes": table, "links": link_table,
            "n_layers": n_layers, "prompt_tokens": tokens, "metadata": metadata,
            "qparams": dict(data.get("qParams") or {}), "node_dicts": [dict(n) for n in nodes],
            "link_dicts": [dict(l) for l in links]}


def _json_safe(value: Any) -> Any:
    """``value`` with non-finite floats replaced by None (the page payload must be strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


class CircuitGraphView(InterpWidget):
    """An attribution graph in the browser.

    Payload: ``node_ids`` / ``clerps`` (lists of N strings), ``nodes`` [N, 8] (columns
    :data:`NODE_COLUMNS`), ``links`` [E, 3] (source index, target index, weight), ``prompt_tokens``,
    ``n_layers``, ``details`` ({node_id: feature details} for feature nodes). State: ``selected``
    (a node id or ""), ``pinned`` (node ids), ``link_type`` (input / output / both), ``labels``
    ({node_id: text}, exported as ``clerp``), ``supernodes`` ([[name, id, ...], ...]),
    ``node_threshold`` / ``edge_threshold`` (re-prune in the kernel when a graph is attached),
    ``intervention`` (the last intervention's top logits vs baseline), ``status`` (messages).
    """

    _bundle = "circuit_graph"

    prompt_tokens = traitlets.List(traitlets.Unicode()).tag(sync=True)
    n_layers = traitlets.Int(0).tag(sync=True)
    metadata = traitlets.Dict().tag(sync=True)
    node_ids = traitlets.List(traitlets.Unicode()).tag(sync=True)
    clerps = traitlets.List(traitlets.Unicode()).tag(sync=True)
    nodes = ArrayTrait(shape=(None, len(NODE_COLUMNS)))
    links = ArrayTrait(shape=(None, 3))
    details = traitlets.Dict().tag(sync=True)
    live = traitlets.Bool(False).tag(sync=True)

    selected = traitlets.Unicode("").tag(sync=True)
    pinned = traitlets.List(traitlets.Unicode()).tag(sync=True)
    link_type = traitlets.Enum(LINK_TYPES, default_value="both").tag(sync=True)
    labels = traitlets.Dict(value_trait=traitlets.Unicode()).tag(sync=True)
    supernodes = traitlets.List(traitlets.List(traitlets.Unicode())).tag(sync=True)
    node_threshold = traitlets.Float(0.8).tag(sync=True)
    edge_threshold = traitlets.Float(0.98).tag(sync=True)
    intervention = traitlets.Dict().tag(sync=True)
    status = traitlets.Unicode("").tag(sync=True)

    static_page = traitlets.Bool(True)  # never synced to a kernel view: only a saved page holds it

    def __init__(self, graph_json: Mapping[str, Any] | str | Path, *, graph: GraphLike | None = None,
                 details: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        self.graph = graph
        self._given_details = dict(details or {})
        parsed = parse_graph(graph_json)
        meta, q = parsed["metadata"], parsed["qparams"]
        super().__init__(live=graph is not None, **self._columns(parsed))
        ids = set(self.node_ids)
        # a graph without thresholds is unpruned, which is what threshold 1.0 keeps
        self.node_threshold = _number(meta.get("node_threshold"), 1.0)
        self.edge_threshold = _number(meta.get("edge_threshold"), 1.0)
        pinned = q.get("pinnedIds") or []
        if isinstance(pinned, str):
            pinned = [p for p in pinned.split(",") if p]
        self.pinned = [p for p in dict.fromkeys(map(str, pinned)) if p in ids]
        groups = ([str(g[0]), *[m for m in map(str, g[1:]) if m in ids]] for g in q.get("supernodes") or []
                  if isinstance(g, list) and g)
        self.supernodes = [g for g in groups if len(g) > 1]
        if q.get("linkType") in LINK_TYPES:
            self.link_type = q["linkType"]
        if str(q.get("clickedId") or "") in ids:
            self.selected = str(q["clickedId"])
        self.on_msg(self._on_message)
        self.observe(self._reprune, names=["node_threshold", "edge_threshold"])

    @classmethod
    def from_graph(cls, graph: GraphLike, node_threshold: float = 0.8, edge_threshold: float = 0.98,
                   details: Mapping[str, Mapping[str, Any]] | None = None) -> CircuitGraphView:
        """A live view of ``graph`` pruned at the thresholds; the slider re-prunes it in the kernel and
        the intervention control calls ``graph.intervene``. Feature details come from ``details``
        ({node_id: ...}) or else ``graph.feature_details``."""
        pruned = graph.prune(node_threshold=node_threshold, edge_threshold=edge_threshold)
        data = pruned.to_json()
        data.setdefault("metadata", {}).update(node_threshold=node_threshold, edge_threshold=edge_threshold)
        return cls(data, graph=graph, details=details)

    # -- payload ---------------------------------------------------------------------------
    def _columns(self, parsed: dict[str, Any]) -> dict[str, Any]:
        self._node_dicts, self._link_dicts = parsed["node_dicts"], parsed["link_dicts"]
        return dict(node_ids=parsed["ids"], clerps=parsed["clerps"], nodes=parsed["nodes"], links=parsed["links"],
                    n_layers=parsed["n_layers"], prompt_tokens=parsed["prompt_tokens"],
                    metadata=_json_safe(parsed["metadata"]), details=self._details_for(parsed))

    def _details_for(self, parsed: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for node_id, row in zip(parsed["ids"], parsed["nodes"]):
            if row[2] != FEATURE:
                continue
            found = self._given_details.get(node_id)
            if found is None and self.graph is not None:
                found = self.graph.feature_details(int(row[0]), int(row[6]))
            if found is not None:
                out[node_id] = _json_safe(dict(found))
        return out

    def _reprune(self, change: dict[str, Any]) -> None:
        if self.graph is None:
            self.status = "No graph in the kernel: this view cannot re-prune (open it with Graph.show())."
            return
        try:
            parsed = parse_graph(self.graph.prune(node_threshold=self.node_threshold,
                                                  edge_threshold=self.edge_threshold).to_json())
        except (ValueError, RuntimeError) as exc:
            self.status = f"re-pruning failed: {exc}"
            return
        ids = set(parsed["ids"])
        lost = [p for p in self.pinned if p not in ids]
        with self.hold_sync():
            for key, value in self._columns(parsed).items():
                setattr(self, key, value)
            self.pinned = [p for p in self.pinned if p in ids]
            groups = ([g[0], *[m for m in g[1:] if m in ids]] for g in self.supernodes)
            self.supernodes = [g for g in groups if len(g) > 1]
            if self.selected not in ids:
                self.selected = ""
            kept = f"{len(ids)} nodes, {len(parsed['links'])} links at node threshold {self.node_threshold:g}, " \
                   f"edge threshold {self.edge_threshold:g}"
            self.status = kept + (f"; pinned nodes pruned away: {', '.join(lost)}" if lost else "")

    # -- validation --------------------------------------------------------------------------
    def _known(self, name: str, node_id: str) -> str:
        if node_id not in self.node_ids:
            raise TraitError(f"CircuitGraphView.{name}: {node_id!r} is not a node id of this graph "
                             f"(ids look like {self.node_ids[:3]})")
        return node_id

    @traitlets.validate("selected")
    def _check_selected(self, proposal):
        value = proposal["value"]
        return value if value == "" else self._known("selected", value)

    @traitlets.validate("pinned")
    def _check_pinned(self, proposal):
        value = [self._known("pinned", v) for v in proposal["value"]]
        if len(set(value)) != len(value):
            raise TraitError(f"CircuitGraphView.pinned must not repeat a node, got {value}")
        return value

    @traitlets.validate("labels")
    def _check_labels(self, proposal):
        value = dict(proposal["value"])
        for node_id, text in value.items():
            self._known("labels", node_id)
            if len(text) > MAX_LABEL:
                raise TraitError(f"CircuitGraphView.labels: the label of {node_id!r} has {len(text)} characters; "
                                 f"keep it under {MAX_LABEL}")
        return value

    @traitlets.validate("supernodes")
    def _check_supernodes(self, proposal):
        groups = [list(g) for g in proposal["value"]]
        seen: set[str] = set()
        for g in groups:
            if len(g) < 2 or not g[0].strip():
                raise TraitError(f"CircuitGraphView.supernodes: each supernode is [name, node_id, ...] with a "
                                 f"non-empty name and at least one member, got {g}")
            for m in g[1:]:
                self._known("supernodes", m)
                if m in seen:
                    raise TraitError(f"CircuitGraphView.supernodes: node {m!r} is in more than one supernode")
                seen.add(m)
        return groups

    @traitlets.validate("node_threshold", "edge_threshold")
    def _check_threshold(self, proposal):
        value = proposal["value"]
        if not 0.0 < value <= 1.0:
            raise TraitError(f"CircuitGraphView.{proposal['trait'].name} is a cumulative-influence share in (0, 1], "
                             f"got {value!r}")
        return value

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """Applies a browser update; a refused value is sent back corrected and explained in ``status``."""
        try:
            super().set_state(sync_data)
        except TraitError as exc:
            self.status = str(exc)

    # -- kernel callbacks --------------------------------------------------------------------
    def intervene(self, node_id: str, scale: float) -> dict[str, Any]:
        """Scales feature (or error) node ``node_id`` by ``scale`` with ``graph.intervene`` and shows the
        new top logits against the baseline (also returned)."""
        if self.graph is None:
            raise RuntimeError("this view has no graph in the kernel; open it with Graph.show() to intervene")
        self._known("intervention", node_id)
        kind = int(self.nodes[self.node_ids.index(node_id), 2])
        if kind not in (FEATURE, ERROR):
            raise ValueError(f"only feature and error nodes can be scaled; {node_id!r} is a {TYPE_NAMES[kind]} node")
        scale = float(scale)
        if not math.isfinite(scale):
            raise ValueError(f"the intervention scale must be a finite number, got {scale}")
        result = self.graph.intervene({node_id: scale})
        self.intervention = _json_safe({"node_id": node_id, "scale": scale, "top_logits": result["top_logits"],
                                        "baseline": result["baseline"]})
        return self.intervention

    def _on_message(self, widget: Any, content: Any, buffers: list) -> None:
        if not isinstance(content, dict) or content.get("type") != "intervene":
            return
        try:
            self.intervene(str(content.get("node_id")), content.get("scale"))
            self.status = ""
        except (RuntimeError, ValueError, TypeError, TraitError, KeyError) as exc:
            self.status = f"intervention failed: {exc}"

    # -- export ------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The shown graph in the circuit-tracer / Neuronpedia schema, with the edited labels as
        ``clerp``, and pins, supernodes, link type and selection in ``qParams``."""
        nodes = []
        for node, node_id in zip(self._node_dicts, self.node_ids):
            out = dict(node)
            if node_id in self.labels:
                out["clerp"] = self.labels[node_id]
            nodes.append(out)
        links = [dict(link) for link in self._link_dicts]
        metadata = {**self.metadata, "node_threshold": self.node_threshold, "edge_threshold": self.edge_threshold}
        q_params = {"pinnedIds": list(self.pinned), "supernodes": [list(g) for g in self.supernodes],
                    "linkType": self.link_type, "clickedId": self.selected}
        return {"metadata": metadata, "qParams": q_params, "nodes": nodes, "links": links}

    def save_json(self, path: str | Path) -> Path:
        """Writes :meth:`to_json` to ``path``."""
        path = Path(path)
        path.write_text(json.dumps(self.to_json(), indent=1), encoding="utf-8")
        return path

    def view_state_keys(self) -> list[str]:
        """Synced keys, plus ``static_page`` (the saved page disables re-pruning and interventions)."""
        return super().view_state_keys() + ["static_page"]

    def _repr_fields(self) -> list[tuple[str, str]]:
        return [("nodes", str(len(self.node_ids))), ("links", str(len(self.links))), ("layers", str(self.n_layers)),
                ("tokens", str(len(self.prompt_tokens))), ("selected", repr(self.selected)),
                ("pinned", str(len(self.pinned))), ("supernodes", str(len(self.supernodes))),
                ("live", str(self.live))]
