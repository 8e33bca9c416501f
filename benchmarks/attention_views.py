"""Attention views against bertviz: bytes sent to the browser and time to first paint.

Same model (GPT-2-small-shaped, 12 layers x 12 heads, random weights, d_head 8, with the shipped
tiny-gpt2 tokenizer; ``--quick``: a 2-layer toy) and the same text (the first n tokens of the
shipped held-out sample), at 256, 512 and 1,024 tokens.

- bertviz: ``head_view(attentions, tokens, html_action="return")`` with the model's
  ``output_attentions``; the bytes are its HTML (the attention of every layer and head as JSON
  inside a script, plus its JavaScript), without the three libraries it loads from a CDN
  (require.js 2.3.6, d3 5.7.0, jQuery 2.0.0).
- ours, static page: ``save_html(patterns(model, ids).show())``, the whole page (view code,
  state, embedded slices).
- ours, live widget: what a kernel sends before the head view's first paint: the widget state
  (JSON) and its binary buffers, plus the reply to the first slice request (``edges:0``).

First paint: Chromium (``/usr/bin/chromium``, headless, via Playwright) opens the page from a
file; the time is ``performance.now()`` (milliseconds since navigation started) at the first
animation frame where the head view has drawn: our canvas carries its edge count, bertviz's
SVG holds its lines. bertviz's CDN requests are answered from local copies of the libraries
(``BERTVIZ_JS``, default ``/tmp/bertviz-js``: ``require.js``, ``d3.min.js``, ``jquery.min.js``);
without them its paint is skipped with the reason. A page that has not painted after
:data:`PAINT_TIMEOUT_S` seconds is reported as such.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch

CHROMIUM = os.environ.get("IW_CHROMIUM", "/usr/bin/chromium")
BERTVIZ_JS = Path(os.environ.get("BERTVIZ_JS", "/tmp/bertviz-js"))
CDN = {"require.min.js": "require.js", "d3.min.js": "d3.min.js", "jquery.min.js": "jquery.min.js"}
PAINT_TIMEOUT_S = 120
MAX_BERTVIZ_WEIGHTS = 40_000_000  # layers x heads x T^2 above which bertviz's page is not built (>1 GB)
TARGET_BYTES = 1 / 20  # ours / bertviz
TARGET_PAINT_MS = 1000  # at 1,024 tokens
BERTVIZ = "bertviz head_view"

OURS_PAINTED = "(() => { const c = document.querySelector('.iw-head-canvas'); " \
               "return c && c.dataset.edges !== undefined ? performance.now() : 0; })()"
BERTVIZ_PAINTED = "(() => document.querySelector('#attention line') ? performance.now() : 0)()"


@dataclass
class Line:
    case: str
    name: str
    page_bytes: int | None = None
    live_bytes: int | None = None
    paint_ms: float | None = None
    note: str = ""


@dataclass
class BytesTable:
    """Bytes and first paint per contender; ratios against bertviz's page of the same case."""

    title: str
    lines: list[Line] = field(default_factory=list)

    def format(self) -> str:
        head = (f"{'case':<12} {'contender':<18} {'page bytes':>13} {'page/bv':>7} {'live bytes':>11} "
                f"{'live/bv':>7} {'first paint':>11}  note")
        out = [self.title, head, "-" * len(head)]
        base = {l.case: l.page_bytes for l in self.lines if l.name == BERTVIZ and l.page_bytes}
        fmt = lambda b: f"{b:,}" if b is not None else "-"  # noqa: E731
        ratio = lambda l, b: f"{b / base[l.case]:.4f}" if b and base.get(l.case) and l.name != BERTVIZ else ""  # noqa: E731
        for l in self.lines:
            paint = f"{l.paint_ms:,.0f} ms" if l.paint_ms is not None else "-"
            out.append(f"{l.case:<12} {l.name:<18} {fmt(l.page_bytes):>13} {ratio(l, l.page_bytes):>7} "
                       f"{fmt(l.live_bytes):>11} {ratio(l, l.live_bytes):>7} {paint:>11}  {l.note}".rstrip())
        return "\n".join(out)


def _model(quick: bool):
    """A random GPT-2-small-shaped model with the shipped tiny-gpt2 tokenizer, and the text's ids."""
    import transformers

    import interp_widgets as iw

    tokenizer = iw.load("tiny-gpt2").tokenizer
    text = (Path(iw.__file__).parent / "shipped" / "heldout_sample.txt").read_text(encoding="utf-8")
    torch.manual_seed(0)
    size = dict(n_layer=2, n_head=4, n_embd=32) if quick else dict(n_layer=12, n_head=12, n_embd=96)
    config = transformers.GPT2Config(n_positions=1024, vocab_size=len(tokenizer), bos_token_id=0,
                                     eos_token_id=0, **size)
    config._attn_implementation = "eager"
    hf = transformers.GPT2LMHeadModel(config).eval()
    return hf, iw.wrap(hf, tokenizer, name="gpt2-small-shape"), tokenizer(text)["input_ids"]


def _paint_ms(browser, path: Path, painted: str, cdn: dict[str, bytes] | None = None) -> tuple[float | None, str]:
    page = browser.new_page(viewport={"width": 1000, "height": 700})
    try:
        def route(r):
            name = r.request.url.rsplit("/", 1)[-1]
            if r.request.url.startswith("file:"):
                r.continue_()
            elif cdn is not None and name in cdn:
                r.fulfill(status=200, content_type="text/javascript", body=cdn[name])
            else:
                r.abort()
        page.route("**/*", route)
        page.goto(path.as_uri(), wait_until="commit", timeout=PAINT_TIMEOUT_S * 1000)
        handle = page.wait_for_function(painted, polling="raf", timeout=PAINT_TIMEOUT_S * 1000)
        return float(handle.json_value()), ""
    except Exception as exc:  # a timeout or a crashed tab is the measurement here
        return None, f"no paint: {type(exc).__name__}: {str(exc).splitlines()[0][:80]}"
    finally:
        page.close()


def _ours(model, ids: list[int], folder: Path) -> tuple[int, int, Path, list[str]]:
    from ipywidgets.widgets.widget import _remove_buffers

    from interp_widgets.analysis.attention.patterns import patterns
    from interp_widgets.widgets import save_html
    from interp_widgets.widgets import attention_slices as slices

    view = patterns(model, ids).show()
    state, _, buffers = _remove_buffers(view.get_state())
    meta, data = slices.encode(view.slice(f"edges:{view.layer}"))
    live = (len(json.dumps(state).encode()) + sum(len(b) for b in buffers)
            + len(json.dumps(meta).encode()) + sum(len(b) for b in data))
    path = save_html(view, folder / "ours.html")
    return path.stat().st_size, live, path, list(view.tokens)


def _bertviz(hf, tokens: list[str], ids: list[int], folder: Path) -> Path:
    from bertviz import head_view

    with torch.no_grad():
        attentions = hf(torch.tensor([ids]), output_attentions=True, use_cache=False).attentions
    html = head_view(list(attentions), tokens, html_action="return").data
    path = folder / "bertviz.html"
    path.write_text(f"<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>{html}</body></html>",
                    encoding="utf-8")
    return path


def _cdn() -> tuple[dict[str, bytes] | None, str]:
    missing = [f for f in CDN.values() if not (BERTVIZ_JS / f).exists()]
    if missing:
        return None, f"{', '.join(missing)} not in {BERTVIZ_JS} (see benchmarks/README.md)"
    return {url: (BERTVIZ_JS / f).read_bytes() for url, f in CDN.items()}, ""


def run(quick: bool = False, reps: int | None = None,
        select: Callable[[str], bool] = lambda case: True) -> Iterator[BytesTable]:
    """One table per selected case ("<layers>x<heads>/<tokens>"); ``reps`` is unused (one load)."""
    hf, model, text_ids = _model(quick)
    L, H = hf.config.n_layer, hf.config.n_head
    sizes = [32] if quick else [256, 512, 1024]
    try:
        import bertviz  # noqa: F401
        bertviz_missing = ""
    except ImportError as exc:
        bertviz_missing = f"bertviz is not installed ({exc})"
    cdn, cdn_missing = _cdn()
    for n in sizes:
        case = f"{L}x{H}/{n}"
        if not select(case):
            continue
        ids = text_ids[:n]
        table = BytesTable(f"attention views: bytes to the browser and first paint ({L} layers x {H} heads, "
                           f"{n} tokens)")
        browser_cm, browser, no_browser = None, None, "paint not measured in --quick"
        try:
            if quick:
                raise RuntimeError(no_browser)
            from playwright.sync_api import sync_playwright

            browser_cm = sync_playwright().start()
            browser = browser_cm.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:
            if not quick:
                no_browser = f"no browser ({type(exc).__name__}: {exc})"
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            start = time.perf_counter()
            page_bytes, live_bytes, ours_page, tokens = _ours(model, ids, folder)
            ours = Line(case, "iw AttentionView", page_bytes, live_bytes,
                        note=f"built in {time.perf_counter() - start:.1f} s")
            if browser is not None:
                ours.paint_ms, why = _paint_ms(browser, ours_page, OURS_PAINTED)
                ours.note += f"; {why}" if why else ""
            else:
                ours.note += f"; {no_browser}"
            if n == 1024 and ours.paint_ms is not None and not quick:
                ours.note += "; paint target <=1000 ms " + ("ok" if ours.paint_ms <= TARGET_PAINT_MS else "OVER")
            theirs = Line(case, BERTVIZ)
            if bertviz_missing:
                theirs.note = f"skipped: {bertviz_missing}"
            elif L * H * n * n > MAX_BERTVIZ_WEIGHTS:
                theirs.note = (f"not built: {L * H * n * n:,} weights as JSON text (over {MAX_BERTVIZ_WEIGHTS:,}; "
                               "several GB of memory)")
            else:
                start = time.perf_counter()
                path = _bertviz(hf, tokens, ids, folder)
                theirs.page_bytes = path.stat().st_size
                theirs.note = f"built in {time.perf_counter() - start:.1f} s"
                if browser is None:
                    theirs.note += f"; {no_browser}"
                elif cdn is None:
                    theirs.note += f"; paint skipped: {cdn_missing}"
                else:
                    theirs.paint_ms, why = _paint_ms(browser, path, BERTVIZ_PAINTED, cdn)
                    theirs.note += f"; {why}" if why else ""
            if theirs.page_bytes:
                size = max(ours.page_bytes, ours.live_bytes)
                ours.note += "" if quick else (f"; bytes target <=1/20 of bertviz "
                              f"{'ok' if size <= TARGET_BYTES * theirs.page_bytes else 'OVER'}")
        if browser_cm is not None:
            browser_cm.stop()
        table.lines = [theirs, ours]
        yield table


if __name__ == "__main__":
    import sys

    for t in run(quick="--quick" in sys.argv):
        print(t.format())
