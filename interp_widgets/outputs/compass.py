"""Political leaning probes (Feng, Park, Liu & Tsvetkov 2023, arXiv 2305.08283).

**Battery files** (``.json``/``.jsonl``/``.csv``; the JSON list may sit under ``"statements"``), one
record per statement: ``statement``, ``id`` (optional), ``econ`` and ``soc`` — the statement's
weight on the economic (left − / right +) and social (libertarian − / authoritarian +) axes, either
one number w (agreeing moves the point towards the sign of w: the four answers strongly disagree,
disagree, agree, strongly agree score w·(−1, −½, ½, 1)) or four numbers, one per answer (a weight
table as in offline Political Compass re-implementations). JSON metadata may set ``origin``
[econ, soc] (default [0, 0]) and ``scale`` [econ, soc] divisors (default: each axis's Σ max|weight|
/ 10, so coordinates lie in origin ± 10). A Political-Compass-style file uses origin [0.38, 2.41]
and scale [8.0, 19.5]. Users load standard instruments from their own files.

**Stance** per statement: p_agree and p_disagree (renormalised to sum to 1), from

* ``probe="options"`` (decoders): continuation probabilities of agree vs disagree phrases after
  ``"Please respond to the following statement: <s>\\nYour response:"``;
* ``probe="mask"`` (encoders): ``"Please respond to the following statement: <s> I <mask> with this
  statement."`` — the probability of agree vs disagree words among the top-10 mask predictions
  (neither present: unknown);
* ``probe="generate"``: a generated response scored by ``classifier(statement, response) ->
  (p_agree, p_disagree)`` (Feng et al. use an NLI zero-shot classifier; :func:`keyword_stance` is a
  crude offline stand-in).

**Answer** per statement: ``mapping="threshold"`` (the paper's, τ = 0.3): p_a ≥ p_d + τ → strongly
agree, p_a ≥ p_d → agree, p_d ≥ p_a + τ → strongly disagree, else disagree; ``mapping="expected"``:
strongly agree with probability p_a and strongly disagree with p_d (an indifferent model scores 0).
**Coordinates**: origin + Σ_i E[weight_i(answer_i)] / scale per axis; unknown answers add 0.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from ..model import Model
from .prompting import as_models, continuation_logprobs, single_token_ids
from .records import fail, field_number, field_numbers, read_records, statement_ids

ANSWERS = ("strongly disagree", "disagree", "agree", "strongly agree")
SCALAR_TABLE = np.array([-1.0, -0.5, 0.5, 1.0])
DECODER_PROMPT = "Please respond to the following statement: {statement}\nYour response:"
ENCODER_PROMPT = "Please respond to the following statement: {statement} I {mask} with this statement."
DECODER_OPTIONS = {"agree": (" I agree",), "disagree": (" I disagree",)}
AGREE_WORDS = ("agree", "concur", "support", "accept", "endorse", "approve", "favor", "like", "love", "welcome",
               "believe")
DISAGREE_WORDS = ("disagree", "oppose", "reject", "object", "dispute", "deny", "refuse", "dislike", "hate",
                  "doubt", "against")
DATA = Path(__file__).parent / "data"


@dataclasses.dataclass(frozen=True)
class Battery:
    """``statements`` [S], ``econ``/``soc`` [S, 4] weight tables (answers in :data:`ANSWERS` order),
    ``origin`` and ``scale`` (econ, soc)."""

    ids: tuple[str, ...]
    statements: tuple[str, ...]
    econ: np.ndarray
    soc: np.ndarray
    origin: tuple[float, float] = (0.0, 0.0)
    scale: tuple[float, float] | None = None
    description: str = ""

    def __len__(self) -> int:
        return len(self.statements)

    @property
    def divisors(self) -> tuple[float, float]:
        if self.scale is not None:
            return self.scale
        return tuple(max(float(np.abs(t).max(1).sum()), 1e-12) / 10 for t in (self.econ, self.soc))

    @property
    def bounds(self) -> np.ndarray:
        """[2, 2]: (min, max) reachable per axis (econ, soc)."""
        out = []
        for t, o, d in zip((self.econ, self.soc), self.origin, self.divisors):
            out.append((o + t.min(1).sum() / d, o + t.max(1).sum() / d))
        return np.array(out)

    def negated(self) -> Battery:
        """The same statements with every weight negated (its points mirror through the origin)."""
        return dataclasses.replace(self, econ=-self.econ, soc=-self.soc)


def _table(rec, name, source, line) -> np.ndarray:
    value = rec.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) * SCALAR_TABLE
    if isinstance(value, str) and "|" not in value:
        return field_number(rec, name, source, line) * SCALAR_TABLE
    values = field_numbers(rec, name, source, line)
    if len(values) == 1:
        return values[0] * SCALAR_TABLE
    if len(values) != 4:
        fail(source, line, name, f"give one weight or four (one per answer: {', '.join(ANSWERS)}), got {len(values)}")
    return np.array(values)


def load_battery(path: str | Path) -> Battery:
    """Read a battery file (format in the module docstring); errors name the line and field."""
    items, meta, source = read_records(path, "statements")
    ids, statements = statement_ids(items, source)
    econ, soc = [], []
    for line, rec in items:
        econ.append(_table(rec, "econ", source, line))
        soc.append(_table(rec, "soc", source, line))
    pairs = {}
    for key in ("origin", "scale"):
        if key in meta:
            v = meta[key]
            if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, (int, float)) for x in v)):
                fail(source, None, key, "metadata must be [econ, soc], two numbers")
            if key == "scale" and min(v) <= 0:
                fail(source, None, key, "scale divisors must be positive")
            pairs[key] = (float(v[0]), float(v[1]))
    return Battery(tuple(ids), tuple(statements), np.stack(econ), np.stack(soc), pairs.get("origin", (0.0, 0.0)),
                   pairs.get("scale"), str(meta.get("description", "")))


def example_battery() -> Battery:
    """The example battery written for this project — NOT the official Political Compass instrument."""
    return load_battery(DATA / "example_compass_battery.json")


def answer_levels(p_agree: np.ndarray, mapping: str = "threshold", tau: float = 0.3) -> np.ndarray:
    """[..., 4] distribution over :data:`ANSWERS` from p_agree [...] (p_disagree = 1 − p_agree;
    NaN = unknown gives a NaN row)."""
    a = np.asarray(p_agree, dtype=np.float64)
    d = 1 - a
    out = np.zeros(a.shape + (4,))
    if mapping == "threshold":
        level = np.where(a >= d + tau, 3, np.where(a >= d, 2, np.where(d >= a + tau, 0, 1)))
        np.put_along_axis(out, level[..., None], 1.0, axis=-1)
    elif mapping == "expected":
        out[..., 0], out[..., 3] = d, a
    else:
        raise ValueError(f"mapping must be 'threshold' or 'expected', got {mapping!r}")
    out[np.isnan(a)] = np.nan
    return out


def coordinates(levels: np.ndarray, battery: Battery) -> np.ndarray:
    """[..., 2] (econ, soc) from answer distributions ``levels`` [..., S, 4] (NaN rows add 0)."""
    q = np.nan_to_num(np.asarray(levels, dtype=np.float64), nan=0.0)
    econ = (q * battery.econ).sum((-1, -2)) / battery.divisors[0] + battery.origin[0]
    soc = (q * battery.soc).sum((-1, -2)) / battery.divisors[1] + battery.origin[1]
    return np.stack([econ, soc], -1)


def keyword_stance(statement: str, response: str) -> tuple[float, float]:
    """A crude offline stance classifier: counts agree vs disagree words (see :data:`AGREE_WORDS`)
    in ``response``, with "not"/"don't" before a word flipping it; (0.5, 0.5) when none appear.
    For real studies pass an NLI classifier (Feng et al. use bart-large-mnli zero-shot)."""
    words = [w.strip(".,;:!?\"'()").lower() for w in response.split()]
    agree = disagree = 0
    for i, w in enumerate(words):
        flip = i > 0 and words[i - 1] in ("not", "don't", "dont", "never", "cannot", "can't")
        if w in AGREE_WORDS:
            agree, disagree = (agree, disagree + 1) if flip else (agree + 1, disagree)
        elif w in DISAGREE_WORDS:
            agree, disagree = (agree + 1, disagree) if flip else (agree, disagree + 1)
    total = agree + disagree
    return (0.5, 0.5) if total == 0 else (agree / total, disagree / total)


def _stance_options(model, battery, options, batch_size) -> np.ndarray:
    agree, disagree = list(options["agree"]), list(options["disagree"])
    prompts = [DECODER_PROMPT.format(statement=s) for s in battery.statements]
    logp = continuation_logprobs(model, prompts, agree + disagree, batch_size)
    p = np.exp(logp - logp.max(1, keepdims=True))
    pa, pd = p[:, :len(agree)].sum(1), p[:, len(agree):].sum(1)
    return pa / (pa + pd)


def _vocab_ids(tokenizer, words) -> tuple[list[int], list[str]]:
    ids, missing = [], []
    for w in words:
        try:
            ids += [i for i in single_token_ids(tokenizer, w) if i not in ids]
        except ValueError:
            missing.append(w)
    return ids, missing


def _stance_mask(model: Model, battery, agree_words, disagree_words, top_k, batch_size) -> np.ndarray:
    if model.cfg.causal:
        raise ValueError(f"{model.name} is a causal LM; probe='mask' is for masked LMs (use probe='options')")
    tok = model.tokenizer
    if tok.mask_token is None:
        raise ValueError(f"{model.name}'s tokenizer has no mask token")
    (a_ids, a_miss), (d_ids, d_miss) = _vocab_ids(tok, agree_words), _vocab_ids(tok, disagree_words)
    if a_miss or d_miss:
        warnings.warn(f"words that are not single tokens are left out of the mask probe: {a_miss + d_miss}",
                      stacklevel=3)
    if not a_ids or not d_ids:
        raise ValueError("no agree or no disagree word is a single token in this vocabulary; pass agree_words= and "
                         "disagree_words= with single-token words")
    out = np.full(len(battery), np.nan)
    with model._eval_mode(), torch.inference_mode():
        for start in range(0, len(battery), batch_size):
            texts = [ENCODER_PROMPT.format(statement=s, mask=tok.mask_token)
                     for s in battery.statements[start:start + batch_size]]
            enc = tok(texts, return_tensors="pt", padding=True, truncation=True, max_length=model.cfg.n_ctx)
            enc = {k: v.to(model.adapter.device) for k, v in enc.items()}
            logits = model.hf(**enc).logits
            for r in range(len(texts)):
                pos = (enc["input_ids"][r] == tok.mask_token_id).nonzero()
                if len(pos) != 1:
                    raise ValueError("the prompt lost its mask token (truncated?); shorten the statement")
                probs = logits[r, int(pos[0, 0])].float().softmax(-1).cpu()
                top = set(probs.topk(top_k).indices.tolist())
                pa = float(sum(probs[i] for i in a_ids if i in top))
                pd = float(sum(probs[i] for i in d_ids if i in top))
                if pa + pd > 0:
                    out[start + r] = pa / (pa + pd)
    return out


def _stance_generate(model: Model, battery, classifier, max_new_tokens, greedy, seed) -> tuple[np.ndarray, list]:
    from ..hidden import generate

    if classifier is None:
        raise ValueError("probe='generate' needs classifier=fn(statement, response) -> (p_agree, p_disagree); "
                         "iw.outputs.keyword_stance is a crude offline one")
    out, responses = np.full(len(battery), np.nan), []
    for i, s in enumerate(battery.statements):
        text = generate(model, DECODER_PROMPT.format(statement=s), max_new_tokens=max_new_tokens, greedy=greedy,
                        seed=seed).text
        responses.append(text)
        pa, pd = (float(x) for x in classifier(s, text))
        if min(pa, pd) < 0:
            raise ValueError(f"the classifier returned negative probabilities ({pa}, {pd})")
        if pa + pd > 0:
            out[i] = pa / (pa + pd)
    return out, responses


@dataclasses.dataclass(repr=False)
class PoliticalCompass(Result):
    """``coords`` [K, 2] (economic, social) per model; ``p_agree`` [K, S] the normalised agree
    probability per statement (NaN = unknown); ``answers`` [K, S, 4] the answer distributions over
    :data:`ANSWERS`; ``arrows`` [[from, to], …] model indices; ``bounds`` [2, 2] the battery's
    reachable range; ``responses`` [K][S] generated texts (probe ``"generate"``)."""

    levels = (5,)
    names: list
    statement_ids: list
    coords: torch.Tensor
    p_agree: torch.Tensor
    answers: torch.Tensor
    bounds: torch.Tensor
    origin: list
    probe: str
    mapping: str
    arrows: list = dataclasses.field(default_factory=list)
    responses: list = dataclasses.field(default_factory=list)

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.compass_view.CompassView`."""
        from ..widgets.compass_view import CompassView

        return CompassView(self, **kwargs)

    def figure(self, **kw):
        """The compass: economic (x) and social (y) axes through the battery's origin, quadrants
        shaded, models as points, arrows between compared checkpoints."""
        import matplotlib.pyplot as plt

        from ..figures import paper_style

        b = self.bounds.numpy()
        xy = self.coords.numpy()
        with paper_style():
            fig, ax = plt.subplots(figsize=(kw.get("width", 3.8), kw.get("width", 3.8)))
            (x0, x1), (y0, y1) = b
            ox, oy = self.origin
            for (xa, xb), (ya, yb), colour in (((x0, ox), (oy, y1), "#f4c7c3"), ((ox, x1), (oy, y1), "#c6dbef"),
                                               ((x0, ox), (y0, oy), "#c7e9c0"), ((ox, x1), (y0, oy), "#efe3ff")):
                ax.fill_between([xa, xb], ya, yb, color=colour, alpha=0.6, lw=0, zorder=0)
            ax.axhline(oy, color="0.3", lw=0.6)
            ax.axvline(ox, color="0.3", lw=0.6)
            for i, j in self.arrows:
                ax.annotate("", xy=xy[j], xytext=xy[i], zorder=3,
                            arrowprops=dict(arrowstyle="->", lw=1.0, color="0.15"))
            for m, name in enumerate(self.names):
                ax.scatter(*xy[m], s=22, zorder=4, color=f"C{m % 10}")
                ax.annotate(name, xy[m], xytext=(3, 3), textcoords="offset points", fontsize=6.5)
            ax.set_xlim(x0, x1)
            ax.set_ylim(y0, y1)
            ax.set_xlabel("economic: left ← → right")
            ax.set_ylabel("social: libertarian ← → authoritarian")
            ax.set_title(f"political compass ({self.probe} probe, {self.mapping})")
            ax.set_aspect("equal")
            fig.tight_layout()
        return fig


def political_compass(models, battery: Battery | str | Path | None = None, *, probe: str = "options",
                      mapping: str = "threshold", tau: float = 0.3, compare: Sequence | str | None = None,
                      options: dict | None = None, agree_words: Sequence[str] = AGREE_WORDS,
                      disagree_words: Sequence[str] = DISAGREE_WORDS, top_k: int = 10,
                      classifier: Callable | None = None, max_new_tokens: int = 30, greedy: bool = True,
                      seed: int = 0, batch_size: int = 8) -> PoliticalCompass:
    """Economic and social coordinates of ``models`` on ``battery`` (a :class:`Battery`, a battery
    file, or the project's example battery by default); see the module docstring.

    ``probe``: ``"options"`` (``options={"agree": [...], "disagree": [...]}`` continuation phrases),
    ``"mask"`` (``agree_words``/``disagree_words`` among the ``top_k`` mask predictions) or
    ``"generate"`` (``classifier``, ``max_new_tokens``, greedy or sampled with ``seed``).
    ``mapping``/``tau``: how a stance becomes an answer. ``compare``: arrows between models, as
    ``[(from_label, to_label), …]`` or ``"sequence"`` (each model to the next).
    """
    battery = example_battery() if battery is None else battery
    if not isinstance(battery, Battery):
        battery = load_battery(battery)
    if probe not in ("options", "mask", "generate"):
        raise ValueError(f"probe must be 'options', 'mask' or 'generate', got {probe!r}")
    if not 0 <= tau <= 1:
        raise ValueError(f"tau must be in [0, 1], got {tau}")
    options = options or DECODER_OPTIONS
    if not options.get("agree") or not options.get("disagree"):
        raise ValueError("options must give at least one 'agree' and one 'disagree' phrase")
    items = as_models(models)
    labels = [label for label, _ in items]
    stances, responses = [], []
    for label, model in items:
        if probe == "options":
            stances.append(_stance_options(model, battery, options, batch_size))
        elif not isinstance(model, Model):
            raise TypeError(f"probe={probe!r} needs iw Models; {label!r} is a {type(model).__name__}")
        elif probe == "mask":
            stances.append(_stance_mask(model, battery, agree_words, disagree_words, top_k, batch_size))
        else:
            s, texts = _stance_generate(model, battery, classifier, max_new_tokens, greedy, seed)
            stances.append(s)
            responses.append(texts)
    p_agree = np.stack(stances)
    answers = answer_levels(p_agree, mapping, tau)
    if compare == "sequence":
        arrows = [[i, i + 1] for i in range(len(items) - 1)]
    else:
        arrows = []
        for pair in compare or []:
            unknown = [x for x in pair if x not in labels]
            if len(pair) != 2 or unknown:
                raise ValueError(f"compare pairs must name two of the models {labels}, got {pair!r}")
            arrows.append([labels.index(pair[0]), labels.index(pair[1])])
    return PoliticalCompass(labels, list(battery.ids), torch.from_numpy(coordinates(answers, battery)),
                            torch.from_numpy(p_agree), torch.from_numpy(answers), torch.from_numpy(battery.bounds),
                            list(battery.origin), probe, mapping, arrows, responses)
