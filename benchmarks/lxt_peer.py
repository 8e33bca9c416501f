"""AttnLRP against LXT 2.1: one input-relevance call (one forward and one backward pass).

LXT needs transformers 4.x, so it runs in the peer environment (``.peer-venv``, built by
``bash .ci/peer_env``) in a second process, on the same weights (saved to a temporary folder)
and token ids. A cross-process ratio of seconds would mix in the two transformers versions and
whatever else the machine did meanwhile, so each side is timed against the plain forward +
backward pass of the same model in its own process (gradient x input, no rules):

- ``iw attnlrp``: ``iw.attribution.attnlrp`` over ``hf fwd+bwd`` in this process (transformers
  5), interleaved round by round (``timing.compare``). **Target <= 1.3x.**
- ``lxt attnlrp (peer)``: LXT's patched model over the same unpatched model in the peer process
  (transformers 4), the unpatched rounds first (LXT patches classes for the whole process).
- ``iw / lxt (own floors)``: the first ratio over the second, round by round.
- ``iw / lxt (raw s)``: seconds over seconds across the two processes, for reference only.

Models: ``benchmarks/models.py`` (GPT-2-small and Llama shapes, 128 random token ids;
``--quick``: 2-layer toys, 32 ids). Without the peer environment the LXT rows are skipped with
the reason. Run alone with ``python benchmarks/lxt_peer.py [--quick] [--reps N]``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import models  # noqa: E402
from benchmarks.timing import Row, Table, compare  # noqa: E402

PEER_PYTHON = ROOT / ".peer-venv" / "bin" / "python"
SCRIPT = ROOT / "tests" / "peers" / "lxt_relevance.py"


def _peer(folder: str, ids: list[int], target: int, reps: int, threads: int) -> dict:
    """The peer's timings ``{"floor_seconds", "lxt_seconds"}`` ([reps, 2] wall, CPU each)."""
    import numpy as np

    if not PEER_PYTHON.exists():
        raise RuntimeError("no peer environment: run `bash .ci/peer_env`")
    with tempfile.TemporaryDirectory() as tmp:
        job, out = Path(tmp) / "job.json", Path(tmp) / "out.npz"
        job.write_text(json.dumps({"model": folder, "variant": "attnlrp", "reps": reps, "threads": threads,
                                   "cases": [{"ids": ids, "target": target, "pos": len(ids) - 1}]}))
        env = {**os.environ, "OMP_NUM_THREADS": str(threads), "HF_HUB_OFFLINE": "1"}
        done = subprocess.run([str(PEER_PYTHON), str(SCRIPT), str(job), str(out)],
                              capture_output=True, text=True, env=env, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"LXT failed in the peer environment: {done.stderr.strip()[-300:]}")
        with np.load(out) as data:
            return {k: data[k] for k in ("floor_seconds", "lxt_seconds")}


def _case(label: str, hf, quick: bool, reps: int) -> list[Table]:
    import torch

    import interp_widgets as iw

    n_tokens = 32 if quick else 128
    ids = models.random_ids(hf.config.vocab_size, n_tokens)
    target = 7
    model = iw.wrap(hf, models.vocab_tokenizer(hf.config.vocab_size))

    def floor():
        embeds = hf.get_input_embeddings()(ids).detach().requires_grad_(True)
        hf(inputs_embeds=embeds, use_cache=False).logits[0, -1, target].backward()
        return (embeds * embeds.grad).sum(-1)

    def ours():
        return iw.attribution.attnlrp(model, ids[0], target).input_scores

    for p in hf.parameters():
        p.requires_grad_(False)
    case = f"{label}/{n_tokens}"
    iw_row, floor_row = compare(case, {"iw attnlrp": ours, "hf fwd+bwd": floor}, "hf fwd+bwd",
                                reps=reps, targets={"iw attnlrp": 1.3})
    rows = [iw_row]
    head_to_head: list[Row] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            hf.save_pretrained(tmp)
            peer = _peer(tmp, ids[0].tolist(), target, reps, torch.get_num_threads())
    except (RuntimeError, subprocess.TimeoutExpired) as err:
        reason = str(err)
        rows.append(Row(case, "lxt attnlrp (peer)", skipped=reason))
        head_to_head = [Row(case, "iw / lxt (own floors)", skipped=reason)]
    else:
        f, x = peer["floor_seconds"], peer["lxt_seconds"]
        lxt_row = Row(case, "lxt attnlrp (peer)", list(x[:, 0]), list(x[:, 1]), list(f[:, 0]), list(f[:, 1]))
        rows.append(lxt_row)
        iw_norm = [a / b for a, b in zip(iw_row.wall, floor_row.wall)]
        lxt_norm = lxt_row.ratios
        head_to_head = [
            Row(case, "iw / lxt (own floors)", iw_norm, [a / b for a, b in zip(iw_row.cpu, floor_row.cpu)],
                lxt_norm, [a / b for a, b in zip(lxt_row.cpu, lxt_row.ref_cpu)], show_seconds=False),
            iw_row.against(lxt_row, "iw / lxt (raw s)"),
        ]
    return [Table(f"AttnLRP input relevance, {label}", "hf fwd+bwd of the same process", rows),
            Table(f"AttnLRP, interp_widgets vs LXT, {label}", "lxt attnlrp", head_to_head)]


def run(quick: bool = False, reps: int | None = None, select=lambda case: True) -> Iterator[Table]:
    reps = reps or (1 if quick else 5)
    n_tokens = 32 if quick else 128
    for label, build in models.small_models(quick):
        if select(f"{label}/{n_tokens}"):
            yield from _case(label, build(quick=quick), quick, reps)


if __name__ == "__main__":
    import argparse

    import torch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    for table in run(quick=args.quick, reps=args.reps):
        print()
        print(table.format(), flush=True)
