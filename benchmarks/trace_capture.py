"""Trace capture: one forward pass that records activations, against its peers.

Baseline: a plain Hugging Face forward with ``output_hidden_states=True,
output_attentions=True`` (eager attention), the cheapest way to get residual streams and
attention patterns without a library. Contenders on the same model and token ids:

- ``hf sdpa, no outputs``: the same model with sdpa attention and no outputs (the floor);
- ``iw run, all hooks``: ``Model.run(ids)`` recording every hook point (target <= 1.15x); the
  per-head ``attn.hook_result`` [batch, pos, head, d_model] is computed when first read;
- ``iw run, all hooks, results read``: the same, then every ``hook_result`` read;
- ``iw run, no hook_result``: the same without the per-head results;
- ``tl ...``: TransformerLens ``run_with_cache`` (see :mod:`benchmarks.tl_peer`).

A head-to-head table divides interp_widgets' time by TransformerLens's in the same round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch

import interp_widgets as iw

from . import models, tl_peer
from .timing import Row, Table, compare

TITLE = "trace capture: record activations in one forward pass"
BASELINE = "hf eager + outputs"
TARGETS = {"iw run, all hooks": 1.15}
ROWS = [BASELINE, "hf sdpa, no outputs (floor)", "iw run, all hooks", "iw run, all hooks, results read",
        "iw run, no hook_result",
        "tl HookedTransformer", "tl HookedTransformer +attn_result", "tl TransformerBridge"]
HEAD_TO_HEAD = [  # (interp_widgets row, TransformerLens row) recording comparable points
    ("iw run, no hook_result", "tl HookedTransformer"),
    ("iw run, all hooks, results read", "tl HookedTransformer +attn_result"),
    ("iw run, no hook_result", "tl TransformerBridge"),
]


def _hf_outputs(hf, ids):
    def run():
        with torch.no_grad():
            return hf(input_ids=ids, use_cache=False, output_hidden_states=True,
                      output_attentions=True)
    return run


def _hf_sdpa(hf, ids):
    def run():
        config = hf.config
        saved, config._attn_implementation = config._attn_implementation, "sdpa"
        try:
            with torch.no_grad():
                return hf(input_ids=ids, use_cache=False)
        finally:
            config._attn_implementation = saved
    return run


def _iw_run(m: iw.Model, ids, names=None):
    return lambda: m.run(ids, names=names)


def _results_read(m: iw.Model, ids):
    def run():
        trace = m.run(ids)
        return [trace[name] for name in trace.keys() if name.endswith(".hook_result")]
    return run


def _no_result(name: str) -> bool:
    return not name.endswith(".hook_result")


def _models(quick: bool) -> list[tuple[str, Callable[[], iw.Model], list[int]]]:
    """(label, builder of a wrapped model, token counts) for every model measured."""
    tokenizer = models.word_tokenizer()

    def shipped():
        m = iw.load("tiny-llama")
        m.hf.config._attn_implementation = "eager"
        return m

    if quick:
        return [("gpt2-toy", lambda: iw.wrap(models.gpt2_small(quick=True), tokenizer), [32]),
                ("llama-toy", lambda: iw.wrap(models.llama_small(quick=True), tokenizer), [32]),
                ("tiny-llama", shipped, [32])]
    return [("gpt2-small", lambda: iw.wrap(models.gpt2_small(), tokenizer), [128, 512]),
            ("llama-small", lambda: iw.wrap(models.llama_small(), tokenizer), [128, 512]),
            ("tiny-llama", shipped, [128])]


def _peers(m: iw.Model) -> tuple[dict[str, Callable], dict[str, str]]:
    """TransformerLens contenders (name -> fn(ids)) and the reasons for those that cannot run."""
    makers = {
        "tl HookedTransformer": lambda: tl_peer.hooked_transformer(m.cfg, attn_result=False),
        "tl HookedTransformer +attn_result": lambda: tl_peer.hooked_transformer(m.cfg, attn_result=True),
        "tl TransformerBridge": lambda: tl_peer.bridge(m.hf, m.tokenizer),
    }
    ready, skipped = {}, {}
    for name, make in makers.items():
        try:
            ready[name] = make()
        except tl_peer.Unavailable as exc:
            skipped[name] = str(exc)
    return ready, skipped


def run(quick: bool = False, reps: int | None = None,
        select: Callable[[str], bool] = lambda case: True) -> Iterator[Table]:
    """Measure every selected case ("model/tokens"); yields, per case, a table against the
    baseline and a head-to-head table, as soon as the case is done."""
    reps = reps or (1 if quick else 5)
    for label, build, lengths in _models(quick):
        lengths = [n for n in lengths if select(f"{label}/{n}")]
        if not lengths:
            continue
        try:
            m = build()
        except Exception as exc:  # a shipped model still in training: report, keep going
            reason = f"{type(exc).__name__}: {str(exc)[:90]}"
            yield Table(TITLE, repr(BASELINE), [Row(f"{label}/-", n, skipped=reason) for n in ROWS])
            continue
        peers, skipped = _peers(m)
        for n_tokens in lengths:
            case = f"{label}/{n_tokens}"
            ids = models.random_ids(m.cfg.d_vocab, min(n_tokens, m.cfg.n_ctx))
            contenders = {
                BASELINE: _hf_outputs(m.hf, ids),
                "hf sdpa, no outputs (floor)": _hf_sdpa(m.hf, ids),
                "iw run, all hooks": _iw_run(m, ids),
                "iw run, all hooks, results read": _results_read(m, ids),
                "iw run, no hook_result": _iw_run(m, ids, names=_no_result),
                **{name: (lambda fn=fn: fn(ids)) for name, fn in peers.items()},
            }
            measured = {r.name: r for r in compare(case, contenders, BASELINE, reps=reps,
                                                   targets=TARGETS)}
            yield Table(TITLE, repr(BASELINE), [measured.get(n) or Row(case, n, skipped=skipped[n])
                                                for n in ROWS])
            head_to_head = [measured[ours].against(measured[theirs], f"{ours} / {theirs}")
                            if theirs in measured else
                            Row(case, f"{ours} / {theirs}", skipped=skipped[theirs])
                            for ours, theirs in HEAD_TO_HEAD]
            yield Table(f"{TITLE}, head to head", "the TransformerLens row named after '/'",
                        head_to_head)
        del m, peers
