/**
 * CircuitGraphView: an attribution graph with token positions on x and layer bands (Emb .. Lgt) on
 * y; hover, click to select (connections panel), pins, labels, supernodes and a subgraph panel;
 * re-pruning and interventions go to the kernel (disabled in a saved page); PNG / SVG / JSON export.
 *
 * Traits: prompt_tokens, n_layers, metadata, node_ids, clerps, nodes [N, 8], links [E, 3], details,
 * live, static_page (saved pages only); state: selected, pinned, link_type, labels, supernodes,
 * node_threshold, edge_threshold, intervention, status.
 */

import type { RenderProps } from "./lib/model";
import { renderCircuitGraph } from "./circuit_graph/view";

function render(props: RenderProps): () => void {
  return renderCircuitGraph(props);
}

export default { render };
