"""Every method of the mission, its granularity levels and entry points; status is computed."""

from __future__ import annotations

import html
import importlib
from dataclasses import dataclass

LEVELS = {1: "embeddings", 2: "transformer blocks", 3: "attention", 4: "layer outputs",
          5: "final outputs"}


@dataclass(frozen=True)
class Method:
    work: str
    levels: tuple[int, ...]
    entry_points: tuple[str, ...]  # relative to the interp_widgets package


METHODS: tuple[Method, ...] = (
    Method("Model map via log-likelihood vectors (Oyama et al. 2025)", (5,),
           ("outputs.loglik_matrix", "outputs.model_map")),
    Method("Whose opinions do LMs reflect? (Santurkar et al. 2023)", (5,),
           ("outputs.opinion_distributions", "outputs.representativeness")),
    Method("Political leaning probes (Feng et al. 2023)", (5,), ("outputs.political_compass",)),
    Method("Survey batteries (Hartmann et al. 2023; Rozado 2024)", (5,), ("outputs.run_battery",)),
    Method("Absolute sinusoidal positional encoding", (1, 3), ("positional.Sinusoidal",)),
    Method("Learned positional embedding", (1, 3), ("positional.Learned",)),
    Method("Relative position representations (Shaw et al. 2018)", (1, 3), ("positional.ShawRelative",)),
    Method("Transformer-XL relative encoding", (1, 3, 4), ("positional.TransformerXLRelative",)),
    Method("ALiBi", (3,), ("positional.ALiBi",)),
    Method("RoPE", (1, 3), ("positional.RoPE",)),
    Method("xPos", (1, 3), ("positional.XPos",)),
    Method("YaRN", (1, 3), ("positional.YaRN",)),
    Method("PoSE", (1, 3), ("positional.PoSE",)),
    Method("Positional-encoding analyses: similarity, distance decay, ALiBi, YaRN ramp, PoSE coverage, "
           "Transformer-XL terms", (1, 3), ("positional.similarity", "positional.distance_profile",
                                            "positional.alibi_bias", "positional.yarn_ramp",
                                            "positional.pose_coverage", "positional.xl_terms")),
    Method("Positional scheme of a loaded model (learned tables, rotary settings)", (1, 3),
           ("positional.inspect",)),
    Method("RoPE length extrapolation: none / linear / NTK / YaRN scaling", (3, 5), ("positional.extrapolation",)),
    Method("Massive values in self-attention (Jin et al. 2025)", (3, 4), ("attention.massive_values",)),
    Method("Attention is not only a weight (Kobayashi et al. 2020, 2021)", (3,), ("attention.norms",)),
    Method("Redistribution of token-wise relevance (Sawaki & Murata 2025)", (1, 2, 3, 4, 5),
           ("attribution.token_relevance",)),
    Method("Integrated gradients, gradient x input", (1, 2, 4, 5),
           ("attribution.integrated_gradients", "attribution.gradient_x_input")),
    Method("Discretized integrated gradients (DIG)", (1, 2, 4, 5), ("attribution.dig",)),
    Method("Uniform discretized integrated gradients (UDIG)", (1, 2, 4, 5), ("attribution.udig",)),
    Method("Sequential integrated gradients (SIG)", (1, 2, 4, 5), ("attribution.sig",)),
    Method("AttnLRP (Achtibat et al. 2024)", (1, 2, 3, 4, 5), ("attribution.attnlrp", "attribution.cp_lrp")),
    Method("Attention rollout and flow (Abnar & Zuidema 2020)", (3, 4),
           ("attention.rollout", "attention.flow")),
    Method("Circuit tracing: transcoders and attribution graphs (Ameisen et al. 2025)", (1, 2, 3, 4, 5),
           ("circuits.train_transcoder", "circuits.attribution_graph")),
    Method("Brain alignment of layer activations (Raugel et al. 2025)", (2, 4), ("hidden.brain_alignment",)),
    Method("What does BERT look at? (Clark et al. 2019)", (3,), ("attention.head_stats",)),
    Method("Transformer interpretability beyond attention (Chefer et al. 2021)", (1, 2, 3, 4, 5),
           ("attribution.chefer",)),
    Method("Perturbation faithfulness: MoRF/LeRF curves, log-odds, comprehensiveness, sufficiency",
           (1, 5), ("attribution.faithfulness",)),
    Method("Attention flows across fine-tuning (DeRose et al. 2020)", (3, 4), ("attention.compare_flows",)),
    Method("bertviz views: head, model, neuron", (3,), ("attention.patterns",)),
    Method("ecco: generation, logit lens, neuron factors, CKA", (4, 5),
           ("hidden.generate", "hidden.logit_lens", "hidden.neuron_factors", "hidden.cka")),
    Method("TransformerLens: hook points, activation cache, patching", (1, 2, 3, 4, 5),
           ("Model.run", "Model.patch", "Model.freeze", "hidden.activation_patching",
            "hidden.direct_logit_attribution")),
    Method("exBERT: representations and corpus nearest neighbours", (1, 4), ("hidden.NeighborIndex",)),
    Method("HEMERA: layer-wise attribution of predictions (Mahbub et al. 2025)", (1, 2, 4, 5),
           ("attribution.layer_integrated_gradients",)),
)


def _resolves(entry_point: str) -> bool:
    """Whether ``interp_widgets.<entry_point>`` exists and is callable."""
    obj = importlib.import_module("interp_widgets")
    for part in entry_point.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return callable(obj)


def _status(method: Method) -> str:
    found = [_resolves(e) for e in method.entry_points]
    return "implemented" if all(found) else "partial" if any(found) else "not implemented"


class Catalog(list):
    """Rows ``{work, levels, entry_points, status}``; prints as a table, renders as HTML."""

    def __repr__(self) -> str:
        lines = [f"{'status':<16} {'levels':<10} work -> entry points"]
        for r in self:
            lines.append(f"{r['status']:<16} {','.join(map(str, r['levels'])):<10} {r['work']} -> "
                         + ", ".join(f"iw.{e}" for e in r["entry_points"]))
        done = sum(r["status"] == "implemented" for r in self)
        lines.append(f"{done} of {len(self)} implemented")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<tr><th>work</th><th>levels</th><th>entry points</th><th>status</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(r['work'])}</td>"
            f"<td>{html.escape(', '.join(LEVELS[v] for v in r['levels']))}</td>"
            f"<td><code>{html.escape(', '.join('iw.' + e for e in r['entry_points']))}</code></td>"
            f"<td>{r['status']}</td></tr>" for r in self)
        return f"<table>{head}{body}</table>"


def catalog(level: int | None = None, status: str | None = None) -> Catalog:
    """Every method of the mission; filter by granularity ``level`` (1-5) or ``status``
    (``"implemented"``, ``"partial"``, ``"not implemented"``)."""
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)} ({', '.join(LEVELS.values())})")
    rows = [{"work": m.work, "levels": m.levels, "entry_points": m.entry_points, "status": _status(m)}
            for m in METHODS if level is None or level in m.levels]
    return Catalog(r for r in rows if status is None or r["status"] == status)
