"""Self-contained HTML export: the same views, offline, without Jupyter.

The page holds one JSON payload (each widget's ES module and state; binary
buffers base64-encoded) in a ``<script type="application/json">`` element,
with every ``<``, ``>`` and ``&`` escaped so that no token text can close the
element or become markup. A small bootstrap imports the standalone host
(``static/standalone_host.js``), which implements the anywidget model
interface (``get``, ``set``, ``on``, ``off``, ``save_changes``, ``send``) and
calls each module's ``render``. Nothing is fetched from the network.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ipywidgets.widgets.widget import _remove_buffers

from ._base import InterpWidget, read_bundle

Link = tuple[InterpWidget, str, InterpWidget, str]

_BOOTSTRAP = """\
const roots = Array.from(document.querySelectorAll("[data-iw-root]"));
try {
  const payload = JSON.parse(document.getElementById("iw-payload").textContent);
  const bytes = Uint8Array.from(atob(payload.host), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "text/javascript" }));
  const host = await import(url);
  URL.revokeObjectURL(url);
  const models = await host.mount(payload, roots);
  window.interpWidgets = { ready: true, models };
} catch (error) {
  for (const root of roots) root.textContent = "Could not render this widget: " + error;
  window.interpWidgets = { ready: false, error: String(error) };
}
"""

_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body {{ margin: 16px; }} @media (prefers-color-scheme: dark) {{ body {{ background: #1e1e1e; color: #e6e6e6; }} }}</style>
</head>
<body>
{roots}
<script type="application/json" id="iw-payload">{payload}</script>
<script type="module">
{bootstrap}</script>
</body>
</html>
"""


def _b64(data: bytes | memoryview) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _inert_json(obj: Any) -> str:
    """JSON that is safe inside a <script> element: no '<', '>' or '&' left."""
    try:
        text = json.dumps(obj, ensure_ascii=True, allow_nan=False, separators=(",", ":"))
    except ValueError as exc:
        raise ValueError(
            f"widget state holds NaN or infinity outside an array trait ({exc}); "
            "use an ArrayTrait for such values or replace them before saving"
        ) from None
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def widget_payload(widgets: Sequence[InterpWidget], links: Iterable[Link] = ()) -> dict[str, Any]:
    """The page payload: host and view modules (base64) plus each widget's state."""
    modules: dict[str, str] = {}
    saved = []
    for widget in widgets:
        if not isinstance(widget, InterpWidget):
            raise TypeError(f"save_html takes interp_widgets views, got {type(widget).__name__}")
        modules.setdefault(widget._bundle, _b64(widget._esm.encode("utf-8")))
        state, paths, buffers = _remove_buffers(widget.get_state(widget.view_state_keys()))
        saved.append(
            {
                "module": widget._bundle,
                "state": state,
                "buffers": [{"path": list(p), "data": _b64(b)} for p, b in zip(paths, buffers)],
            }
        )
    index = {id(w): i for i, w in enumerate(widgets)}
    link_list = []
    for a, a_key, b, b_key in links:
        if id(a) not in index or id(b) not in index:
            raise ValueError("a link joins a widget that is not among the widgets being saved")
        link_list.append([[index[id(a)], a_key], [index[id(b)], b_key]])
    return {
        "host": _b64(read_bundle("standalone_host").encode("utf-8")),
        "modules": modules,
        "widgets": saved,
        "links": link_list,
    }


def to_html(
    widgets: InterpWidget | Sequence[InterpWidget], *, title: str = "interp_widgets", links: Iterable[Link] = ()
) -> str:
    """One self-contained HTML page showing ``widgets`` (in order), offline.

    ``links`` are ``(widget_a, "trait", widget_b, "trait")`` tuples kept equal
    in the page, e.g. ``(strip1, "selected", strip2, "selected")``.
    """
    items = [widgets] if isinstance(widgets, InterpWidget) else list(widgets)
    roots = "\n".join(f'<div class="iw-page-widget" data-iw-root="{i}"></div>' for i in range(len(items)))
    return _PAGE.format(
        title=html.escape(title),
        roots=roots,
        payload=_inert_json(widget_payload(items, links)),
        bootstrap=_BOOTSTRAP,
    )


def save_html(
    widgets: InterpWidget | Sequence[InterpWidget],
    path: str | Path,
    *,
    title: str = "interp_widgets",
    links: Iterable[Link] = (),
) -> Path:
    """Writes :func:`to_html` to ``path`` (UTF-8) and returns the path."""
    path = Path(path)
    path.write_text(to_html(widgets, title=title, links=links), encoding="utf-8")
    return path
