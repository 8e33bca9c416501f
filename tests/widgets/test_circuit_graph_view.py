"""CircuitGraphView: payload columns from the graph JSON, validated selection / pins / labels /
supernodes, re-pruning and interventions through the kernel-side graph, and the exported JSON
(labels as clerp, pins and supernodes in qParams) that loads back into a view."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from traitlets import TraitError

from interp_widgets.widgets import CircuitGraphView, payload_to_array, to_html
from interp_widgets.widgets.circuit_graph import EMBEDDING, ERROR, FEATURE, LOGIT, NODE_COLUMNS


def _node(node_id, feature_type, layer, ctx, influence, activation=None, feature=-1, prob=0.0, clerp=""):
    return {"node_id": node_id, "feature": feature, "layer": layer, "ctx_idx": ctx, "feature_type": feature_type,
            "token_prob": prob, "is_target_logit": prob > 0.5, "clerp": clerp, "influence": influence,
            "activation": activation}


def graph_json():
    """Two layers, three tokens: embeddings -> features / error -> logits (circuit-tracer ids)."""
    nodes = [
        _node("E_10_0", "embedding", "E", 0, 0.9, feature=0),
        _node("E_11_1", "embedding", "E", 1, 0.85, feature=1),
        _node("E_12_2", "embedding", "E", 2, 0.7, feature=2),
        _node("0_5_1", "cross layer transcoder", "0", 1, 0.3, 2.5, feature=5),
        _node("0_9_2", "cross layer transcoder", "0", 2, 0.75, 0.4, feature=9),
        _node("1_7_2", "cross layer transcoder", "1", 2, 0.1, 3.0, feature=1007),
        _node("0_1_2", "mlp reconstruction error", "1", 2, 0.6, 1.2),
        _node("3_20_2", "logit", "3", 2, 0.0, 1.0, feature=20, prob=0.6, clerp='Output " cat" (p=0.600)'),
        _node("3_21_2", "logit", "3", 2, 0.0, 0.5, feature=21, prob=0.3, clerp='Output " dog" (p=0.300)'),
    ]
    links = [("E_10_0", "0_9_2", 0.2), ("E_11_1", "0_5_1", 1.5), ("E_12_2", "0_9_2", -0.4),
             ("0_5_1", "1_7_2", 2.0), ("0_9_2", "1_7_2", -0.3), ("0_1_2", "1_7_2", 0.5),
             ("1_7_2", "3_20_2", 1.8), ("1_7_2", "3_21_2", -0.9), ("0_9_2", "3_21_2", 0.25),
             ("E_12_2", "3_20_2", 0.1)]
    return {"metadata": {"slug": "cat", "prompt": "the cat", "prompt_tokens": ["<s>", " the", " <cat>"],
                         "node_threshold": 0.8, "n_layers": 2},
            "qParams": {"pinnedIds": ["1_7_2"], "supernodes": [], "linkType": "both", "clickedId": ""},
            "nodes": nodes, "links": [{"source": s, "target": t, "weight": w} for s, t, w in links]}


class JsonGraph:
    """A kernel-side graph computed from its JSON alone: prune keeps token and logit nodes and the
    nodes whose cumulative influence is at most the threshold, then the strongest links up to the
    edge threshold's share of |weight|; intervene rescales the logit nodes' logits by the node's
    direct links (log p + (scale - 1) w) and renormalises."""

    def __init__(self, data):
        self.data = data
        self.prune_calls = []
        self.intervene_calls = []

    def to_json(self):
        return json.loads(json.dumps(self.data))

    def prune(self, node_threshold=0.8, edge_threshold=0.98):
        self.prune_calls.append((node_threshold, edge_threshold))
        keep = {n["node_id"] for n in self.data["nodes"]
                if n["feature_type"] in ("embedding", "logit") or n["influence"] <= node_threshold}
        links = sorted((l for l in self.data["links"] if l["source"] in keep and l["target"] in keep),
                       key=lambda l: -abs(l["weight"]))
        total = sum(abs(l["weight"]) for l in links)
        kept, running = [], 0.0
        for link in links:
            if running / total >= edge_threshold:
                break
            kept.append(link)
            running += abs(link["weight"])
        data = {**self.data, "nodes": [n for n in self.data["nodes"] if n["node_id"] in keep], "links": kept,
                "metadata": {**self.data["metadata"], "node_threshold": node_threshold}}
        return JsonGraph(data)

    def feature_details(self, layer, feature):
        return {"top_logits": [[f"tok{layer}", float(feature)]], "bottom_logits": [],
                "top_contexts": [{"tokens": ["a", "<b>"], "values": [0.0, float(feature)], "max": float(feature)}]}

    def intervene(self, changes, freeze_attention=True):
        self.intervene_calls.append(dict(changes))
        logits = {n["node_id"]: n for n in self.data["nodes"] if n["feature_type"] == "logit"}
        base = {k: math.log(n["token_prob"]) for k, n in logits.items()}
        new = dict(base)
        for node_id, scale in changes.items():
            for link in self.data["links"]:
                if link["source"] == node_id and link["target"] in new:
                    new[link["target"]] += (scale - 1.0) * link["weight"]

        def probs(values):
            z = sum(math.exp(v) for v in values.values())
            return sorted(([logits[k]["clerp"], math.exp(v) / z] for k, v in values.items()), key=lambda r: -r[1])

        return {"top_logits": probs(new), "baseline": probs(base)}


def _wire(view, name):
    trait = view.traits()[name]
    return payload_to_array(trait._to_json(getattr(view, name), view))


def test_payload_columns_dtypes_and_shapes():
    view = CircuitGraphView(graph_json())
    assert view.node_ids[:3] == ["E_10_0", "E_11_1", "E_12_2"] and len(view.node_ids) == 9
    nodes, links = _wire(view, "nodes"), _wire(view, "links")
    assert nodes.dtype == np.float32 and nodes.shape == (9, len(NODE_COLUMNS))
    assert links.dtype == np.float32 and links.shape == (10, 3)
    payload = view.traits()["nodes"]._to_json(view.nodes, view)
    assert payload["dtype"] == "float32" and isinstance(payload["data"], bytes)
    col = {name: nodes[:, k] for k, name in enumerate(NODE_COLUMNS)}
    assert col["band"].tolist() == [-1, -1, -1, 0, 0, 1, 1, 2, 2]  # embeddings -1, logits = n_layers
    assert col["type"].tolist() == [EMBEDDING] * 3 + [FEATURE] * 3 + [ERROR, LOGIT, LOGIT]
    assert col["feature"][5] == 7  # parsed from the id "1_7_2", not the offset "feature" field
    assert col["ctx_idx"].tolist() == [0, 1, 2, 1, 2, 2, 2, 2, 2]
    assert col["is_target_logit"].tolist() == [0] * 7 + [1, 0]
    np.testing.assert_allclose(col["influence"], [0.9, 0.85, 0.7, 0.3, 0.75, 0.1, 0.6, 0, 0], rtol=1e-6)
    assert np.isnan(col["activation"][0])  # embeddings carry no activation
    s, t = view.node_ids.index("0_5_1"), view.node_ids.index("1_7_2")
    assert links[3].tolist() == [s, t, 2.0]
    assert view.n_layers == 2 and view.prompt_tokens == ["<s>", " the", " <cat>"]
    assert view.pinned == ["1_7_2"] and view.live is False and view.details == {}
    assert (view.node_threshold, view.edge_threshold) == (0.8, 1.0)  # no edge threshold given: unpruned
    assert repr(view) == ("CircuitGraphView(nodes=9, links=10, layers=2, tokens=3, selected='', pinned=1, "
                          "supernodes=0, live=False)")


def test_bad_graph_json_is_refused_with_a_clear_message(tmp_path):
    data = graph_json()
    with pytest.raises(ValueError, match="'nodes' and 'links'"):
        CircuitGraphView({"nodes": []})
    bad = {**data, "links": data["links"] + [{"source": "0_5_1", "target": "9_9_9", "weight": 1.0}]}
    with pytest.raises(ValueError, match="'9_9_9'.*not among the nodes"):
        CircuitGraphView(bad)
    dup = {**data, "nodes": data["nodes"] + [data["nodes"][3]]}
    with pytest.raises(ValueError, match="unique.*0_5_1"):
        CircuitGraphView(dup)
    # qParams naming nodes the graph lacks (e.g. pruned away) keep only the nodes that exist
    odd = {**data, "qParams": {"pinnedIds": "0_5_1,9_9_9", "supernodes": [["gone", "9_9_9"], ["ok", "0_5_1", "x"]],
                               "linkType": "sideways", "clickedId": "x"}}
    view = CircuitGraphView(odd)
    assert view.pinned == ["0_5_1"] and view.supernodes == [["ok", "0_5_1"]]
    assert view.link_type == "both" and view.selected == ""
    path = tmp_path / "g.json"
    path.write_text(json.dumps(data))
    assert CircuitGraphView(path).node_ids == CircuitGraphView(data).node_ids


def test_selection_pins_labels_and_supernodes_are_validated():
    view = CircuitGraphView(graph_json())
    view.selected = "0_5_1"
    for name, bad in [("selected", "1_99_2"), ("pinned", ["0_5_1", "0_5_1"]), ("pinned", ["nope"]),
                      ("labels", {"nope": "x"}), ("labels", {"0_5_1": "x" * 500}),
                      ("supernodes", [["", "0_5_1"]]), ("supernodes", [["a"]]), ("supernodes", [["a", "nope"]]),
                      ("supernodes", [["a", "0_5_1"], ["b", "0_5_1"]]), ("link_type", "either"),
                      ("node_threshold", 0.0), ("edge_threshold", 1.5)]:
        with pytest.raises(TraitError):
            setattr(view, name, bad)
    assert view.selected == "0_5_1"
    view.set_state({"selected": "1_99_2"})  # as the browser would send it
    assert view.selected == "0_5_1" and "'1_99_2' is not a node id" in view.status
    view.set_state({"selected": "1_7_2"})
    assert view.selected == "1_7_2"


def test_threshold_slider_re_prunes_in_the_kernel():
    full = JsonGraph(graph_json())
    view = CircuitGraphView.from_graph(full)
    assert full.prune_calls == [(0.8, 0.98)] and view.live
    # every feature / error node has cumulative influence <= 0.8; token and logit nodes always stay
    assert "0_9_2" in view.node_ids and len(view.node_ids) == 9
    view.pinned = ["0_9_2", "1_7_2"]
    view.selected = "0_9_2"
    view.supernodes = [["pair", "0_9_2", "0_5_1"]]
    view.node_threshold = 0.5
    assert full.prune_calls[-1] == (0.5, 0.98)
    expected = full.prune(0.5, 0.98).to_json()
    assert view.node_ids == [n["node_id"] for n in expected["nodes"]]
    assert "0_9_2" not in view.node_ids and "0_1_2" not in view.node_ids
    assert len(view.links) == len(expected["links"]) == _wire(view, "links").shape[0]
    assert view.pinned == ["1_7_2"] and view.selected == ""
    assert view.supernodes == [["pair", "0_5_1"]]
    assert "pinned nodes pruned away: 0_9_2" in view.status
    view.edge_threshold = 0.5
    assert full.prune_calls[-1] == (0.5, 0.5) and len(view.links) < len(expected["links"])
    # details come from graph.feature_details for every feature node shown
    assert set(view.details) == {"0_5_1", "1_7_2"}
    assert view.details["1_7_2"]["top_logits"] == [["tok1", 7.0]]


def test_static_view_cannot_re_prune_or_intervene():
    view = CircuitGraphView(graph_json(), details={"0_5_1": {"top_logits": [["x", 1.0]]}})
    assert view.details == {"0_5_1": {"top_logits": [["x", 1.0]]}}
    view.node_threshold = 0.5
    assert len(view.node_ids) == 9 and "cannot re-prune" in view.status
    with pytest.raises(RuntimeError, match="Graph.show"):
        view.intervene("0_5_1", 0.0)
    page = to_html(view)
    state = json.loads(page.split('id="iw-payload">')[1].split("</script>")[0])["widgets"][0]["state"]
    assert state["static_page"] is True and "static_page" not in view.get_state()
    assert "<cat>" not in page


def test_labels_pins_and_supernodes_round_trip_through_the_exported_json(tmp_path):
    view = CircuitGraphView(graph_json())
    view.labels = {"0_5_1": "says <cat>", "3_20_2": "cat logit"}
    view.pinned = ["0_5_1", "1_7_2", "3_20_2"]
    view.supernodes = [["cat features", "0_5_1", "0_9_2"]]
    view.link_type = "input"
    view.selected = "1_7_2"
    out = view.to_json()
    by_id = {n["node_id"]: n for n in out["nodes"]}
    assert by_id["0_5_1"]["clerp"] == "says <cat>" and by_id["3_20_2"]["clerp"] == "cat logit"
    assert by_id["1_7_2"]["clerp"] == "" and by_id["1_7_2"]["feature"] == 1007  # other fields as given
    assert out["qParams"] == {"pinnedIds": ["0_5_1", "1_7_2", "3_20_2"],
                              "supernodes": [["cat features", "0_5_1", "0_9_2"]], "linkType": "input",
                              "clickedId": "1_7_2"}
    assert out["links"] == graph_json()["links"]
    back = CircuitGraphView(json.loads(view.save_json(tmp_path / "g.json").read_text()))
    assert back.pinned == view.pinned and back.supernodes == view.supernodes
    assert back.link_type == "input" and back.selected == "1_7_2"
    assert back.clerps[back.node_ids.index("0_5_1")] == "says <cat>"


def test_intervention_message_calls_graph_intervene():
    full = JsonGraph(graph_json())
    view = CircuitGraphView.from_graph(full, node_threshold=1.0, edge_threshold=1.0)
    view._on_message(view, {"type": "intervene", "node_id": "1_7_2", "scale": 0.0}, [])
    assert full.intervene_calls == [{"1_7_2": 0.0}] and view.status == ""
    result = view.intervention
    assert result["node_id"] == "1_7_2" and result["scale"] == 0.0
    # ablating 1_7_2 removes its direct effects 1.8 and -0.9 on the two logits
    a, b = math.log(0.6) - 1.8, math.log(0.3) + 0.9
    p_cat = math.exp(a) / (math.exp(a) + math.exp(b))
    new = dict((t, p) for t, p in result["top_logits"])
    assert new['Output " cat" (p=0.600)'] == pytest.approx(p_cat)
    assert dict((t, p) for t, p in result["baseline"])['Output " cat" (p=0.600)'] == pytest.approx(2 / 3)
    view._on_message(view, {"type": "intervene", "node_id": "E_10_0", "scale": 2.0}, [])
    assert "only feature and error nodes" in view.status and len(full.intervene_calls) == 1
    view._on_message(view, {"type": "intervene", "node_id": "nope", "scale": 2.0}, [])
    assert "not a node id" in view.status
    view._on_message(view, {"type": "intervene", "node_id": "0_5_1", "scale": float("nan")}, [])
    assert "finite" in view.status


@pytest.fixture(scope="module")
def real_graph(tmp_path_factory):
    import torch

    import interp_widgets as iw
    from interp_widgets.circuits import Transcoder, TranscoderConfig, describe
    from interp_widgets.circuits.graph import attribution_graph
    from tests.conftest import CORPUS

    model = iw.load("tiny-llama")
    torch.manual_seed(0)
    tc = Transcoder(TranscoderConfig(n_layers=model.cfg.n_layers, d_model=model.cfg.d_model, n_features=32,
                                     activation="relu"))
    descriptions = describe(model, tc, CORPUS, cache_dir=tmp_path_factory.mktemp("features"), n_contexts=3,
                            n_logits=5, context=16, snippet=6, batch_windows=3)
    return attribution_graph(model, tc, "The cat sat", max_feature_nodes=16, descriptions=descriptions)


def test_view_of_a_real_attribution_graph(real_graph):
    view = real_graph.show()
    assert isinstance(view, CircuitGraphView) and view.live
    pruned = real_graph.prune(0.8, 0.98).to_json()
    assert view.node_ids == [n["node_id"] for n in pruned["nodes"]]
    links = _wire(view, "links")
    weights = {(l["source"], l["target"]): l["weight"] for l in pruned["links"]}
    assert links.shape == (len(weights), 3)
    for s, t, w in links:
        assert w == pytest.approx(weights[(view.node_ids[int(s)], view.node_ids[int(t)])], rel=1e-6)
    view.node_threshold = 1.0
    view.edge_threshold = 1.0
    everything = real_graph.prune(1.0, 1.0).to_json()
    assert len(view.node_ids) == len(everything["nodes"]) and len(view.links) == len(everything["links"])
    features = [n for n in everything["nodes"] if n["feature_type"] == "cross layer transcoder"]
    assert set(view.details) == {n["node_id"] for n in features}
    for n in features:  # the detail panel's data: the descriptions of that layer's feature
        assert view.details[n["node_id"]] == real_graph.feature_details(int(n["layer"]), n["feature"])
    feature = next(n["node_id"] for n in everything["nodes"] if n["feature_type"] == "cross layer transcoder")
    result = view.intervene(feature, 0.0)
    assert result["top_logits"] == real_graph.intervene({feature: 0.0})["top_logits"]
    assert len(result["baseline"]) == len(result["top_logits"]) > 0
