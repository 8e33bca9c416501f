"""The screenshot gallery: scripts/gallery.py renders every view of the package into PNGs that are
not blank, refuses pages that report errors or draw nothing, and the READMEs list exactly its views."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import interp_widgets.widgets
from interp_widgets.widgets import InterpWidget

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("update_readmes", ROOT / "scripts" / "update_readmes.py")
update_readmes = importlib.util.module_from_spec(spec)
spec.loader.exec_module(update_readmes)
gallery = update_readmes.gallery_module()


def _widget_classes() -> set[type]:
    """Every view class defined in interp_widgets.widgets (bases without a front-end bundle left out)."""
    for info in pkgutil.iter_modules(interp_widgets.widgets.__path__):
        importlib.import_module(f"interp_widgets.widgets.{info.name}")
    found, todo = set(), [InterpWidget]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("interp_widgets.widgets.") and sub._bundle:
                found.add(sub)
    return found


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_readme_gallery_section_is_the_scripts_list(lang):
    text = update_readmes.READMES[lang].read_text(encoding="utf-8")
    section = update_readmes.section(text, update_readmes.GALLERY_START, update_readmes.GALLERY_END)
    assert section == update_readmes.gallery_generated(lang), (
        "the README's gallery section is out of date: run python scripts/update_readmes.py")
    for view in gallery.VIEWS:
        assert section.count(f"](docs/gallery/{view.name}.png)") == 1
        assert (ROOT / "notebooks" / f"{view.tutorial}.ipynb").exists(), view.tutorial


def test_checked_in_screenshots_are_the_views_and_small():
    pngs = sorted((ROOT / "docs" / "gallery").glob("*.png"))
    assert sorted(p.stem for p in pngs) == sorted(gallery.NAMES), "regenerate with python scripts/gallery.py"
    assert all(p.stat().st_size < 150_000 for p in pngs)
    assert sum(p.stat().st_size for p in pngs) < 3_000_000


def test_every_view_renders_into_a_drawn_screenshot(browser, tmp_path):
    classes = gallery.render(browser, tmp_path, log=lambda *_: None)
    pngs = {p.stem: p for p in tmp_path.glob("*.png")}
    assert sorted(pngs) == sorted(gallery.NAMES)
    for name, path in pngs.items():
        assert gallery.ink(path) > gallery.MIN_INK, name
    shown = {(c.__module__, c.__qualname__) for c in classes.values()}  # anywidget subclasses per instance
    missing = sorted(c.__name__ for c in _widget_classes() if (c.__module__, c.__qualname__) not in shown)
    assert not missing, f"views without a gallery entry in scripts/gallery.py: {missing}"


@pytest.mark.parametrize("script, message", [
    ('console.error("boom"); window.interpWidgets = {ready: true};', "blank"),
    ('window.interpWidgets = {ready: false, error: "no bundle"};', "failed to render: no bundle"),
])
def test_a_blank_or_failing_page_is_refused(browser, tmp_path, script, message):
    page_html = tmp_path / "bad.html"
    page_html.write_text(f'<div data-iw-root="0"><canvas class="drawn" width="80" height="40"></canvas></div>'
                         f"<script>{script}</script>", encoding="utf-8")
    view = gallery.View("bad", 1, "00_quickstart", "canvas.drawn", "", "", lambda: None)
    context = browser.new_context(viewport=gallery.VIEWPORT)
    try:
        page, problems = gallery.open_page(context)
        with pytest.raises(gallery.PageError, match=message):
            gallery.shoot(page, view, page_html, tmp_path / "bad.png")
        assert problems == (["console error: boom"] if "boom" in script else [])
    finally:
        context.close()
    assert not (tmp_path / "bad.png").exists()


def test_unknown_view_names_are_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown view"):
        gallery.run(tmp_path, ["no-such-view"])
