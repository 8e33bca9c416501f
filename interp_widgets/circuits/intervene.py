"""Interventions on transcoder features and error nodes: new logits, and greedy generation.

The model runs with its own MLPs; an intervention on feature (layer l, position p, index f)
adds (new − current activation) × its decoder vectors to the MLP outputs of every layer it
writes to (l only, or l..L-1 for a cross-layer transcoder), where the current activation is the
transcoder's reading of this very forward pass. ``mode="set"`` sets the activation to the
value, ``mode="scale"`` multiplies it. Error node (l, p) with factor s adds (s − 1) × its error
vector (true − reconstructed MLP output on the prompt). With ``freeze_attention`` the attention
patterns stay at their values on the unchanged prompt; otherwise everything downstream is
recomputed.
"""

from __future__ import annotations

import torch

from .activations import input_hook
from .graph import check_compatible, clean_run, prompt_ids, token_str
from .transcoder import OUTPUT_HOOK, Transcoder

MODES = ("set", "scale")


def _normalise(model, tc: Transcoder, n_pos: int, features: dict, errors: dict, mode: str):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    L, F = tc.config.n_layers, tc.config.n_features
    out_f, out_e = {}, {}
    for key, value in (features or {}).items():
        try:
            l, p, f = (int(k) for k in key)
        except (TypeError, ValueError):
            raise ValueError(f"features are keyed by (layer, pos, feature), got {key!r}") from None
        p = p + n_pos if p < 0 else p
        if not (0 <= l < L and 0 <= p < n_pos and 0 <= f < F):
            raise ValueError(f"feature {key} does not exist: the transcoder has layers 0..{L - 1} with "
                             f"features 0..{F - 1} and the prompt has positions 0..{n_pos - 1}")
        out_f[(l, p, f)] = float(value)
    for key, value in (errors or {}).items():
        try:
            l, p = (int(k) for k in key)
        except (TypeError, ValueError):
            raise ValueError(f"error nodes are keyed by (layer, pos), got {key!r}") from None
        p = p + n_pos if p < 0 else p
        if not (0 <= l < L and 0 <= p < n_pos):
            raise ValueError(f"error node {key} does not exist: layers 0..{L - 1}, positions "
                             f"0..{n_pos - 1}")
        out_e[(l, p)] = float(value)
    return out_f, out_e


def intervention_patches(model, tc: Transcoder, features: dict, errors: dict, mode: str,
                         error_vectors: list) -> dict:
    """``Model.patch`` functions applying the intervention in every forward pass they see."""
    L = tc.config.n_layers
    current: dict[int, torch.Tensor] = {}
    layers = sorted({l for l, _, _ in features})
    p0 = next(tc.parameters())

    def reader(l):
        def read(value):
            current[l] = value.detach().to(device=p0.device, dtype=p0.dtype)
        return read

    def writer(m):
        def write(value):
            delta = torch.zeros(value.shape, device=p0.device, dtype=p0.dtype)
            for (l, p, f), v in features.items():
                if l > m or (l != m and not tc.config.cross_layer):
                    continue
                with torch.no_grad():
                    a = tc.encode(l, current[l][:, p])[:, f]
                    new = torch.full_like(a, v) if mode == "set" else a * v
                    delta[:, p] += (new - a)[:, None] * tc.decoder(l, m)[f].detach()
            for (l, p), s in errors.items():
                if l == m:
                    delta[:, p] += (s - 1) * error_vectors[l][p]
            return value + delta.to(value.device, value.dtype)
        return write

    patches = {input_hook(model, l): reader(l) for l in layers}
    targets = {m for l in layers for m in (range(l, L) if tc.config.cross_layer else [l])}
    targets |= {l for l, _ in errors}
    patches.update({OUTPUT_HOOK.format(layer=m): writer(m) for m in sorted(targets)})
    return patches


def _top(model, logits: torch.Tensor, k: int) -> list:
    probs = logits.float().softmax(-1)
    top = probs.topk(min(k, probs.numel()))
    return [[token_str(model, i), float(q)]
            for i, q in zip(top.indices.tolist(), top.values.tolist())]


def intervene(model, tc: Transcoder, prompt, features: dict, errors: dict | None = None,
              mode: str = "set", freeze_attention: bool = True, top_k: int = 10) -> dict:
    """Last-position logits with ``features`` ({(layer, pos, feature): value}) and ``errors``
    ({(layer, pos): factor}) intervened on (see the module docstring).

    Returns ``{"logits": [vocab], "baseline_logits": [vocab], "top_logits": [[token, prob], ...],
    "baseline": [[token, prob], ...]}``.
    """
    check_compatible(model, tc)
    ids = prompt_ids(model, prompt)
    features, errors = _normalise(model, tc, len(ids), features, errors or {}, mode)
    run = clean_run(model, tc, ids)
    patches = intervention_patches(model, tc, features, errors, mode, run.errors)
    if freeze_attention:
        patches.update({n: run.trace[n] for n in model.resolve_names("blocks.*.attn.hook_pattern")})
    with model.patch(patches):
        logits = model(ids)[0, -1].float()
    base = run.logits[-1]
    return {"logits": logits, "baseline_logits": base, "top_logits": _top(model, logits, top_k),
            "baseline": _top(model, base, top_k)}


def generate(model, tc: Transcoder, prompt, features: dict, errors: dict | None = None,
             mode: str = "set", n_tokens: int = 10) -> dict:
    """Greedy generation of ``n_tokens`` with the intervention applied at every step (to the
    given prompt positions; attention is recomputed as the text grows), and without it.

    Returns ``{"tokens": [ids], "text": str, "baseline_tokens": [ids], "baseline_text": str}``
    (the generated continuation only).
    """
    check_compatible(model, tc)
    ids = prompt_ids(model, prompt)
    if len(ids) + n_tokens > model.cfg.n_ctx:
        raise ValueError(f"prompt ({len(ids)} tokens) + {n_tokens} new tokens exceeds the model's "
                         f"context of {model.cfg.n_ctx}")
    features, errors = _normalise(model, tc, len(ids), features, errors or {}, mode)
    run = clean_run(model, tc, ids)

    def greedy(patches):
        seq = ids.clone()
        with model.patch(patches):
            for _ in range(n_tokens):
                nxt = model(seq)[0, -1].argmax()
                seq = torch.cat([seq, nxt.view(1).to(seq.device)])
        return seq[len(ids):].tolist()

    new = greedy(intervention_patches(model, tc, features, errors, mode, run.errors))
    base = greedy({})
    text = lambda t: model.tokenizer.decode(t) if t else ""  # noqa: E731
    return {"tokens": new, "text": text(new), "baseline_tokens": base, "baseline_text": text(base)}
