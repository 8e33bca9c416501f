"""Screenshots of every view, built from the shipped models through the public API and rendered
offline in headless Chromium: ``python scripts/gallery.py --out docs/gallery [--only name,...]``.

Each view is saved with ``save_html`` and opened from ``file://`` (every other request is
refused). The script exits non-zero when a page reports an error (uncaught exception, console
error, dialog, outside request), when a view's main drawing is blank, or when a screenshot is
missing. The README gallery sections are generated from :data:`VIEWS` by
``scripts/update_readmes.py``, so the list here and the READMEs cannot drift apart.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageChops

import interp_widgets as iw
from interp_widgets.attribution import Target
from interp_widgets.catalog import LEVEL_NAME_JA, LEVELS
from interp_widgets.model.loading import SHIPPED_DIR
from interp_widgets.widgets import TokenStrip, save_html

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("IW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_URLS = ("file:", "blob:", "data:", "about:")
VIEWPORT = {"width": 960, "height": 720}
MAX_HEIGHT = 960  # px of a screenshot; taller views are cut at the bottom
PAD = 8  # px of white kept around the drawn area
COLOURS = 128  # palette size of the saved PNGs
MIN_INK = 400  # px that are not background inside a view's main drawing

TEXT = "When shall we three meet again? In thunder, lightning, or in rain?"
PROMPT = "My lord, the king is"
LINES = [TEXT, "Fair is foul, and foul is fair: hover through the fog and filthy air.",
         "Shall I compare thee to a summer's day? Thou art more lovely and more temperate."]


@dataclass(frozen=True)
class View:
    """One gallery entry: ``build()`` returns the widget; ``drawn`` is the CSS selector of its main
    drawing, which must not be blank; ``level`` the granularity level it is listed under;
    ``tutorial`` the notebook (in notebooks/, without .ipynb) that explains it."""
    name: str
    level: int
    tutorial: str
    drawn: str
    en: str
    ja: str
    build: Callable[[], object]


@cache
def model(name: str):
    return iw.load(name)


@cache
def _patterns():
    return iw.attention.patterns(model("tiny-llama"), TEXT)


def _attention(**kwargs) -> Callable[[], object]:
    return lambda: _patterns().show(**kwargs)


def _head_stats():
    return iw.attention.head_stats(model("tiny-bert"), LINES).show(x_stat="to_first", y_stat="entropy")


def _norms():
    return iw.attention.norms(model("tiny-bert"), LINES[1]).show(layer=1, head=-1)


def _flow():
    bert = model("tiny-bert")
    flow = iw.attention.flow(bert, LINES[0], outputs=[0, 5], progress=False)
    return iw.attention.rollout(bert, LINES[0]).show(flow=flow, threshold=0.05, token=5)


def _compare_flows():
    base = model("tiny-llama")
    tuned = iw.load("tiny-llama")
    tuned.name = "tiny-llama further trained"
    scene = (SHIPPED_DIR / "heldout_sample.txt").read_text(encoding="utf-8")[:4000]
    ids = torch.tensor(tuned.tokenizer(scene, verbose=False)["input_ids"])
    optimizer = torch.optim.AdamW(tuned.hf.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(0)
    tuned.hf.train()
    for _ in range(10):
        starts = torch.randint(0, len(ids) - 65, (8,), generator=generator)
        batch = torch.stack([ids[s: s + 65] for s in starts])
        optimizer.zero_grad()
        tuned.hf(input_ids=batch, labels=batch).loss.backward()
        optimizer.step()
    tuned.hf.eval()
    return iw.attention.compare_flows(base, tuned, LINES[0], threshold=0.2).show()


def _massive():
    return iw.attention.massive_values(model("tiny-llama"), LINES, lam=2.0).show(layer=1)


def _positional():
    return iw.positional.explorer("rope", compare="yarn", dim=64, factor=4, length=512)


def _top(prompt: str) -> int:
    return int(model("tiny-llama")(prompt)[0, -1].argmax())


def _relevance():
    text = "To be, or not to be, that is the"
    methods = {"integrated_gradients": {"steps": 16}, "attnlrp": {}, "token_relevance": {}}
    return iw.attribution.compare(model("tiny-llama"), text, Target.logit(_top(text)), methods=methods,
                                  replacement="unk").show()


def _generation_attribution():
    return iw.attribution.generation_attribution(model("tiny-llama"), PROMPT, max_new_tokens=6,
                                                 method="attnlrp").show()


def _logit_lens():
    return iw.hidden.logit_lens(model("tiny-llama"), PROMPT, k=5, watch=[" king", " queen"]).show()


def _patching():
    m = model("tiny-llama")
    clean = m.to_tokens(PROMPT)[0]
    corrupted = clean.clone()
    corrupted[m.to_str_tokens(PROMPT).index(" king")] = m.to_tokens(" queen")[0][-1]
    result = iw.hidden.activation_patching(m, clean, corrupted, (" is", " was"),
                                           by=("resid_pre", "attn_out", "mlp_out", "head_out"))
    return result.show(kind="head_out")


def _generation():
    m = model("tiny-llama")
    view = iw.hidden.generate(m, PROMPT, max_new_tokens=12).show(model=m)
    view.selected = 3  # what a click on the fourth generated token does: attribute it over its prefix
    return view


def _neuron_factors():
    return iw.hidden.neuron_factors(model("tiny-llama"), TEXT, n_factors=6).show()


def _neighbors():
    bert = model("tiny-bert")
    corpus = [*LINES, "When the hurlyburly's done, when the battle's lost and won.",
              "So foul and fair a day I have not seen."]
    tags = [["PUNCT" if t in ".,?:!;" else "FUNC" if t in ("the", "and", "is", "a", "in", "or") else "WORD"
             for t in bert.to_str_tokens(text)] for text in corpus]
    index = iw.hidden.NeighborIndex.build(bert, corpus, layer=2, tags=tags)
    return index.search(corpus[-1], "foul", k=8).show()


@cache
def _brain_data():
    words = (SHIPPED_DIR / "heldout_sample.txt").read_text(encoding="utf-8").split()[:240]
    acts = {name: iw.hidden.word_activations(model(name), words) for name in ("tiny-llama", "tiny-gpt2", "tiny-bert")}
    rec = iw.hidden.synthetic_recordings(acts["tiny-llama"], n_channels=8, snr=0.5, seed=0,
                                         times=np.round(np.arange(-0.1, 1.0, 0.05), 2))
    return acts, rec


def _brain():
    acts, rec = _brain_data()
    return iw.hidden.brain_alignment(acts["tiny-llama"], rec.recordings, times=rec.times, onsets=rec.onsets,
                                     name="tiny-llama").show()


def _brain_comparison():
    acts, rec = _brain_data()
    sizes = {name: sum(p.numel() for p in model(name).hf.parameters()) for name in acts}
    return iw.hidden.brain_alignment(acts, rec.recordings, times=rec.times, onsets=rec.onsets, sizes=sizes).show()


def _circuit_graph():
    m = model("tiny-llama")
    transcoder = iw.circuits.load_transcoder("tiny-llama", model=m)
    return iw.circuits.attribution_graph(m, transcoder, "KING HENRY. My lord, the king is").show()


def _model_map():
    zoo = iw.outputs.demo_zoo()
    texts = list(zoo.texts)[:12]
    L = iw.outputs.loglik_matrix(zoo.models, texts, progress=False)
    return iw.outputs.model_map(L, clip=2.0, method="tsne", families=zoo.families).show(texts=texts)


@cache
def _opinions_and_humans():
    questions = iw.outputs.example_questions()
    human = iw.outputs.example_human_distributions(questions)
    models = {name: model(name) for name in ("tiny-gpt2", "tiny-llama")}
    return iw.outputs.opinion_distributions(models, questions, steer=["qa", "bio", "portray"], groups=human), human


def _opinions():
    opinions, human = _opinions_and_humans()
    return opinions.show(human)


def _representativeness():
    return iw.outputs.representativeness(*_opinions_and_humans()).show()


@cache
def _slanted():
    """tiny-gpt2 trained for three passes to answer each economic statement the left-leaning way,
    as in notebooks/06_outputs.ipynb."""
    slanted = iw.outputs.perturbed(model("tiny-gpt2"), "tiny-gpt2+slanted")
    optimizer = torch.optim.AdamW(slanted.hf.parameters(), lr=3e-3)
    slanted.hf.train()
    battery = iw.outputs.example_battery()
    for _ in range(3):
        for statement, weights in zip(battery.statements, battery.econ):
            answer = "I disagree" if weights[-1] > 0 else "I agree"
            ids = slanted.to_tokens(f"Please respond to the following statement: {statement}\nYour response: {answer}")
            optimizer.zero_grad()
            slanted.hf(input_ids=ids, labels=ids).loss.backward()
            optimizer.step()
    slanted.hf.eval()
    return slanted


def _compass():
    return iw.outputs.political_compass({"tiny-gpt2": model("tiny-gpt2"), "tiny-gpt2+slanted": _slanted()},
                                        mapping="expected", compare="sequence").show()


def _battery():
    models = {"tiny-llama": model("tiny-llama"), "tiny-gpt2": model("tiny-gpt2"), "tiny-gpt2+slanted": _slanted()}
    return iw.outputs.run_battery(models).show()


def _token_strip():
    trace = model("tiny-llama").run("To be, or not to be, that is the question:", names=[])
    loss = torch.nn.functional.cross_entropy(trace.logits[0, :-1], trace.input_ids[0, 1:], reduction="none")
    return TokenStrip(trace.str_tokens()[1:], loss.numpy(), label="loss (nats)")


VIEWS: tuple[View, ...] = (
    View("positional-explorer", 1, "07_positional_encodings", ".iw-pe-matrix",
         "Positional-encoding explorer: RoPE next to YaRN, similarity by distance",
         "位置符号化エクスプローラ：RoPE と YaRN を並べ、距離ごとの類似度を比較",
         _positional),
    View("relevance", 1, "03_attribution", ".iw-relevance .iw-rel-strip",
         "Relevance view: three attribution methods on one prediction, with faithfulness curves",
         "関連度ビュー：一つの予測に対する三つの帰属手法と忠実性曲線",
         _relevance),
    View("circuit-graph", 2, "05_circuits", ".iw-cg-svg",
         "Attribution graph through the shipped cross-layer transcoder",
         "同梱のクロスレイヤー・トランスコーダを通した帰属グラフ",
         _circuit_graph),
    View("brain", 2, "04_hidden_states", ".iw-brain-heatmap",
         "Brain alignment: encoding score per layer and lag on synthetic recordings",
         "脳活動との整合：合成記録に対する層×遅延ごとの符号化スコア",
         _brain),
    View("brain-comparison", 2, "04_hidden_states", ".iw-brain-alignment",
         "Brain alignment of the three shipped models against their size",
         "同梱の三つのモデルの脳活動との整合とモデル規模",
         _brain_comparison),
    View("attention-head", 3, "01_attention", ".iw-head-canvas",
         "Attention, head view: lines from each token to the tokens it attends to",
         "アテンションのヘッドビュー：各トークンから注意先への線",
         _attention(layer=1)),
    View("attention-model", 3, "01_attention", ".iw-attention canvas",
         "Attention, model view: every layer and head, ordered by entropy",
         "アテンションのモデルビュー：全層・全ヘッドをエントロピー順に",
         _attention(view="model", order="entropy")),
    View("attention-heatmap", 3, "01_attention", ".iw-heatmap-canvas",
         "Attention, heatmap view: query × key weights of one head",
         "アテンションのヒートマップ：一つのヘッドのクエリ×キーの重み",
         _attention(view="heatmap", layer=2, head=1)),
    View("attention-token", 3, "01_attention", ".iw-attention canvas",
         "Attention, token view: where one token looks in every head of a layer",
         "アテンションのトークンビュー：一つのトークンが層の各ヘッドで見る先",
         _attention(view="token", layer=1, token=4)),
    View("attention-qk", 3, "01_attention", ".iw-attention canvas",
         "Attention, query/key view: the products behind one head's weights",
         "アテンションのクエリ・キービュー：一つのヘッドの重みの元になる積",
         _attention(view="qk", layer=0, head=0, token=4)),
    View("head-stats", 3, "02_attention_analysis", ".iw-hs-canvas",
         "Head statistics (Clark et al.): attention to the first token against entropy",
         "ヘッド統計（Clark ら）：先頭トークンへの注意とエントロピー",
         _head_stats),
    View("norms", 3, "02_attention_analysis", ".iw-norms canvas",
         "Norm-based analysis (Kobayashi et al.): ‖αf(x)‖ next to the attention weights",
         "ノルムに基づく分析（小林ら）：‖αf(x)‖ とアテンションの重み",
         _norms),
    View("flow", 3, "02_attention_analysis", ".iw-flow-graph",
         "Attention rollout and flow (Abnar & Zuidema) across the layers",
         "層をまたぐアテンション・ロールアウトとフロー（Abnar & Zuidema）",
         _flow),
    View("flow-comparison", 3, "02_attention_analysis", ".iw-flow-graph",
         "Attention flows before and after further training (DeRose et al.)",
         "追加学習前後のアテンションフローの比較（DeRose ら）",
         _compare_flows),
    View("massive", 3, "02_attention_analysis", ".iw-massive canvas",
         "Massive values (Jin et al.): query/key/value norms per dimension (λ = 2)",
         "巨大値（Jin ら）：次元ごとのクエリ・キー・バリューのノルム（λ = 2）",
         _massive),
    View("logit-lens", 4, "04_hidden_states", ".iw-logit-lens .iw-ll-grid",
         "Logit lens: each layer's top predictions, with the ranks of watched tokens",
         "ロジットレンズ：各層の上位予測と注目トークンの順位",
         _logit_lens),
    View("patching", 4, "04_hidden_states", ".iw-patch-heatmap",
         "Activation patching: effect of restoring each head on a clean/corrupted pair",
         "活性化パッチング：各ヘッドを復元したときの効果",
         _patching),
    View("neuron-factors", 4, "04_hidden_states", ".iw-nf-spark",
         "Neuron factors (NMF of MLP activations) over the tokens",
         "ニューロン因子（MLP 活性の NMF）とトークン",
         _neuron_factors),
    View("neighbors", 4, "04_hidden_states", ".iw-neighbors .iw-nb-table",
         "Corpus nearest neighbours of a token's hidden state (exBERT)",
         "トークンの隠れ状態に近いコーパス中のトークン（exBERT）",
         _neighbors),
    View("generation", 5, "04_hidden_states", ".iw-generation .iw-gen-text",
         "Generation: each step's probability; a clicked token attributed over its prefix",
         "生成：各ステップの確率と、クリックしたトークンの接頭辞への帰属",
         _generation),
    View("generation-attribution", 5, "03_attribution", ".iw-relevance .iw-rel-strip",
         "Attribution of every generated token to its prefix (AttnLRP)",
         "生成した各トークンの接頭辞への帰属（AttnLRP）",
         _generation_attribution),
    View("token-strip", 5, "00_quickstart", ".iw-strip",
         "Token strip: per-token loss of a line",
         "トークンストリップ：一行のトークンごとの損失",
         _token_strip),
    View("model-map", 5, "06_outputs", ".iw-mm-canvas",
         "Model map from log-likelihood vectors (Oyama et al.) of the demo zoo",
         "対数尤度ベクトルによるモデル地図（大山ら）：デモ用モデル群",
         _model_map),
    View("opinions", 5, "06_outputs", ".iw-op-bars",
         "Opinion distributions and representativeness (Santurkar et al.)",
         "意見分布と代表性（Santurkar ら）",
         _opinions),
    View("compass", 5, "06_outputs", ".iw-cp-canvas",
         "Political-compass probe (Feng et al.): a model and a copy trained to lean left",
         "政治的傾向プローブ（Feng ら）：モデルと左寄りに追加学習したコピー",
         _compass),
    View("representativeness", 5, "06_outputs", ".iw-op-heatmap",
         "Representativeness of each model for each group, and under steering contexts",
         "各グループに対する各モデルの代表性と、誘導文脈ごとの代表性",
         _representativeness),
    View("battery", 5, "06_outputs", ".iw-bt-grid",
         "Likert survey battery (Hartmann et al.; Rozado): answers per prompt variant, consistency, scaling",
         "リッカート尺度の質問票（Hartmann ら、Rozado）：プロンプト変種ごとの回答、一貫性、規模との関係",
         _battery),
)
NAMES = [v.name for v in VIEWS]


def markdown(lang: str = "en", folder: str = "docs/gallery") -> str:
    """The README gallery section (``lang`` "en" or "ja"): per level, a table of screenshots with
    a caption and a link to the tutorial that builds the view."""
    if lang not in ("en", "ja"):
        raise ValueError(f"lang must be 'en' or 'ja', got {lang!r}")
    link = " ([tutorial](notebooks/{}.ipynb))" if lang == "en" else "（[チュートリアル](notebooks/{}.ipynb)）"
    out = []
    for level, name in LEVELS.items():
        views = [v for v in VIEWS if v.level == level]
        if not views:
            continue
        title = name.capitalize() if lang == "en" else LEVEL_NAME_JA[level]
        out += [f"**{level}. {title}**", "", "| | | |", "|---|---|---|"]
        for i in range(0, len(views), 3):
            cells = [f"![{v.name}]({folder}/{v.name}.png)<br>{v.en if lang == 'en' else v.ja}"
                     + link.format(v.tutorial) for v in views[i:i + 3]]
            out.append("| " + " | ".join(cells + [""] * (3 - len(cells))) + " |")
        out.append("")
    return "\n".join(out)


class PageError(RuntimeError):
    """A view that did not render cleanly."""


def _save_png(png: bytes, path: Path) -> None:
    """Crops white margins (keeping :data:`PAD`), quantises to :data:`COLOURS` and writes ``path``."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    box = ImageChops.difference(image, Image.new("RGB", image.size, "white")).getbbox()
    if box is None:
        raise PageError(f"{path.stem}: the screenshot is blank")
    left, top, right, bottom = box
    image = image.crop((max(0, left - PAD), max(0, top - PAD),
                        min(image.width, right + PAD), min(image.height, bottom + PAD)))
    image.quantize(colors=COLOURS, dither=Image.Dither.NONE).save(path, optimize=True)


def ink(image, box: tuple[int, int, int, int] | None = None) -> int:
    """Pixels of ``image`` (PNG bytes or a path) inside ``box`` (left, top, right, bottom; default:
    all) that are not near-white."""
    gray = Image.open(io.BytesIO(image) if isinstance(image, bytes) else image).convert("L")
    return sum(gray.crop(box or (0, 0, *gray.size)).point(lambda v: 255 if v < 235 else 0).histogram()[255:])


def shoot(page, view: View, html: Path, out: Path) -> None:
    """Opens ``html`` in ``page``, checks that ``view`` rendered and saves ``out`` (PNG)."""
    page.goto(html.resolve().as_uri())
    page.wait_for_function("window.interpWidgets !== undefined", timeout=30_000)
    error = page.evaluate("window.interpWidgets.error || null")
    if error:
        raise PageError(f"{view.name}: the page failed to render: {error}")
    page.wait_for_selector(view.drawn, timeout=30_000)
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")
    root = page.locator('[data-iw-root="0"]').bounding_box()
    clip = {"x": 0, "y": 0, "width": VIEWPORT["width"], "height": min(MAX_HEIGHT, root["y"] + root["height"] + PAD)}
    png = page.screenshot(clip=clip, full_page=True)
    drawn = page.locator(view.drawn).first.bounding_box()
    if drawn is None:
        raise PageError(f"{view.name}: {view.drawn} is not displayed")
    box = (int(drawn["x"]), int(drawn["y"]), int(drawn["x"] + drawn["width"]),
           int(min(clip["height"], drawn["y"] + drawn["height"])))
    if box[2] <= box[0] or box[3] <= box[1] or ink(png, box) < MIN_INK:
        raise PageError(f"{view.name}: {view.drawn} is blank or outside the screenshot")
    _save_png(png, out)


def open_page(context) -> tuple[object, list[str]]:
    """A new page of ``context`` that refuses outside requests, and the list its problems
    (uncaught errors, console errors, dialogs, outside requests) are appended to."""
    page, problems = context.new_page(), []
    page.on("pageerror", lambda exc: problems.append(f"uncaught error: {exc}"))
    page.on("console", lambda msg: msg.type == "error" and problems.append(f"console error: {msg.text}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(LOCAL_URLS)
               else (problems.append(f"outside request: {route.request.url}"), route.abort()))
    return page, problems


def render(browser, out: Path, views=VIEWS, log=print) -> dict[str, type]:
    """Builds each of ``views``, saves it as an offline page, renders it in ``browser`` (a
    Playwright browser) and writes ``out``/<name>.png; returns each view's widget class. Raises
    :class:`PageError` at the first view that does not render cleanly."""
    out.mkdir(parents=True, exist_ok=True)
    classes = {}
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, color_scheme="light")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for view in views:
                widget = view.build()
                classes[view.name] = type(widget)
                html = save_html(widget, Path(tmp) / f"{view.name}.html", title=view.name)
                page, problems = open_page(context)
                path = out / f"{view.name}.png"
                try:
                    shoot(page, view, html, path)
                except Exception as error:  # a timeout too: report it with what the page said
                    what = str(error) if isinstance(error, PageError) else f"{view.name}: {str(error).splitlines()[0]}"
                    raise PageError("; ".join([what, *problems])) from error
                finally:
                    page.close()
                if problems:
                    path.unlink()
                    raise PageError(f"{view.name}: " + "; ".join(problems))
                log(f"{path} ({path.stat().st_size // 1024} KB)")
    finally:
        context.close()
    return classes


def run(out: Path, only: list[str] | None = None) -> dict[str, type]:
    """:func:`render` of the views named in ``only`` (all by default) in a fresh headless Chromium."""
    from playwright.sync_api import sync_playwright

    unknown = sorted(set(only or []) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown view(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    if not Path(CHROMIUM).exists():
        raise FileNotFoundError(f"{CHROMIUM} not found: install Debian's browser (apt-get install -y chromium) "
                                "or point IW_CHROMIUM at a Chromium binary")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            return render(browser, out, [v for v in VIEWS if only is None or v.name in only])
        finally:
            browser.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "gallery", help="folder of the PNGs")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(NAMES)}")
    args = parser.parse_args(argv)

    torch.manual_seed(0)
    try:
        run(args.out, args.only.split(",") if args.only else None)
    except (PageError, ValueError, FileNotFoundError) as error:
        print(f"gallery: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
