"""Answer probabilities of language models for the survey-style outputs (opinions, compass, batteries).

A *model* here is an interp_widgets :class:`~interp_widgets.Model` (a causal LM; masked LMs only
where a probe says so), a shipped name or folder for :func:`~interp_widgets.load`, or an *answer
scorer*: a callable ``scorer(prompts: list[str], options: list[str]) -> array [len(prompts),
len(options)]`` of natural-log probabilities that each option is the answer to each prompt (for
models behind an API, or hand-built test models), with an optional ``name`` and ``n_params``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..model import Model, load


def as_models(models) -> list[tuple[str, object]]:
    """``models`` (one model, a sequence or ``{label: model}``) -> [(label, Model or scorer)]."""
    if isinstance(models, (Model, str, Path)) or (callable(models) and not isinstance(models, Mapping)):
        models = [models]
    items = list(models.items()) if isinstance(models, Mapping) else [(None, m) for m in models]
    if not items:
        raise ValueError("pass at least one model")
    out, seen = [], set()
    for i, (label, model) in enumerate(items):
        if isinstance(model, (str, Path)):
            label = label or str(model)
            model = load(model)
        elif isinstance(model, Model):
            label = label or model.name
        elif callable(model):
            label = label or getattr(model, "name", None) or getattr(model, "__name__", None) or f"model {i}"
        else:
            raise TypeError(f"model {label or i!r} is a {type(model).__name__}: pass an iw Model, a model name or "
                            "folder, or an answer scorer (a callable (prompts, options) -> log-probabilities)")
        if label in seen:
            raise ValueError(f"two models are labelled {label!r}; pass a dict {{label: model}} with unique labels")
        seen.add(label)
        out.append((label, model))
    return out


def n_params(model) -> float:
    """Parameter count of an iw Model (or a scorer's ``n_params`` attribute; NaN if unknown)."""
    if isinstance(model, Model):
        return float(sum(p.numel() for p in model.hf.parameters()))
    return float(getattr(model, "n_params", np.nan))


def _require_causal(model: Model, what: str) -> None:
    if not model.cfg.causal:
        raise ValueError(f"{model.name} is a masked (encoder) LM; {what} needs a causal LM "
                         "(for encoders use iw.outputs.political_compass(probe='mask'))")


def _logits(model: Model, batch: list[list[int]]) -> torch.Tensor:
    """Logits [b, T, vocab] of right-padded rows of ids (padding never changes a real position)."""
    tok = model.tokenizer
    pad = next((i for i in (tok.pad_token_id, tok.eos_token_id) if i is not None), 0)
    width = max(map(len, batch))
    ids = torch.full((len(batch), width), pad, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for r, row in enumerate(batch):
        ids[r, :len(row)] = torch.tensor(row)
        mask[r, :len(row)] = 1
    device = model.adapter.device
    return model.hf(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False).logits


def _forward_last(model: Model, rows: list[list[int]], batch_size: int) -> torch.Tensor:
    """Log-probabilities [n, vocab] of the token after each row of ids."""
    out = torch.empty(len(rows), model.cfg.d_vocab)
    with model._eval_mode(), torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            logits = _logits(model, batch)
            last = torch.tensor([len(r) - 1 for r in batch], device=logits.device)
            out[start:start + len(batch)] = logits[torch.arange(len(batch)), last].float().log_softmax(-1).cpu()
    return out


def encode_prompt(model: Model, prompt: str, reserve: int = 0) -> list[int]:
    """Token ids of ``prompt`` with the tokenizer's special tokens (BOS where it adds one); an error if
    it leaves fewer than ``reserve`` positions of the model's context."""
    ids = list(model.tokenizer(prompt, add_special_tokens=True)["input_ids"])
    eos = model.tokenizer.eos_token_id
    if len(ids) > 1 and eos is not None and ids[-1] == eos and model.tokenizer.bos_token_id != eos:
        ids = ids[:-1]  # tokenizers that append EOS would end the prompt
    if len(ids) + reserve > model.cfg.n_ctx:
        raise ValueError(f"a prompt has {len(ids)} tokens (+{reserve} for the answer), more than {model.name}'s "
                         f"context of {model.cfg.n_ctx} allows; shorten the question or its context")
    return ids


def single_token_ids(tokenizer, word: str) -> list[int]:
    """Ids of the single tokens spelling ``" w"`` or ``"w"`` (Santurkar et al. take the max over both
    for option letters); an error when neither is one token."""
    ids = []
    for text in (f" {word}", word):
        enc = tokenizer(text, add_special_tokens=False)["input_ids"]
        if len(enc) == 1 and enc[0] not in ids:
            ids.append(enc[0])
    if not ids:
        raise ValueError(f"{word!r} is not a single token (with or without a leading space) in this tokenizer, so "
                         "its next-token probability is undefined; the method needs single-token option letters/words")
    return ids


def letter_logprobs(model, prompts: Sequence[str], letters: Sequence[str], batch_size: int = 8) -> np.ndarray:
    """log p(answer letter | prompt) [n_prompts, n_letters]: for an iw Model the next-token log-probability
    of each letter, max over ``" X"`` and ``"X"`` (not renormalised); for a scorer, its output."""
    if not isinstance(model, Model):
        return _scored(model, prompts, list(letters))
    _require_causal(model, "reading answer probabilities")
    ids = [single_token_ids(model.tokenizer, x) for x in letters]
    logp = _forward_last(model, [encode_prompt(model, p) for p in prompts], batch_size)
    return np.stack([logp[:, i].max(-1).values.double().numpy() for i in ids], axis=1)


def continuation_logprobs(model, prompts: Sequence[str], options: Sequence[str], batch_size: int = 8) -> np.ndarray:
    """log p(option | prompt) [n_prompts, n_options], summed over the option's tokens (any length); the
    option is tokenized on its own (no special tokens) and appended to the prompt's ids."""
    if not isinstance(model, Model):
        return _scored(model, prompts, list(options))
    _require_causal(model, "scoring continuations")
    opt_ids = [list(model.tokenizer(o, add_special_tokens=False)["input_ids"]) for o in options]
    if any(not o for o in opt_ids):
        raise ValueError(f"an option encodes to no tokens: {options}")
    rows, index = [], []
    for i, p in enumerate(prompts):
        head = encode_prompt(model, p, reserve=max(map(len, opt_ids)))
        for j, o in enumerate(opt_ids):
            rows.append(head + o)
            index.append((i, j, len(head), len(o)))
    out = np.zeros((len(prompts), len(options)))
    with model._eval_mode(), torch.inference_mode():
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            logp = _logits(model, batch).float().log_softmax(-1)
            for r, (i, j, n_head, n_opt) in enumerate(index[start:start + len(batch)]):
                positions = torch.arange(n_head - 1, n_head + n_opt - 1, device=logp.device)
                targets = torch.tensor(batch[r][n_head:], device=logp.device)
                out[i, j] = float(logp[r, positions, targets].double().sum())
    return out


def _scored(scorer: Callable, prompts: Sequence[str], options: list[str]) -> np.ndarray:
    out = np.asarray(scorer(list(prompts), options), dtype=np.float64)
    if out.shape != (len(prompts), len(options)):
        raise ValueError(f"answer scorer {getattr(scorer, 'name', scorer)!r} returned shape {out.shape}; it must "
                         f"return log-probabilities of shape ({len(prompts)}, {len(options)})")
    if np.isnan(out).any() or (out > 1e-9).any():
        raise ValueError("an answer scorer must return natural-log probabilities (≤ 0, no NaN)")
    return out


def normalise(logp: np.ndarray, axis: int = -1) -> np.ndarray:
    """exp(logp) renormalised to sum to 1 along ``axis`` (stable)."""
    z = np.exp(logp - logp.max(axis=axis, keepdims=True))
    return z / z.sum(axis=axis, keepdims=True)
