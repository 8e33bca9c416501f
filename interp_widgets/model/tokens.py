"""Readable token strings and word grouping for every supported tokenizer family.

Every view shows tokens, so every view goes through :func:`token_strings`
(one display string per token) and :func:`word_groups` (tokens grouped into
words, with maps both ways). Both take a Hugging Face tokenizer and a 1-D
sequence of token ids, so they also work on generated ids for which there is
no source text.

Display conventions (the same for every family):

* **Real characters.** Byte-level BPE pieces (GPT-2, GPT-NeoX, RoBERTa,
  Qwen2, Llama 3: ``Ġ``, ``Ċ`` …) and SentencePiece pieces (``▁``) are shown
  as the text they stand for; a leading space is a real space character.
* **Visible whitespace.** Newline shows as ``↵``, tab as ``⇥``; the other C0
  control characters and DEL show as their Unicode control pictures
  (``\\r`` → ``␍``, U+0000 → ``␀``, DEL → ``␡``), C1 controls as ``⟨U+0085⟩``.
* **Nothing invisible.** When a token would show no visible character, each
  space shows as ``␣``, every other invisible code point (other spaces such as
  U+3000, zero-width joiners, variation selectors, lone combining marks) as
  ``⟨U+XXXX⟩``, and an empty piece as ``∅``. Tokens that contain something
  visible keep their spaces as spaces (``" the"``).
* **Split characters.** When the UTF-8 bytes of one character are spread over
  several tokens (byte-level BPE, SentencePiece ``<0xE6>`` byte fallback),
  the character is shown on the token holding its *last* byte, and every
  earlier token holding some of its bytes shows ``◌`` in its place. ``日``
  split 2 + 1 bytes shows as ``["◌", "日"]``; ``日本`` split 2 + 2 + 2 bytes
  as ``["◌", "日◌", "本"]``. Bytes that are not valid UTF-8 (for example a
  sequence cut inside a character) show as ``⟨0xE6⟩``; valid text never
  produces U+FFFD.
* **Special and added tokens** (``[CLS]``, ``<s>``, ``<|endoftext|>``,
  ``<pad>``) are shown as their literal content.
* **WordPiece.** A ``##`` continuation shows without ``##``; whether a token
  continues a word is given by :func:`word_groups`. WordPiece pieces record
  no spaces, so none are added.
* **No escaping.** Strings are plain text (``<img …>`` stays ``<img …>``);
  front-ends must insert them as text, never as HTML.

Round trip. With ``◌`` removed and the stand-ins mapped back (``↵`` → newline,
``⇥`` → tab, ``␣`` → space, ``∅`` → nothing, ``⟨U+XXXX⟩`` → that code point,
control pictures → the control character), the concatenated displays equal
``tokenizer.decode(ids)`` (no clean-up) for byte-level tokenizers; for
SentencePiece tokenizers they equal it plus the leading space that the
decoder strips from the first word; for WordPiece tokenizers the ``words`` of
:func:`word_groups` joined by single spaces equal it. (A text that itself
contains one of the marker glyphs cannot be told apart from a marker.)
"""

from __future__ import annotations

import json
import numbers
import re
import unicodedata
from dataclasses import dataclass, field

from tokenizers import models as _tok_models

_PARTIAL = "◌"
_SPACE = "␣"
_EMPTY = "∅"
_SHOWN_CONTROLS = {"\n": "↵", "\t": "⇥", "\x7f": "␡"}
_BYTE_PIECE = re.compile(r"<0x([0-9A-Fa-f]{2})>")
_INVISIBLE_CATEGORIES = {"Cc", "Cf", "Mn", "Me", "Zs", "Zl", "Zp"}


@dataclass(frozen=True)
class WordGroups:
    """Tokens grouped into words.

    ``words[w]`` is the readable text of word ``w`` (same conventions as
    :func:`token_strings`, without ``◌`` markers: a word never splits a
    character); ``token_to_word[t]`` is the word of token ``t``;
    ``word_to_tokens[w] = (start, stop)`` is its half-open token range;
    ``is_special[w]`` is true for special tokens. Special and other added
    tokens (``<think>``) are words of their own.
    """

    words: list[str]
    token_to_word: list[int]
    word_to_tokens: list[tuple[int, int]]
    is_special: list[bool]


@dataclass(frozen=True)
class _Scheme:
    """How one tokenizer family writes text into its pieces."""

    kind: str  # "byte_level", "metaspace", "wordpiece" or "plain"
    marker: str = ""  # "▁" for metaspace, the continuation prefix for wordpiece
    byte_fallback: bool = False  # metaspace: "<0xE6>" pieces are raw bytes
    byte_table: dict[str, int] = field(default_factory=dict)  # byte_level: char -> byte


@dataclass
class _Unit:
    """One decoded character (or one invalid byte) and the tokens holding it."""

    text: str  # the character; "" for an invalid byte
    first: int  # index of the token holding its first byte
    last: int  # index of the token holding its last byte
    byte: int | None = None  # the invalid byte value


@dataclass
class _Token:
    units: list[_Unit]
    literal: bool = False  # added/special token shown as its content
    special: bool = False
    continuation: bool = False  # WordPiece "##" piece


def token_strings(tokenizer, ids) -> list[str]:
    """One readable display string per token id.

    ``tokenizer``: a Hugging Face tokenizer; ``ids``: a list, tuple, 1-D
    tensor or 1-D array of ints, shape ``(seq,)``. Returns ``seq`` non-empty
    strings following the conventions in the module docstring. Raises
    ``ValueError`` for ids outside the vocabulary.
    """
    tokens, _ = _decode(tokenizer, ids)
    return [_render([_unit_part(unit, i) for unit in token.units])
            for i, token in enumerate(tokens)]


def word_groups(tokenizer, ids) -> WordGroups:
    """Group tokens into words; the words cover all tokens, in order.

    A new word starts at a special or added token and right after one. Else,
    by family:

    * WordPiece: at every piece without the ``##`` prefix (the tokenizer's
      own pre-tokenisation, which splits on spaces and punctuation).
    * Byte-level BPE and SentencePiece (derived from the pieces, not from
      the source text): at a token starting with whitespace (``Ġ``, ``▁``,
      newline), after a token ending in whitespace other than a plain space
      (a lone ``Ġ``/``▁`` joins the word that follows it), and where the
      character class changes between letters, digits and other symbols
      (so ``"Hello,"`` is two words and ``"don't"`` follows GPT-2's
      ``"don" + "'t"``). Digits that a tokenizer splits one by one (Llama,
      Qwen2) stay one number. Combining marks, zero-width joiners and
      variation selectors never start a word.
    * Other tokenizers (no byte-level, SentencePiece or WordPiece decoder or
      pre-tokenizer): every token is a word.

    The byte pieces of one character are always in the same word.
    """
    tokens, scheme = _decode(tokenizer, ids)
    starts = _word_starts(tokens, scheme.kind in ("wordpiece", "plain"))
    bounds = list(zip(starts, starts[1:] + [len(tokens)]))
    token_to_word = [w for w, (a, b) in enumerate(bounds) for _ in range(a, b)]
    words = []
    for a, b in bounds:
        words.append(_render([_unit_part(unit, j) for j in range(a, b)
                              for unit in tokens[j].units if unit.last == j]))
    return WordGroups(
        words=words,
        token_to_word=token_to_word,
        word_to_tokens=bounds,
        is_special=[tokens[a].special for a, _ in bounds],
    )


def _decode(tokenizer, ids) -> tuple[list[_Token], _Scheme]:
    """Turn ids into tokens whose units are whole characters or invalid bytes."""
    ids = _id_list(ids)
    pieces = _pieces(tokenizer, ids)
    added = tokenizer.added_tokens_decoder
    special_ids = set(tokenizer.all_special_ids) | {i for i, t in added.items() if t.special}
    scheme = _scheme(tokenizer)
    tokens: list[_Token] = []
    run: list[tuple[int, bytes]] = []  # (token index, bytes) of the current byte stream
    for i, (token_id, piece) in enumerate(zip(ids, pieces)):
        if token_id in added or token_id in special_ids:
            _close_stream(run, tokens)
            run = []
            content = added[token_id].content if token_id in added else piece
            tokens.append(_Token([_Unit(content, i, i)], literal=True,
                                 special=token_id in special_ids))
            continue
        data, continuation = _piece_bytes(piece, scheme)
        tokens.append(_Token([], continuation=continuation))
        run.append((i, data))
    _close_stream(run, tokens)
    return tokens, scheme


def _id_list(ids) -> list[int]:
    if getattr(ids, "ndim", 1) != 1:
        raise ValueError(
            f"expected a 1-D sequence of token ids, got shape {tuple(ids.shape)}; "
            "pass one sequence at a time, e.g. ids[0]"
        )
    values = ids.tolist() if hasattr(ids, "tolist") else list(ids)
    for v in values:
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"token ids must be integers, got {v!r} ({type(v).__name__})")
    return [int(v) for v in values]


def _pieces(tokenizer, ids: list[int]) -> list[str]:
    # A tokenizers backend returns None for unknown ids; Python backends map them to unk.
    fast = getattr(tokenizer, "backend_tokenizer", None) is not None
    size = None if fast else len(tokenizer)
    pieces = []
    for token_id in ids:
        piece = None
        if token_id >= 0 and (fast or token_id < size):
            try:
                piece = tokenizer.convert_ids_to_tokens(token_id)
            except (OverflowError, IndexError, KeyError):
                piece = None
        if piece is None:
            raise ValueError(
                f"token id {token_id} is outside the tokenizer's vocabulary "
                f"(size {len(tokenizer)}); "
                "the tokenizer probably does not match the model — load the tokenizer "
                "saved with the model that produced these ids"
            )
        pieces.append(piece)
    return pieces


def _scheme(tokenizer) -> _Scheme:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        if hasattr(tokenizer, "byte_decoder"):
            return _Scheme("byte_level", byte_table=dict(tokenizer.byte_decoder))
        if hasattr(tokenizer, "sp_model"):
            return _Scheme("metaspace", marker="▁", byte_fallback=True)
        if hasattr(tokenizer, "wordpiece_tokenizer"):
            return _Scheme("wordpiece", marker="##")
        return _Scheme("plain")
    steps = _steps(backend.decoder, "decoders")
    types = {s["type"] for s in steps}
    fallback = "ByteFallback" in types or bool(getattr(backend.model, "byte_fallback", False))
    if "ByteLevel" in types:
        return _Scheme("byte_level", byte_table=_BYTE_TABLE)
    for s in steps:
        if s["type"] == "Metaspace":
            return _Scheme("metaspace", marker=s.get("replacement", "▁"), byte_fallback=fallback)
        if s["type"] == "Replace" and s.get("content") == " " and "String" in s.get("pattern", {}):
            return _Scheme("metaspace", marker=s["pattern"]["String"], byte_fallback=fallback)
        if s["type"] == "WordPiece":
            return _Scheme("wordpiece", marker=s.get("prefix", "##"))
    # No decoder to tell: fall back on the pre-tokenizer and the model.
    for s in _steps(backend.pre_tokenizer, "pretokenizers"):
        if s["type"] == "ByteLevel":
            return _Scheme("byte_level", byte_table=_BYTE_TABLE)
        if s["type"] == "Metaspace":
            return _Scheme("metaspace", marker=s.get("replacement", "▁"), byte_fallback=fallback)
    if isinstance(backend.model, _tok_models.WordPiece):
        return _Scheme("wordpiece", marker=backend.model.continuing_subword_prefix)
    return _Scheme("plain")


def _steps(component, children: str) -> list[dict]:
    """The JSON configs of a decoder/pre-tokenizer, with Sequences flattened."""
    if component is None:
        return []
    try:
        flat, todo = [], [json.loads(component.__getstate__())]
    except Exception:  # custom Python components cannot be serialised; nothing to learn
        return []
    while todo:
        step = todo.pop(0)
        if step.get("type") == "Sequence":
            todo[:0] = step.get(children, [])
        else:
            flat.append(step)
    return flat


def _byte_table() -> dict[str, int]:
    """GPT-2's byte-to-unicode alphabet, inverted: printable bytes map to
    themselves, the other 68 bytes to U+0100 onwards in byte order."""
    printable = [*range(0x21, 0x7F), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    table = {chr(b): b for b in printable}
    others = [b for b in range(256) if b not in table.values()]
    table.update({chr(0x100 + n): b for n, b in enumerate(others)})
    return table


_BYTE_TABLE = _byte_table()


def _piece_bytes(piece: str, scheme: _Scheme) -> tuple[bytes, bool]:
    """The UTF-8 bytes a vocabulary piece stands for, and whether it is a
    WordPiece continuation."""
    if scheme.kind == "byte_level":
        if all(c in scheme.byte_table for c in piece):
            return bytes(scheme.byte_table[c] for c in piece), False
        return piece.encode(), False  # as the ByteLevel decoder does
    if scheme.kind == "metaspace":
        match = _BYTE_PIECE.fullmatch(piece) if scheme.byte_fallback else None
        if match:
            return bytes([int(match[1], 16)]), False
        return piece.replace(scheme.marker, " ").encode(), False
    if scheme.kind == "wordpiece" and piece.startswith(scheme.marker):
        return piece[len(scheme.marker):].encode(), True
    return piece.encode(), False


def _close_stream(run: list[tuple[int, bytes]], tokens: list[_Token]) -> None:
    """Decode the concatenated bytes of ``run`` as UTF-8 and give every token
    the units (characters or invalid bytes) its bytes belong to."""
    owner = [i for i, data in run for _ in data]
    stream = b"".join(data for _, data in run)
    pos = 0
    while pos < len(stream):
        size = _utf8_length(stream[pos])
        try:
            char = stream[pos:pos + size].decode("utf-8") if size else None
        except UnicodeDecodeError:
            char = None
        if char is None or len(stream) - pos < size:
            unit = _Unit("", owner[pos], owner[pos], byte=stream[pos])
            size = 1
        else:
            unit = _Unit(char, owner[pos], owner[pos + size - 1])
        for i in range(unit.first, unit.last + 1):
            tokens[i].units.append(unit)
        pos += size


def _utf8_length(lead: int) -> int:
    """Bytes in the UTF-8 sequence starting with ``lead``; 0 if it cannot start one."""
    if lead < 0x80:
        return 1
    if 0xC2 <= lead <= 0xDF:
        return 2
    if 0xE0 <= lead <= 0xEF:
        return 3
    if 0xF0 <= lead <= 0xF4:
        return 4
    return 0


def _unit_part(unit: _Unit, index: int) -> tuple[str, bool]:
    """How ``unit`` shows on token ``index``: (text, is it a marker)."""
    if unit.byte is not None:
        return f"⟨0x{unit.byte:02X}⟩", True
    if unit.last == index:
        return unit.text, False
    return _PARTIAL, True


def _render(parts: list[tuple[str, bool]]) -> str:
    """Join display parts, making whitespace and controls visible."""
    if all(not marker and all(_invisible(c) for c in text) for text, marker in parts):
        raw = "".join(text for text, _ in parts)
        return "".join(_SPACE if c == " " else _codepoint(c) for c in raw) or _EMPTY
    return "".join(text if marker else "".join(map(_show_char, text)) for text, marker in parts)


def _invisible(c: str) -> bool:
    """True for characters that draw nothing on their own (after the control
    pictures have been applied)."""
    if c in _SHOWN_CONTROLS or ord(c) < 0x20:
        return False
    return unicodedata.category(c) in _INVISIBLE_CATEGORIES


def _show_char(c: str) -> str:
    if c in _SHOWN_CONTROLS:
        return _SHOWN_CONTROLS[c]
    if ord(c) < 0x20:
        return chr(0x2400 + ord(c))
    if 0x80 <= ord(c) < 0xA0:
        return _codepoint(c)
    return c


def _codepoint(c: str) -> str:
    return f"⟨U+{ord(c):04X}⟩"


def _word_starts(tokens: list[_Token], by_piece: bool) -> list[int]:
    """Indices of the tokens that start a word; see :func:`word_groups`.
    ``by_piece``: every piece except a ``##`` continuation starts a word."""
    starts = []
    last = ""  # the last character seen in the current run of ordinary tokens
    base = None  # the class of the last character that is not a joiner
    for i, token in enumerate(tokens):
        if i == 0 or token.literal or tokens[i - 1].literal:
            starts.append(i)
            last, base = "", None
        elif (not token.continuation) if by_piece else _breaks(token, i, last, base):
            starts.append(i)
        if token.literal:
            continue
        for unit in token.units:
            last = unit.text
            if _char_class(unit.text) != "join":
                base = _char_class(unit.text)
    return starts


def _breaks(token: _Token, index: int, last: str, base: str | None) -> bool:
    """Whether a byte-level/SentencePiece token starts a new word, given the
    last character before it and the class of the last non-joiner."""
    if not token.units or token.units[0].first < index:
        return False  # empty piece, or the rest of a character begun earlier
    first = _char_class(token.units[0].text)
    if first == "space":
        return True
    if first == "join" or last in (" ", "\u200d"):
        return False
    if last.isspace():
        return True
    return base is not None and first != base


def _char_class(c: str) -> str:
    """"space", "letter", "number", "join" (marks, format characters) or
    "other"; an invalid byte (empty text) counts as "other"."""
    if not c:
        return "other"
    if c.isspace():
        return "space"
    category = unicodedata.category(c)
    if category[0] in "LN":
        return "letter" if category[0] == "L" else "number"
    if category[0] == "M" or category == "Cf":
        return "join"
    return "other"
