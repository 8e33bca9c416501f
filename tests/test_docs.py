"""The offline API reference builds, and its methods page links every implemented entry point to
the place pdoc documented it, with the method's paper and equation."""

from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import interp_widgets as iw
from interp_widgets.catalog import METHODS

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("build_docs", ROOT / "scripts" / "build_docs.py")
build_docs = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_docs)


def test_reference_builds_with_every_method_linked(tmp_path):
    page = build_docs.build(tmp_path).read_text(encoding="utf-8")
    status = {r["work"]: r["status"] for r in iw.catalog()}
    for method in METHODS:
        for text in (method.work, method.paper, method.equation):
            assert text and html.escape(text) in page, text
        if status[method.work] == "implemented":
            for e in method.entry_points:
                link = re.search(rf'<a href="([^"#]+)#?([^"]*)"><code>iw\.{re.escape(e)}</code>', page)
                assert link, f"iw.{e} is not linked"
                target = (tmp_path / link[1]).read_text(encoding="utf-8")
                assert not link[2] or f'id="{link[2]}"' in target, f"{link[0]} has no anchor {link[2]}"
    assert "load" in (tmp_path / "interp_widgets.html").read_text(encoding="utf-8")
