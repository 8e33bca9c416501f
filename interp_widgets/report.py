"""The headless report (``python -m interp_widgets report``): every granularity level on one text.

One offline HTML page, a section per level (embeddings, transformer blocks, attention, layer
outputs, final outputs), each holding that level's interactive views (embedded as in
:func:`~interp_widgets.widgets.save_html`: all views share one payload and one host) and their
matplotlib figures as inline PNG; optionally the figures are also written as PDF and PNG files.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import io
import re
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from . import attribution, circuits, hidden, outputs, positional  # noqa: E402
from .analysis import attention  # noqa: E402
from .catalog import LEVEL_MEANING, LEVELS, catalog  # noqa: E402
from .model import Model, load, shipped_models  # noqa: E402
from .model.loading import SHIPPED_DIR  # noqa: E402
from .widgets._base import InterpWidget  # noqa: E402
from .widgets.html import _BOOTSTRAP, _inert_json, widget_payload  # noqa: E402

DEFAULT_TEXT = "My lord, the king is"
CORPUS = ["When shall we three meet again? In thunder, lightning, or in rain?",
          "Fair is foul, and foul is fair: hover through the fog and filthy air.",
          "Shall I compare thee to a summer's day? Thou art more lovely and more temperate.",
          "To be, or not to be, that is the question."]


@dataclasses.dataclass
class Item:
    """One entry of a level: a title, a caption, and any of a view, a figure and an HTML table."""

    title: str
    caption: str
    view: InterpWidget | None = None
    figure: object | None = None  # a matplotlib Figure
    table: str = ""


def _seed() -> None:
    torch.manual_seed(0)


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


def _induction_figure(scores: torch.Tensor):
    from .figures import paper_style

    with paper_style():
        fig, ax = plt.subplots(figsize=(0.6 * scores.shape[1] + 2, 0.5 * scores.shape[0] + 1.2))
        im = ax.imshow(scores.numpy(), cmap="viridis", vmin=0, vmax=1)
        ax.set(xlabel="head", ylabel="layer", xticks=range(scores.shape[1]), yticks=range(scores.shape[0]),
               title="Induction score per head (repeated random tokens)")
        fig.colorbar(im, ax=ax, fraction=0.05)
    return fig


def _token_table(model: Model, logits: torch.Tensor, k: int = 8) -> str:
    probs = logits.softmax(-1).topk(k)
    cells = "".join(f"<tr><td><code>{html.escape(model.to_str_tokens([i])[0])}</code></td><td>{p:.3f}</td></tr>"
                    for p, i in zip(probs.values.tolist(), probs.indices.tolist()))
    return f"<table><tr><th>next token</th><th>probability</th></tr>{cells}</table>"


def _models_table(models: dict[str, Model]) -> str:
    rows = []
    for name, m in models.items():
        c = m.cfg
        params = sum(p.numel() for p in m.hf.parameters())
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{html.escape(c.family)}</td><td>{c.n_layers}</td>"
                    f"<td>{c.n_heads}</td><td>{c.d_model}</td><td>{html.escape(str(c.positional))}</td>"
                    f"<td>{'causal' if c.causal else 'masked'}</td><td>{params / 1e6:.2f}M</td></tr>")
    head = ("<tr><th>model</th><th>family</th><th>layers</th><th>heads</th><th>d_model</th><th>positions</th>"
            "<th>objective</th><th>parameters</th></tr>")
    return f"<table>{head}{''.join(rows)}</table>"


class _Run:
    """The analyses of one model on one text, shared between the level sections."""

    def __init__(self, model: Model, text: str, transcoder: str | None, shipped: dict[str, Model]):
        self.model, self.text, self.transcoder = model, text, transcoder
        self.tokens = model.to_str_tokens(text)
        if len(self.tokens) < 2:
            raise ValueError(f"the text {text!r} is a single token; give a text of a few words (--text)")
        self.logits = model(text)[0, -1]
        self.answer, self.rival = self.logits.topk(2).indices.tolist()
        self.target = attribution.Target.logit(self.answer)
        self.ig = attribution.integrated_gradients(model, text, self.target, baseline="pad", steps=32)
        # the models compared at the final-output level: this one and the other shipped causal LMs
        self.peers = {model.name: model, **{n: m for n, m in shipped.items() if n != model.name and m.cfg.causal}}

    def name(self, i: int) -> str:
        return self.model.to_str_tokens([i])[0]

    # 1. embeddings
    def embeddings(self) -> list[Item]:
        m = self.model
        info = positional.inspect(m)
        scheme = "rope" if info.scheme == "rotary" else "sinusoidal"
        explorer = positional.explorer(scheme, compare="yarn" if scheme == "rope" else "rope", dim=64, factor=4,
                                       length=256)
        return [
            Item("Positional scheme of the model", f"{m.name}: {info.scheme} positions, read from its weights and "
                 "configuration.", figure=info.figure()),
            Item("Positional-encoding explorer", f"{scheme} compared with its long-context variant; move the "
                 "sliders to change the scale factor and dimension.", explorer, explorer.figure()),
            Item("Attribution to the input embeddings (integrated gradients)",
                 f"Contribution of each token's embedding to the logit of {self.name(self.answer)!r}; the scores "
                 f"sum to F(x) - F(baseline) (relative error {self.ig.info['relative_delta']:.1e}).",
                 self.ig.show(), self.ig.figure()),
        ]

    # 2. transformer blocks
    def blocks(self) -> list[Item]:
        m = self.model
        ids = m.to_tokens(self.text)[0]
        position = int(self.ig.scores[1:].abs().argmax()) + 1  # the most relevant token after the first
        prefix_logits = m(ids[:position].unsqueeze(0))[0, -1]
        prefix_logits[ids[position]] = -float("inf")
        corrupted = ids.clone()
        corrupted[position] = int(prefix_logits.argmax())  # the most plausible other token there
        patching = hidden.activation_patching(m, ids, corrupted, (self.answer, self.rival), progress=False)
        lig = attribution.layer_integrated_gradients(m, self.text, self.target, baseline="pad", steps=16)
        words = (SHIPPED_DIR / "heldout_sample.txt").read_text(encoding="utf-8").split()[:240]
        acts = hidden.word_activations(m, words)
        rec = hidden.synthetic_recordings(acts, n_channels=8, snr=0.5, seed=0)
        brain = hidden.brain_alignment(acts, rec.recordings, times=rec.times, onsets=rec.onsets, name=m.name)
        tc, how = self._transcoder()
        graph = circuits.attribution_graph(m, tc, self.text)
        pruned = graph.prune(node_threshold=0.8, edge_threshold=0.98)
        return [
            Item("Activation patching", f"Clean text against {self.tokens[position]!r} replaced by "
                 f"{self.name(int(corrupted[position]))!r}; metric: logit({self.name(self.answer)!r}) - "
                 f"logit({self.name(self.rival)!r}), restored per block output, attention, MLP and head.",
                 patching.show(), patching.figure()),
            Item("Layer-wise attribution (layer integrated gradients, HEMERA)", "Each block output's "
                 "attribution to the tokens; every row is complete on its own.", lig.show(), lig.figure()),
            Item("Brain alignment of block outputs", "Ridge encoding of synthetic recordings (planted latency "
                 f"grows with depth): held-out r per layer and lag; peaks {brain.peak_latency.tolist()} s.",
                 brain.show(), brain.figure()),
            Item("Attribution graph (circuit tracing)", f"{how}; replacement score "
                 f"{graph.replacement_score:.3f}, completeness {graph.completeness_score:.3f}. The figure shows "
                 "the pruned graph.", graph.show(), pruned.figure()),
        ]

    def _transcoder(self):
        m = self.model
        if self.transcoder is not None:
            return circuits.load_transcoder(self.transcoder, model=m), f"transcoder {self.transcoder}"
        if m.name == "tiny-llama":
            return circuits.load_transcoder("tiny-llama-clt", model=m), "shipped cross-layer transcoder"
        heldout = (SHIPPED_DIR / "heldout_sample.txt").read_text(encoding="utf-8")
        tc, _ = circuits.train_transcoder(m, [heldout], n_features=64, cross_layer=False, steps=30,
                                          batch_tokens=256, lr=3e-3, progress=False)
        return tc, "small per-layer transcoder trained here for 30 steps (pass --transcoder for a real one)"

    # 3. attention
    def attention(self) -> list[Item]:
        m = self.model
        patterns = attention.patterns(m, self.text)
        stats = attention.head_stats(m, CORPUS)
        norms = attention.norms(m, self.text)
        rollout = attention.rollout(m, self.text)
        flow = attention.flow(m, self.text, outputs=[len(self.tokens) - 1], progress=False)
        massive = attention.massive_values(m, CORPUS)
        items = [
            Item("Attention patterns", "Every head of every layer (bertviz-style head, model and token views).",
                 patterns.show(), patterns.figure("model")),
            Item("Head statistics (Clark et al.)", f"Attention to special tokens, offsets and entropy over "
                 f"{len(CORPUS)} lines; heads clustered by Jensen-Shannon distance.", stats.show(), stats.figure()),
            Item("Norm-based analysis (Kobayashi et al.)", "||alpha f(x)|| instead of alpha, and the "
                 "residual- and norm-aware mixing ratios.", norms.show(), norms.figure()),
            Item("Attention rollout and flow (Abnar & Zuidema)", "Residual-aware rollout; max-flow from the "
                 "last token.", rollout.show(flow=flow), flow.figure()),
            Item("Massive values in Q and K (Jin et al.)", "Per-dimension norms of queries and keys; "
                 "massive dimensions marked.", massive.show(), massive.figure()),
        ]
        scores, first, repeat = induction_scores(m)
        layer, head = divmod(int(scores.argmax()), m.cfg.n_heads)
        return items + [Item("Induction heads", f"Repeated random tokens: loss {first:.2f} on the first half, "
                             f"{repeat:.2f} on the repeat; strongest head L{layer}H{head} (score "
                             f"{scores.max():.2f}).", figure=_induction_figure(scores))]

    # 4. layer outputs
    def layer_outputs(self) -> list[Item]:
        m = self.model
        lens = hidden.logit_lens(m, self.text, k=5)
        dla = hidden.direct_logit_attribution(m, self.text, (self.answer, self.rival))
        factors = hidden.neuron_factors(m, CORPUS[0], n_factors=6)
        cka = hidden.cka(m, CORPUS)
        index = hidden.NeighborIndex.build(m, CORPUS, layer=-1)
        word = max(self.tokens[1:], key=len)
        hits = index.search(self.text, word, k=8)
        return [
            Item("Logit lens", "Each layer's residual stream read out through the final norm and unembedding; "
                 "the last row is the model's own prediction.", lens.show(), lens.figure()),
            Item("Direct logit attribution", f"Each head's and MLP's direct share of logit("
                 f"{self.name(self.answer)!r}) - logit({self.name(self.rival)!r}).", figure=dla.figure()),
            Item("Neuron factors (NMF of MLP activations)", "Six factors of the MLP neurons over a line of "
                 "verse, each a group of neurons firing together.", factors.show(), factors.figure()),
            Item("Representation similarity between layers (linear CKA)", f"Over the tokens of {len(CORPUS)} "
                 "lines.", figure=cka.figure()),
            Item("Nearest neighbours in the corpus (exBERT)", f"Tokens of {len(CORPUS)} lines closest to "
                 f"{word!r} at the last layer.", hits.show(), hits.figure()),
        ]

    # 5. final outputs
    def final_outputs(self) -> list[Item]:
        m = self.model
        gen = hidden.generate(m, self.text, max_new_tokens=16)
        compared = attribution.compare(m, self.text, self.target, methods={
            "gradient_x_input": {}, "integrated_gradients": {"steps": 16}, "attnlrp": {}})
        peers = {**self.peers}
        for name, model in self.peers.items():
            for noise in (0.05, 0.2):
                label = f"{name}+noise{noise}"
                peers[label] = outputs.perturbed(model, label, noise=noise)
        texts = outputs.sample_text_set("map")[:12]
        loglik = outputs.loglik_matrix(peers, texts, progress=False)
        families = [n.split("+")[0] for n in loglik.names]
        model_map = outputs.model_map(loglik, method="pca", families=families)
        questions = outputs.example_questions()
        humans = outputs.example_human_distributions(questions)
        opinions = outputs.opinion_distributions(self.peers, questions, groups=humans)
        compass = outputs.political_compass(self.peers, mapping="expected")
        battery = outputs.run_battery(self.peers)
        return [
            Item("Next-token prediction and greedy generation", f"Text: {self.text!r}; the generated tokens are "
                 "coloured by their probability.", gen.show(), gen.figure(), _token_table(m, self.logits)),
            Item("Attribution methods compared", "Gradient x input, integrated gradients and AttnLRP on the "
                 "same prediction, with their perturbation faithfulness.", compared.show(), compared.figure()),
            Item("Model map (log-likelihood vectors)", f"{len(peers)} models (the shipped causal models and "
                 f"noisy copies) on {len(texts)} held-out texts; distances estimate KL divergences.",
                 model_map.show(texts=list(texts)), model_map.figure()),
            Item("Opinion distributions", f"{len(questions.questions)} example survey questions, compared with "
                 "example human groups.", opinions.show(humans), opinions.figure()),
            Item("Political compass probe", "Economic and social coordinates from agree/disagree "
                 "continuations.", compass.show(), compass.figure()),
            Item("Survey battery", "Likert items in four prompt variants: consistency and scaling.",
                 battery.show(), battery.figure()),
        ]


SECTIONS: dict[int, Callable[[_Run], list[Item]]] = {
    1: _Run.embeddings, 2: _Run.blocks, 3: _Run.attention, 4: _Run.layer_outputs, 5: _Run.final_outputs}

_STYLE = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}"
          "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px}img{max-width:100%}"
          "section.level{border-top:2px solid #888;margin-top:2em}.iw-page-widget{margin:0.5em 0}"
          "@media (prefers-color-scheme: dark){body{background:#1e1e1e;color:#e6e6e6}}")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _figure_html(fig, stem: str, figures_dir: Path | None) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    if figures_dir is not None:
        fig.savefig(figures_dir / f"{stem}.pdf", bbox_inches="tight")
        fig.savefig(figures_dir / f"{stem}.png", dpi=200, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f'<img class="iw-figure" alt="{html.escape(stem)}" src="data:image/png;base64,{data}">'


def _methods(level: int) -> str:
    rows = "".join(f"<li>{html.escape(r['work'])}: <code>{html.escape(', '.join('iw.' + e for e in r['entry_points']))}"
                   f"</code></li>" for r in catalog(level=level))
    return f"<details><summary>Methods of this level</summary><ul>{rows}</ul></details>"


def write_report(out: str | Path, model: str = "tiny-llama", text: str = DEFAULT_TEXT,
                 figures: str | Path | None = None, transcoder: str | None = None) -> Path:
    """Run every granularity level on ``text`` with ``model`` (a causal LM: a shipped name, folder or hub
    name) and write one self-contained offline HTML page to ``out``; with ``figures``, every figure
    is also written there as PDF and PNG. ``transcoder``: for the attribution graph (default: the
    shipped CLT for tiny-llama, otherwise a small one trained on the spot)."""
    names = shipped_models()
    if not names:
        raise FileNotFoundError("no shipped models found; reinstall the package")
    m = load(model)
    if not m.cfg.causal:
        raise ValueError(f"{model} is an encoder, not a causal language model; the report generates text and "
                         f"needs a causal one, e.g. --model tiny-llama (shipped: {', '.join(names)})")
    shipped = {name: load(name) for name in names}
    figures_dir = None if figures is None else Path(figures)
    if figures_dir is not None:
        figures_dir.mkdir(parents=True, exist_ok=True)
    _seed()
    run = _Run(m, text, transcoder, shipped)
    views: list[InterpWidget] = []
    body = [f"<h1>interp_widgets report: {html.escape(m.name)}</h1>",
            f"<p>Text: <code>{html.escape(text)}</code> ({len(run.tokens)} tokens). One section per granularity "
            "level; each view is interactive and works offline.</p>",
            "<nav><ul>" + "".join(f'<li><a href="#level-{i}">{i}. {LEVELS[i]}</a></li>' for i in LEVELS)
            + "</ul></nav>", "<h2>Shipped models</h2>", _models_table(shipped)]
    for level, section in SECTIONS.items():
        _seed()
        body.append(f'<section class="level" id="level-{level}" data-level="{level}">'
                    f"<h2>{level}. {LEVELS[level].capitalize()}</h2><p>{html.escape(LEVEL_MEANING['en'][level])}</p>"
                    + _methods(level))
        for item in section(run):
            stem = f"{level}-{_slug(item.title)}"
            body.append(f'<div class="iw-item" data-item="{stem}"><h3>{html.escape(item.title)}</h3>'
                        f"<p>{html.escape(item.caption)}</p>{item.table}")
            if item.view is not None:
                body.append(f'<div class="iw-page-widget" data-iw-root="{len(views)}" '
                            f'data-view="{type(item.view).__name__}"></div>')
                views.append(item.view)
            if item.figure is not None:
                body.append(_figure_html(item.figure, stem, figures_dir))
            body.append("</div>")
        body.append("</section>")
    body.append(f"<h2>Methods</h2>{catalog()._repr_html_()}")
    page = (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' "
            f"content='width=device-width, initial-scale=1'><title>interp_widgets report: {html.escape(m.name)}"
            f"</title><style>{_STYLE}</style></head><body>\n" + "\n".join(body)
            + f'\n<script type="application/json" id="iw-payload">{_inert_json(widget_payload(views))}</script>\n'
            + f'<script type="module">\n{_BOOTSTRAP}</script>\n</body></html>\n')
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out
