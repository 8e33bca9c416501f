"""UTF-8-safe chunking as in Oyama et al.'s text-set builder, and the shipped text set."""

from __future__ import annotations

import random

import pytest

from interp_widgets.outputs import TextSet, chunk_texts, sample_text_set, split_utf8
from interp_widgets.outputs.texts import SAMPLE


def test_split_never_cuts_a_character_and_is_maximal():
    rng = random.Random(0)
    alphabet = "ab é€日本語😀\n"
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 300)))
        max_bytes = rng.randint(4, 40)
        pieces = split_utf8(text, max_bytes)
        assert "".join(pieces) == text
        sizes = [len(p.encode("utf-8")) for p in pieces]
        assert all(0 < s <= max_bytes for s in sizes)
        # a cut moves back at most 3 bytes (to the start of a character of up to 4 bytes)
        assert all(s > max_bytes - 4 for s in sizes[:-1])
        assert split_utf8(text, max_bytes) == pieces  # deterministic


def test_split_by_bytes_like_the_paper():
    assert [len(p) for p in split_utf8("a" * 2500, 1024)] == [1024, 1024, 452]
    # 'é' is 2 bytes: "aéa" fills 4 bytes; the next cut would fall inside the second 'é' and moves back
    assert split_utf8("aé" * 3, 4) == ["aéa", "éa", "é"]
    assert split_utf8("", 8) == []


def test_chunk_keeps_pieces_longer_than_min_bytes():
    docs = ["a" * 2200, "b" * 300, "c" * 256, "日" * 400]  # 日 = 3 bytes: 1200 bytes
    ts = chunk_texts(docs, max_bytes=1024, min_bytes=256)
    sizes = [len(t.encode("utf-8")) for t in ts]
    # 2200 -> 1024, 1024, 152 (dropped); 300 kept; 256 dropped (not > 256); 1200 -> 1023, 177 (dropped)
    assert sizes == [1024, 1024, 300, 1023]
    assert ts.origin == ((0, 0), (0, 1), (1, 0), (3, 0))
    assert chunk_texts(docs, 1024, 256).digest == ts.digest
    assert chunk_texts(docs[::-1], 1024, 256).digest != ts.digest


def test_bad_input():
    with pytest.raises(ValueError, match="at least 4"):
        split_utf8("abc", 3)
    with pytest.raises(ValueError, match="below max_bytes"):
        chunk_texts("abc", 10, 10)
    with pytest.raises(ValueError, match="lower min_bytes"):
        chunk_texts("short", 1024, 256)
    with pytest.raises(ValueError, match="empty"):
        TextSet(("ok", "  "))
    with pytest.raises(ValueError, match="part must be"):
        sample_text_set("test")


def test_shipped_sample_set():
    full, fit, mapped = (sample_text_set(p) for p in ("all", "fit", "map"))
    assert SAMPLE.is_file() and SAMPLE.parent.name == "shipped"  # in the wheel: artifacts shipped/**
    assert fit.texts + mapped.texts == full.texts
    assert not set(fit.texts) & set(mapped.texts)
    assert len(full) == 36 and len(mapped) == 24
    assert all(64 < len(t.encode("utf-8")) <= 160 for t in full)
    assert "".join(split_utf8(SAMPLE.read_text(encoding="utf-8"), 160)).startswith("".join(full.texts[:3]))
