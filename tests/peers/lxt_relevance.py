"""LXT's efficient AttnLRP / CP-LRP on a saved model, for the peer cross-check.

Runs in the reference environment (``.peer-venv``: transformers 4.x and LXT 2.1, built by
``.ci/peer_env``), never in the package's own environment::

    python lxt_relevance.py JOB.json OUT.npz

``JOB.json``: ``{"model": folder, "variant": "attnlrp" | "cp_lrp", "uniform_gate": bool,
"cases": [{"ids": [...], "target": token id, "pos": position, "contrast": null | token id |
"mean"}, ...], "reps": n}``. The explained value is the target logit, minus the contrast
token's logit (or the mean logit) when given. ``uniform_gate`` (Llama, CP-LRP only) swaps
LXT's CP-LRP gated-MLP patch (gate held constant) for its AttnLRP one (half the relevance to
each factor of the gated product), the rule interp_widgets' CP-LRP keeps. For case ``i`` the
.npz holds ``logits_i`` [pos, vocab] (so the caller can check both sides ran the same weights),
``input_i`` [pos] (word-embedding relevance, Σ_d e ⊙ ∂y/∂e after LXT's patches),
``hidden_i`` [n_layers + 1, pos] (relevance of the stream entering block 0 and leaving every
block) and ``value_i`` (the explained value). With ``reps`` > 0 it also times the input
relevance of the first case's target at the last position (one forward and one backward pass,
after a warm-up call): ``floor_seconds`` [reps, 2] (wall, CPU) before LXT's patches (plain
gradient x input) and ``lxt_seconds`` [reps, 2] after them.
"""

from __future__ import annotations

import json
import sys
import time
import types

import numpy as np
import torch


def _import_lxt():
    """LXT 2.1 imports torchvision at import time only for its ViT patch map
    (``vision_transformer.nn.GELU`` ...); a stand-in module gives it ``torch.nn`` there,
    so no torchvision build (and no CUDA torch it would pull) is needed for text models."""
    if "torchvision" not in sys.modules:
        vt = types.ModuleType("torchvision.models.vision_transformer")
        vt.nn = torch.nn
        models = types.ModuleType("torchvision.models")
        models.vision_transformer = vt
        tv = types.ModuleType("torchvision")
        tv.models = models
        sys.modules.update({"torchvision": tv, "torchvision.models": models,
                            "torchvision.models.vision_transformer": vt})
    import lxt.efficient
    import lxt.efficient.models as lxt_models
    return lxt.efficient, lxt_models


def load(folder: str):
    import transformers

    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, attn_implementation="eager", dtype=torch.float32)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def patch(model, variant: str, uniform_gate: bool = False) -> None:
    """LXT's patches for the model's family (global to this process: LXT patches classes)."""
    from transformers.models.gpt2 import modeling_gpt2
    from transformers.models.llama import modeling_llama

    efficient, lxt_models = _import_lxt()
    hf_module, lxt_module = {"llama": (modeling_llama, lxt_models.llama),
                             "gpt2": (modeling_gpt2, lxt_models.gpt2)}[model.config.model_type]
    patch_map = dict({"attnlrp": lxt_module.attnLRP, "cp_lrp": lxt_module.cp_LRP}[variant])
    if uniform_gate:
        patch_map[modeling_llama.LlamaMLP] = lxt_module.attnLRP[modeling_llama.LlamaMLP]
    efficient.monkey_patch(hf_module, patch_map)


def input_relevance(model, ids: torch.Tensor, target: int) -> torch.Tensor:
    """One forward and one backward pass: Σ_d e ⊙ ∂logit/∂e [pos] for the last position (what an
    LXT user runs; before patching, plain gradient x input)."""
    embeds = model.get_input_embeddings()(ids).detach().requires_grad_(True)
    model(inputs_embeds=embeds, use_cache=False).logits[0, -1, target].backward()
    return (embeds * embeds.grad).sum(-1)


def timed(fn, reps: int) -> np.ndarray:
    """[reps, 2] wall and process-CPU seconds of ``reps`` calls after one warm-up call."""
    fn()
    out = []
    for _ in range(reps):
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        out.append((time.perf_counter() - wall, time.process_time() - cpu))
    return np.array(out)


def explain(model, ids: list[int], target: int, pos: int, contrast=None) -> dict[str, np.ndarray]:
    blocks = model.model.layers if model.config.model_type == "llama" else model.transformer.h
    streams: list[torch.Tensor] = []

    def keep(t):
        t.retain_grad()
        streams.append(t)

    def pre(module, args, kwargs):
        keep(args[0] if args else kwargs["hidden_states"])

    def post(module, args, out):
        keep(out[0] if isinstance(out, tuple) else out)

    handles = [blocks[0].register_forward_pre_hook(pre, with_kwargs=True)]
    handles += [b.register_forward_hook(post) for b in blocks]
    try:
        embeds = model.get_input_embeddings()(torch.tensor([ids])).detach().requires_grad_(True)
        logits = model(inputs_embeds=embeds, use_cache=False).logits
        row = logits[0, pos]
        value = row[target] - (0 if contrast is None else row.mean() if contrast == "mean" else row[contrast])
        value.backward()
    finally:
        for h in handles:
            h.remove()
    rel = lambda t: (t * t.grad).sum(-1)[0].detach().double().numpy()  # noqa: E731
    return {"logits": logits[0].detach().numpy(), "input": rel(embeds),
            "hidden": np.stack([rel(t) for t in streams]), "value": np.array(value.item())}


def main(job_path: str, out_path: str) -> None:
    with open(job_path) as f:
        job = json.load(f)
    torch.set_num_threads(int(job.get("threads", 1)))
    model = load(job["model"])
    out: dict[str, np.ndarray] = {}
    reps = int(job.get("reps", 0))
    if reps:
        first = job["cases"][0]
        ids = torch.tensor([first["ids"]])
        out["floor_seconds"] = timed(lambda: input_relevance(model, ids, first["target"]), reps)
    patch(model, job["variant"], bool(job.get("uniform_gate", False)))
    if reps:
        out["lxt_seconds"] = timed(lambda: input_relevance(model, ids, first["target"]), reps)
    for i, case in enumerate(job["cases"]):
        for key, value in explain(model, **case).items():
            out[f"{key}_{i}"] = value
    np.savez(out_path, **out)


if __name__ == "__main__":
    main(*sys.argv[1:])
