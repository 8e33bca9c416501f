"""Generation that records every step (ecco's ``generate`` output). Level 5 (final outputs).

At step n the model reads prompt + tokens so far and gives the next-token distribution
p_n = softmax(logits_n) (temperature 1, the model's own distribution). We record the chosen
token, p_n(chosen), the top-k alternatives of p_n and its entropy H(p_n) = −Σ p log p in nats.
Greedy decoding takes argmax p_n; sampling draws from softmax(logits_n / temperature) with a
seeded generator, so a seed reproduces the run.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import numpy as np
import torch

from ..analysis.result import Result
from ._common import encode_one, token_label, token_labels


@dataclasses.dataclass(repr=False)
class Generation(Result):
    """One generated continuation: ``ids``/``probs``/``entropy`` [step], ``text`` the decoded continuation, ``topk_ids``/
    ``topk_probs`` [step, k]; ``stop`` is ``"eos"`` or ``"length"``."""

    levels: ClassVar[tuple[int, ...]] = (5,)

    prompt_tokens: list[str]
    prompt_ids: torch.Tensor
    text: str
    tokens: list[str]
    ids: torch.Tensor
    probs: torch.Tensor
    entropy: torch.Tensor
    topk_ids: torch.Tensor
    topk_probs: torch.Tensor
    topk_tokens: list
    greedy: bool
    temperature: float
    seed: int | None
    stop: str
    model_name: str

    def alternatives(self, step: int) -> list[tuple[str, float]]:
        """The top-k (token, probability) pairs at ``step``."""
        return list(zip(self.topk_tokens[step], self.topk_probs[step].tolist()))

    def show(self, model=None, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.generation_view.GenerationView`; with
        the ``model`` that generated it, clicking a token attributes it over its prefix."""
        from ..widgets.generation_view import GenerationView

        return GenerationView(self, model=model, **kwargs)

    def figure(self, **kw):
        """Generated tokens on cells coloured by their probability (top) and, per step, the chosen
        token's probability and the entropy of the next-token distribution (bottom)."""
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle

        from ..figures import SEQUENTIAL, paper_style

        n = len(self.tokens)
        steps = np.arange(n)
        probs = self.probs.float().numpy()
        cmap = plt.get_cmap(SEQUENTIAL)
        with paper_style():
            fig, (tx, px) = plt.subplots(2, 1, figsize=(kw.get("width", max(4.0, 0.42 * n + 1.4)), kw.get("height", 3.4)),
                                         gridspec_kw={"height_ratios": [1, 2]}, sharex=True)
            for i, token in enumerate(self.tokens):
                tx.add_patch(Rectangle((i - 0.5, 0), 1, 1, facecolor=cmap(float(probs[i])), edgecolor="white"))
                tx.text(i, 0.5, token.replace("\n", "⏎"), ha="center", va="center", rotation=90, fontsize=6.5,
                        color="white" if probs[i] > 0.6 else "black")
            tx.set_xlim(-0.5, n - 0.5)
            tx.set_ylim(0, 1)
            tx.set_yticks([])
            tx.spines[["left", "bottom"]].set_visible(False)
            mode = "greedy" if self.greedy else f"sampled (T={self.temperature:g}, seed={self.seed})"
            tx.set_title(f"{mode} generation — {self.model_name} (cell colour: p(token), 0 to 1)")
            px.plot(steps, probs, marker="o", ms=2.5, label="p(chosen token)")
            px.set_ylim(0, 1.02)
            px.set_ylabel("probability")
            px.set_xlabel("step")
            ex = px.twinx()
            ex.spines["right"].set_visible(True)
            ex.plot(steps, self.entropy.float().numpy(), color="C1", marker="s", ms=2.5, label="entropy")
            ex.set_ylabel("entropy (nats)")
            px.legend(handles=px.lines + ex.lines, frameon=False, loc="lower left", bbox_to_anchor=(0, 1), ncol=2)
            fig.tight_layout()
        return fig


def _continuation(tokenizer, prompt: list[int], new: list[int]) -> str:
    """Text of ``new`` as it reads after ``prompt`` (keeps the leading space SentencePiece drops)."""
    full = tokenizer.decode(prompt + new)
    head = tokenizer.decode(prompt)
    return full[len(head):] if full.startswith(head) else tokenizer.decode(new)


def _eos_ids(model) -> set[int]:
    ids = getattr(getattr(model.hf, "generation_config", None), "eos_token_id", None)
    ids = set(ids if isinstance(ids, (list, tuple)) else [] if ids is None else [ids])
    if model.tokenizer.eos_token_id is not None:
        ids.add(model.tokenizer.eos_token_id)
    return ids


def generate(model, prompt, max_new_tokens: int = 20, greedy: bool = True, temperature: float = 1.0,
             seed: int | None = 0, k: int = 5, stop_at_eos: bool = True) -> Generation:
    """Generate up to ``max_new_tokens`` tokens after ``prompt``, recording each step (level 5).

    ``greedy=True`` takes the most probable token; otherwise tokens are sampled from
    softmax(logits / ``temperature``) with a generator seeded by ``seed``. Stops at the end-of-text
    token when ``stop_at_eos``. Records for every step the chosen token, its probability, the
    top-``k`` alternatives and the entropy (nats), all under the temperature-1 distribution.
    """
    if not model.cfg.causal:
        raise ValueError(f"generation needs a causal language model; this {model.cfg.family} model is a "
                         "bidirectional encoder (use logit_lens or a masked-token prediction instead)")
    if not isinstance(max_new_tokens, int) or max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    if not isinstance(k, int) or not 1 <= k <= model.cfg.d_vocab:
        raise ValueError(f"k must be an int from 1 to the vocabulary size {model.cfg.d_vocab}, got {k!r}")
    if not greedy and not temperature > 0:
        raise ValueError(f"temperature must be > 0 for sampling, got {temperature!r}; use greedy=True for argmax")
    ids = encode_one(model, prompt)
    if len(ids) + max_new_tokens > model.cfg.n_ctx:
        raise ValueError(f"the prompt has {len(ids)} tokens; with {max_new_tokens} new tokens it would exceed the "
                         f"model's context of {model.cfg.n_ctx}; shorten the prompt or max_new_tokens")
    generator = None if greedy else torch.Generator().manual_seed(0 if seed is None else seed)
    eos = _eos_ids(model) if stop_at_eos else set()
    sequence, chosen, probs, entropy, top_ids, top_probs = ids.clone(), [], [], [], [], []
    stop = "length"
    for _ in range(max_new_tokens):
        logits = model(sequence[None])[0, -1].float()  # [vocab]
        logp = torch.log_softmax(logits, dim=-1)
        p = logp.exp()
        if greedy:
            token = int(logits.argmax())
        else:
            token = int(torch.multinomial(torch.softmax(logits / temperature, dim=-1).cpu(), 1, generator=generator))
        values, indices = p.topk(k)
        chosen.append(token)
        probs.append(p[token])
        entropy.append(-(p * logp).sum())
        top_ids.append(indices)
        top_probs.append(values)
        sequence = torch.cat([sequence, torch.tensor([token], dtype=sequence.dtype)])
        if token in eos:
            stop = "eos"
            break
    labels: dict[int, str] = {}
    topk_ids = torch.stack(top_ids).cpu()
    return Generation(prompt_tokens=model.to_str_tokens(ids), prompt_ids=ids,
                      text=_continuation(model.tokenizer, ids.tolist(), chosen), tokens=token_labels(model, chosen),
                      ids=torch.tensor(chosen), probs=torch.stack(probs).cpu(), entropy=torch.stack(entropy).cpu(),
                      topk_ids=topk_ids, topk_probs=torch.stack(top_probs).cpu(),
                      topk_tokens=[[labels.setdefault(i, token_label(model, i)) for i in row] for row in topk_ids.tolist()],
                      greedy=greedy, temperature=float(temperature), seed=None if greedy else seed, stop=stop,
                      model_name=model.name)


__all__ = ["Generation", "generate"]
