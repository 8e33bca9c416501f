import { describe, expect, it } from "vitest";
import {
  bandLabels, buildGraph, connections, exportGraph, groupNodes, highlightedLinks, importance, layoutGraph,
  linkColor, linkWidth, nodeRadius, subgraph, visibleLinks, type CGraph,
} from "../src/circuit_graph/logic";
import type { NdArray } from "../src/lib/arrays";

const nd = (rows: number[][]): NdArray => ({ shape: [rows.length, rows[0]?.length ?? 0], data: Float32Array.from(rows.flat()) });

// columns: band, ctx, type, influence, activation, token_prob, feature, is_target
const IDS = ["E_1_0", "E_2_1", "0_5_1", "0_6_1", "1_7_1", "0_1_1", "3_9_1"];
const NODES = [
  [-1, 0, 0, 0.9, NaN, 0, 0, 0],
  [-1, 1, 0, 0.8, NaN, 0, 1, 0],
  [0, 1, 1, 0.2, 2, 0, 5, 0],
  [0, 1, 1, 0.6, 1, 0, 6, 0],
  [1, 1, 1, 0.1, 3, 0, 7, 0],
  [1, 1, 2, NaN, 1, 0, -1, 0],
  [2, 1, 3, 0, 1, 0.7, 9, 1],
];
const LINKS = [[0, 2, 1], [1, 2, 3], [1, 3, -1], [2, 4, 2], [3, 4, -2], [5, 4, 4], [4, 6, 5]];

function graph(): CGraph {
  return buildGraph(nd(NODES), nd(LINKS), IDS, ["", "", "", "", "", "", 'Output "x"'], 2, 2);
}

describe("circuit graph logic", () => {
  it("builds adjacency sorted by |weight| with each link's signed share of its target's input", () => {
    const g = graph();
    expect(g.nodes).toHaveLength(7);
    expect(g.inputs[4].map((l) => l.source)).toEqual([5, 2, 3]);
    expect(g.inputs[4].map((l) => l.share)).toEqual([0.5, 0.25, -0.25]);
    expect(g.outputs[1].map((l) => l.target)).toEqual([2, 3]);
    expect(g.inputs[2].map((l) => l.share)).toEqual([0.75, 0.25]);
    expect(g.maxAbsWeight).toBe(5);
    expect(g.byId.get("1_7_1")).toBe(4);
    expect(() => buildGraph(nd(NODES), nd([[0, 9, 1]]), IDS, [], 2, 2)).toThrow(/outside/);
    expect(() => buildGraph(nd(NODES), nd(LINKS), IDS.slice(1), [], 2, 2)).toThrow(/6 node ids for 7 nodes/);
  });

  it("lays out bands bottom to top and token columns left to right, most important first in a cell", () => {
    const g = graph();
    expect(bandLabels(2)).toEqual(["Emb", "L0", "L1", "Lgt"]);
    const lay = layoutGraph(g, { left: 40, top: 10, rowHeight: 30, slot: 16, minColumn: 40, bottom: 50 });
    expect(lay.rows).toEqual([115, 85, 55, 25]);
    expect(lay.columns).toEqual([[40, 80], [80, 120]]);
    expect(lay.y[0]).toBe(115); // embeddings at the bottom
    expect(lay.y[6]).toBe(25); // logits at the top
    expect(lay.x[0]).toBe(60); // centre of column 0
    // two layer-0 features at position 1 side by side; the more influential (0.2) to the left
    expect(lay.x[2]).toBe(92);
    expect(lay.x[3]).toBe(108);
    expect(lay.y[2]).toBe(lay.y[3]);
    expect(lay.height).toBe(10 + 4 * 30 + 50);
    // a crowded cell widens its column
    const wide = layoutGraph(g, { slot: 30, minColumn: 10 });
    expect(wide.columns[1][1] - wide.columns[1][0]).toBe(2 * 30 + 8);
  });

  it("scales nodes by influence and links by sqrt weight, colours links by sign and share", () => {
    const g = graph();
    expect(importance(g.nodes[4])).toBeCloseTo(0.9);
    expect(importance(g.nodes[5])).toBe(0.5); // unknown influence
    expect(importance(g.nodes[6])).toBeCloseTo(0.7); // logits: probability
    expect(nodeRadius(g.nodes[4])).toBeGreaterThan(nodeRadius(g.nodes[3]));
    expect(linkWidth(5, 5)).toBeCloseTo(4);
    expect(linkWidth(1.25, 5)).toBeCloseTo(0.4 + 3.6 * 0.5);
    expect(linkWidth(-5, 5)).toBe(linkWidth(5, 5));
    expect(linkColor(1, 1)).toBe("rgba(214, 96, 30, 1.000)");
    expect(linkColor(-1, -0.5)).toBe("rgba(40, 98, 190, 0.560)");
    expect(linkColor(1, 0)).toBe("rgba(214, 96, 30, 0.120)");
  });

  it("keeps the strongest links when capped and highlights by link type", () => {
    const g = graph();
    expect(visibleLinks(g, 3)).toEqual([1, 5, 6]); // |w| 3, 4, 5, strongest last
    expect(visibleLinks(g, 100)).toHaveLength(7);
    expect([...highlightedLinks(g, 4, "input")].sort()).toEqual([3, 4, 5]);
    expect([...highlightedLinks(g, 4, "output")]).toEqual([6]);
    expect(highlightedLinks(g, 4, "both").size).toBe(4);
    expect(highlightedLinks(g, -1, "both").size).toBe(0);
    const c = connections(g, 4, "both");
    expect(c.inputs.map((x) => x.node)).toEqual([5, 2, 3]);
    expect(c.outputs).toEqual([{ node: 6, weight: 5, share: 1 }]);
    expect(connections(g, 4, "output").inputs).toEqual([]);
  });

  it("lays out pinned nodes and supernodes in ranks along the graph's direction", () => {
    const g = graph();
    const { items, edges } = subgraph(g, ["1_7_1", "3_9_1", "E_2_1", "0_5_1"], [["feats", "0_5_1", "0_6_1"]],
      (i) => `n${i}`, 400, 60);
    expect(items.map((it) => it.key)).toEqual(["sn:feats", "1_7_1", "3_9_1", "E_2_1"]);
    expect(items[0].members).toEqual([2, 3]);
    const rank = Object.fromEntries(items.map((it) => [it.key, it.rank]));
    expect(rank).toEqual({ "E_2_1": 0, "sn:feats": 1, "1_7_1": 2, "3_9_1": 3 });
    // supernode -> 1_7_1 sums 2 + (-2) = 0; E_2_1 -> supernode sums 3 + (-1)
    const w = Object.fromEntries(edges.map((e) => [`${items[e.from].key}>${items[e.to].key}`, e.weight]));
    expect(w).toEqual({ "E_2_1>sn:feats": 2, "sn:feats>1_7_1": 0, "1_7_1>3_9_1": 5 });
    for (const it of items) expect(it.x).toBe(200); // one item per rank: centred
    expect(items[3].y).toBeGreaterThan(items[0].y); // rank 0 lowest on screen
    expect(subgraph(g, [], [], String, 400).items).toEqual([]);
  });

  it("groups nodes into supernodes, moving them out of other groups", () => {
    const first = groupNodes([], "a", ["0_5_1", "0_6_1"]);
    expect(first).toEqual([["a", "0_5_1", "0_6_1"]]);
    expect(groupNodes(first, "b", ["0_6_1", "1_7_1"])).toEqual([["a", "0_5_1"], ["b", "0_6_1", "1_7_1"]]);
    expect(groupNodes(first, "b", ["0_5_1", "0_6_1", "E_1_0"])).toEqual([["b", "0_5_1", "0_6_1", "E_1_0"]]);
  });

  it("exports the circuit-tracer schema with labels, pins, supernodes and thresholds", () => {
    const g = graph();
    const out = exportGraph(g, { metadata: { slug: "s" }, labels: { "0_5_1": "mine" }, pinned: ["1_7_1"],
      supernodes: [["a", "0_5_1", "0_6_1"]], linkType: "input", selected: "0_5_1", nodeThreshold: 0.5, edgeThreshold: 0.9 });
    const nodes = out.nodes as Record<string, unknown>[];
    expect(nodes[2]).toMatchObject({ node_id: "0_5_1", clerp: "mine", layer: "0", ctx_idx: 1, feature: 5,
      feature_type: "cross layer transcoder" });
    expect(nodes[0]).toMatchObject({ layer: "E", feature_type: "embedding", activation: null });
    expect(nodes[5]).toMatchObject({ feature_type: "mlp reconstruction error", influence: null });
    expect(nodes[6]).toMatchObject({ layer: "3", feature_type: "logit", is_target_logit: true, clerp: 'Output "x"' });
    expect(out.qParams).toEqual({ pinnedIds: ["1_7_1"], supernodes: [["a", "0_5_1", "0_6_1"]], linkType: "input", clickedId: "0_5_1" });
    expect(out.metadata).toEqual({ slug: "s", node_threshold: 0.5, edge_threshold: 0.9 });
    expect((out.links as unknown[])[3]).toEqual({ source: "0_5_1", target: "1_7_1", weight: 2 });
  });
});
