"""Text scorers with closed forms: token n-gram models and character Markov chains.

Both follow the text-scorer protocol of :func:`~interp_widgets.outputs.loglik_matrix`: called on a
list of texts they return log p(text) [N] in nats, scoring tokens 1..T-1 given the earlier ones
(the first token is not scored), like the transformers; ``name`` and ``fingerprint`` name them in
the cache.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

SMOOTHING = ("add-k", "interpolated")
START = -1  # history padding before a text's first token


class NGramModel:
    """An ``order``-gram model over the token ids of a Hugging Face ``tokenizer`` (special tokens
    included, as the transformers see them), fitted with :meth:`fit`.

    ``smoothing="add-k"``: p(w | h) = (c(h, w) + k) / (c(h) + k·V), V = len(tokenizer).
    ``smoothing="interpolated"`` (Jelinek–Mercer): p(w | h) = Σ_m λ_m p_m(w | last m−1 tokens of h),
    maximum-likelihood p_m for m ≥ 2 and the add-k unigram for m = 1; ``lambdas`` lists λ_1..λ_order
    (summing to 1); orders whose history was never seen drop out and the other λ are renormalised. Histories shorter than ``order`` − 1 tokens are padded with a start symbol.
    """

    def __init__(self, tokenizer, order: int, smoothing: str = "add-k", k: float = 1.0,
                 lambdas: Sequence[float] | None = None, name: str | None = None):
        if order < 1:
            raise ValueError(f"order must be at least 1, got {order}")
        if smoothing not in SMOOTHING:
            raise ValueError(f"smoothing must be one of {SMOOTHING}, got {smoothing!r}")
        if k <= 0:
            raise ValueError(f"k must be positive (it keeps unseen tokens possible), got {k}")
        if smoothing == "interpolated":
            lambdas = tuple(lambdas) if lambdas is not None else tuple([1.0 / order] * order)
            if len(lambdas) != order or abs(sum(lambdas) - 1) > 1e-9 or min(lambdas) < 0 or lambdas[0] <= 0:
                raise ValueError(f"lambdas must be {order} non-negative weights summing to 1 with λ_1 > 0, "
                                 f"got {lambdas}")
        self.tokenizer, self.order, self.smoothing, self.k, self.lambdas = tokenizer, order, smoothing, k, lambdas
        self.vocab = len(tokenizer)
        self.name = name or f"{order}-gram ({smoothing})"
        self.counts: list[Counter] = []  # counts[m - 1][(history of m - 1 ids..., w)]
        self.context: list[Counter] = []  # context[m - 1][history of m - 1 ids]
        self._digest = None

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=True)["input_ids"])

    def fit(self, texts: str | Sequence[str]) -> NGramModel:
        """Count n-grams of every order up to ``order`` in ``texts``; returns self."""
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            raise ValueError("fit needs at least one text")
        self.counts = [Counter() for _ in range(self.order)]
        self.context = [Counter() for _ in range(self.order)]
        h = hashlib.sha256()
        for text in texts:
            ids = [START] * (self.order - 1) + self._ids(text)
            h.update(repr(ids).encode())
            for t in range(self.order - 1, len(ids)):
                for m in range(1, self.order + 1):
                    gram = tuple(ids[t - m + 1:t + 1])
                    self.counts[m - 1][gram] += 1
                    self.context[m - 1][gram[:-1]] += 1
        self._digest = h.hexdigest()
        return self

    @property
    def fingerprint(self) -> str:
        if self._digest is None:
            raise RuntimeError(f"{self.name} is not fitted; call .fit(texts) first")
        tok = getattr(self.tokenizer, "backend_tokenizer", None)
        vocab = hashlib.sha256(tok.to_str().encode()).hexdigest() if tok is not None else str(self.vocab)
        return f"ngram:{self.order}:{self.smoothing}:{self.k}:{self.lambdas}:{vocab}:{self._digest}"

    def logprob(self, history: Sequence[int], w: int) -> float:
        """log p(w | history) (natural log); ``history`` holds the last ``order`` − 1 ids."""
        n = self.order
        if self.smoothing == "add-k":
            gram = tuple(history[len(history) - n + 1:]) + (w,) if n > 1 else (w,)
            return math.log((self.counts[n - 1][gram] + self.k) / (self.context[n - 1][gram[:-1]] + self.k * self.vocab))
        p = self.lambdas[0] * (self.counts[0][(w,)] + self.k) / (self.context[0][()] + self.k * self.vocab)
        weight = self.lambdas[0]
        for m in range(2, n + 1):
            gram = tuple(history[len(history) - m + 1:]) + (w,)
            c = self.context[m - 1][gram[:-1]]
            if c:  # an unseen history's weight goes to the orders that have one
                p += self.lambdas[m - 1] * self.counts[m - 1][gram] / c
                weight += self.lambdas[m - 1]
        return math.log(p / weight)

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if self._digest is None:
            raise RuntimeError(f"{self.name} is not fitted; call .fit(texts) first")
        out = np.zeros(len(texts))
        for s, text in enumerate(texts):
            ids = [START] * (self.order - 1) + self._ids(text)
            first = self.order  # index of the second real token: the first one is not scored
            out[s] = sum(self.logprob(ids[t - self.order + 1:t], ids[t]) for t in range(first, len(ids)))
        return out

    def __repr__(self) -> str:
        return f"NGramModel({self.name!r}, vocab={self.vocab}, fitted={self._digest is not None})"


class MarkovChain:
    """A first-order Markov chain over the characters of ``alphabet`` (token id = position in the
    alphabet) with row-stochastic ``transition`` [V, V] (all entries > 0)."""

    def __init__(self, transition, alphabet: str, name: str | None = None):
        P = np.asarray(transition, dtype=np.float64)
        if P.ndim != 2 or P.shape != (len(alphabet), len(alphabet)):
            raise ValueError(f"transition must be [{len(alphabet)}, {len(alphabet)}] for alphabet {alphabet!r}, "
                             f"got shape {P.shape}")
        if (P <= 0).any() or not np.allclose(P.sum(1), 1.0):
            raise ValueError("transition rows must be positive and sum to 1")
        if len(set(alphabet)) != len(alphabet):
            raise ValueError("alphabet characters must be distinct")
        self.P, self.alphabet, self.name = P, alphabet, name or "markov"
        codes = np.frombuffer(alphabet.encode("utf-32-le"), dtype=np.uint32)
        self._order = np.argsort(codes)  # sorted code -> token id
        self._codes = codes[self._order]
        self.fingerprint = "markov:" + hashlib.sha256(P.tobytes() + alphabet.encode()).hexdigest()

    @property
    def stationary(self) -> np.ndarray:
        """π [V] with π P = π, Σ π = 1."""
        w, v = np.linalg.eig(self.P.T)
        pi = np.real(v[:, np.argmin(np.abs(w - 1))])
        return pi / pi.sum()

    def ids(self, text: str) -> np.ndarray:
        """Token ids [len(text)] of a text (positions in the alphabet)."""
        codes = np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32)
        pos = np.minimum(np.searchsorted(self._codes, codes), len(self._codes) - 1)
        bad = self._codes[pos] != codes
        if bad.any():
            raise ValueError(f"character {text[int(np.argmax(bad))]!r} is not in the chain's alphabet {self.alphabet!r}")
        return self._order[pos]

    def sample(self, n: int, length: int, seed: int = 0) -> list[str]:
        """``n`` texts of ``length`` characters, the first drawn from the stationary distribution."""
        rng = np.random.default_rng(seed)
        cum = np.cumsum(self.P, 1)
        x = np.empty((n, length), dtype=np.int64)
        x[:, 0] = rng.choice(len(self.alphabet), size=n, p=self.stationary)
        for t in range(1, length):
            u = rng.random(n)[:, None]
            x[:, t] = np.minimum((u > cum[x[:, t - 1]]).sum(1), len(self.alphabet) - 1)
        chars = np.array(list(self.alphabet))
        return ["".join(row) for row in chars[x]]

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        if not texts or not all(texts):
            raise ValueError("pass a non-empty list of non-empty texts")
        x = self.ids("".join(texts))
        starts = np.cumsum([0] + [len(t) for t in texts[:-1]])
        pairs = np.append(np.log(self.P)[x[:-1], x[1:]], 0.0)  # pairs[k]: x[k] -> x[k + 1]
        pairs[starts[1:] - 1] = 0.0  # pairs across two texts
        return np.add.reduceat(pairs, starts)


def markov_kl(p: MarkovChain, q: MarkovChain, length: int) -> float:
    """Exact KL(p‖q) in nats between the distributions the two chains give the scored part of a
    text of ``length`` characters (characters 1..length−1 given the first, the first drawn from
    p's stationary π): (length − 1) · Σ_a π_a KL(P_a‖Q_a)."""
    if p.alphabet != q.alphabet:
        raise ValueError("the chains must share an alphabet")
    rate = float((p.stationary[:, None] * p.P * np.log(p.P / q.P)).sum())
    return (length - 1) * rate
