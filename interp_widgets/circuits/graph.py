"""Attribution graphs of a local replacement model (Ameisen et al. 2025; circuit-tracer).

The model runs once on the prompt. In the *local replacement model* every MLP output is held
at its recorded value, split into transcoder features (which act only through their decoders)
and an error node (true MLP output − transcoder reconstruction, a constant); attention
patterns and norm scales are frozen at their recorded values. What remains between the
nodes is linear, so the direct effect of a source on a target is exact:

    A[target, source] = a_source · (decoder_source · J_frozen · encoder_target)

Sources: active features, error nodes (one per layer and position), token embeddings (the
input of block 0, one per position). Targets: the pre-activations of the feature nodes and
the *demeaned* logits (logit − mean logit over the vocabulary) of the top next tokens at the
last position, taken until their cumulative probability reaches 0.95 (at most 10).

Edges are computed with batched backward passes: the frozen model runs once on ``batch_size``
copies of the prompt and each backward pass injects one target direction per copy, so the
number of backward passes is ``ceil((features + logits) / batch_size)``, never one per edge.

Memory: with T prompt tokens, L layers, n feature nodes (``<= max_feature_nodes``), d_model d
and batch size B: the frozen forward keeps O(B · L · T · (d_model + d_mlp + heads · T))
activations, each backward O(B · L · T · d) gradients, the adjacency N × N floats with
N = n + L · T + T + (≤ 10), and the transcoder's activations L · T · F (F features per layer,
as in one transcoder forward). Nothing of size [all dictionary features × all dictionary
features] is ever formed; the quadratic term is N², bounded through ``max_feature_nodes``. Time:
one forward on B copies plus ceil((n + logits) / B) backward passes, each linear in T·L.
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import torch

from ..analysis.result import Result
from .activations import check_model, input_hook
from .transcoder import OUTPUT_HOOK, Transcoder

NODE_TYPES = ("feature", "error", "embedding", "logit")
FROZEN = ("blocks.*.attn.hook_pattern", "*.hook_scale")


# -- the model side ------------------------------------------------------------------------
def check_compatible(model, tc: Transcoder) -> None:
    """A clear error when ``tc`` cannot be used with ``model``."""
    if not model.cfg.causal:
        raise ValueError(f"attribution graphs need a causal language model; {model.name} is an "
                         f"encoder ({model.cfg.family})")
    check_model(model, tc)


def prompt_ids(model, prompt) -> torch.Tensor:
    """Token ids [pos] of a text or of ids (a too-long prompt raises a ValueError)."""
    ids = model.to_tokens(prompt)
    if ids.shape[0] != 1:
        raise ValueError("attribution graphs take one prompt, not a batch")
    return ids[0]


def token_str(model, token_id: int) -> str:
    """Readable string of one token id (``<id>`` for an id the tokenizer does not know)."""
    try:
        return model.to_str_tokens(torch.tensor([token_id]))[0]
    except ValueError:
        return f"<{token_id}>"


def frozen_names(model) -> list[str]:
    return model.resolve_names(list(FROZEN))


@dataclasses.dataclass
class CleanRun:
    """What one run of the model on the prompt records. Tensors in the transcoder's dtype:
    ``resid_in[l]`` [pos, d] (features' input), ``mlp_out[l]`` [pos, d], ``acts[l]`` [pos, F],
    ``errors[l]`` [pos, d], ``embed`` [pos, d] (input of block 0), ``logits`` [pos, vocab]."""

    trace: object
    resid_in: list
    mlp_out: list
    acts: list
    errors: list
    embed: torch.Tensor
    logits: torch.Tensor


def clean_run(model, tc: Transcoder, ids: torch.Tensor) -> CleanRun:
    check_compatible(model, tc)
    L = model.cfg.n_layers
    ins = [input_hook(model, l) for l in range(L)]
    outs = [OUTPUT_HOOK.format(layer=l) for l in range(L)]
    tr = model.run(ids, names=[*dict.fromkeys(["blocks.0.hook_resid_pre", *ins])] + outs + frozen_names(model))
    p = next(tc.parameters())
    cast = dict(device=p.device, dtype=p.dtype)
    resid_in = [tr[n][0].to(**cast) for n in ins]
    mlp_out = [tr[n][0].to(**cast) for n in outs]
    with torch.no_grad():
        acts, recon = tc(resid_in)
    errors = [y - r for y, r in zip(mlp_out, recon)]
    return CleanRun(tr, resid_in, mlp_out, acts, errors, tr["blocks.0.hook_resid_pre"][0].to(**cast),
                    tr.logits[0].float())


def logit_targets(logits: torch.Tensor, desired_prob: float = 0.95, max_logits: int = 10):
    """Top tokens at the last position until cumulative probability ``desired_prob`` (at most
    ``max_logits``): (token ids [k], probabilities [k])."""
    probs = logits[-1].float().softmax(-1)
    top = probs.topk(min(max_logits, probs.numel()))
    k = int((top.values.cumsum(0) < desired_prob).sum()) + 1
    k = min(k, top.values.numel())
    return top.indices[:k], top.values[:k]


def _select_features(run: CleanRun, tc: Transcoder, max_nodes: int) -> torch.Tensor:
    """[n, 3] (layer, pos, feature) of the active features kept as nodes: all of them, or the
    ``max_nodes`` with the largest activation × decoder norm, in (layer, pos, feature) order."""
    norms = tc.decoder_norms().detach()
    found, scores = [], []
    for l, a in enumerate(run.acts):
        pos, feat = (a != 0).nonzero(as_tuple=True)
        found.append(torch.stack([torch.full_like(pos, l), pos, feat], 1))
        scores.append(a[pos, feat].abs() * norms[l, feat])
    found, scores = torch.cat(found), torch.cat(scores)
    if len(found) > max_nodes:
        found = found[scores.topk(max_nodes).indices]
    P, F = run.acts[0].shape
    key = (found[:, 0] * P + found[:, 1]) * F + found[:, 2]
    return found[key.argsort()]


class _LinearModel:
    """The frozen model run once on ``B`` copies of the prompt, ready for many backward passes.

    Leaves: ``embed`` (input of block 0) and each layer's MLP output, [B, pos, d] each.
    Outputs: each layer's feature input [B, pos, d] and the logits [B, pos, vocab].
    """

    def __init__(self, model, ids: torch.Tensor, run: CleanRun, B: int):
        L = model.cfg.n_layers
        self.leaves: dict[str, torch.Tensor] = {}

        def leaf(name):
            def make(value):
                t = value.detach().clone().requires_grad_(True)
                self.leaves[name] = t
                return t
            return make

        self.mlp_names = [OUTPUT_HOOK.format(layer=l) for l in range(L)]
        patches = {n: run.trace[n] for n in frozen_names(model)}
        patches["blocks.0.hook_resid_pre"] = leaf("embed")
        patches.update({n: leaf(n) for n in self.mlp_names})
        self.in_names = [input_hook(model, l) for l in range(L)]
        with model.patch(patches):
            tr = model.run(ids[None].expand(B, -1), names=self.in_names, grad=True)
        self.inputs = [tr[n] for n in self.in_names]
        self.logits = tr.logits

    def backward(self, grad_inputs: dict[int, torch.Tensor], grad_logits: torch.Tensor | None):
        """Inject gradients; returns (d embed, [d mlp_out of each layer]) ([B, pos, d] or None)."""
        outputs = [self.inputs[l] for l in grad_inputs]
        grads = list(grad_inputs.values())
        if grad_logits is not None:
            outputs.append(self.logits)
            grads.append(grad_logits)
        wrt = [self.leaves["embed"]] + [self.leaves[n] for n in self.mlp_names]
        got = torch.autograd.grad(outputs, wrt, grads, retain_graph=True, allow_unused=True)
        return got[0], list(got[1:])


def _dot_rows(g: torch.Tensor, pos: torch.Tensor, vectors: torch.Tensor, chunk_elems: int = 1 << 24):
    """g [B, pos, d], pos [n], vectors [n, d] -> [B, n] with out[b, i] = g[b, pos[i]] · vectors[i]
    (one matrix product per chunk of ``vectors``, then the matching position picked)."""
    B, P, _ = g.shape
    step = max(1, chunk_elems // max(1, B * P))
    parts = []
    for i in range(0, len(pos), step):
        full = g @ vectors[i:i + step].T                                    # [B, P, chunk]
        index = pos[i:i + step].to(full.device)[None, None].expand(B, 1, -1)
        parts.append(full.gather(1, index).squeeze(1))
    return torch.cat(parts, 1) if parts else g.new_zeros(B, 0)


def attribution_graph(model, tc: Transcoder, prompt, max_feature_nodes: int = 1024,
                      batch_size: int = 64, desired_logit_prob: float = 0.95, max_n_logits: int = 10,
                      descriptions=None) -> Graph:
    """The attribution graph of ``prompt`` (text or token ids) under transcoder ``tc``.

    ``max_feature_nodes`` caps the feature nodes: when more features are active, those with the
    largest activation × decoder norm are kept (the others' contributions are then in no node).
    ``batch_size`` targets are handled per backward pass. ``descriptions`` (a
    ``FeatureDescriptions``) feeds :meth:`Graph.feature_details`. Memory: see the module docstring.
    """
    if max_feature_nodes < 0 or batch_size < 1:
        raise ValueError("max_feature_nodes must be >= 0 and batch_size >= 1")
    ids = prompt_ids(model, prompt)
    run = clean_run(model, tc, ids)
    L, P = model.cfg.n_layers, run.embed.shape[0]
    feats = _select_features(run, tc, max_feature_nodes)
    logit_ids, logit_probs = logit_targets(run.logits, desired_logit_prob, max_n_logits)
    n_f, n_l = len(feats), len(logit_ids)
    err0, emb0 = n_f, n_f + L * P
    N = emb0 + P + n_l
    adjacency = torch.zeros(N, N)

    by_layer = [(feats[:, 0] == l).nonzero().squeeze(1) for l in range(L)]
    acts = torch.stack(run.acts)[feats[:, 0], feats[:, 1], feats[:, 2]]
    targets = list(range(n_f)) + list(range(N - n_l, N))
    B = min(batch_size, len(targets))
    lin = _LinearModel(model, ids, run, B)
    V = lin.logits.shape[-1]
    enc = tc.W_enc.detach()
    for start in range(0, len(targets), B):
        chunk = targets[start:start + B]
        grad_in: dict[int, torch.Tensor] = {}
        grad_logits = None
        for b, t in enumerate(chunk):
            if t < n_f:
                l, p, f = feats[t].tolist()
                if l not in grad_in:
                    grad_in[l] = torch.zeros_like(lin.inputs[l])
                grad_in[l][b, p] = enc[l][:, f].to(grad_in[l].dtype)
            else:
                if grad_logits is None:
                    grad_logits = torch.zeros_like(lin.logits)
                grad_logits[b, -1] = -1.0 / V
                grad_logits[b, -1, logit_ids[t - (N - n_l)]] += 1.0
        g_emb, g_mlp = lin.backward(grad_in, grad_logits)
        rows = adjacency.new_zeros(len(chunk), N)
        g_mlp = [None if g is None else g[:len(chunk)].to(run.embed.dtype) for g in g_mlp]
        for l, idx in enumerate(by_layer):
            if not len(idx):
                continue
            total = 0
            for m in range(l, L):
                if g_mlp[m] is None or (m != l and not tc.config.cross_layer):
                    continue
                dec = tc.decoder(l, m).detach()[feats[idx, 2]]
                total = total + _dot_rows(g_mlp[m], feats[idx, 1], dec)
            if torch.is_tensor(total):
                rows[:, idx] = (total * acts[idx]).cpu()
        for m, g in enumerate(g_mlp):
            if g is not None:
                rows[:, err0 + m * P: err0 + (m + 1) * P] = (g * run.errors[m]).sum(-1).cpu()
        if g_emb is not None:
            rows[:, emb0:emb0 + P] = (g_emb[:len(chunk)].to(run.embed.dtype) * run.embed).sum(-1).cpu()
        adjacency[chunk] = rows
    del lin

    demeaned = (run.logits[-1] - run.logits[-1].mean()).cpu()
    feats, logit_ids = feats.cpu(), logit_ids.cpu()
    layer = torch.cat([feats[:, 0], torch.arange(L).repeat_interleave(P), torch.full((P,), -1),
                       torch.full((n_l,), L)])
    pos = torch.cat([feats[:, 1], torch.arange(P).repeat(L), torch.arange(P), torch.full((n_l,), P - 1)])
    index = torch.cat([feats[:, 2], torch.full((L * P,), -1), ids.cpu(), logit_ids])
    activation = torch.cat([acts.cpu(), torch.stack([e.norm(dim=-1) for e in run.errors]).flatten().cpu(),
                            torch.zeros(P), demeaned[logit_ids]])
    prob = torch.cat([torch.zeros(N - n_l), logit_probs.cpu()])
    types = ["feature"] * n_f + ["error"] * (L * P) + ["embedding"] * P + ["logit"] * n_l
    str_tokens = model.to_str_tokens(ids)
    clerp = [""] * (N - n_l) + [f'Output "{token_str(model, i)}" (p={float(q):.3f})'
                                for i, q in zip(logit_ids.tolist(), logit_probs.tolist())]
    text = prompt if isinstance(prompt, str) else "".join(str_tokens)
    graph = Graph(prompt=text, tokens=ids.tolist(), str_tokens=str_tokens, n_layers=L,
                  node_type=types, node_layer=layer.long(), node_pos=pos.long(), node_index=index.long(),
                  activation=activation.float(), token_prob=prob.float(), clerp=clerp,
                  adjacency=adjacency, model_name=model.name, transcoder=repr(tc))
    graph.attach(model, tc, descriptions)
    return graph


# -- the result ----------------------------------------------------------------------------
@dataclasses.dataclass(repr=False)
class Graph(Result):
    """An attribution graph. Nodes in this order: features, error nodes, token embeddings, logits.

    Per node: ``node_type`` (one of :data:`NODE_TYPES`), ``node_layer`` [N] (embeddings -1,
    logits ``n_layers``), ``node_pos`` [N], ``node_index`` [N] (feature index, or vocabulary id of
    an embedding or a logit; -1 for errors), ``activation`` [N] (feature activation, error-vector
    norm, 0 for embeddings, demeaned logit), ``token_prob`` [N] (logits only), ``clerp`` (labels).
    ``adjacency`` [N, N] holds A[target, source] (rows of errors and embeddings are zero).
    ``node_threshold``/``edge_threshold`` are set on a pruned graph; ``influence`` [N] is each
    node's share of the influence on the logits and ``cumulative_influence`` [N] the share of the
    nodes at least as influential (circuit-tracer's ``influence`` field; the viewer's threshold).
    """

    prompt: str
    tokens: list
    str_tokens: list
    n_layers: int
    node_type: list
    node_layer: torch.Tensor
    node_pos: torch.Tensor
    node_index: torch.Tensor
    activation: torch.Tensor
    token_prob: torch.Tensor
    clerp: list
    adjacency: torch.Tensor
    model_name: str = ""
    transcoder: str = ""
    node_threshold: float | None = None
    edge_threshold: float | None = None
    influence: torch.Tensor | None = None
    cumulative_influence: torch.Tensor | None = None
    q_params: dict = dataclasses.field(default_factory=dict)
    slug: str = ""

    levels = (1, 2, 3, 4, 5)

    def __post_init__(self):
        self._model = self._tc = self._descriptions = None
        if self.influence is None or self.cumulative_influence is None:
            from .prune import node_influence

            self.influence, self.cumulative_influence = node_influence(self)

    def attach(self, model=None, tc=None, descriptions=None) -> Graph:
        """Remember the model, transcoder and feature descriptions (for interventions and details)."""
        self._model, self._tc, self._descriptions = model, tc, descriptions
        return self

    # -- node ids (circuit-tracer) -------------------------------------------------------
    def node_id(self, i: int) -> str:
        from .graph_json import node_id

        return node_id(self, i)

    @property
    def node_ids(self) -> list[str]:
        return [self.node_id(i) for i in range(len(self.node_type))]

    def index_of(self, node_id: str) -> int:
        ids = self.node_ids
        if node_id not in ids:
            raise KeyError(f"no node {node_id!r} in this graph (ids look like "
                           f"{', '.join(sorted(set(ids))[:4])}, ...)")
        return ids.index(node_id)

    def _mask(self, kind: str) -> torch.Tensor:
        return torch.tensor([t == kind for t in self.node_type], dtype=torch.bool)

    @property
    def n_edges(self) -> int:
        return int((self.adjacency != 0).sum())

    # -- analyses ------------------------------------------------------------------------
    def prune(self, node_threshold: float = 0.8, edge_threshold: float = 0.98) -> Graph:
        """Influence-based pruning (see :mod:`interp_widgets.circuits.prune`)."""
        from .prune import prune

        return prune(self, node_threshold, edge_threshold)

    def _scores(self) -> tuple[float, float]:
        from .prune import graph_scores

        key = (id(self.adjacency), self.adjacency._version, id(self.token_prob), len(self.node_type))
        if getattr(self, "_scores_key", None) != key:
            self._scores_key, self._scores_value = key, graph_scores(self)
        return self._scores_value

    @property
    def replacement_score(self) -> float:
        """Tokens' share of the influence reaching the logits from tokens and errors, in [0, 1]."""
        return self._scores()[0]

    @property
    def completeness_score(self) -> float:
        """Influence-weighted share of the nodes' inputs not coming from errors, in [0, 1]."""
        return self._scores()[1]

    def feature_details(self, layer: int, feature: int) -> dict | None:
        """Top contexts and logits of a feature, from the descriptions given at construction."""
        if self._descriptions is None:
            return None
        return self._descriptions.for_feature(layer, feature)

    def intervene(self, changes: dict, freeze_attention: bool = True, mode: str = "scale",
                  top_k: int = 10) -> dict:
        """``{node_id: factor}`` (``mode="scale"``) or ``{node_id: activation}`` (``"set"``; error
        nodes are always scaled) -> ``{"top_logits": [[token, prob], ...], "baseline": [...]}``
        at the last position. Needs the model and transcoder the graph was built with."""
        from .intervene import intervene

        if self._model is None or self._tc is None:
            raise RuntimeError("this graph has no model and transcoder attached (it was loaded from "
                               "JSON); call graph.attach(model, transcoder) first")
        features, errors = {}, {}
        for nid, value in changes.items():
            i = self.index_of(nid)
            kind, l, p, f = (self.node_type[i], int(self.node_layer[i]), int(self.node_pos[i]),
                             int(self.node_index[i]))
            if kind == "feature":
                features[(l, p, f)] = float(value)
            elif kind == "error":
                errors[(l, p)] = float(value)
            else:
                raise ValueError(f"node {nid!r} is a {kind} node; only feature and error nodes can "
                                 "be intervened on")
        out = intervene(self._model, self._tc, self.tokens, features, errors=errors, mode=mode,
                        freeze_attention=freeze_attention, top_k=top_k)
        return {"top_logits": out["top_logits"], "baseline": out["baseline"]}

    # -- JSON ----------------------------------------------------------------------------
    def to_json(self) -> dict:
        """The graph in the circuit-tracer / Neuronpedia schema."""
        from .graph_json import to_json

        return to_json(self)

    @classmethod
    def from_json(cls, data) -> Graph:
        """A graph from a circuit-tracer / Neuronpedia dict or JSON file."""
        from .graph_json import from_json

        return from_json(data)

    def save(self, path) -> Path:
        """Write :meth:`to_json` to ``path`` (.json)."""
        path = Path(path).with_suffix(".json")
        path.write_text(json.dumps(self.to_json()))
        return path

    @classmethod
    def load(cls, path) -> Graph:
        return cls.from_json(path)

    # -- display -------------------------------------------------------------------------
    def show(self):
        from ..widgets.circuit_graph import CircuitGraphView

        return CircuitGraphView.from_graph(self)

    def figure(self, max_edges: int = 300, ax=None):
        """The pruned graph (default thresholds unless this graph is already pruned): x = token
        position, y = layer bands (Emb .. Lgt); node area by influence, colour by type; edges
        red (positive) / blue (negative), width by sqrt |weight| (the ``max_edges`` strongest)."""
        graph = self if self.node_threshold is not None else self.prune()
        return _draw(graph, max_edges=max_edges, ax=ax)

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}s={self.node_type.count(t)}" for t in NODE_TYPES)
        pruned = "" if self.node_threshold is None else f", node_threshold={self.node_threshold:g}"
        pruned += "" if self.edge_threshold is None else f", edge_threshold={self.edge_threshold:g}"
        text = self.prompt if len(self.prompt) <= 40 else self.prompt[:37] + "..."
        return (f"Graph(prompt={text!r}, tokens={len(self.tokens)}, {counts}, edges={self.n_edges}"
                f"{pruned}, replacement={_fmt(self.replacement_score)}, "
                f"completeness={_fmt(self.completeness_score)})")


COLOURS = {"feature": "#4c72b0", "error": "#8c8c8c", "embedding": "#55a868", "logit": "#dd8452"}


def _draw(graph: Graph, max_edges: int, ax=None):
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    from ..figures import paper_style

    L, T = graph.n_layers, len(graph.tokens)
    band = torch.where(graph.node_layer < 0, 0, graph.node_layer + 1).float()  # Emb 0, layers, Lgt L+1
    x = graph.node_pos.float().clone()
    cells: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(graph.node_pos.tolist(), band.tolist())):
        cells.setdefault(key, []).append(i)
    for (p, _), same in cells.items():       # spread the nodes sharing a (position, layer) cell
        for k, i in enumerate(same):
            x[i] = p + (k - (len(same) - 1) / 2) * min(0.8 / len(same), 0.15)
    with paper_style():
        if ax is None:
            fig, ax = plt.subplots(figsize=(max(4.0, 0.45 * T + 1.5), 0.45 * (L + 2) + 1.2))
        else:
            fig = ax.figure
        A = graph.adjacency
        tgt, src = A.nonzero(as_tuple=True)
        w = A[tgt, src]
        order = w.abs().argsort(descending=True)[:max_edges].flip(0)
        tgt, src, w = tgt[order], src[order], w[order]
        if len(w):
            width = 0.3 + 2.2 * (w.abs() / w.abs().max()).sqrt()
            segments = [[(float(x[s]), float(band[s])), (float(x[t]), float(band[t]))]
                        for s, t in zip(src.tolist(), tgt.tolist())]
            colours = ["#c44e52" if v > 0 else "#4c72b0" for v in w.tolist()]
            ax.add_collection(LineCollection(segments, colors=colours, linewidths=width.tolist(),
                                             alpha=0.45, zorder=1))
        infl = graph.influence.float()
        size = 12 + 160 * (infl / infl.max()).sqrt() if float(infl.max()) > 0 else torch.full_like(infl, 20)
        for kind in NODE_TYPES:
            idx = [i for i, t in enumerate(graph.node_type) if t == kind]
            if kind == "logit":
                size[idx] = 60.0
            ax.scatter(x[idx].tolist(), band[idx].tolist(), s=size[idx].tolist(), c=COLOURS[kind],
                       marker="s" if kind == "error" else "o", label=kind, zorder=2, edgecolors="white",
                       linewidths=0.4)
        for i, t in enumerate(graph.node_type):
            if t == "logit":
                ax.annotate(graph.clerp[i].split(" (p=")[0].replace("Output ", ""),
                            (float(x[i]), float(band[i])), xytext=(0, 5), textcoords="offset points",
                            ha="left", va="bottom", rotation=60, fontsize=6)
        ax.set_xticks(range(T), graph.str_tokens, rotation=60, ha="right")
        ax.set_yticks(range(L + 2), ["Emb"] + [f"L{l}" for l in range(L)] + ["Lgt"])
        ax.set_xlim(-0.7, T - 0.3)
        ax.set_ylim(-0.6, L + 2.4)
        ax.set_xlabel("token position")
        ax.set_title(f"attribution graph ({len(graph.node_type)} nodes, {graph.n_edges} edges)")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
        fig.tight_layout()
    return fig


def _fmt(x: float) -> str:
    return "nan" if math.isnan(x) else f"{x:.3f}"
