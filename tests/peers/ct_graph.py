"""circuit-tracer's attribution graph of a saved Llama model and transcoder, for the peer
cross-check.

Runs in the reference environment (``.peer-venv``: transformers 4.x, circuit-tracer 0.5 with
its nnsight backend, built by ``.ci/peer_env``), never in the package's own environment::

    python ct_graph.py JOB.json OUT.npz

``JOB.json``: ``{"model": folder, "transcoder": file written by iw.circuits.save_transcoder,
"ids": [...], "logits": [token ids], "batch_size": n}`` (optional ``"max_feature_nodes"``). The transcoder is converted to
circuit-tracer's own classes (``TranscoderSet`` of ``SingleLayerTranscoder`` for a per-layer
transcoder, ``CrossLayerTranscoder`` for a CLT) reading ``hook_resid_mid`` and writing
``hook_mlp_out``. The .npz holds circuit-tracer's ``adjacency`` [N, N] (rows targets; nodes:
selected features, errors (layer-major), token embeddings, logits), ``features`` [n, 3]
(layer, pos, feature) of those feature nodes, ``activations`` [n], ``logit_ids`` [k],
``logits`` [pos, vocab] of the model's forward pass, and ``seconds`` (one ``attribute`` call).

With ``"graph": file.npz`` in the job (``adjacency`` [N, N], ``n_features``, ``n_tokens``,
``n_layers``, ``logit_probs`` [k] of a graph in the same node order), circuit-tracer's
``prune_graph`` (thresholds ``node_threshold``/``edge_threshold``) and ``compute_graph_scores``
also run on that graph; the .npz then adds ``node_mask`` [N], ``edge_mask`` [N, N],
``cumulative`` [N] and ``scores`` [2] (replacement, completeness).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

import numpy as np
import torch
import torch.nn.functional as F


def model_folder(src: str, dst: str) -> str:
    """``src`` seen through a folder with a plain fast-tokenizer config: the shipped config,
    written by transformers 5, names ``LlamaTokenizer``, which transformers 4 would rebuild
    from a sentencepiece file that is not there (``tokenizer.json`` alone serves)."""
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        os.symlink(os.path.abspath(os.path.join(src, name)), os.path.join(dst, name))
    with open(os.path.join(src, "tokenizer_config.json")) as f:
        tok = json.load(f)
    keep = {k: tok[k] for k in ("bos_token", "eos_token", "pad_token", "unk_token") if k in tok}
    with open(os.path.join(dst, "tokenizer_config.json"), "w") as f:
        json.dump({"tokenizer_class": "PreTrainedTokenizerFast", **keep}, f)
    return dst


def transcoders(path: str):
    """An interp_widgets transcoder file -> circuit-tracer's TranscoderSet / CrossLayerTranscoder."""
    from safetensors import safe_open

    from circuit_tracer.transcoder.activation_functions import JumpReLU
    from circuit_tracer.transcoder.cross_layer_transcoder import CrossLayerTranscoder
    from circuit_tracer.transcoder.single_layer_transcoder import SingleLayerTranscoder, TranscoderSet

    with safe_open(path, framework="pt") as f:
        cfg = json.loads(f.metadata()["config"])
        t = {k: f.get_tensor(k).float() for k in f.keys()}
    L, d, n = cfg["n_layers"], cfg["d_model"], cfg["n_features"]
    if cfg["activation"] not in ("relu", "jumprelu"):
        raise ValueError(f"no circuit-tracer counterpart for activation {cfg['activation']!r}")
    jump = cfg["activation"] == "jumprelu"
    threshold = t["log_threshold"].exp() if jump else None
    cpu = torch.device("cpu")
    with torch.no_grad():
        if cfg["cross_layer"]:
            clt = CrossLayerTranscoder(L, n, d, activation_function="jump_relu" if jump else "relu",
                                       lazy_decoder=False, device=cpu, dtype=torch.float32)
            clt.W_enc.copy_(t["W_enc"].transpose(1, 2))                    # [L, F, d]
            for i in range(L):
                clt.W_dec[i].copy_(t[f"W_dec.{i}"])                         # [F, L - i, d]
            clt.b_enc.copy_(t["b_enc"])
            clt.b_dec.copy_(t["b_dec"])
            if jump:
                clt.activation_function.threshold.copy_(threshold[:, None, :])
            return clt
        layers = {}
        for i in range(L):
            act = JumpReLU(threshold[i].clone(), cfg["bandwidth"]) if jump else F.relu
            plt = SingleLayerTranscoder(d, n, act, i, device=cpu, dtype=torch.float32)
            plt.W_enc.copy_(t["W_enc"][i].T)                                # [F, d]
            plt.W_dec.copy_(t[f"W_dec.{i}"][:, 0])                          # [F, d]
            plt.b_enc.copy_(t["b_enc"][i])
            plt.b_dec.copy_(t["b_dec"][i])
            layers[i] = plt
    return TranscoderSet(layers, feature_input_hook="hook_resid_mid", feature_output_hook="hook_mlp_out")


def prune_and_score(path: str, node_threshold: float, edge_threshold: float) -> dict[str, np.ndarray]:
    """circuit-tracer's pruning and scores on a graph given as arrays (its functions read only
    these fields of a ``Graph``)."""
    from types import SimpleNamespace

    from circuit_tracer.graph import compute_graph_scores, prune_graph

    with np.load(path) as g:
        n_tokens, n_logits = int(g["n_tokens"]), len(g["logit_probs"])
        graph = SimpleNamespace(
            adjacency_matrix=torch.from_numpy(g["adjacency"]), input_tokens=torch.zeros(n_tokens),
            logit_targets=[None] * n_logits, logit_probabilities=torch.from_numpy(g["logit_probs"]),
            selected_features=torch.arange(int(g["n_features"])),
            cfg=SimpleNamespace(n_layers=int(g["n_layers"])))
    nodes, edges, cumulative = prune_graph(graph, node_threshold, edge_threshold)
    return {"node_mask": nodes.numpy(), "edge_mask": edges.numpy(), "cumulative": cumulative.numpy(),
            "scores": np.array(compute_graph_scores(graph))}


def main(job_path: str, out_path: str) -> None:
    from circuit_tracer import ReplacementModel, attribute
    from nnsight import save

    with open(job_path) as f:
        job = json.load(f)
    torch.set_num_threads(int(job.get("threads", 1)))
    with tempfile.TemporaryDirectory() as tmp:
        model = ReplacementModel.from_pretrained_and_transcoders(
            model_folder(job["model"], tmp), transcoders(job["transcoder"]), backend="nnsight",
            device=torch.device("cpu"), dtype=torch.float32)
        ids = torch.tensor(job["ids"])
        with torch.no_grad(), model.trace(ids):
            logits = save(model.output.logits)
        t0 = time.perf_counter()
        graph = attribute(ids, model, attribution_targets=torch.tensor(job["logits"]),
                          batch_size=int(job.get("batch_size", 64)), max_feature_nodes=job.get("max_feature_nodes"))
        seconds = time.perf_counter() - t0
    extra = {}
    if "graph" in job:
        extra = prune_and_score(job["graph"], job["node_threshold"], job["edge_threshold"])
    np.savez(out_path, **extra, adjacency=graph.adjacency_matrix.float().numpy(),
             features=graph.active_features[graph.selected_features].numpy(),
             activations=graph.activation_values[graph.selected_features].float().numpy(),
             logit_ids=graph.logit_token_ids.numpy(), logits=logits[0].float().numpy(),
             seconds=np.array(seconds))


if __name__ == "__main__":
    main(*sys.argv[1:])
