"""Rewrites the generated sections of README.md and README.ja.md: "levels and methods" from
``iw.catalog()`` and the gallery from ``scripts/gallery.py``; tests/test_readme.py and
tests/browser/test_gallery.py fail when they drift. Run: python scripts/update_readmes.py"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READMES = {"en": ROOT / "README.md", "ja": ROOT / "README.ja.md"}
START, END = "<!-- catalog:start -->", "<!-- catalog:end -->"
GALLERY_START, GALLERY_END = "<!-- gallery:start -->", "<!-- gallery:end -->"


def generated(lang: str) -> str:
    return importlib.import_module("interp_widgets.catalog").markdown(lang)


def gallery_module():
    """scripts/gallery.py, imported once."""
    if "gallery" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gallery", ROOT / "scripts" / "gallery.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["gallery"] = module  # dataclasses resolve their module by name
        spec.loader.exec_module(module)
    return sys.modules["gallery"]


def gallery_generated(lang: str) -> str:
    return gallery_module().markdown(lang)


def section(text: str, start: str = START, end: str = END) -> str:
    """The text between the markers of a README."""
    if start not in text or end not in text:
        raise ValueError(f"the README has no {start} ... {end} section")
    return text.split(start, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def main() -> None:
    for lang, path in READMES.items():
        text = path.read_text(encoding="utf-8")
        for start, end, make in ((START, END, generated), (GALLERY_START, GALLERY_END, gallery_generated)):
            old, new = section(text, start, end), make(lang)
            head, rest = text.split(start, 1)
            text = f"{head}{start}\n{new}{end}{rest.split(end, 1)[1]}"
            print(f"{path.name} {start}: {'unchanged' if old == new else 'updated'}")
        path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
