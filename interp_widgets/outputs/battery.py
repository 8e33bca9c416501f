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
``paraphrase``. Answers are the most probable option (``mode="probs"``, deterministic) or drawn
from the answer distribution in ``runs`` seeded repetitions (``mode="sample"``).

**Metrics** per model: ``score`` the mean of direction × value(answer) over the original items;
``negation_consistency`` the fraction of (item, run) pairs whose answers to a statement and its
negation fall on opposite sides of the scale (both at a neutral midpoint also counts);
``order_invariance`` the fraction answering the same level with options reversed;
``paraphrase_agreement`` the fraction answering the same level to the paraphrase; ``run_agreement``
the mean share of runs giving an item's most common answer.
"""

from __future__ import annotations

import dataclasses
import string
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch

from ..analysis.result import Result
from .prompting import as_models, letter_logprobs, n_params, normalise
from .records import fail, field_number, field_str, read_records

VARIANTS = ("original", "negation", "reversed", "paraphrase")
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

    def __len__(self) -> int:
        return len(self.statements)

    def text(self, variant: str, i: int) -> str | None:
        if variant == "negation":
            return self.negations[i]
        if variant == "paraphrase":
            return self.paraphrases[i]
        return self.statements[i]


def load_likert_battery(path: str | Path) -> LikertBattery:
    """Read a Likert battery file (format in the module docstring); errors name the line and field."""
    items, meta, source = read_records(path, "items")
    ids, statements, negations, paraphrases, directions = [], [], [], [], []
    for n, (line, rec) in enumerate(items):
        statements.append(field_str(rec, "statement", source, line))
        sid = field_str(rec, "id", source, line, required=False) or str(n + 1)
        if sid in ids:
            fail(source, line, "id", f"duplicate id {sid!r}")
        ids.append(sid)
        negations.append(field_str(rec, "negation", source, line, required=False))
        paraphrases.append(field_str(rec, "paraphrase", source, line, required=False))
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
    return LikertBattery(tuple(ids), tuple(statements), tuple(negations), tuple(paraphrases), tuple(directions),
                         tuple(scale), tuple(float(v) for v in values), instruction, str(meta.get("description", "")))


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
    ``n_params`` (NaN if unknown); ``variants`` [V], ``item_ids`` [I], ``scale`` [L]."""

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

    def summary(self) -> str:
        rows = [f"{'model':<20} {'params':>10} {'score':>7} {'negation':>9} {'order':>7} {'paraphr.':>9} {'runs':>6}"]
        for m, name in enumerate(self.names):
            vals = [float(t[m]) for t in (self.score, self.negation_consistency, self.order_invariance,
                                          self.paraphrase_agreement, self.run_agreement)]
            rows.append(f"{name[:20]:<20} {float(self.n_params[m]):>10.3g} " + " ".join(
                f"{v:>{w}.3f}" for v, w in zip(vals, (7, 9, 7, 9, 6))))
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
            metrics = {"negation": self.negation_consistency, "order": self.order_invariance,
                       "paraphrase": self.paraphrase_agreement, "runs": self.run_agreement}
            width = 0.8 / len(metrics)
            for j, (label, values) in enumerate(metrics.items()):
                ax.bar(np.arange(len(self.names)) + (j - 1.5) * width, np.nan_to_num(values.numpy()), width,
                       label=label)
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


def _side(values: np.ndarray, answers: np.ndarray) -> np.ndarray:
    return np.sign(values[np.clip(answers, 0, None)])


def _fraction(mask: np.ndarray, hits: np.ndarray) -> float:
    return float(hits[mask].mean()) if mask.any() else float("nan")


def run_battery(models, battery: LikertBattery | str | Path | None = None, *, runs: int = 1, mode: str = "probs",
                variants: Sequence[str] = VARIANTS, seed: int = 0, sizes: Mapping | None = None,
                batch_size: int = 8) -> BatteryResult:
    """Answer a Likert ``battery`` (the shipped example by default) with every model in every
    variant; see the module docstring for prompts and metrics.

    ``models``: iw Models, names, or answer scorers (ordered by size for the scaling curve, or give
    ``sizes={label: parameter count}``). ``mode``: ``"probs"`` (argmax, needs ``runs=1``) or
    ``"sample"`` (``runs`` draws per item seeded from ``seed``).
    """
    battery = example_likert_battery() if battery is None else battery
    if not isinstance(battery, LikertBattery):
        battery = load_likert_battery(battery)
    variants = list(variants)
    bad = [v for v in variants if v not in VARIANTS]
    if bad or not variants or variants[0] != "original":
        raise ValueError(f"variants must start with 'original' and come from {VARIANTS}, got {variants}")
    if mode not in ("probs", "sample"):
        raise ValueError(f"mode must be 'probs' or 'sample', got {mode!r}")
    if not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be a positive int, got {runs!r}")
    if mode == "probs" and runs != 1:
        raise ValueError("mode='probs' is deterministic (the most probable answer); use mode='sample' for "
                         "repeated runs")
    items = as_models(models)
    k, v, n, levels = len(items), len(variants), len(battery), len(battery.scale)
    letters = list(string.ascii_uppercase[:levels])
    probs = np.full((k, v, n, levels), np.nan)
    answers = np.full((k, v, n, runs), -1, dtype=np.int64)
    rng = np.random.default_rng(seed)
    for m, (_, model) in enumerate(items):
        for j, variant in enumerate(variants):
            present = [i for i in range(n) if battery.text(variant, i) is not None]
            if not present:
                continue
            order = list(reversed(range(levels))) if variant == "reversed" else list(range(levels))
            labels = [battery.scale[o] for o in order]
            prompts = [format_item(battery.text(variant, i), labels, battery.instruction) for i in present]
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
    orig = answers[:, 0]
    score = (vals[orig] * dirs[None, :, None]).mean((1, 2))
    expected = (np.nan_to_num(probs[:, 0]) @ vals * dirs).mean(1)
    metric = {name: np.full(k, np.nan) for name in ("negation", "reversed", "paraphrase")}
    for name in metric:
        if name not in variants:
            continue
        other = answers[:, variants.index(name)]
        for m in range(k):
            mask = other[m] >= 0
            if name == "negation":
                hits = _side(vals, orig[m]) == -_side(vals, other[m])
            else:
                hits = orig[m] == other[m]
            metric[name][m] = _fraction(mask, hits)
    modal = np.zeros(k)
    for m in range(k):
        counts = np.stack([(orig[m] == lv).sum(-1) for lv in range(levels)], -1)  # [I, L]
        modal[m] = (counts.max(-1) / runs).mean()
    sizes = sizes or {}
    unknown = set(sizes) - {label for label, _ in items}
    if unknown:
        raise ValueError(f"sizes for unknown models {sorted(unknown)}")
    counts = np.array([float(sizes.get(label, n_params(model))) for label, model in items])
    return BatteryResult([label for label, _ in items], variants, list(battery.ids), list(battery.scale),
                         list(battery.values), list(battery.directions), torch.from_numpy(probs),
                         torch.from_numpy(answers), torch.from_numpy(score), torch.from_numpy(expected),
                         torch.from_numpy(metric["negation"]), torch.from_numpy(metric["reversed"]),
                         torch.from_numpy(metric["paraphrase"]), torch.from_numpy(modal), torch.from_numpy(counts),
                         mode, runs)
