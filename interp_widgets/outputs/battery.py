"""Survey batteries over many models (Hartmann et al. 2023, arXiv 2301.01768; Rozado 2024).

**Battery files** (``.json``/``.jsonl``/``.csv``; the JSON list may sit under ``"items"``), one
Likert item per record: ``statement``; optional ``id``, ``negation`` (a statement meaning the
opposite), ``paraphrase`` (the same meaning, other words), ``direction`` (+1: agreeing scores
positive, −1: reverse-keyed). JSON metadata may set ``scale`` (the answer labels, from most
disagreeing to most agreeing; default strongly disagree … strongly agree) and ``values`` (their
scores, default evenly spaced from −1 to 1) and ``instruction`` (the line after the statement).

**Prompt**: ``Statement: <s>``, the instruction (default ``Do you agree or disagree with this
statement?``), the scale as
lettered options, ``Answer:``. Answer probabilities are the next-token probabilities of the letters
(as in :mod:`~interp_widgets.outputs.opinions`) renormalised over the scale. Variants:
``original``; ``negation`` (the negated statement); ``reversed`` (the options in reverse order);
``paraphrase``; ``language:<code>`` (the item's translation into language ``<code>``, asked with
that language's instruction and scale labels when the file gives them, else the English ones).
Answers are the most probable option (``mode="probs"``, deterministic), drawn from the answer
distribution in ``runs`` seeded repetitions (``mode="sample"``), or read from generated text
(``mode="generate"``: greedy for one run, sampled otherwise; a ``classifier(statement, response,
labels) -> option index`` picks the option, :func:`read_likert_answer` by default; −1 = unreadable).

**Metrics** per model: ``score`` the mean of direction × value(answer) over the original items;
``negation_consistency`` the fraction of (item, run) pairs whose answers to a statement and its
negation fall on opposite sides of the scale (both at a neutral midpoint also counts);
``order_invariance`` the fraction answering the same level with options reversed;
``paraphrase_agreement`` the fraction answering the same level to the paraphrase;
``language_agreement`` the fraction answering the same level in translation (all languages asked);
``run_agreement`` the mean share of runs giving an item's most common answer; ``unreadable`` the
share of original answers no option could be read from (generation only). Unreadable answers are
left out of the score and of the pairs the consistency fractions count.

**Translations**: JSON items may carry ``translations`` (``{"de": "…"}``), CSV rows
``translation_<code>`` columns; JSON metadata ``languages`` (``{"de": {"instruction": "…",
"scale": […]}}``) gives each language's prompt words.
"""

from __future__ import annotations

import dataclasses
import string
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from ..model import Model
from .prompting import as_models, letter_logprobs, n_params, normalise
from .records import fail, field_number, field_str, read_records, statement_ids

VARIANTS = ("original", "negation", "reversed", "paraphrase")
LANGUAGE = "language:"  # variant prefix, e.g. "language:de"
MODES = ("probs", "sample", "generate")
SCALE = ("Strongly disagree", "Disagree", "Agree", "Strongly agree")
INSTRUCTION = "Do you agree or disagree with this statement?"
DATA = Path(__file__).parent / "data"


@dataclasses.dataclass(frozen=True)
class LikertBattery:
    """Items (``statements`` with optional ``negations``/``paraphrases``, None where absent),
    ``directions`` ±1, the answer ``scale`` and its ``values``."""

    ids: tuple[str, ...]
    statements: tuple[str, ...]
    negations: tuple[str | None, ...]
    paraphrases: tuple[str | None, ...]
    directions: tuple[float, ...]
    scale: tuple[str, ...] = SCALE
    values: tuple[float, ...] = (-1.0, -1 / 3, 1 / 3, 1.0)
    instruction: str = INSTRUCTION
    description: str = ""
    translations: tuple[Mapping[str, str], ...] = ()  # per item {language code: statement}
    languages: Mapping[str, Mapping] = dataclasses.field(default_factory=dict)  # code -> instruction, scale

    def __len__(self) -> int:
        return len(self.statements)

    @property
    def language_codes(self) -> list[str]:
        """Codes of the languages some item is translated into."""
        return sorted({code for t in self.translations for code in t})

    def text(self, variant: str, i: int) -> str | None:
        if variant == "negation":
            return self.negations[i]
        if variant == "paraphrase":
            return self.paraphrases[i]
        if variant.startswith(LANGUAGE):
            return self.translations[i].get(variant[len(LANGUAGE):]) if self.translations else None
        return self.statements[i]

    def wording(self, variant: str) -> tuple[list[str], str]:
        """(scale labels in canonical order, instruction) a variant is asked with."""
        words = self.languages.get(variant[len(LANGUAGE):], {}) if variant.startswith(LANGUAGE) else {}
        return list(words.get("scale", self.scale)), words.get("instruction", self.instruction)


def load_likert_battery(path: str | Path) -> LikertBattery:
    """Read a Likert battery file (format in the module docstring); errors name the line and field."""
    items, meta, source = read_records(path, "items")
    ids, statements = statement_ids(items, source)
    negations, paraphrases, directions, translations = [], [], [], []
    for line, rec in items:
        negations.append(field_str(rec, "negation", source, line, required=False))
        paraphrases.append(field_str(rec, "paraphrase", source, line, required=False))
        translations.append(_translations(rec, source, line))
        d = field_number(rec, "direction", source, line, default=1.0)
        if d not in (1.0, -1.0):
            fail(source, line, "direction", f"must be 1 or -1, got {d:g}")
        directions.append(d)
    scale = meta.get("scale", list(SCALE))
    if not (isinstance(scale, list) and 2 <= len(scale) <= 26 and all(isinstance(s, str) and s for s in scale)):
        fail(source, None, "scale", "must be a list of 2 to 26 answer labels")
    values = meta.get("values", list(np.linspace(-1, 1, len(scale))))
    if not (isinstance(values, list) and len(values) == len(scale) and all(isinstance(v, (int, float)) for v in values)
            and all(b > a for a, b in zip(values, values[1:]))):
        fail(source, None, "values", f"must be {len(scale)} increasing numbers, one per scale label")
    instruction = meta.get("instruction", INSTRUCTION)
    if not isinstance(instruction, str):
        fail(source, None, "instruction", "must be text")
    languages = meta.get("languages", {})
    if not isinstance(languages, dict):
        fail(source, None, "languages", 'must map language codes to {"instruction": ..., "scale": [...]}')
    for code, words in languages.items():
        if not isinstance(words, dict) or set(words) - {"instruction", "scale"}:
            fail(source, None, "languages", f"{code!r} must be an object with 'instruction' and/or 'scale'")
        if not isinstance(words.get("instruction", ""), str):
            fail(source, None, "languages", f"{code!r}: instruction must be text")
        labels = words.get("scale", scale)
        if not (isinstance(labels, list) and len(labels) == len(scale) and all(isinstance(x, str) and x for x in labels)):
            fail(source, None, "languages", f"{code!r}: scale must be {len(scale)} labels, one per answer level")
    return LikertBattery(tuple(ids), tuple(statements), tuple(negations), tuple(paraphrases), tuple(directions),
                         tuple(scale), tuple(float(v) for v in values), instruction, str(meta.get("description", "")),
                         tuple(translations), languages)


def _translations(rec: dict, source: str, line: int) -> dict[str, str]:
    """An item's ``translations`` object (JSON) and ``translation_<code>`` fields (CSV)."""
    found = rec.get("translations") or {}
    if not isinstance(found, dict):
        fail(source, line, "translations", 'must map language codes to statements, e.g. {"de": "..."}')
    found = dict(found)
    found.update({k[len("translation_"):]: v for k, v in rec.items() if k.startswith("translation_") and v})
    for code, text in found.items():
        if not (isinstance(text, str) and text.strip()) or not code:
            fail(source, line, "translations", f"the translation {code!r} must be non-empty text")
    return found


def example_likert_battery() -> LikertBattery:
    """The shipped example items (written for this project; not a published questionnaire)."""
    return load_likert_battery(DATA / "example_likert_battery.json")


def format_item(statement: str, labels: Sequence[str], instruction: str = INSTRUCTION) -> str:
    """The battery prompt for one statement with the options ``labels`` in the order shown."""
    options = "\n".join(f"{string.ascii_uppercase[i]}. {label}" for i, label in enumerate(labels))
    return f"Statement: {statement}\n{instruction}\n{options}\nAnswer:"


@dataclasses.dataclass(repr=False)
class BatteryResult(Result):
    """``probs`` [K, V, I, L] answer distributions over the scale (canonical order, NaN where an
    item lacks the variant); ``answers`` [K, V, I, R] chosen level indices (−1 = absent); per
    model [K]: ``score``, ``expected_score`` (Σ p·value, deterministic), ``negation_consistency``,
    ``order_invariance``, ``paraphrase_agreement``, ``run_agreement`` (NaN when not measurable),
    ``n_params`` (NaN if unknown); ``variants`` [V], ``item_ids`` [I], ``scale`` [L]; ``texts``
    [V][I] the statement each variant showed ("" where absent)."""

    levels = (5,)
    names: list
    variants: list
    item_ids: list
    scale: list
    values: list
    directions: list
    probs: torch.Tensor
    answers: torch.Tensor
    score: torch.Tensor
    expected_score: torch.Tensor
    negation_consistency: torch.Tensor
    order_invariance: torch.Tensor
    paraphrase_agreement: torch.Tensor
    run_agreement: torch.Tensor
    n_params: torch.Tensor
    mode: str
    runs: int
    texts: list = dataclasses.field(default_factory=list)
    language_agreement: torch.Tensor | None = None
    unreadable: torch.Tensor | None = None
    responses: list = dataclasses.field(default_factory=list, repr=False)  # [K][V][I][R] (mode "generate")

    def show(self, model: int | str = 0, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.battery_view.BatteryView`: answer grid of
        ``model``, consistency summary and scaling curve."""
        from ..widgets.battery_view import BatteryView

        return BatteryView(self, model, **kwargs)

    def consistency(self) -> dict[str, torch.Tensor]:
        """The consistency metrics [K] by short name (``languages`` NaN when none was asked)."""
        nan = torch.full((len(self.names),), float("nan"), dtype=torch.float64)
        return {"negation": self.negation_consistency, "reversed": self.order_invariance,
                "paraphrase": self.paraphrase_agreement,
                "languages": nan if self.language_agreement is None else self.language_agreement,
                "modal agreement": self.run_agreement}

    def summary(self) -> str:
        metrics = self.consistency()
        rows = [f"{'model':<20} {'params':>10} {'score':>7} " + " ".join(f"{k[:10]:>10}" for k in metrics)]
        for m, name in enumerate(self.names):
            vals = [float(self.score[m])] + [float(t[m]) for t in metrics.values()]
            rows.append(f"{name[:20]:<20} {float(self.n_params[m]):>10.3g} {vals[0]:>7.3f} "
                        + " ".join(f"{v:>10.3f}" for v in vals[1:]))
        if self.mode == "generate" and self.unreadable is not None:
            rows.append("unreadable answers: " + ", ".join(f"{n} {float(u):.0%}" for n, u in zip(self.names, self.unreadable)))
        return "\n".join(rows)

    def figure(self, model: int | str = 0, **kw):
        """(a) items × variants mean answer value for ``model``; (b) consistency metrics per model;
        (c) score against parameter count (the scaling curve), when sizes are known."""
        import matplotlib.pyplot as plt

        from ..figures import DIVERGING, paper_style

        m = self.names.index(model) if isinstance(model, str) else model
        a = self.answers[m].numpy()
        vals = np.asarray(self.values)
        grid = np.where(a >= 0, vals[np.clip(a, 0, None)], np.nan)
        with warnings.catch_warnings():  # absent variants stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(grid, axis=-1)  # [V, I]
        sizes = self.n_params.numpy()
        scaling = np.isfinite(sizes).sum() >= 2
        with paper_style():
            fig, axes = plt.subplots(1, 2 + scaling, figsize=(kw.get("width", 3.2 * (2 + scaling) + 0.6), 3.0))
            ax = axes[0]
            im = ax.imshow(mean.T, cmap=DIVERGING, vmin=vals[0], vmax=vals[-1], aspect="auto", interpolation="nearest")
            ax.set_xticks(range(len(self.variants)), self.variants, rotation=30, ha="right")
            ax.set_yticks(range(len(self.item_ids)), self.item_ids)
            ax.set_title(f"answers: {self.names[m]}")
            fig.colorbar(im, ax=ax, fraction=0.05, label="answer value (disagree − / agree +)")
            ax = axes[1]
            metrics = {k: v for k, v in self.consistency().items() if not torch.isnan(v).all()}
            width = 0.8 / len(metrics)
            for j, (label, values) in enumerate(metrics.items()):
                ax.bar(np.arange(len(self.names)) + (j - (len(metrics) - 1) / 2) * width,
                       np.nan_to_num(values.numpy()), width, label=label)
            ax.set_xticks(range(len(self.names)), self.names, rotation=30, ha="right")
            ax.set_ylim(0, 1.05)
            ax.set_ylabel("consistency")
            ax.legend(frameon=False, fontsize=6, ncol=4, loc="lower center", bbox_to_anchor=(0.5, 1.0))
            if scaling:
                ax = axes[2]
                ok = np.isfinite(sizes)
                order = np.argsort(sizes[ok])
                xs, ys = sizes[ok][order], self.score.numpy()[ok][order]
                ax.plot(xs, ys, marker="o", ms=3)
                for x, y, name in zip(xs, ys, np.asarray(self.names)[ok][order]):
                    ax.annotate(name, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=6)
                if xs[-1] > 10 * xs[0]:
                    ax.set_xscale("log")
                ax.set_xlabel("parameters")
                ax.set_ylabel("score (mean direction × answer)")
                ax.axhline(0, color="0.5", lw=0.6)
            fig.tight_layout()
        return fig


def read_likert_answer(statement: str, response: str, labels: Sequence[str]) -> int:
    """The option a generated ``response`` picks among ``labels`` (in the order shown): a leading
    option letter (``B``, ``B.``, ``(B)``), else the longest label it contains (case-insensitive,
    so "Strongly agree" wins over "agree"); −1 when neither. A crude offline reader: pass your own
    classifier for real studies."""
    text = response.strip()
    letters = string.ascii_uppercase[:len(labels)]
    head = text.lstrip("( ")[:2]
    if head[:1] in letters and (len(head) == 1 or not head[1].isalpha()):
        return letters.index(head[0])
    lower = text.lower()
    hits = [(len(label), i) for i, label in enumerate(labels) if label.lower() in lower]
    return max(hits)[1] if hits else -1


def _check_variants(variants: Sequence[str], battery: LikertBattery) -> list[str]:
    variants = list(variants)
    known = set(VARIANTS) | {LANGUAGE + code for code in battery.language_codes}
    bad = [v for v in variants if v not in known]
    if bad or not variants or variants[0] != "original":
        raise ValueError(f"variants must start with 'original' and come from {sorted(known)}, got {variants}"
                         + ("; the battery has no translations" if not battery.language_codes and
                            any(v.startswith(LANGUAGE) for v in bad) else ""))
    return variants


def _variant_prompts(battery: LikertBattery, variant: str) -> tuple[list[int], list[str], list[int], list[str]]:
    """(items present, prompts, the canonical level of each shown option, labels as shown)."""
    present = [i for i in range(len(battery)) if battery.text(variant, i) is not None]
    labels, instruction = battery.wording(variant)
    order = list(reversed(range(len(labels)))) if variant == "reversed" else list(range(len(labels)))
    shown = [labels[o] for o in order]
    return present, [format_item(battery.text(variant, i), shown, instruction) for i in present], order, shown


def _generated_answers(model, battery, variant, runs, seed, classifier, max_new_tokens):
    """Answers [items present, R] (canonical levels, −1 unreadable) and responses [present][R]."""
    from ..hidden import generate

    present, prompts, order, shown = _variant_prompts(battery, variant)
    answers = np.full((len(present), runs), -1, dtype=np.int64)
    responses = [[] for _ in present]
    for k, (i, prompt) in enumerate(zip(present, prompts)):
        for r in range(runs):
            text = generate(model, prompt, max_new_tokens=max_new_tokens, greedy=runs == 1, seed=seed + r).text
            pick = classifier(battery.text(variant, i), text, shown)
            if isinstance(pick, bool) or not isinstance(pick, (int, np.integer)) or not -1 <= pick < len(shown):
                raise ValueError(f"the classifier must return an option index from 0 to {len(shown) - 1} or -1 "
                                 f"(unreadable), got {pick!r}")
            answers[k, r] = order[pick] if pick >= 0 else -1
            responses[k].append(text)
    return present, answers, responses


def _agreement(orig: np.ndarray, other: np.ndarray, vals: np.ndarray, negation: bool) -> float:
    """Share of (item, run) pairs answered in both whose answers agree: the same level, or for a
    negation opposite sides of the scale."""
    mask = (orig >= 0) & (other >= 0)
    if not mask.any():
        return float("nan")
    if negation:
        side = np.sign(vals[np.clip(orig, 0, None)]), np.sign(vals[np.clip(other, 0, None)])
        hits = side[0] == -side[1]
    else:
        hits = orig == other
    return float(hits[mask].mean())


def run_battery(models, battery: LikertBattery | str | Path | None = None, *, runs: int = 1, mode: str = "probs",
                variants: Sequence[str] = VARIANTS, seed: int = 0, sizes: Mapping | None = None,
                batch_size: int = 8, classifier: Callable | None = None, max_new_tokens: int = 8) -> BatteryResult:
    """Answer a Likert ``battery`` (the shipped example by default) with every model in every
    variant; see the module docstring for prompts and metrics.

    ``models``: iw Models, names, or answer scorers (ordered by size for the scaling curve, or give
    ``sizes={label: parameter count}``). ``mode``: ``"probs"`` (argmax, needs ``runs=1``),
    ``"sample"`` (``runs`` draws per item seeded from ``seed``) or ``"generate"`` (causal iw Models;
    ``max_new_tokens`` per answer, ``classifier`` as in the module docstring).
    """
    battery = example_likert_battery() if battery is None else battery
    if not isinstance(battery, LikertBattery):
        battery = load_likert_battery(battery)
    variants = _check_variants(variants, battery)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    if mode == "probs" and runs != 1:
        raise ValueError("mode='probs' is deterministic (the most probable answer); use mode='sample' for "
                         "repeated runs")
    classifier = read_likert_answer if classifier is None else classifier
    items = as_models(models)
    if mode == "generate":
        bad = [label for label, model in items if not isinstance(model, Model)]
        if bad:
            raise ValueError(f"mode='generate' needs causal iw Models, not answer scorers: {bad}")
    k, v, n, levels = len(items), len(variants), len(battery), len(battery.scale)
    letters = list(string.ascii_uppercase[:levels])
    probs = np.full((k, v, n, levels), np.nan)
    answers = np.full((k, v, n, runs), -1, dtype=np.int64)
    responses = [[[[] for _ in range(n)] for _ in range(v)] for _ in range(k)] if mode == "generate" else []
    rng = np.random.default_rng(seed)
    for m, (_, model) in enumerate(items):
        for j, variant in enumerate(variants):
            if mode == "generate":
                present, got, texts = _generated_answers(model, battery, variant, runs, seed, classifier,
                                                         max_new_tokens)
                for row, i in enumerate(present):
                    answers[m, j, i], responses[m][j][i] = got[row], texts[row]
                    counts = np.bincount(got[row][got[row] >= 0], minlength=levels)
                    if counts.sum():
                        probs[m, j, i] = counts / counts.sum()
                continue
            present, prompts, order, _ = _variant_prompts(battery, variant)
            if not present:
                continue
            shown = normalise(letter_logprobs(model, prompts, letters, batch_size))  # [len(present), L] shown order
            canonical = np.empty_like(shown)
            canonical[:, order] = shown
            probs[m, j, present] = canonical
            if mode == "probs":
                answers[m, j, present, 0] = canonical.argmax(-1)
            else:
                for r in range(runs):
                    u = rng.random(len(present))[:, None]
                    answers[m, j, present, r] = np.minimum((u > np.cumsum(canonical, -1)).sum(-1), levels - 1)
    vals, dirs = np.asarray(battery.values), np.asarray(battery.directions)
    orig = answers[:, 0]  # [K, I, R]
    asked = np.array([battery.text("original", i) is not None for i in range(n)])
    with warnings.catch_warnings():  # a model with no readable answer scores NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        score = np.nanmean(np.where(orig >= 0, vals[np.clip(orig, 0, None)] * dirs[None, :, None], np.nan), (1, 2))
        expected = np.nanmean(probs[:, 0] @ vals * dirs, 1)
    unreadable = (orig[:, asked] < 0).mean((1, 2))
    metric = {name: np.full(k, np.nan) for name in ("negation", "reversed", "paraphrase", "languages")}
    for m in range(k):
        for name in ("negation", "reversed", "paraphrase"):
            if name in variants:
                metric[name][m] = _agreement(orig[m], answers[m, variants.index(name)], vals, name == "negation")
        langs = [j for j, name in enumerate(variants) if name.startswith(LANGUAGE)]
        if langs:
            metric["languages"][m] = _agreement(np.concatenate([orig[m]] * len(langs)),
                                                np.concatenate([answers[m, j] for j in langs]), vals, False)
    modal = np.zeros(k)
    for m in range(k):
        counts = np.stack([(orig[m] == lv).sum(-1) for lv in range(levels)], -1)  # [I, L]
        modal[m] = (counts.max(-1) / runs).mean()
    sizes = sizes or {}
    unknown = set(sizes) - {label for label, _ in items}
    if unknown:
        raise ValueError(f"sizes for unknown models {sorted(unknown)}")
    counts = np.array([float(sizes.get(label, n_params(model))) for label, model in items])
    texts = [[battery.text(variant, i) or "" for i in range(n)] for variant in variants]
    t = torch.from_numpy
    return BatteryResult([label for label, _ in items], variants, list(battery.ids), list(battery.scale),
                         list(battery.values), list(battery.directions), t(probs), t(answers), t(score), t(expected),
                         t(metric["negation"]), t(metric["reversed"]), t(metric["paraphrase"]), t(modal), t(counts),
                         mode, runs, texts, t(metric["languages"]), t(unreadable), responses)
