"""Text sets for log-likelihood vectors: UTF-8-safe byte chunks of documents (Oyama et al. 2025).

The paper cuts each document into consecutive pieces of at most ``max_bytes`` UTF-8 bytes (a cut
moves back to the previous character boundary, so no multi-byte character is split) and keeps the
pieces longer than ``min_bytes`` bytes (1024 and 256 for their Pile set).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Sequence
from pathlib import Path

SAMPLE = Path(__file__).resolve().parent.parent / "shipped" / "heldout_sample.txt"


def split_utf8(text: str, max_bytes: int = 1024) -> list[str]:
    """Consecutive pieces of ``text``, each at most ``max_bytes`` UTF-8 bytes, never splitting a
    character; their concatenation is ``text``."""
    if max_bytes < 4:
        raise ValueError(f"max_bytes must be at least 4 (one UTF-8 character), got {max_bytes}")
    data = text.encode("utf-8")
    pieces, start = [], 0
    while len(data) - start > max_bytes:
        cut = start + max_bytes
        while data[cut] & 0xC0 == 0x80:  # continuation byte: move back to the character start
            cut -= 1
        pieces.append(data[start:cut].decode("utf-8"))
        start = cut
    if start < len(data):
        pieces.append(data[start:].decode("utf-8"))
    return pieces


@dataclasses.dataclass(frozen=True)
class TextSet:
    """N texts with their origin (document index, chunk index within it)."""

    texts: tuple[str, ...]
    origin: tuple[tuple[int, int], ...] = ()
    description: str = ""

    def __post_init__(self):
        if not self.texts:
            raise ValueError("a text set needs at least one text")
        bad = [i for i, t in enumerate(self.texts) if not isinstance(t, str) or not t.strip()]
        if bad:
            raise ValueError(f"text {bad[0]} is empty, only whitespace or not a str; drop it from the set")

    def __len__(self) -> int:
        return len(self.texts)

    def __iter__(self):
        return iter(self.texts)

    def __getitem__(self, index):
        return self.texts[index]

    @property
    def digest(self) -> str:
        """SHA-256 of the texts (order matters); names the text set in the log-likelihood cache."""
        return text_digest(self.texts)

    def __repr__(self) -> str:
        return f"TextSet({len(self)} texts, {self.description or 'user texts'}, digest={self.digest[:12]})"


def text_digest(texts: Sequence[str]) -> str:
    h = hashlib.sha256()
    for t in texts:
        data = t.encode("utf-8")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def chunk_texts(documents: str | Iterable[str], max_bytes: int = 1024, min_bytes: int = 256) -> TextSet:
    """Cut every document into ≤ ``max_bytes``-byte pieces (:func:`split_utf8`) and keep those of
    more than ``min_bytes`` bytes, in document order (deterministic; sample from it yourself)."""
    if isinstance(documents, str):
        documents = [documents]
    if min_bytes >= max_bytes:
        raise ValueError(f"min_bytes ({min_bytes}) must be below max_bytes ({max_bytes})")
    texts, origin = [], []
    for d, doc in enumerate(documents):
        if not isinstance(doc, str):
            raise TypeError(f"document {d} is a {type(doc).__name__}, not a str")
        for c, piece in enumerate(split_utf8(doc, max_bytes)):
            if len(piece.encode("utf-8")) > min_bytes and piece.strip():
                texts.append(piece)
                origin.append((d, c))
    if not texts:
        raise ValueError(f"no chunk is longer than min_bytes={min_bytes}; lower min_bytes or pass longer documents")
    return TextSet(tuple(texts), tuple(origin), f"chunks of {max_bytes} bytes max, > {min_bytes} bytes")


def sample_text_set(part: str = "all", max_bytes: int = 160, min_bytes: int = 64) -> TextSet:
    """The shipped redistributable text set: chunks of the public-domain held-out Shakespeare sample
    (``shipped/heldout_sample.txt``, the opening of *Macbeth*, never seen by the shipped models).
    The sample is 5.8 kB, so the default chunks are smaller than the paper's 1024/256 bytes.

    ``part``: ``"all"`` chunks, ``"fit"`` (the first third, for fitting n-gram models) or ``"map"``
    (the other two thirds, disjoint from ``"fit"``, for the log-likelihood matrix)."""
    full = chunk_texts(SAMPLE.read_text(encoding="utf-8"), max_bytes, min_bytes)
    cut = len(full) // 3
    spans = {"all": slice(None), "fit": slice(None, cut), "map": slice(cut, None)}
    if part not in spans:
        raise ValueError(f"part must be one of {sorted(spans)}, got {part!r}")
    span = spans[part]
    return TextSet(full.texts[span], full.origin[span],
                   f"shipped Shakespeare sample ({part}), chunks of <= {max_bytes} bytes, > {min_bytes} bytes")
