"""The READMEs' "levels and methods" sections are the catalogue, regenerated (never hand-edited)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("update_readmes", ROOT / "scripts" / "update_readmes.py")
update_readmes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_readmes)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_readme_levels_section_matches_the_catalogue(lang):
    text = update_readmes.READMES[lang].read_text(encoding="utf-8")
    assert update_readmes.section(text) == update_readmes.generated(lang), (
        "the README's levels section is out of date: run python scripts/update_readmes.py")


def test_every_level_and_every_catalogued_method_appears():
    import interp_widgets as iw

    text = update_readmes.generated("en")
    for row in iw.catalog():
        assert row["work"] in text
    for level in range(1, 6):
        assert f"**{level}. " in text


def test_unknown_language_is_refused():
    with pytest.raises(ValueError, match="lang must be one of"):
        importlib.import_module("interp_widgets.catalog").markdown("fr")
