"""Feature descriptions: top activating contexts over a corpus and output logits of every feature.

Top contexts: the corpus is cut into non-overlapping windows of ``context`` tokens (see
``activations``); a feature's score in a window is its maximum activation there, and the
``n_contexts`` windows with the largest scores are kept (one context per window), each as a snippet
of ``snippet`` tokens ending a few tokens after the maximum, with the activation of every snippet
token. The BOS position is never scored.

Output logits: the direct effect of a feature on the logits, linearised at unit norm scale:
(Σ_{m >= l} W_dec^{l->m}_i) ⊙ γ W_U (for a cross-layer transcoder every target layer's MLP output is
added to the residual stream, so the decoder vectors sum; γ the final norm's weight, mean removed
first for LayerNorm). The ``n_logits`` largest and smallest entries are kept, as Neuronpedia's
logit tables do for a decoder direction.

Results are cached on disk under ``cache_dir`` (default ``$XDG_CACHE_HOME/interp_widgets/features``)
keyed by a hash of the model name and shapes, the transcoder's weights, the texts and the settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from . import activations as A

AFTER = 4   # snippet tokens kept after the maximum


def default_cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "interp_widgets" / "features"


@dataclasses.dataclass(repr=False)
class FeatureDescriptions(Result):
    """Per layer l and feature f: ``top_values`` [L, F, n] window maxima (descending, 0 = no context),
    ``top_window`` / ``top_position`` [L, F, n] where they occur, ``snippet_ids`` / ``snippet_acts``
    [L, F, n, S] tokens and activations of each snippet (id −1 = padding), ``frequency`` [L, F] share of
    tokens on which the feature is active, ``logit_ids`` / ``logit_weights`` [L, F, n_logits] largest
    output logits and ``bottom_ids`` / ``bottom_weights`` the smallest; ``vocab`` the token strings."""

    levels = (4, 5)
    model_name: str
    n_tokens: int
    top_values: torch.Tensor
    top_window: torch.Tensor
    top_position: torch.Tensor
    snippet_ids: torch.Tensor
    snippet_acts: torch.Tensor
    frequency: torch.Tensor
    logit_ids: torch.Tensor
    logit_weights: torch.Tensor
    bottom_ids: torch.Tensor
    bottom_weights: torch.Tensor
    vocab: list = dataclasses.field(default_factory=list, repr=False)
    key: str = ""

    def _check(self, layer: int, feature: int) -> tuple[int, int]:
        L, F = self.top_values.shape[:2]
        if not (isinstance(layer, (int, np.integer)) and 0 <= layer < L):
            raise IndexError(f"layer must be an int in 0..{L - 1}, got {layer!r}")
        if not (isinstance(feature, (int, np.integer)) and 0 <= feature < F):
            raise IndexError(f"feature must be an int in 0..{F - 1} (features per layer), got {feature!r}")
        return int(layer), int(feature)

    def for_feature(self, layer: int, feature: int) -> dict:
        """``{"top_contexts": [{"tokens", "values", "max"}], "top_logits": [[token, weight]],
        "bottom_logits": [...], "frequency": float}`` of one feature."""
        l, f = self._check(layer, feature)
        contexts = []
        for r in range(self.top_values.shape[2]):
            top = float(self.top_values[l, f, r])
            if top <= 0:
                break
            keep = self.snippet_ids[l, f, r] >= 0
            contexts.append({"tokens": [self.vocab[int(i)] for i in self.snippet_ids[l, f, r][keep]],
                             "values": [float(v) for v in self.snippet_acts[l, f, r][keep]],
                             "max": top})

        def pairs(ids, weights):
            return [[self.vocab[int(i)], float(w)] for i, w in zip(ids[l, f], weights[l, f])]

        return {"top_contexts": contexts, "top_logits": pairs(self.logit_ids, self.logit_weights),
                "bottom_logits": pairs(self.bottom_ids, self.bottom_weights),
                "frequency": float(self.frequency[l, f])}

    def figure(self, layer: int = 0, feature: int = 0, **kw):
        """Top contexts (maximum token in brackets) and top / bottom output logits of one feature."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        d = self.for_feature(layer, feature)
        with paper_style():
            fig, ax = plt.subplots(1, 2, figsize=(kw.get("width", 9.5), 3.0),
                                   gridspec_kw={"width_ratios": [2.2, 1]})
            lines = []
            for c in d["top_contexts"]:
                i = int(np.argmax(c["values"]))
                toks = c["tokens"][:i] + [f"[{c['tokens'][i]}]"] + c["tokens"][i + 1:]
                lines.append(f"{c['max']:6.2f}  " + "".join(toks).replace("\n", "⏎"))
            ax[0].text(0, 1, "\n".join(lines) or "(never active on the corpus)", va="top", family="monospace",
                       fontsize=6.5, transform=ax[0].transAxes)
            ax[0].set_axis_off()
            ax[0].set_title(f"L{layer} F{feature}: top contexts (active on {d['frequency']:.2%} of tokens)")
            rows = d["top_logits"][::-1] + d["bottom_logits"]
            ax[1].barh(range(len(rows)), [w for _, w in rows],
                       color=["C0" if w > 0 else "C3" for _, w in rows])
            ax[1].set_yticks(range(len(rows)), [repr(t)[1:-1] for t, _ in rows], fontsize=6)
            ax[1].set(xlabel="direct logit effect", title="Output logits")
            fig.tight_layout()
        return fig


def _key(model, tc, texts, settings: dict) -> str:
    h = hashlib.sha256()
    cfg = model.cfg
    h.update(repr((model.name, cfg.n_layers, cfg.d_model, cfg.d_vocab, sorted(settings.items()))).encode())
    for name, t in sorted(tc.state_dict().items()):
        h.update(name.encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    for t in texts:
        h.update(len(t).to_bytes(8, "little"))
        h.update(t.encode())
    return h.hexdigest()


def vocab_strings(model) -> list[str]:
    """Display string of every id of the model's vocabulary ("<id N>" for ids the tokenizer lacks)."""
    from ..model.tokens import token_strings

    n = min(len(model.tokenizer), model.cfg.d_vocab)
    return token_strings(model.tokenizer, list(range(n))) + [f"<id {i}>" for i in range(n, model.cfg.d_vocab)]


def output_logits(model, tc) -> torch.Tensor:
    """[layer, feature, vocab] direct logit effect of every feature (see the module docstring)."""
    W_U = model.W_U
    if W_U is None:
        raise ValueError("the model has no language-model head; output logits need one")
    W_U = W_U.detach().float().cpu()
    try:
        norm = model.norm("ln_final")
        gamma = norm.weight.detach().float().cpu()
    except KeyError:
        norm, gamma = None, torch.ones(W_U.shape[0])
    out = []
    with torch.no_grad():
        for l in range(tc.config.n_layers):
            targets = range(l, tc.config.n_layers) if tc.config.cross_layer else [l]
            d = sum(tc.decoder(l, m).detach().float().cpu() for m in targets)
            if model.cfg.normalization == "layernorm":
                d = d - d.mean(-1, keepdim=True)
            out.append((d * gamma) @ W_U)
    return torch.stack(out)


@torch.no_grad()
def _scan(model, tc, stream, starts, context, n, batch_windows):
    """Pass 1: top-n window maxima per feature, their windows/positions and activation frequency."""
    L, F, skip = tc.config.n_layers, tc.config.n_features, A.first_position(model)
    top_v = torch.zeros(L, F, 0)
    top_w = torch.zeros(L, F, 0, dtype=torch.long)
    top_p = torch.zeros(L, F, 0, dtype=torch.long)
    active = torch.zeros(L, F, dtype=torch.float64)
    for i in range(0, len(starts), batch_windows):
        x, _ = A.record(model, A.windows(model, stream, starts[i:i + batch_windows], context))
        acts = torch.stack([tc.encode(l, x[l]) for l in range(L)]).float().cpu()[:, :, skip:]  # [L, B, T, F]
        active += (acts > 0).sum((1, 2))
        mx, arg = acts.max(2)                                       # [L, B, F]
        win = torch.arange(i, i + acts.shape[1])[None, :, None].expand_as(arg)
        v = torch.cat([top_v, mx.transpose(1, 2)], 2)
        w = torch.cat([top_w, win.transpose(1, 2)], 2)
        p = torch.cat([top_p, (arg + skip).transpose(1, 2)], 2)
        # stable descending sort: ties keep the earlier window
        order = torch.sort(v, dim=2, descending=True, stable=True).indices[:, :, :n]
        top_v, top_w, top_p = (t.gather(2, order) for t in (v, w, p))
    return top_v, top_w, top_p, active


@torch.no_grad()
def _snippets(model, tc, stream, starts, context, top_v, top_w, top_p, size, batch_windows):
    """Pass 2: tokens and activations of the snippet around each top context."""
    L = tc.config.n_layers
    ids_out = torch.full((*top_v.shape, size), -1, dtype=torch.long)
    acts_out = torch.zeros(*top_v.shape, size)
    used = top_v > 0
    offsets = torch.arange(size) - (size - 1 - AFTER)            # positions relative to the maximum
    for i in range(0, len(starts), batch_windows):
        ids = A.windows(model, stream, starts[i:i + batch_windows], context)
        sel = used & (top_w >= i) & (top_w < i + len(ids))
        if not sel.any():
            continue
        x, _ = A.record(model, ids)
        acts = torch.stack([tc.encode(l, x[l]) for l in range(L)]).float().cpu()   # [L, B, T, F]
        l_idx, f_idx, r_idx = sel.nonzero(as_tuple=True)
        b = top_w[l_idx, f_idx, r_idx] - i
        pos = top_p[l_idx, f_idx, r_idx][:, None] + offsets                         # [E, S]
        ok = (pos >= A.first_position(model)) & (pos < context)
        pc = pos.clamp(0, context - 1)
        vals = acts[l_idx[:, None], b[:, None], pc, f_idx[:, None]]
        toks = ids[b[:, None], pc]
        acts_out[l_idx, f_idx, r_idx] = torch.where(ok, vals, torch.zeros_like(vals)) + 0.0   # no -0.0
        ids_out[l_idx, f_idx, r_idx] = torch.where(ok, toks, torch.full_like(toks, -1))
    return ids_out, acts_out


def describe(model, tc, texts, cache_dir=None, n_contexts: int = 10, n_logits: int = 10, *,
             context: int = 64, max_tokens: int = 65536, snippet: int = 16,
             batch_windows: int = 16) -> FeatureDescriptions:
    """Describe every feature of ``tc`` on ``texts`` (a list of strings, at most ``max_tokens``
    tokens used): top activating contexts and output logits. Computed once, then read from
    ``cache_dir`` (see the module docstring)."""
    A.check_model(model, tc)
    if n_contexts < 1 or n_logits < 1 or snippet < AFTER + 1:
        raise ValueError(f"n_contexts and n_logits must be positive and snippet at least {AFTER + 1}")
    texts = [texts] if isinstance(texts, str) else list(texts)
    settings = {"n_contexts": n_contexts, "n_logits": n_logits, "context": context, "max_tokens": max_tokens,
                "snippet": snippet}
    key = _key(model, tc, texts, settings)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = folder / f"features-{key[:24]}.npz"
    if path.exists():
        return FeatureDescriptions.load(path)
    stream = A.token_stream(model, texts)
    context = A.check_context(model, context, stream)
    body = context - A.first_position(model)
    starts = A.tiled_starts(stream, context, model)[:max(1, max_tokens // body)]
    if not starts:
        raise ValueError(f"the texts hold fewer than {body} tokens; pass longer texts or a smaller context")
    top_v, top_w, top_p, active = _scan(model, tc, stream, starts, context, n_contexts, batch_windows)
    snip_ids, snip_acts = _snippets(model, tc, stream, starts, context, top_v, top_w, top_p, snippet,
                                    batch_windows)
    logits = output_logits(model, tc)
    k = min(n_logits, logits.shape[-1])
    top, bottom = logits.topk(k, dim=-1), logits.topk(k, dim=-1, largest=False)
    n_tok = len(starts) * body
    result = FeatureDescriptions(
        model_name=model.name, n_tokens=n_tok, top_values=top_v, top_window=top_w, top_position=top_p,
        snippet_ids=snip_ids, snippet_acts=snip_acts, frequency=(active / n_tok).float(),
        logit_ids=top.indices, logit_weights=top.values, bottom_ids=bottom.indices,
        bottom_weights=bottom.values, vocab=vocab_strings(model),
        key=key)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f"features-{key[:24]}.tmp.npz"
    result.save(tmp)
    tmp.replace(path)
    return result
