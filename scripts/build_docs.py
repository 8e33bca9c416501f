"""Builds the offline API reference: pdoc pages from the docstrings of every public module, plus
``methods.html``, the method catalogue with each method's paper, core equation, levels and links
to its entry points.  Run: python scripts/build_docs.py --out docs  (then open docs/index.html)."""

from __future__ import annotations

import argparse
import html
import importlib
import inspect
from pathlib import Path

import pdoc
import pdoc.render

PACKAGE = "interp_widgets"
# the package (with the subpackages its __all__ names) and the subpackages it re-exports from
MODULES = [PACKAGE] + [f"{PACKAGE}.{m}" for m in ("model", "analysis", "analysis.attention", "circuits",
                                                  "figures")]


def entry_point_targets(entry_point: str) -> list[tuple[str, str]]:
    """``"attribution.dig"`` -> candidate (page relative to the docs root, anchor) pairs: the page of
    the module the entry point is reached through, then the page of the module that defines it;
    empty when the entry point does not exist yet."""
    obj = module = importlib.import_module(PACKAGE)
    rest: list[str] = []
    for part in entry_point.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return []
        if inspect.ismodule(obj):
            module, rest = obj, []
        else:
            rest.append(part)
    targets = [(module.__name__.replace(".", "/") + ".html", ".".join(rest))]
    defined_in = getattr(obj, "__module__", None)
    if defined_in and rest:
        targets.append((defined_in.replace(".", "/") + ".html", getattr(obj, "__qualname__", rest[-1])))
    return targets


def documented_target(root: Path, entry_point: str) -> str | None:
    """The link (``page#anchor``) to where pdoc documented ``entry_point``, if it did."""
    for page, anchor in entry_point_targets(entry_point):
        path = root / page
        if path.exists() and (not anchor or f'id="{anchor}"' in path.read_text(encoding="utf-8")):
            return f"{page}#{anchor}" if anchor else page
    return None


def methods_page(root: Path) -> str:
    catalog = importlib.import_module(f"{PACKAGE}.catalog")
    rows = []
    for method, row in zip(catalog.METHODS, catalog.catalog()):
        links = []
        for e in method.entry_points:
            target, label = documented_target(root, e), html.escape(f"iw.{e}")
            links.append(f'<a href="{target}"><code>{label}</code></a>' if target else f"<code>{label}</code>")
        levels = ", ".join(f"{v} {catalog.LEVELS[v]}" for v in method.levels)
        rows.append(f"<tr><td>{html.escape(method.work)}</td><td>{html.escape(method.paper)}</td>"
                    f"<td><code>{html.escape(method.equation)}</code></td><td>{levels}</td>"
                    f"<td>{'<br>'.join(links)}</td><td>{row['status']}</td></tr>")
    return ("<!doctype html><meta charset='utf-8'><title>interp_widgets: methods</title>"
            "<style>body{font:14px system-ui,sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px;"
            "vertical-align:top}table{border-collapse:collapse}code{font-size:12px}</style>"
            "<h1>interp_widgets: methods</h1><p>Every method with its paper, core equation, granularity levels "
            f"and entry points. The API reference starts at <a href='{PACKAGE}.html'>{PACKAGE}</a>.</p>"
            "<table><tr><th>method</th><th>paper</th><th>equation</th><th>levels</th><th>entry points</th>"
            "<th>status</th></tr>" + "".join(rows) + "</table>")


def build(out: Path) -> Path:
    """Writes the reference into ``out``; returns the methods page."""
    out.mkdir(parents=True, exist_ok=True)
    pdoc.render.configure(docformat="markdown", show_source=False, search=True)
    pdoc.pdoc(*MODULES, output_directory=out)
    page = out / "methods.html"
    page.write_text(methods_page(out), encoding="utf-8")
    return page


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", default="docs", help="output folder (default: docs)")
    print(f"wrote {build(Path(parser.parse_args().out))}")


if __name__ == "__main__":
    main()
