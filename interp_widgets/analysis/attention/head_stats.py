"""What does BERT look at? (Clark, Khandelwal, Levy & Manning 2019, arXiv 1906.04341), level 3.

Per layer and head, averaged over the query positions of every text (padding never enters):

* surface statistics (Sec. 3): attention to the token itself, the previous and next token, the
  first token ([CLS], or BOS for decoders), the other special tokens ([SEP]/EOS), all special
  tokens and punctuation; ``to_x = mean_i Σ_{j ∈ x(i)} α_ij``;
* entropy (Sec. 3.3): H_i = -Σ_j α_ij log α_ij, averaged over queries i; the uniform baseline is the
  mean of log(number of visible keys) (log T for encoders, log(i + 1) for causal row i); and the
  entropy of the first token's row ([CLS]);
* word level (Sec. 4.1): attention *to* a split word is the sum over its pieces, attention *from*
  it the mean over its pieces (rows still sum to 1); words come from
  :func:`~interp_widgets.model.tokens.word_groups`, or from the CoNLL-U words when parses are given;
* syntax (Sec. 4.2): a head's predicted word for word w is argmax_j α_wj over other, non-special
  words; dependent→head accuracy counts predictions of each dependent's head word, head→dependent
  the predictions from a head word that hit one of its dependents (counted per dependency), per
  relation, against the best fixed-offset baseline (predict w + k, |k| ≤ ``max_offset``);
* clustering (Sec. 6): distance between heads = mean over queries of the Jensen–Shannon divergence
  of their attention rows (each row smoothed by adding 0.001 and renormalising), natural log so
  ≤ ln 2; embedded in 2-D by metric MDS (scikit-learn).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

from ...model.tokens import word_groups
from ..result import Result
from ._common import PATTERN, as_texts, is_punctuation, special_mask

STATS = ("to_self", "to_prev", "to_next", "to_first", "to_sep", "to_special", "to_punct", "entropy",
         "entropy_first")
DIRECTIONS = ("dependent->head", "head->dependent")


def merge_words(attn: torch.Tensor, token_to_word, n_words: int) -> torch.Tensor:
    """Token attention [..., T, T] -> word attention [..., W, W]: columns (attention to a word)
    summed over its pieces, rows (attention from a word) averaged over its pieces."""
    owner = torch.as_tensor(token_to_word)
    onehot = torch.zeros(len(owner), n_words, dtype=attn.dtype)
    onehot[torch.arange(len(owner)), owner] = 1.0
    summed = attn @ onehot  # to-word: sum over pieces
    counts = onehot.sum(0)
    if (counts == 0).any():
        raise ValueError("every word needs at least one token")
    return (onehot.T @ summed) / counts[:, None]  # from-word: mean over pieces


@dataclasses.dataclass
class _Unit:
    """One analysed sequence: token patterns and how tokens group into words."""

    pattern: torch.Tensor  # [L, H, T, T]
    tokens: list
    special: torch.Tensor  # [T]
    punct: torch.Tensor  # [T]
    token_to_word: list
    word_special: list
    heads: list | None = None  # CoNLL-U: head word index (-1 root) per non-special word
    relations: list | None = None


def _entropy(rows: torch.Tensor) -> torch.Tensor:
    return -(rows * rows.clamp_min(1e-300).log()).sum(-1)


def _surface(att: torch.Tensor, special: torch.Tensor, punct: torch.Tensor) -> torch.Tensor:
    """[n_stats, L, H] means over query rows of one sequence (word or token level)."""
    n = att.shape[-1]
    diag = torch.diagonal(att, dim1=-2, dim2=-1)
    prev = torch.diagonal(att, offset=-1, dim1=-2, dim2=-1).mean(-1) if n > 1 else torch.zeros(att.shape[:2], dtype=att.dtype)
    nxt = torch.diagonal(att, offset=1, dim1=-2, dim2=-1).mean(-1) if n > 1 else torch.zeros(att.shape[:2], dtype=att.dtype)
    sep = special.clone()
    sep[0] = False
    ent = _entropy(att)
    return torch.stack([diag.mean(-1), prev, nxt, att[..., 0].mean(-1),
                        att[..., sep].sum(-1).mean(-1), att[..., special].sum(-1).mean(-1),
                        att[..., punct].sum(-1).mean(-1), ent.mean(-1), ent[..., 0]])


def _js_sum(att: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Σ over query rows of JS(p_a, p_b) for all head pairs; att [L, H, T, T] -> [LH, LH]."""
    n = att.shape[-1]
    p = (att.flatten(0, 1) + smoothing) / (1 + smoothing * n)  # [LH, T, T]
    plogp = (p * p.log()).sum(-1)  # [LH, T]
    out = torch.empty(p.shape[0], p.shape[0], dtype=p.dtype)
    for a in range(p.shape[0]):
        m = 0.5 * (p[a][None] + p)
        out[a] = (0.5 * (plogp[a][None] + plogp) - (m * m.log()).sum(-1)).sum(-1)
    return 0.5 * (out + out.T)


@dataclasses.dataclass(repr=False)
class HeadStats(Result):
    """Head statistics over ``n_texts`` texts. Every ``to_*``/``entropy*`` field is [layer, head],
    averaged over all query positions of all texts; ``per_text`` [text, stat, layer, head] in the
    order of ``stat_names``. ``js`` [L·H, L·H] and ``mds`` [L·H, 2] (head index = layer·H + head)
    when clustered. With parses: ``syntax_acc`` [direction, relation, L, H], ``baseline_acc`` and
    ``baseline_offset`` [direction, relation], ``relation_counts`` [relation]."""

    levels = (3,)
    n_layers: int
    n_heads: int
    tokens: list
    word_level: bool
    first_label: str
    to_self: torch.Tensor
    to_prev: torch.Tensor
    to_next: torch.Tensor
    to_first: torch.Tensor
    to_sep: torch.Tensor
    to_special: torch.Tensor
    to_punct: torch.Tensor
    entropy: torch.Tensor
    entropy_first: torch.Tensor
    uniform_entropy: float
    per_text: torch.Tensor
    stat_names: tuple = STATS
    js: torch.Tensor | None = None
    mds: torch.Tensor | None = None
    relations: list | None = None
    relation_counts: torch.Tensor | None = None
    syntax_acc: torch.Tensor | None = None
    baseline_acc: torch.Tensor | None = None
    baseline_offset: torch.Tensor | None = None
    directions: tuple = DIRECTIONS

    @property
    def n_texts(self) -> int:
        return self.per_text.shape[0]

    def best_heads(self, direction: str = "dependent->head") -> list[dict]:
        """Per relation: the best head, its accuracy and the best offset baseline."""
        if self.syntax_acc is None:
            raise ValueError("no syntax statistics: call head_stats(..., parses=...) with CoNLL-U parses")
        d = self.directions.index(direction)
        rows = []
        for r, rel in enumerate(self.relations):
            acc = self.syntax_acc[d, r]
            flat = int(acc.argmax())
            rows.append({"relation": rel, "count": int(self.relation_counts[r]),
                         "layer": flat // self.n_heads, "head": flat % self.n_heads,
                         "accuracy": float(acc.max()), "baseline": float(self.baseline_acc[d, r]),
                         "baseline_offset": int(self.baseline_offset[d, r])})
        return rows

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.head_stats_view.HeadStatsView`."""
        from ...widgets.head_stats_view import HeadStatsView

        return HeadStatsView(self, **kwargs)

    def figure(self, **kw):
        """Clark et al. Fig. 2 (attention to special tokens and punctuation per layer), Fig. 4
        (entropy per head vs uniform), Fig. 6 (MDS of heads) and Table 1 (syntax vs baseline)."""
        import matplotlib.pyplot as plt

        from ...figures import paper_style

        panels = 2 + (self.mds is not None) + (self.syntax_acc is not None)
        layers = np.arange(self.n_layers)
        jitter = np.linspace(-0.2, 0.2, self.n_heads)
        with paper_style():
            fig, axes = plt.subplots(1, panels, figsize=(kw.get("width", 3.0 * panels), 2.8), squeeze=False)
            axes = list(axes[0])
            ax = axes.pop(0)
            for name, label in (("to_first", self.first_label), ("to_sep", "[SEP]/EOS"), ("to_punct", ". or ,")):
                values = getattr(self, name).numpy()
                ax.scatter((layers[:, None] + jitter[None]).ravel(), values.ravel(), s=6, label=label)
            ax.set_xlabel("layer")
            ax.set_ylabel("avg. attention")
            ax.legend(frameon=False)
            ax = axes.pop(0)
            ax.scatter((layers[:, None] + jitter[None]).ravel(), self.entropy.numpy().ravel(), s=6, label="heads")
            ax.axhline(self.uniform_entropy, color="0.4", ls="--", lw=0.8, label="uniform")
            ax.set_xlabel("layer")
            ax.set_ylabel("avg. attention entropy (nats)")
            ax.legend(frameon=False)
            if self.mds is not None:
                ax = axes.pop(0)
                sc = ax.scatter(self.mds[:, 0].numpy(), self.mds[:, 1].numpy(), c=np.repeat(layers, self.n_heads),
                                cmap="viridis", s=10)
                fig.colorbar(sc, ax=ax, label="layer")
                ax.set_title("heads, MDS of JS divergence")
                ax.set_xticks([])
                ax.set_yticks([])
            if self.syntax_acc is not None:
                ax = axes.pop(0)
                best = self.syntax_acc.flatten(-2).amax(-1).amax(0).numpy()
                base = self.baseline_acc.amax(0).numpy()
                y = np.arange(len(self.relations))
                ax.barh(y + 0.2, best, 0.4, label="best head")
                ax.barh(y - 0.2, base, 0.4, label="offset baseline")
                ax.set_yticks(y, self.relations)
                ax.set_xlim(0, 1)
                ax.set_xlabel("accuracy")
                ax.legend(frameon=False)
            fig.tight_layout()
        return fig


def _read_parses(parses) -> list:
    import conllu

    if isinstance(parses, Path) or (isinstance(parses, str) and "\n" not in parses and Path(parses).exists()):
        parses = Path(parses).read_text(encoding="utf-8")
    if isinstance(parses, str):
        sentences = conllu.parse(parses)
    else:
        sentences = list(parses)
    if not sentences:
        raise ValueError("no sentences found in the CoNLL-U parses")
    return sentences


def _parse_unit(model, sentence, index: int) -> tuple[str, list[int], list[str]]:
    words = [t for t in sentence if isinstance(t["id"], int)]
    if not words:
        raise ValueError(f"parse {index} has no words")
    ids = [t["id"] for t in words]
    if ids != list(range(1, len(words) + 1)):
        raise ValueError(f"parse {index}: word ids must run 1..n (got {ids[:5]}...)")
    text = " ".join(t["form"] for t in words)
    heads = [(t["head"] or 0) - 1 for t in words]
    relations = [str(t["deprel"]).split(":")[0] for t in words]
    return text, heads, relations


def _align_to_words(model, text: str, ids: list[int]) -> list[int]:
    """Token -> CoNLL-U word index (words joined by single spaces in ``text``); -1 for specials."""
    tok = model.tokenizer
    try:
        enc = tok(text, return_offsets_mapping=True, add_special_tokens=True)
    except NotImplementedError:
        raise ValueError("aligning tokens to CoNLL-U words needs a fast tokenizer (offsets)") from None
    if list(enc["input_ids"]) != ids:
        raise ValueError("the tokenizer's offsets do not match the model's input ids; pass texts "
                         "without parses, or use a tokenizer whose call equals model.to_tokens")
    char_word = np.cumsum([c == " " for c in text])
    special = set(tok.all_special_ids)
    out = []
    for token_id, (start, end) in zip(ids, enc["offset_mapping"]):
        if token_id in special or start == end:
            out.append(-1)
            continue
        chars = [c for c in range(start, end) if text[c] != " "] or [min(end, len(text) - 1)]
        out.append(int(char_word[chars[0]]))
    return out


def _units(model, texts, parses, batch_size: int) -> list[_Unit]:
    if parses is not None:
        if texts is not None:
            raise ValueError("pass either texts or parses (the text is taken from the parses), not both")
        sentences = [_parse_unit(model, s, i) for i, s in enumerate(_read_parses(parses))]
        texts = [s[0] for s in sentences]
    else:
        if texts is None:
            raise ValueError("pass one text, a list of texts, or CoNLL-U parses")
        texts = as_texts(texts)
        sentences = None
    units = []
    for start in range(0, len(texts), batch_size):
        batch = texts[start: start + batch_size]
        trace = model.run(batch, names=PATTERN)
        pats = torch.stack([trace[f"blocks.{l}.attn.hook_pattern"] for l in range(model.cfg.n_layers)], 1)
        for b in range(len(batch)):
            index = start + b
            keep = trace.attention_mask[b].bool()
            ids = trace.input_ids[b][keep]
            if len(ids) < 2:
                raise ValueError(f"text {index} has {len(ids)} token; head statistics (previous/next "
                                 "token, entropy, clustering) need at least 2 tokens")
            special = special_mask(model.tokenizer, ids)
            if special.all():
                raise ValueError(f"text {index} has only special tokens; there is nothing to analyse")
            tokens = trace.str_tokens(b)
            unit = _Unit(pattern=pats[b][:, :, keep][:, :, :, keep].double(), tokens=tokens, special=special,
                         punct=torch.tensor([is_punctuation(t) and not s for t, s in zip(tokens, special)]),
                         token_to_word=[], word_special=[])
            if sentences is not None:
                words = _align_to_words(model, texts[index], ids.tolist())
                n_words = max(words) + 1
                unit.heads, unit.relations = sentences[index][1], sentences[index][2]
                # special tokens become words of their own after the real words
                extra = iter(range(n_words, n_words + len(words)))
                unit.token_to_word = [w if w >= 0 else next(extra) for w in words]
                n_total = max(unit.token_to_word) + 1
                unit.word_special = [w >= n_words for w in range(n_total)]
            else:
                groups = word_groups(model.tokenizer, ids)
                unit.token_to_word, unit.word_special = groups.token_to_word, groups.is_special
            units.append(unit)
    return units


def _word_view(unit: _Unit):
    """(word attention [L, H, W, W], special [W], punctuation [W]) of a unit."""
    n_words = len(unit.word_special)
    att = merge_words(unit.pattern, unit.token_to_word, n_words)
    owner = torch.as_tensor(unit.token_to_word)
    punct = torch.tensor([bool(unit.punct[owner == w].all()) for w in range(n_words)])
    return att, torch.tensor(unit.word_special), punct


def _predict(att: torch.Tensor, special: torch.Tensor) -> torch.Tensor:
    """Most-attended other, non-special word per row [L, H, W]; -1 when all candidates are 0."""
    masked = att.clone()
    n = att.shape[-1]
    masked[..., torch.arange(n), torch.arange(n)] = -1.0
    masked[..., special] = -1.0
    best, arg = masked.max(-1)
    return torch.where(best > 0, arg, torch.full_like(arg, -1))


def _syntax(units: list[_Unit], n_layers: int, n_heads: int, max_offset: int):
    relations = sorted({r for u in units for r, h in zip(u.relations, u.heads) if h >= 0})
    index = {r: i for i, r in enumerate(relations)}
    offsets = [k for k in range(-max_offset, max_offset + 1) if k != 0]
    correct = torch.zeros(2, len(relations), n_layers, n_heads)
    base = torch.zeros(2, len(relations), len(offsets))
    counts = torch.zeros(len(relations))
    for u in units:
        att, special, _ = _word_view(u)
        pred = _predict(att, special)  # [L, H, W]
        n_real = len(u.heads)
        for dep, (head, rel) in enumerate(zip(u.heads, u.relations)):
            if head < 0:
                continue
            r = index[rel]
            counts[r] += 1
            correct[0, r] += (pred[..., dep] == head).float()
            correct[1, r] += (pred[..., head] == dep).float()
            for k, off in enumerate(offsets):
                base[0, r, k] += float(0 <= dep + off < n_real and dep + off == head)
                base[1, r, k] += float(0 <= head + off < n_real and head + off == dep)
    acc = correct / counts[None, :, None, None]
    base_acc = base / counts[None, :, None]
    best_acc, best_k = base_acc.max(-1)
    return relations, counts, acc, best_acc, torch.tensor(offsets)[best_k]


def head_stats(model, texts=None, *, parses=None, word_level: bool = False, cluster: bool = True,
               smoothing: float = 1e-3, max_offset: int = 5, batch_size: int = 8) -> HeadStats:
    """Clark et al. (2019) head statistics (level 3 attention) over one text or many.

    ``texts``: a string, a list of strings (or token ids). ``parses``: instead of texts, CoNLL-U
    (a string, a file path, or ``conllu`` TokenLists); the words are joined by spaces and aligned
    to tokens by character offsets; enables the syntax accuracies. ``word_level``: compute the
    surface statistics on word-level attention (always the case for syntax). ``cluster``: JS
    divergence matrix + 2-D metric MDS of all heads. Texts need at least 2 tokens and at least one
    non-special token. Statistics are averaged over every query position of every text; the
    per-text means are in ``per_text``.
    """
    if not 0 < smoothing < 1:
        raise ValueError(f"smoothing must be in (0, 1), got {smoothing}")
    if max_offset < 1:
        raise ValueError(f"max_offset must be at least 1, got {max_offset}")
    cfg = model.cfg
    units = _units(model, texts, parses, batch_size)
    per_text, weights, uniform = [], [], []
    js_total, rows_total = torch.zeros(cfg.n_layers * cfg.n_heads, cfg.n_layers * cfg.n_heads, dtype=torch.float64), 0
    for u in units:
        att, special, punct = _word_view(u) if word_level else (u.pattern, u.special, u.punct)
        n = att.shape[-1]
        per_text.append(_surface(att, special, punct))
        weights.append(n)
        visible = torch.arange(1, n + 1, dtype=torch.float64) if cfg.causal else torch.full((n,), float(n))
        uniform.append(float(visible.log().mean()))
        if cluster:
            js_total += _js_sum(att, smoothing)
            rows_total += n
    stacked = torch.stack(per_text)  # [N, S, L, H]
    w = torch.tensor(weights, dtype=torch.float64)
    mean = (stacked * w[:, None, None, None]).sum(0) / w.sum()
    # entropy of the first row is one value per text: plain mean over texts
    mean[STATS.index("entropy_first")] = stacked[:, STATS.index("entropy_first")].mean(0)
    js = mds = None
    if cluster:
        js = js_total / rows_total
        js.fill_diagonal_(0.0)
        mds = torch.from_numpy(_mds(js.numpy()))
    syntax = {}
    if parses is not None:
        rel, counts, acc, base, off = _syntax(units, cfg.n_layers, cfg.n_heads, max_offset)
        syntax = dict(relations=rel, relation_counts=counts, syntax_acc=acc, baseline_acc=base, baseline_offset=off)
    first_special = all(bool(u.special[0]) for u in units)
    first_label = ("[CLS]" if not cfg.causal else "BOS") if first_special else "first token"
    return HeadStats(n_layers=cfg.n_layers, n_heads=cfg.n_heads, tokens=[u.tokens for u in units],
                     word_level=word_level, first_label=first_label,
                     **{name: mean[i] for i, name in enumerate(STATS)},
                     uniform_entropy=float(np.average(uniform, weights=weights)), per_text=stacked,
                     js=js, mds=mds, **syntax)


def _mds(distances: np.ndarray) -> np.ndarray:
    from sklearn.manifold import MDS

    if distances.shape[0] < 3:
        return np.zeros((distances.shape[0], 2))
    return MDS(n_components=2, metric="precomputed", metric_mds=True, init="classical_mds",
               n_init=1, random_state=0).fit_transform(distances)
