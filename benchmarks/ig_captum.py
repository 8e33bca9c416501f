"""Integrated gradients against captum: the same model, token ids, target, zero baseline, number
of steps (32, Gauss-Legendre), points per forward pass (8) and convergence delta.

- ``captum IG``: **reference**, ``captum.attr.IntegratedGradients`` over a function of
  ``inputs_embeds`` that returns the target logit, ``return_convergence_delta=True``;
- ``iw integrated_gradients``: ``iw.attribution.integrated_gradients`` (attributions and
  delta), **target <= 1.0x**.

Models: ``benchmarks/models.py`` (GPT-2-small and Llama shapes, 128 random token ids;
``--quick``: 2-layer toys, 32 ids). Without captum the rows are skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator

from . import models
from .timing import Row, Table, compare

STEPS, BATCH, TARGET = 32, 8, 7
REFERENCE = "captum IG"


def _case(label: str, hf, quick: bool, reps: int) -> Table:
    import torch

    import interp_widgets as iw
    from interp_widgets.attribution import Target

    n_tokens = 32 if quick else 128
    case = f"{label}/{n_tokens}"
    try:
        from captum.attr import IntegratedGradients
    except ImportError as exc:
        return Table(f"integrated gradients, {label}", REFERENCE,
                     [Row(case, n, skipped=f"captum not installed ({exc})") for n in (REFERENCE, "iw integrated_gradients")])
    ids = models.random_ids(hf.config.vocab_size, n_tokens)
    model = iw.wrap(hf, models.vocab_tokenizer(hf.config.vocab_size))
    embeds = hf.get_input_embeddings()(ids).detach()

    def forward(x):
        return hf(inputs_embeds=x, use_cache=False).logits[:, -1, TARGET]

    captum_ig = IntegratedGradients(forward)

    def theirs():
        return captum_ig.attribute(embeds, baselines=torch.zeros_like(embeds), n_steps=STEPS,
                                   method="gausslegendre", internal_batch_size=BATCH, return_convergence_delta=True)

    def ours():
        return iw.attribution.integrated_gradients(model, ids[0], Target.logit(TARGET), baseline="zeros", steps=STEPS,
                                                   internal_batch_size=BATCH)

    for p in hf.parameters():
        p.requires_grad_(False)
    rows = compare(case, {REFERENCE: theirs, "iw integrated_gradients": ours}, REFERENCE, reps=reps,
                   targets={"iw integrated_gradients": 1.0})
    return Table(f"integrated gradients ({STEPS} steps, {BATCH} per pass), {label}", REFERENCE, rows)


def run(quick: bool = False, reps: int | None = None, select=lambda case: True) -> Iterator[Table]:
    reps = reps or (1 if quick else 5)
    n_tokens = 32 if quick else 128
    for label, build in models.small_models(quick):
        if select(f"{label}/{n_tokens}"):
            yield _case(label, build(quick=quick), quick, reps)
