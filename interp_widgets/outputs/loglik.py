"""The log-likelihood matrix L [K models, N texts] of Oyama et al. (2025), with a resumable cache.

L[i, s] = Σ_{t=1}^{T-1} log p_i(x_t | x_<t) over the tokens x_0..x_{T-1} of text s as the model's
tokenizer encodes it (special tokens included, so the first token is scored only when the
tokenizer prepends BOS) — equal to -(T-1) times Hugging Face's mean cross-entropy loss. Texts
longer than the model's context are cut to their first ``n_ctx`` tokens, as the paper's code does.

Models are interp_widgets :class:`~interp_widgets.Model` objects (causal LMs), names or folders for
:func:`~interp_widgets.load` (loaded one at a time), or any *text scorer*: a callable
``scorer(texts: list[str]) -> array [len(texts)]`` of natural-log likelihoods under the same
convention, with optional attributes ``name`` (a label) and ``fingerprint`` (a string that changes
whenever the scorer's parameters change; a scorer without one is never cached).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from ..model import Model, load
from .texts import TextSet, text_digest


@dataclasses.dataclass(repr=False)
class LogLikelihoods(Result):
    """``values`` [K, N] float64 log-likelihoods (nats) of N texts under K models, in the order of
    ``names``; ``n_tokens`` [K, N] tokens per text after truncation; ``truncated`` [K] how many
    texts were cut to each model's context; ``cached`` whether each row came from the cache.
    ``np.asarray(result)`` gives ``values``."""

    levels = (5,)
    values: torch.Tensor
    names: list
    n_tokens: torch.Tensor
    truncated: torch.Tensor
    cached: list
    text_digest: str
    dtype: str

    def __array__(self, dtype=None, copy=None):
        out = self.values.numpy()
        return out if dtype is None else out.astype(dtype)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.values.shape)

    def figure(self, **kw):
        """Heat map of L with each text's mean over models removed (models x texts), nats."""
        import matplotlib.pyplot as plt

        from ..figures import DIVERGING, paper_style

        centred = self.values.numpy() - self.values.numpy().mean(0, keepdims=True)
        lim = float(np.abs(centred).max()) or 1.0
        with paper_style():
            fig, ax = plt.subplots(figsize=(kw.get("width", 5.5), 0.25 * len(self.names) + 1.0))
            im = ax.imshow(centred, cmap=DIVERGING, vmin=-lim, vmax=lim, aspect="auto", interpolation="nearest")
            ax.set_yticks(range(len(self.names)), self.names)
            ax.set_xlabel("text")
            fig.colorbar(im, ax=ax, label="log-likelihood − text mean (nats)")
            fig.tight_layout()
        return fig


def model_fingerprint(model: Model) -> str:
    """SHA-256 over the model's class, config, tokenizer and every weight tensor's bytes."""
    h = hashlib.sha256()
    h.update(type(model.hf).__name__.encode())
    h.update(model.hf.config.to_json_string(use_diff=False).encode())
    tok = model.tokenizer
    h.update(f"{type(tok).__name__}:{len(tok)}".encode())
    backend = getattr(tok, "backend_tokenizer", None)
    if backend is not None:
        h.update(backend.to_str().encode())
    for name, tensor in sorted(model.hf.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)}".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def _label(model, fallback: str) -> str:
    if isinstance(model, (str, Path)):
        return str(model)
    if isinstance(model, Model):
        return model.name
    return getattr(model, "name", None) or getattr(model, "__name__", None) or fallback


def _model_rows(model: Model, texts: Sequence[str], batch_size: int, bar) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-text log-likelihoods [N], token counts [N] and the number of truncated texts."""
    if not model.cfg.causal:
        raise ValueError(f"{model.name} is a masked (encoder) LM: log-likelihood vectors need causal LMs "
                         "(p(text) = Π p(x_t | x_<t)); leave it out of the model map")
    tok, n_ctx = model.tokenizer, model.cfg.n_ctx
    ids = [list(tok(t, add_special_tokens=True)["input_ids"]) for t in texts]
    n_truncated = sum(len(r) > n_ctx for r in ids)
    ids = [r[:n_ctx] for r in ids]
    if any(not r for r in ids):
        raise ValueError("a text encodes to no tokens; drop it from the text set")
    pad_id = next((i for i in (tok.pad_token_id, tok.eos_token_id) if i is not None), 0)
    device = model.adapter.device
    order = sorted(range(len(ids)), key=lambda i: (-len(ids[i]), i))  # similar lengths share a batch
    ll = np.zeros(len(ids))
    was_training = model.hf.training
    model.hf.eval()
    try:
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            width = len(ids[batch[0]])
            input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, i in enumerate(batch):  # right padding: real tokens keep positions 0..T-1
                input_ids[row, :len(ids[i])] = torch.tensor(ids[i])
                mask[row, :len(ids[i])] = 1
            input_ids, mask = input_ids.to(device), mask.to(device)
            with torch.inference_mode():
                logits = model.hf(input_ids=input_ids, attention_mask=mask, use_cache=False).logits
                logp = logits[:, :-1].float().log_softmax(-1)
                scored = logp.gather(-1, input_ids[:, 1:, None])[..., 0] * mask[:, 1:]
            ll[batch] = scored.double().sum(-1).cpu().numpy()
            bar.update(len(batch))
    finally:
        model.hf.train(was_training)
    return ll, np.array([len(r) for r in ids]), n_truncated


def _scorer_rows(scorer: Callable, texts: Sequence[str], label: str) -> np.ndarray:
    out = np.asarray(scorer(list(texts)), dtype=np.float64)
    if out.shape != (len(texts),):
        raise ValueError(f"scorer {label!r} returned shape {out.shape}; a text scorer returns one "
                         f"log-likelihood per text, shape ({len(texts)},)")
    if np.isnan(out).any() or (out > 1e-9).any():
        raise ValueError(f"scorer {label!r} returned NaN or positive log-likelihoods; it must return "
                         "log p(text) (natural log, ≤ 0)")
    return out


def _safe(label: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.+-]+", "_", label)[-60:] or "model"


def _dtype_name(dtype) -> str:
    return str(dtype).removeprefix("torch.")


def loglik_matrix(models: Sequence | Mapping, texts: TextSet | Sequence[str], *, batch_size: int = 8,
                  cache_dir: str | Path | None = None, dtype: torch.dtype = torch.float32,
                  progress: bool = True, callback: Callable | None = None) -> LogLikelihoods:
    """L [K, N]: log-likelihood of each of N ``texts`` under each of K ``models`` (see the module
    docstring for what a model may be; a mapping gives each its label).

    ``batch_size`` texts run per forward pass (right-padded; padding never changes a score).
    ``dtype``: the precision iw Models must already have and names are loaded in (logits are
    log-softmaxed in float32). ``cache_dir``: each finished row is written to
    ``cache_dir/texts-<text digest>/<dtype>/<label>-<model fingerprint>.npz`` before the next model
    starts, so an interrupted sweep resumes where it stopped and adding models computes only the
    new rows. ``callback(i, label, row)`` runs after each row is stored (raise from it to stop).
    Warns, naming the models and counts, when texts were truncated to a model's context.
    """
    from tqdm.auto import tqdm

    texts = tuple(texts.texts) if isinstance(texts, TextSet) else tuple(texts)
    if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
        raise ValueError("texts must be a non-empty list of non-empty strings (see iw.outputs.chunk_texts)")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    items = list(models.items()) if isinstance(models, Mapping) else [(None, m) for m in models]
    if not items:
        raise ValueError("pass at least one model")
    digest = text_digest(texts)
    folder = None if cache_dir is None else Path(cache_dir) / f"texts-{digest[:16]}" / _dtype_name(dtype)
    n = len(texts)
    rows, tokens, truncated, cached, names = [], [], [], [], []
    with tqdm(total=len(items) * n, unit="text", disable=not progress) as bar:
        for i, (label, model) in enumerate(items):
            label = label or _label(model, f"model {i}")
            if label in names:
                raise ValueError(f"two models are labelled {label!r}; pass a dict {{label: model}} with unique labels")
            names.append(label)
            bar.set_description(label)
            if isinstance(model, (str, Path)):
                model = load(model, dtype=dtype)
                model.name = label
            if isinstance(model, Model):
                have = next(model.hf.parameters()).dtype
                if have != dtype:
                    raise ValueError(f"{label} has {_dtype_name(have)} weights but dtype={_dtype_name(dtype)}; "
                                     f"load it with iw.load(..., dtype={dtype}) or pass its name instead")
                fingerprint = model_fingerprint(model)
            elif callable(model):
                fingerprint = getattr(model, "fingerprint", None)
            else:
                raise TypeError(f"model {label!r} is a {type(model).__name__}: pass an iw Model, a model name or "
                                "folder, or a text scorer (a callable texts -> log-likelihoods)")
            path = None
            if folder is not None and fingerprint is not None:
                key = hashlib.sha256(f"{label}\n{fingerprint}".encode()).hexdigest()[:20]
                path = folder / f"{_safe(label)}-{key}.npz"
            if path is not None and path.exists():
                with np.load(path) as data:
                    if str(data["text_digest"]) != digest:
                        raise RuntimeError(f"cache file {path} belongs to another text set; delete it")
                    ll, n_tok, n_trunc = data["loglik"], data["n_tokens"], int(data["truncated"])
                bar.update(n)
                cached.append(True)
            else:
                if isinstance(model, Model):
                    ll, n_tok, n_trunc = _model_rows(model, texts, batch_size, bar)
                else:
                    ll, n_tok, n_trunc = _scorer_rows(model, texts, label), np.zeros(n, dtype=np.int64), 0
                    bar.update(n)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".tmp{os.getpid()}.npz")
                    np.savez(tmp, loglik=ll, n_tokens=n_tok, truncated=n_trunc, text_digest=digest)
                    os.replace(tmp, path)
                cached.append(False)
            rows.append(ll)
            tokens.append(n_tok)
            truncated.append(n_trunc)
            if callback is not None:
                callback(i, label, ll)
    cut = [f"{name}: {c} of {n}" for name, c in zip(names, truncated) if c]
    if cut:
        warnings.warn("texts longer than the model's context were truncated to their first n_ctx tokens "
                      f"(as Oyama et al. do): {'; '.join(cut)}", stacklevel=2)
    return LogLikelihoods(torch.from_numpy(np.stack(rows)), names, torch.from_numpy(np.stack(tokens)),
                          torch.tensor(truncated), cached, digest, _dtype_name(dtype))
