"""exBERT-style corpus search (Hoover, Strobelt, Gehrmann 2019, arXiv 1910.05276). Levels 1 and 4.

Every non-special token of a corpus is indexed at one layer, either by its layer output
(``kind="embeddings"``: ``blocks.{l}.hook_resid_post`` [d_model]) or by its attention context
vectors (``kind="context"``: ``blocks.{l}.attn.hook_z``, the per-head weighted value sums
concatenated [n_heads · d_head]; a search can keep only some heads). A query token is matched by
cosine similarity over L2-normalised vectors, computed chunk by chunk over the index; each match
comes with its left/right context and, when the corpus was tagged (POS, dependency, ...), its
tag, and the search counts the tags of the matches. For masked LMs, :meth:`NeighborIndex.mask_and_predict`
replaces the query token by the mask token, reruns the model, and returns its top predictions
together with the neighbours of the masked representation.
"""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch

from ..analysis.attention._common import check_layer
from ..analysis.result import Result
from ._common import check_position, encode_one, token_label

KINDS = ("embeddings", "context")


@dataclasses.dataclass(repr=False)
class Neighbors(Result):
    """The ``k`` nearest indexed tokens of one query token.

    ``similarities`` [k] cosine, best first; ``doc_ids``/``positions`` [k] where each match sits in
    the corpus; ``tokens`` the matched tokens; ``left``/``right`` their contexts (``window`` tokens
    each side); ``tags`` the matches' tags ('' when untagged) and ``tag_counts`` their histogram.
    After :meth:`NeighborIndex.mask_and_predict`, ``predictions``/``prediction_probs`` [k_pred]
    hold the masked LM's top predictions at the query position.
    """

    levels: ClassVar[tuple[int, ...]] = (1, 4)

    query_tokens: list[str]
    query_position: int
    layer: int
    kind: str
    heads: list[int]
    similarities: torch.Tensor
    doc_ids: torch.Tensor
    positions: torch.Tensor
    tokens: list[str]
    left: list[list[str]] = dataclasses.field(repr=False)
    right: list[list[str]] = dataclasses.field(repr=False)
    tags: list[str] = dataclasses.field(repr=False)
    tag_counts: dict[str, int]
    masked: bool = False
    predictions: list[str] = dataclasses.field(default_factory=list)
    prediction_probs: torch.Tensor = dataclasses.field(default_factory=lambda: torch.zeros(0))

    @property
    def query_token(self) -> str:
        return self.query_tokens[self.query_position]

    def rows(self) -> list[tuple[float, str, str, str, str]]:
        """(similarity, left context, token, right context, tag) per match."""
        return [(s, _join(lft), tok, _join(rgt), tag) for s, lft, tok, rgt, tag in
                zip(self.similarities.tolist(), self.left, self.tokens, self.right, self.tags)]

    def show(self, **kwargs):
        """The interactive :class:`~interp_widgets.widgets.neighbor_view.NeighborView`."""
        from ..widgets.neighbor_view import NeighborView

        return NeighborView(self, **kwargs)

    def figure(self, **kw):
        """Matches in context (the matched token in bold) with their similarity and, with tags,
        the tag histogram."""
        import matplotlib.pyplot as plt

        from ..figures import SEQUENTIAL, paper_style

        rows = self.rows()
        tagged = any(self.tags)
        n = max(len(rows), 1)
        ratios = [4.0, 1.2] + ([1.4] if tagged else [])
        with paper_style():
            fig, axes = plt.subplots(1, len(ratios), figsize=(kw.get("width", 1.15 * sum(ratios)),
                                                             kw.get("height", 0.9 + 0.2 * n)),
                                     gridspec_kw={"width_ratios": ratios})
            text_ax, sim_ax = axes[0], axes[1]
            text_ax.set_axis_off()
            text_ax.set_ylim(n - 0.5, -0.5)
            for i, (_sim, lft, tok, rgt, _tag) in enumerate(rows):
                text_ax.text(0.47, i, _clean(lft)[-32:], ha="right", va="center", fontsize=6)
                text_ax.text(0.5, i, _clean(tok), ha="center", va="center", fontsize=6, weight="bold")
                text_ax.text(0.53, i, _clean(rgt)[:32], ha="left", va="center", fontsize=6)
            what = "masked " if self.masked else ""
            where = f"layer {self.layer} {self.kind}" + (f", heads {self.heads}" if self.kind == "context" else "")
            title = f"nearest neighbours of {what}{self.query_token!r} ({where})"
            if self.masked:
                title += "\nmasked LM predicts " + ", ".join(
                    f"{t!r} {p:.2f}" for t, p in zip(self.predictions[:5], self.prediction_probs.tolist()))
            text_ax.set_title(title)
            colours = plt.get_cmap(SEQUENTIAL)
            sims = self.similarities.float().numpy()
            sim_ax.barh(range(len(sims)), sims, color=[colours(0.3 + 0.6 * max(float(v), 0)) for v in sims],
                        height=0.7)
            sim_ax.set_ylim(n - 0.5, -0.5)
            sim_ax.set_xlim(min(0.0, float(sims.min()) if len(sims) else 0.0), 1.0)
            sim_ax.set_yticks(range(len(rows)), [f"{d}:{p}" for d, p in zip(self.doc_ids.tolist(),
                                                                           self.positions.tolist())])
            sim_ax.set_xlabel("cosine")
            if tagged:
                labels, counts = zip(*self.tag_counts.items())
                axes[2].barh(range(len(labels)), counts, color=colours(0.6))
                axes[2].set_yticks(range(len(labels)), labels)
                axes[2].invert_yaxis()
                axes[2].set_xlabel("matches")
                axes[2].set_title("tags")
            fig.tight_layout()
        return fig


def _join(tokens: list[str]) -> str:
    """Tokens as text: byte-level pieces carry their own spaces, word pieces get one between."""
    return "".join(tokens) if any(t[:1].isspace() for t in tokens) else " ".join(tokens)


def _clean(text: str) -> str:
    return text.replace("\n", "⏎")


class NeighborIndex:
    """Vectors of every non-special corpus token at one layer, with where they came from.

    Build with :meth:`build`; query with :meth:`search` (a token of a text) or
    :meth:`search_vector`; :meth:`save`/:meth:`load` keep it in one ``.npz`` file.
    ``vectors`` [n_indexed, dim] raw (normalised at search time, per head subset for contexts).
    """

    def __init__(self, model, *, layer: int, kind: str, vectors: np.ndarray, doc_ids: np.ndarray,
                 positions: np.ndarray, doc_tokens: list[list[str]], texts: list[str], tags: np.ndarray,
                 n_heads: int, model_name: str):
        self.model = model
        self.layer, self.kind, self.n_heads, self.model_name = layer, kind, n_heads, model_name
        self.vectors, self.doc_ids, self.positions = vectors, doc_ids, positions
        self.doc_tokens, self.texts, self.tags = doc_tokens, texts, tags

    # -- building --------------------------------------------------------------------------
    @classmethod
    def build(cls, model, corpus_texts, layer: int = -1, kind: str = "embeddings", tags=None,
              batch_size: int = 8) -> NeighborIndex:
        """Index every non-special token of ``corpus_texts`` (a list of strings).

        ``kind``: ``"embeddings"`` (layer output) or ``"context"`` (per-head context vectors).
        ``tags``: optional, one list per text, aligned either with all of the text's tokens
        (``model.to_str_tokens(text)``) or with its non-special tokens; tags of specials are
        dropped.
        """
        texts = _corpus(corpus_texts)
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        layer = check_layer(model, layer)
        if tags is not None and len(tags) != len(texts):
            raise ValueError(f"tags must hold one list per corpus text: got {len(tags)} lists for {len(texts)} texts")
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        special = _special_ids(model)
        vectors, doc_ids, positions, doc_tokens, flat_tags = [], [], [], [], []
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            trace = model.run(batch, names=[_hook(kind, layer)])
            acts = _flat(trace[_hook(kind, layer)])
            for row, text in enumerate(batch):
                doc = start + row
                keep = trace.attention_mask[row].bool()
                ids = trace.input_ids[row][keep]
                strings = model.to_str_tokens(ids)
                real = torch.tensor([int(i) not in special for i in ids], dtype=torch.bool)
                if not real.any():
                    continue
                vectors.append(acts[row][keep][real].float().cpu().numpy())
                idx = real.nonzero().squeeze(-1).numpy()
                doc_ids.append(np.full(len(idx), doc))
                positions.append(idx)
                doc_tokens.append(strings)
                flat_tags.append(_aligned_tags(tags[doc], real, doc) if tags is not None else [""] * len(idx))
        if not vectors:
            raise ValueError("the corpus has no tokens to index (only special tokens); pass real text")
        return cls(model, layer=layer, kind=kind, vectors=np.concatenate(vectors), doc_ids=np.concatenate(doc_ids),
                   positions=np.concatenate(positions), doc_tokens=_pad_docs(doc_tokens, doc_ids, len(texts)),
                   texts=texts, tags=np.array([t for ts in flat_tags for t in ts], dtype=str),
                   n_heads=model.cfg.n_heads, model_name=model.name)

    def __len__(self) -> int:
        return len(self.vectors)

    def __repr__(self) -> str:
        return (f"NeighborIndex({self.model_name!r}, layer={self.layer}, kind={self.kind!r}, "
                f"texts={len(self.texts)}, tokens={len(self)}, dim={self.vectors.shape[1]}, "
                f"tagged={bool(self.tags.size and any(self.tags))})")

    # -- searching -------------------------------------------------------------------------
    def search(self, text, position: int | str, k: int = 10, heads=None, window: int = 4,
               chunk_size: int = 8192) -> Neighbors:
        """Nearest indexed tokens of the token at ``position`` of ``text`` (an index into
        ``model.to_str_tokens(text)``, or a token string: its first occurrence)."""
        ids = encode_one(self._need_model(), text)
        position = self._position(ids, position)
        vector = self._vectors_of(ids)[position]
        return self._neighbors(ids, position, vector, k, heads, window, chunk_size)

    def search_vector(self, vector, k: int = 10, heads=None, chunk_size: int = 8192):
        """(similarities [k], row indices [k]) of the ``k`` indexed vectors closest in cosine to
        ``vector`` [dim], best first."""
        cols = self._columns(heads)
        query = torch.as_tensor(np.asarray(vector, dtype=np.float32)).reshape(-1)
        if query.shape[0] != self.vectors.shape[1]:
            raise ValueError(f"the query vector has {query.shape[0]} values; this index holds {self.vectors.shape[1]}")
        query = query[cols]
        norm = query.norm()
        if norm == 0:
            raise ValueError("the query vector is zero (on the chosen heads); cosine similarity is undefined")
        query = query / norm
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        k = min(k, len(self))
        best_sim, best_idx = torch.empty(0), torch.empty(0, dtype=torch.long)
        for start in range(0, len(self), chunk_size):
            chunk = torch.from_numpy(self.vectors[start:start + chunk_size])[:, cols]
            sims = chunk @ query / chunk.norm(dim=1).clamp(min=1e-12)
            top = sims.topk(min(k, len(sims)))
            best_sim = torch.cat([best_sim, top.values])
            best_idx = torch.cat([best_idx, top.indices + start])
            keep = best_sim.topk(min(k, len(best_sim))).indices
            best_sim, best_idx = best_sim[keep], best_idx[keep]
        order = sorted(range(len(best_sim)), key=lambda i: (-float(best_sim[i]), int(best_idx[i])))
        return best_sim[order], best_idx[order]

    def mask_and_predict(self, text, position: int | str, k: int = 10, n_predictions: int = 5, heads=None,
                         window: int = 4) -> Neighbors:
        """Masked LMs: put the mask token at ``position``, rerun, and return the top
        ``n_predictions`` tokens there with the neighbours of the masked token's vector."""
        model = self._need_model()
        mask_id = getattr(model.tokenizer, "mask_token_id", None)
        if model.cfg.causal or mask_id is None:
            raise ValueError(f"mask_and_predict needs a masked LM (BERT/RoBERTa with a mask token); "
                             f"{model.name} is {'causal' if model.cfg.causal else 'missing a mask token'}")
        ids = encode_one(model, text).clone()
        position = self._position(ids, position)
        ids[position] = mask_id
        trace = model.run(ids, names=[_hook(self.kind, self.layer)])
        if trace.logits is None:
            raise ValueError(f"{model.name} returns no logits (no masked-LM head); load it with its MLM head")
        probs = trace.logits[0, position].float().softmax(-1)
        top = probs.topk(min(n_predictions, probs.shape[0]))
        vector = _flat(trace[_hook(self.kind, self.layer)])[0, position]
        result = self._neighbors(ids, position, vector, k, heads, window, 8192)
        result.masked = True
        result.predictions = [token_label(model, i) for i in top.indices.tolist()]
        result.prediction_probs = top.values
        return result

    # -- saving ----------------------------------------------------------------------------
    def save(self, path) -> Path:
        """Write the index to ``path`` (.npz): vectors, locations, tokens, tags and settings."""
        path = Path(path).with_suffix(".npz")
        lengths = np.array([len(t) for t in self.doc_tokens])
        meta = {"layer": self.layer, "kind": self.kind, "n_heads": self.n_heads, "model_name": self.model_name}
        np.savez_compressed(path, vectors=self.vectors, doc_ids=self.doc_ids, positions=self.positions,
                            tokens=np.array([t for ts in self.doc_tokens for t in ts], dtype=str),
                            lengths=lengths, texts=np.array(self.texts, dtype=str), tags=self.tags,
                            meta=np.array(json.dumps(meta)))
        return path

    @classmethod
    def load(cls, path, model=None) -> NeighborIndex:
        """Read an index written by :meth:`save`. ``model`` (the one it was built with) is needed
        to search by text; :meth:`search_vector` works without it."""
        with np.load(Path(path), allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            flat = data["tokens"].tolist()
            bounds = np.concatenate([[0], np.cumsum(data["lengths"])])
            doc_tokens = [flat[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            index = cls(model, layer=meta["layer"], kind=meta["kind"], vectors=data["vectors"],
                        doc_ids=data["doc_ids"], positions=data["positions"], doc_tokens=doc_tokens,
                        texts=data["texts"].tolist(), tags=data["tags"], n_heads=meta["n_heads"],
                        model_name=meta["model_name"])
        if model is not None:
            index._check_model(model)
        return index

    # -- internals -------------------------------------------------------------------------
    def _need_model(self):
        if self.model is None:
            raise ValueError("this index was loaded without its model; pass it: NeighborIndex.load(path, model)")
        return self.model

    def _check_model(self, model) -> None:
        dim = model.cfg.d_model if self.kind == "embeddings" else model.cfg.n_heads * model.cfg.d_head
        if model.name != self.model_name or dim != self.vectors.shape[1] or self.layer >= model.cfg.n_layers:
            raise ValueError(f"this index was built with {self.model_name!r} (vectors of {self.vectors.shape[1]}) "
                             f"and cannot be searched with {model.name!r}; load it with the same model")

    def _vectors_of(self, ids) -> torch.Tensor:
        trace = self.model.run(ids, names=[_hook(self.kind, self.layer)])
        return _flat(trace[_hook(self.kind, self.layer)])[0].float()

    def _position(self, ids, position) -> int:
        tokens = self.model.to_str_tokens(ids)
        if isinstance(position, str):
            hits = [i for i, t in enumerate(tokens) if t == position or t.strip() == position.strip()]
            if not hits:
                raise ValueError(f"token {position!r} does not occur in the text; its tokens are {tokens}")
            position = hits[0]
        position = check_position(position, len(tokens))
        if int(ids[position]) in _special_ids(self.model):
            raise ValueError(f"position {position} is the special token {tokens[position]!r}, which is not "
                             "indexed; pick a word token")
        return position

    def _columns(self, heads) -> torch.Tensor:
        dim = self.vectors.shape[1]
        if heads is None:
            return torch.arange(dim)
        if self.kind != "context":
            raise ValueError("heads= applies to context indexes (kind='context'); this one indexes layer embeddings")
        heads = [heads] if isinstance(heads, int) else list(heads)
        bad = [h for h in heads if not isinstance(h, int) or not 0 <= h < self.n_heads]
        if bad or not heads:
            raise ValueError(f"heads must be a non-empty list of ints from 0 to {self.n_heads - 1}, got {heads}")
        d_head = dim // self.n_heads
        return torch.cat([torch.arange(h * d_head, (h + 1) * d_head) for h in sorted(set(heads))])

    def _neighbors(self, ids, position, vector, k, heads, window, chunk_size) -> Neighbors:
        if not isinstance(window, int) or window < 0:
            raise ValueError(f"window must be a non-negative int, got {window!r}")
        sims, rows = self.search_vector(vector.detach().cpu().numpy(), k, heads, chunk_size)
        docs, pos = self.doc_ids[rows.numpy()], self.positions[rows.numpy()]
        tokens, left, right = [], [], []
        for d, p in zip(docs.tolist(), pos.tolist()):
            doc = self.doc_tokens[d]
            tokens.append(doc[p])
            left.append(doc[max(0, p - window):p])
            right.append(doc[p + 1:p + 1 + window])
        tags = self.tags[rows.numpy()].tolist() if self.tags.size else [""] * len(tokens)
        counts = Counter(t for t in tags if t)
        tag_counts = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        cols = self._columns(heads)
        d_head = self.vectors.shape[1] // self.n_heads
        heads_used = sorted({int(c) // d_head for c in cols}) if self.kind == "context" else []
        return Neighbors(query_tokens=self.model.to_str_tokens(ids), query_position=position, layer=self.layer,
                         kind=self.kind, heads=heads_used,
                         similarities=sims, doc_ids=torch.from_numpy(docs), positions=torch.from_numpy(pos),
                         tokens=tokens, left=left, right=right, tags=tags, tag_counts=tag_counts)


def _corpus(corpus_texts) -> list[str]:
    texts = [corpus_texts] if isinstance(corpus_texts, str) else list(corpus_texts or [])
    if not texts:
        raise ValueError("the corpus is empty; pass a non-empty list of texts to index")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str) or not t.strip()]
    if bad:
        raise ValueError(f"corpus text {bad[0]} is empty or not a string; every corpus entry must be non-empty text")
    return texts


def _hook(kind: str, layer: int) -> str:
    return f"blocks.{layer}.hook_resid_post" if kind == "embeddings" else f"blocks.{layer}.attn.hook_z"


def _flat(acts: torch.Tensor) -> torch.Tensor:
    """[batch, pos, d] or [batch, pos, head, d_head] -> [batch, pos, dim]."""
    return acts.reshape(*acts.shape[:2], -1)


def _special_ids(model) -> set[int]:
    return {int(i) for i in getattr(model.tokenizer, "all_special_ids", []) or []}


def _aligned_tags(doc_tags, real: torch.Tensor, doc: int) -> list[str]:
    doc_tags = [str(t) for t in doc_tags]
    if len(doc_tags) == len(real):
        return [t for t, r in zip(doc_tags, real.tolist()) if r]
    if len(doc_tags) == int(real.sum()):
        return doc_tags
    raise ValueError(f"tags of corpus text {doc} have {len(doc_tags)} entries, but the text has {len(real)} tokens "
                     f"({int(real.sum())} without specials); give one tag per token (see model.to_str_tokens)")


def _pad_docs(doc_tokens, doc_ids, n_texts) -> list[list[str]]:
    """Token lists for every corpus text (texts with nothing indexed get an empty list)."""
    out: list[list[str]] = [[] for _ in range(n_texts)]
    for tokens, ids in zip(doc_tokens, doc_ids):
        out[int(ids[0])] = tokens
    return out


__all__ = ["KINDS", "NeighborIndex", "Neighbors"]
