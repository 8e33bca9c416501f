"""Sequential integrated gradients (SIG; Enguehard 2023): one straight path per word, on which
only that word's embedding moves from its baseline while every other word stays at the input."""

from __future__ import annotations

import torch

from ._forward import Runner, resolve_baseline
from .discretized_ig import _fixed_positions
from .gradients import path_gradients, quadrature
from .results import TokenAttribution
from .targets import resolve_target


def sig(model, inputs, target=None, *, baseline="auto", steps: int = 50, method: str = "gausslegendre",
        keep_specials: bool = True, internal_batch_size: int | None = None, pair=None) -> TokenAttribution:
    """Sequential integrated gradients on the input embeddings x [pos, d_model].

    For each word i, the baseline x̄^i is x with row i replaced by the baseline embedding b_i;
    IG from x̄^i to x (``steps`` points of ``method``, see :func:`integrated_gradients`) gives
    the attributions of word i's coordinates: (x_i - b_i) ⊙ ∫ dF/dx_i(x̄^i + a (x - x̄^i)) da.
    The cost is (number of words) x ``steps`` gradient evaluations.

    ``baseline="auto"``: the ``[MASK]`` token's embedding, as in the paper, when the tokenizer has
    a mask token (BERT, RoBERTa); otherwise (causal models such as tiny-gpt2 and tiny-llama) the
    pad token's embedding, or the EOS token's if there is no pad token -- a trained embedding the
    model has seen, unlike a zero vector, which also makes RMSNorm singular on Llama-family
    models. ``info["baseline"]`` records what was used. Any baseline of
    :func:`integrated_gradients` ("zeros", "pad", "mask", a token id, a tensor [pos, d_model]:
    only row i is used on word i's path) is accepted. With ``keep_specials`` special tokens are
    not attributed (score 0).

    Completeness holds per word: ``info["word_deltas"]`` [pos] = sum_d SIG_id - (F(x) - F(x̄^i))
    with the gaps in ``info["word_gaps"]``; ``delta`` is the largest of them in magnitude and
    ``info["relative_delta"]`` = max |word delta| / max |word gap|.
    """
    alphas, weights = quadrature(method, steps)
    runner = Runner(model, inputs, pair=pair)
    bound = resolve_target(model, target, runner.input_ids, runner.logits0)
    if isinstance(baseline, str) and baseline == "auto":
        baseline = "mask" if getattr(model.tokenizer, "mask_token_id", None) is not None else "pad"
    x = runner.embeddings
    base = resolve_baseline(runner, baseline)
    moving = (~_fixed_positions(runner, base, keep_specials)).nonzero().flatten().tolist()
    chunk = runner.chunk_size(internal_batch_size)
    attr = torch.zeros(x.shape, dtype=torch.float64, device=x.device)
    starts = []
    for i in moving:
        start = x.clone()
        start[i] = base[i]
        grads = path_gradients(runner, bound, start, x, alphas, weights, chunk)
        attr[i] = (x[i] - base[i]).double() * grads[i]
        starts.append(start)
    with torch.no_grad():
        f_x = float(bound(runner.logits(x[None])))
        f_bar = torch.full((runner.n_pos,), f_x, dtype=torch.float64)
        for j in range(0, len(starts), chunk):
            f_bar[moving[j:j + chunk]] = bound(runner.logits(torch.stack(starts[j:j + chunk]))).double().cpu()
    gaps = f_x - f_bar
    word_deltas = attr.sum(-1).cpu() - gaps
    worst = int(word_deltas.abs().argmax())
    return TokenAttribution(
        method="sig", tokens=runner.tokens, scores=attr.sum(-1).float().cpu(),
        attributions=attr.float().cpu(), target=bound.label, target_value=f_x,
        delta=float(word_deltas[worst]),
        info={"baseline": baseline if isinstance(baseline, (str, int)) else "tensor", "steps": steps,
              "rule": method, "word_gaps": gaps.tolist(), "word_deltas": word_deltas.tolist(),
              "relative_delta": float(word_deltas.abs().max()) / max(float(gaps.abs().max()), 1e-12)},
    )
