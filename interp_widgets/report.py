"""A headless, self-contained HTML report on the shipped models (``python -m interp_widgets report``)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from .catalog import catalog  # noqa: E402
from .model import Model, load, shipped_models  # noqa: E402

CAUSAL_PROMPT = "To be, or not to be, that is the"
MASKED_PROMPT = "to be, or not to be, that is the [MASK]."


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return f'<img alt="figure" src="data:image/png;base64,{base64.b64encode(buf.getvalue()).decode()}">'


def induction_scores(model: Model, period: int = 40, batch: int = 4, seed: int = 0) -> tuple[torch.Tensor, float, float]:
    """Per-head induction scores [layer, head] on random tokens repeated twice, and the mean
    loss on the first and on the repeated half. Score = mean attention from position i of the
    repeat to position i - period + 1 (the token after the previous occurrence)."""
    gen = torch.Generator().manual_seed(seed)
    low = 3 if model.tokenizer.bos_token_id is None else max(3, model.tokenizer.bos_token_id + 1)
    half = torch.randint(low, model.cfg.d_vocab, (batch, period), generator=gen)
    ids = torch.cat([half, half], dim=1)
    tr = model.run(ids, names="blocks.*.attn.hook_pattern")
    q = torch.arange(period, 2 * period)
    scores = torch.stack([tr[f"blocks.{i}.attn.hook_pattern"][:, :, q, q - period + 1].mean((0, 2))
                          for i in range(model.cfg.n_layers)])
    losses = torch.nn.functional.cross_entropy(tr.logits[:, :-1].transpose(1, 2), ids[:, 1:], reduction="none")
    return scores, losses[:, : period - 1].mean().item(), losses[:, period:].mean().item()


def _next_tokens_table(model: Model, prompt: str, k: int = 8) -> str:
    tr = model.run(prompt, names=[])
    ids = tr.input_ids[0]
    if model.cfg.causal:
        where = -1
    else:
        where = int((ids == model.tokenizer.mask_token_id).nonzero()[0, 0])
    probs = tr.logits[0, where].softmax(-1)
    top = probs.topk(k)
    cells = "".join(f"<tr><td><code>{html.escape(model.to_str_tokens([i])[0])}</code></td>"
                    f"<td>{p:.3f}</td></tr>" for p, i in zip(top.values.tolist(), top.indices.tolist()))
    return (f"<p>Prompt: <code>{html.escape(prompt)}</code></p>"
            f"<table><tr><th>next token</th><th>probability</th></tr>{cells}</table>")


def _attention_grid(model: Model, prompt: str):
    tr = model.run(prompt, names="blocks.*.attn.hook_pattern")
    tokens = tr.str_tokens()
    cfg = model.cfg
    fig, axes = plt.subplots(cfg.n_layers, cfg.n_heads, figsize=(1.6 * cfg.n_heads, 1.6 * cfg.n_layers),
                             squeeze=False)
    for layer in range(cfg.n_layers):
        pattern = tr[f"blocks.{layer}.attn.hook_pattern"][0]
        for head in range(cfg.n_heads):
            ax = axes[layer, head]
            ax.imshow(pattern[head].float().numpy(), cmap="Blues", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            if layer == 0:
                ax.set_title(f"head {head}", fontsize=8)
            if head == 0:
                ax.set_ylabel(f"layer {layer}", fontsize=8)
    fig.suptitle(f"Attention patterns, {len(tokens)} tokens: query (rows) x key (columns)", fontsize=9)
    return fig


def _induction_figure(scores: torch.Tensor):
    fig, ax = plt.subplots(figsize=(0.6 * scores.shape[1] + 2, 0.5 * scores.shape[0] + 1.2))
    im = ax.imshow(scores.numpy(), cmap="viridis", vmin=0, vmax=1)
    ax.set_xlabel("head"), ax.set_ylabel("layer")
    ax.set_xticks(range(scores.shape[1])), ax.set_yticks(range(scores.shape[0]))
    ax.set_title("Induction score per head (repeated random tokens)", fontsize=9)
    fig.colorbar(im, ax=ax, fraction=0.05)
    return fig


def _generation(model: Model, prompt: str, tokens: int = 30) -> str:
    enc = model.tokenizer(prompt, return_tensors="pt")
    with torch.no_grad():
        out = model.hf.generate(**enc, max_new_tokens=tokens, do_sample=False,
                                pad_token_id=model.tokenizer.eos_token_id)
    return model.tokenizer.decode(out[0], skip_special_tokens=True)


def model_section(model: Model) -> str:
    c = model.cfg
    params = sum(p.numel() for p in model.hf.parameters())
    parts = [f"<h2>{html.escape(model.name)}</h2>",
             f"<p>{c.family} family ({c.model_type}), {c.n_layers} layers, {c.n_heads} heads "
             f"({c.n_kv_heads} key/value heads), d_model {c.d_model}, vocabulary {c.d_vocab}, "
             f"{c.positional} positions, {params / 1e6:.2f}M parameters.</p>"]
    prompt = CAUSAL_PROMPT if c.causal else MASKED_PROMPT.replace("[MASK]", model.tokenizer.mask_token or "[MASK]")
    if model.W_U is not None:
        parts.append(_next_tokens_table(model, prompt))
    if c.causal:
        parts.append(f"<p>Greedy continuation: <code>{html.escape(_generation(model, CAUSAL_PROMPT))}</code></p>")
        scores, first, repeat = induction_scores(model)
        layer, head = divmod(int(scores.argmax()), c.n_heads)
        parts.append(f"<p>Repeated random tokens: loss {first:.2f} on the first half, {repeat:.2f} on "
                     f"the repeat; strongest induction head L{layer}H{head} "
                     f"(score {scores.max():.2f}).</p>")
        parts.append(_png(_induction_figure(scores)))
    parts.append(_png(_attention_grid(model, prompt)))
    return "\n".join(parts)


def write_report(out: str | Path, models: list[str] | None = None) -> Path:
    """Run every shipped model (or ``models``) and write one self-contained HTML page."""
    names = models or shipped_models()
    if not names:
        raise FileNotFoundError("no shipped models found; reinstall the package")
    sections = [model_section(load(name)) for name in names]
    style = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}"
             "img{max-width:100%}")
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>interp_widgets report</title>"
            f"<style>{style}</style></head><body><h1>interp_widgets report</h1>"
            + "\n".join(sections)
            + f"<h2>Methods</h2>{catalog()._repr_html_()}</body></html>")
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out
