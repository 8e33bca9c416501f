"""Graph JSON in the circuit-tracer / Neuronpedia schema: round trips and a hand-made file."""

import json
from pathlib import Path

import pytest
import torch

import interp_widgets as iw
from interp_widgets.circuits.graph import Graph, attribution_graph
from tests.circuits.test_graph import PROMPT, random_transcoder
from tests.conftest import tiny_hf_model

HANDMADE = Path(__file__).parent / "data" / "handmade_graph.json"
NODE_KEYS = {"node_id", "feature", "layer", "ctx_idx", "feature_type", "token_prob", "is_target_logit",
             "run_idx", "reverse_ctx_idx", "jsNodeId", "clerp", "influence", "activation"}


@pytest.fixture(scope="module")
def graph(causal_tokenizer):
    model = iw.wrap(tiny_hf_model("gpt2"), causal_tokenizer, name="tiny-gpt2")
    return attribution_graph(model, random_transcoder(model), PROMPT)


def assert_same_graph(a: Graph, b: Graph):
    assert a.node_type == b.node_type and a.clerp == b.clerp and a.tokens == b.tokens
    for name in ("node_layer", "node_pos", "node_index", "activation", "token_prob", "adjacency",
                 "influence", "cumulative_influence"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    assert (a.prompt, a.str_tokens, a.n_layers, a.node_threshold, a.edge_threshold) == \
        (b.prompt, b.str_tokens, b.n_layers, b.node_threshold, b.edge_threshold)


@pytest.mark.parametrize("pruned", [False, True])
def test_export_import_is_identical(graph, pruned, tmp_path):
    g = graph.prune() if pruned else graph
    data = g.to_json()
    back = Graph.from_json(json.loads(json.dumps(data)))
    assert back.to_json() == data
    assert_same_graph(g, back)
    path = g.save(tmp_path / "graph")
    assert path.suffix == ".json"
    assert_same_graph(g, Graph.load(path))
    assert repr(Graph.load(path)) == repr(g)


def test_schema_fields_and_ids(graph):
    data = graph.prune().to_json()
    meta = data["metadata"]
    assert {"slug", "scan", "prompt", "prompt_tokens", "node_threshold", "schema_version"} <= set(meta)
    assert meta["prompt_tokens"] == graph.str_tokens and meta["node_threshold"] == 0.8
    assert set(data["qParams"]) == {"pinnedIds", "supernodes", "linkType", "clickedId", "sg_pos"}
    L, P = graph.n_layers, len(graph.tokens)
    ids = {n["node_id"] for n in data["nodes"]}
    assert len(ids) == len(data["nodes"])
    for n in data["nodes"]:
        assert NODE_KEYS <= set(n)
        if n["feature_type"] == "embedding":
            assert n["node_id"] == f"E_{graph.tokens[n['ctx_idx']]}_{n['ctx_idx']}" and n["layer"] == "E"
        elif n["feature_type"] == "logit":
            assert n["node_id"].startswith(f"{L + 1}_") and n["node_id"].endswith(f"_{P - 1}")
            assert n["layer"] == str(L + 1) and n["clerp"].startswith("Output ")
        elif n["feature_type"] == "mlp reconstruction error":
            assert n["node_id"].split("__")[0] == f"0_{n['layer']}_{n['ctx_idx']}"
        else:
            assert n["feature_type"] == "cross layer transcoder"
            assert n["node_id"] == f"{n['layer']}_{n['feature']}_{n['ctx_idx']}"
    assert sum(n["is_target_logit"] for n in data["nodes"]) == 1
    assert all(l["source"] in ids and l["target"] in ids for l in data["links"])


def test_a_handmade_circuit_tracer_file_loads():
    g = Graph.from_json(HANDMADE)
    assert g.n_layers == 2 and g.tokens == [1, 450, 789] and g.prompt == "The cat"
    assert g.node_type == ["embedding"] * 3 + ["feature"] * 2 + ["error"] + ["logit"] * 2
    assert g.node_layer.tolist() == [-1, -1, -1, 0, 1, 1, 2, 2]
    assert g.node_index.tolist() == [1, 450, 789, 12, 7, -1, 42, 99]
    i = g.node_ids
    assert g.adjacency[i.index("3_42_2"), i.index("0_1_2")] == -0.5
    assert g.adjacency[i.index("1_7_2"), i.index("0_12_1")] == 0.75
    assert g.n_edges == 7 and g.clerp[i.index("1_7_2")] == "cat-ness"
    assert g.q_params["supernodes"] == [["animal", "0_12_1", "1_7_2"]]
    assert 0 <= g.replacement_score <= 1 and 0 <= g.completeness_score <= 1
    # influence recomputed: 1_7_2 feeds the top logit (p=0.7) with 0.75 of its row
    assert int(g.influence.argmax()) in (i.index("1_7_2"), i.index("E_789_2"))
    again = Graph.from_json(g.to_json())
    assert again.to_json() == g.to_json()
    links = {(l["source"], l["target"], l["weight"]) for l in g.to_json()["links"]}
    raw = json.loads(HANDMADE.read_text())["links"]
    assert links == {(l["source"], l["target"], l["weight"]) for l in raw}
    pruned = g.prune(1.0, 1.0)
    assert pruned.n_edges == 7
    assert g.figure() is not None


def test_error_ids_that_collide_with_layer_zero_features_get_a_suffix():
    data = json.loads(HANDMADE.read_text())
    # layer-0 feature 1 at position 2 has the id "0_1_2", like the error node of layer 1 there
    data["nodes"].append({**data["nodes"][3], "node_id": "0_1_2", "feature": 1, "ctx_idx": 2})
    with pytest.raises(ValueError, match="repeat"):
        Graph.from_json(data)
    g = Graph.from_json(json.loads(HANDMADE.read_text()))
    g.node_type.append("feature")
    for name, value in (("node_layer", 0), ("node_pos", 2), ("node_index", 1), ("activation", 1.0),
                        ("token_prob", 0.0), ("influence", 0.0), ("cumulative_influence", 1.0)):
        setattr(g, name, torch.cat([getattr(g, name), torch.tensor([value], dtype=getattr(g, name).dtype)]))
    g.clerp.append("")
    g.adjacency = torch.nn.functional.pad(g.adjacency, (0, 1, 0, 1))
    assert "0_1_2__err" in g.node_ids and "0_1_2" in g.node_ids
    back = Graph.from_json(g.to_json())
    assert back.node_type == g.node_type and back.to_json() == g.to_json()


def test_bad_json():
    with pytest.raises(ValueError, match="metadata"):
        Graph.from_json({"nodes": []})
    data = json.loads(HANDMADE.read_text())
    data["links"].append({"source": "E_1_0", "target": "5_5_5", "weight": 1.0})
    with pytest.raises(ValueError, match="not in the graph"):
        Graph.from_json(data)
