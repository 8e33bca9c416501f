"""Rewrites the generated "levels and methods" section of README.md and README.ja.md from
``iw.catalog()``; tests/test_readme.py fails when they drift. Run: python scripts/update_readmes.py"""

from __future__ import annotations

import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READMES = {"en": ROOT / "README.md", "ja": ROOT / "README.ja.md"}
START, END = "<!-- catalog:start -->", "<!-- catalog:end -->"


def generated(lang: str) -> str:
    return importlib.import_module("interp_widgets.catalog").markdown(lang)


def section(text: str) -> str:
    """The text between the markers of a README."""
    if START not in text or END not in text:
        raise ValueError(f"the README has no {START} ... {END} section")
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n") + "\n"


def main() -> None:
    for lang, path in READMES.items():
        text = path.read_text(encoding="utf-8")
        old, new = section(text), generated(lang)
        head, rest = text.split(START, 1)
        path.write_text(f"{head}{START}\n{new}{END}{rest.split(END, 1)[1]}", encoding="utf-8")
        print(f"{path.name}: {'unchanged' if old == new else 'updated'}")


if __name__ == "__main__":
    main()
