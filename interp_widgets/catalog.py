"""Every method of the mission, its granularity levels and entry points; status is computed."""

from __future__ import annotations

import html
import importlib
from dataclasses import dataclass

LEVELS = {1: "embeddings", 2: "transformer blocks", 3: "attention", 4: "layer outputs",
          5: "final outputs"}
# what each level means, in the languages of the READMEs
LEVEL_MEANING = {
    "en": {1: "what enters the first block: token and position embeddings, positional schemes",
           2: "what a whole block does to the residual stream: attention plus MLP, norms, replacements "
              "of MLPs by sparse features",
           3: "who attends to whom, how much each head moves, and what the weights hide",
           4: "the hidden states after each layer: read out, patched, compared, searched",
           5: "the predictions: which inputs they come from, and statistics of whole models"},
    "ja": {1: "最初のブロックに入るもの：トークン埋め込み・位置埋め込みと位置符号化の方式",
           2: "ブロック全体が残差ストリームに与える作用：アテンションと MLP、正規化、MLP の疎な特徴への置き換え",
           3: "どのトークンがどのトークンに注意を向けるか、各ヘッドが何をどれだけ運ぶか",
           4: "各層の後の隠れ状態：読み出し、パッチング、比較、検索",
           5: "予測そのもの：どの入力に由来するか、モデル全体の統計"},
}
LEVEL_NAME_JA = {1: "埋め込み", 2: "Transformer ブロック", 3: "アテンション", 4: "層の出力（隠れ状態）",
                 5: "最終出力"}
STATUS_JA = {"implemented": "実装済み", "partial": "一部実装", "not implemented": "未実装"}


@dataclass(frozen=True)
class Method:
    work: str
    levels: tuple[int, ...]
    entry_points: tuple[str, ...]  # relative to the interp_widgets package
    paper: str = ""                # where the method comes from
    equation: str = ""             # its core equation, in plain text


METHODS: tuple[Method, ...] = (
    Method("Model map via log-likelihood vectors (Oyama et al. 2025)", (5,),
           ("outputs.loglik_matrix", "outputs.model_map"),
           paper=('Oyama, Yamagiwa, Takase, Shimodaira, Mapping 1,000+ language models via the log-likelihood '
                  'vector, ACL 2025 (arXiv 2502.16173)'),
           equation='Q = (I − 11ᵀ/K) L (I − 11ᵀ/N);  KL(p_i‖p_j) ≈ ‖q_i − q_j‖² / (2N)'),
    Method("Whose opinions do LMs reflect? (Santurkar et al. 2023)", (5,),
           ("outputs.opinion_distributions", "outputs.representativeness"),
           paper='Santurkar et al., Whose opinions do language models reflect?, ICML 2023 (arXiv 2303.17548)',
           equation='R(model, group) = 1 − mean_q W1(D_model, D_group) / (max − min ordinal)'),
    Method("Political leaning probes (Feng et al. 2023)", (5,), ("outputs.political_compass",),
           paper=('Feng, Park, Liu, Tsvetkov, From pretraining data to language models to downstream tasks, ACL '
                  '2023 (arXiv 2305.08283)'),
           equation='econ = 0.38 + Σ_i w_econ[i][a_i] / 8.0;  soc = 2.41 + Σ_i w_soc[i][a_i] / 19.5'),
    Method("Survey batteries (Hartmann et al. 2023; Rozado 2024)", (5,), ("outputs.run_battery",),
           paper=('Hartmann, Schwenzow, Witte, arXiv 2301.01768 (2023); Rozado, The political preferences of LLMs, '
                  'PLOS ONE 2024'),
           equation=('consistency = agreement(s) = disagreement(¬s);  order invariance: answer(options) = '
                     'answer(reversed options)')),
    Method("Absolute sinusoidal positional encoding", (1, 3), ("positional.Sinusoidal",),
           paper='Vaswani et al., Attention is all you need, NeurIPS 2017 (arXiv 1706.03762)',
           equation='PE(p, 2i) = sin(p ω_i), PE(p, 2i+1) = cos(p ω_i), ω_i = 10000^(−2i/d)'),
    Method("Learned positional embedding", (1, 3), ("positional.Learned",),
           paper='Radford et al. 2019 (GPT-2); Devlin et al. 2019 (BERT, arXiv 1810.04805)',
           equation='h_0(p) = W_E[x_p] + W_pos[p]'),
    Method("Relative position representations (Shaw et al. 2018)", (1, 3), ("positional.ShawRelative",),
           paper=('Shaw, Uszkoreit, Vaswani, Self-attention with relative position representations, NAACL 2018 '
                  '(arXiv 1803.02155)'),
           equation='e_ij = x_i W_Q (x_j W_K + a^K_clip(j−i, k))ᵀ / √d'),
    Method("Transformer-XL relative encoding", (1, 3, 4), ("positional.TransformerXLRelative",),
           paper='Dai et al., Transformer-XL, ACL 2019 (arXiv 1901.02860)',
           equation='A_ij = q_iᵀk_j + q_iᵀW_R R_{i−j} + uᵀk_j + vᵀW_R R_{i−j}'),
    Method("ALiBi", (3,), ("positional.ALiBi",),
           paper='Press, Smith, Lewis, Train short, test long, ICLR 2022 (arXiv 2108.12409)',
           equation='score_ij = q_i·k_j + m_h (j − i),  m_h = 2^(−8h/n)'),
    Method("RoPE", (1, 3), ("positional.RoPE",),
           paper='Su et al., RoFormer, arXiv 2104.09864 (2021)',
           equation='(R_m q)·(R_n k) = qᵀ R_{n−m} k,  θ_i = 10000^(−2i/d)'),
    Method("xPos", (1, 3), ("positional.XPos",),
           paper='Sun et al., A length-extrapolatable transformer, ACL 2023 (arXiv 2212.10554)',
           equation='q_n ζ^(n/B), k_m ζ^(−m/B),  ζ_i = (2i/d + γ)/(1 + γ)'),
    Method("YaRN", (1, 3), ("positional.YaRN",),
           paper='Peng et al., YaRN: efficient context window extension, ICLR 2024 (arXiv 2309.00071)',
           equation='h(θ_d) = (1 − γ(r_d)) θ_d / s + γ(r_d) θ_d;  √(1/t) = 0.1 ln s + 1'),
    Method("PoSE", (1, 3), ("positional.PoSE", "positional.pose_finetune"),
           paper=('Zhu et al., PoSE: efficient context window extension via positional skip-wise training, ICLR '
                  '2024 (arXiv 2309.10400)'),
           equation='chunk i: positions st_i + u_i … st_i + l_i − 1 + u_i,  u_i ~ U{u_(i−1), …, L_t − L_c}'),
    Method("Positional-encoding analyses: similarity, distance decay, ALiBi, YaRN ramp, PoSE coverage, "
           "Transformer-XL terms", (1, 3), ("positional.similarity", "positional.distance_profile",
                                            "positional.alibi_bias", "positional.yarn_ramp",
                                            "positional.pose_coverage", "positional.xl_terms"),
           paper='the papers of each scheme above',
           equation='S(p, q) = cos(PE(p), PE(q));  decay(r) = (1/(d/2)) Σ_j |Σ_{k<j} e^{i r θ_k}|'),
    Method("Positional scheme of a loaded model (learned tables, rotary settings)", (1, 3),
           ("positional.inspect",),
           paper="read from the model's configuration and weights",
           equation='rotary θ_i = base^(−2i/d_rot), d_rot = rotary fraction · d_head'),
    Method("RoPE length extrapolation: none / linear / NTK / YaRN scaling", (3, 5), ("positional.extrapolation",),
           paper='Chen et al. 2023 (linear, arXiv 2306.15595); bloc97 2023 (NTK-aware); Peng et al. 2024 (YaRN)',
           equation='linear: m → m/s;  NTK: base → base · s^(d/(d−2));  YaRN: see YaRN'),
    Method("Massive values in self-attention (Jin et al. 2025)", (3, 4), ("attention.massive_values",),
           paper=('Jin et al., Massive values in self-attention modules are the key to contextual knowledge '
                  'understanding, ICML 2025 (arXiv 2502.01563)'),
           equation='M[h, d] = ‖Q[:, h, d]‖₂;  massive if M[h, d] > λ · mean_d M[h, ·]'),
    Method("Attention is not only a weight (Kobayashi et al. 2020, 2021)", (3,), ("attention.norms",),
           paper='Kobayashi et al., EMNLP 2020 (arXiv 2004.10102) and EMNLP 2021 (arXiv 2109.07152)',
           equation='y_i = Σ_j α_ij f(x_j) + b_O,  f(x) = (x W_V + b_V) W_O;  report ‖α_ij f(x_j)‖'),
    Method("Redistribution of token-wise relevance (Sawaki & Murata 2025)", (1, 2, 3, 4, 5),
           ("attribution.token_relevance",),
           paper="Sawaki & Murata, JSAI 2025 (formulation documented in the method's docstring)",
           equation='R_{i←j} = Σ_d α_ij (x_j W_V W_O)_d / (y_{i,d} + ε) · R_{i,d}'),
    Method("Integrated gradients, gradient x input", (1, 2, 4, 5),
           ("attribution.integrated_gradients", "attribution.gradient_x_input"),
           paper='Sundararajan, Taly, Yan, Axiomatic attribution for deep networks, ICML 2017 (arXiv 1703.01365)',
           equation='IG_i = (x_i − x′_i) ∫₀¹ ∂F(x′ + α(x − x′))/∂x_i dα;  Σ_i IG_i = F(x) − F(x′)'),
    Method("Discretized integrated gradients (DIG)", (1, 2, 4, 5), ("attribution.dig",),
           paper=('Sanyal & Ren, Discretized integrated gradients for explaining language models, EMNLP 2021 '
                  '(arXiv 2108.13654)'),
           equation='DIG_i = Σ_k ∂F(x^k)/∂x_i · (x^{k+1}_i − x^k_i) over a monotone path through word embeddings'),
    Method("Uniform discretized integrated gradients (UDIG)", (1, 2, 4, 5), ("attribution.udig",),
           paper='Kundu & Sinha Roy, Uniform discretized integrated gradients, 2024',
           equation="anchors: nearest words to m equally spaced points of the straight line, then DIG's sum"),
    Method("Sequential integrated gradients (SIG)", (1, 2, 4, 5), ("attribution.sig",),
           paper='Enguehard, Sequential integrated gradients, ACL Findings 2023 (arXiv 2305.15853)',
           equation='SIG_ij: IG of word i with baseline x̄^i (only word i replaced);  Σ_j SIG_ij = F(x) − F(x̄^i)'),
    Method("AttnLRP (Achtibat et al. 2024)", (1, 2, 3, 4, 5), ("attribution.attnlrp", "attribution.cp_lrp"),
           paper=('Achtibat et al., AttnLRP: attention-aware layer-wise relevance propagation for transformers, '
                  'ICML 2024 (arXiv 2402.05602)'),
           equation='softmax: R_in = x ⊙ (R_out − s Σ R_out);  relevance = x ⊙ ∂y/∂x with overridden gradients'),
    Method("Attention rollout and flow (Abnar & Zuidema 2020)", (3, 4),
           ("attention.rollout", "attention.flow"),
           paper='Abnar & Zuidema, Quantifying attention flow in transformers, ACL 2020 (arXiv 2005.00928)',
           equation=('Ã_l = norm(mean_h A_l + I);  rollout J_l = Ã_l J_(l−1);  flow = max-flow over the layered '
                     'graph')),
    Method("Circuit tracing: transcoders and attribution graphs (Ameisen et al. 2025)", (1, 2, 3, 4, 5),
           ("circuits.train_transcoder", "circuits.attribution_graph"),
           paper=('Ameisen et al., Circuit tracing: revealing computational graphs in language models, Transformer '
                  'Circuits 2025'),
           equation='ŷ^ℓ = Σ_(ℓ′≤ℓ) W_dec^(ℓ′→ℓ) a^ℓ′ + b_dec^ℓ;  A_(s→t) = a_s · (d_s · J_frozen · e_t)'),
    Method("Brain alignment of layer activations (Raugel et al. 2025)", (2, 4), ("hidden.brain_alignment",),
           paper="Raugel, d'Ascoli, Rapin, Wyart, King, arXiv 2512.01591 (2025)",
           equation=('r(layer, lag) = corr(ridge(X_layer) → Y(lag)) on held-out folds;  temporal score = '
                     'corr(depth, peak lag)')),
    Method("What does BERT look at? (Clark et al. 2019)", (3,), ("attention.head_stats",),
           paper='Clark, Khandelwal, Levy, Manning, What does BERT look at?, BlackboxNLP 2019 (arXiv 1906.04341)',
           equation='H(head) = −Σ_j a_ij log a_ij;  distance = mean JS(A_h1, A_h2)'),
    Method("Transformer interpretability beyond attention (Chefer et al. 2021)", (1, 2, 3, 4, 5),
           ("attribution.chefer",),
           paper='Chefer, Gur, Wolf, CVPR 2021 (arXiv 2012.09838) and ICCV 2021 (arXiv 2103.15679)',
           equation='Ā_b = E_h[(∇A_b ⊙ R_b)⁺];  R = Π_b (I + Ā_b), later layers on the left'),
    Method("Perturbation faithfulness: MoRF/LeRF curves, log-odds, comprehensiveness, sufficiency",
           (1, 5), ("attribution.faithfulness",),
           paper='DeYoung et al., ERASER, ACL 2020 (arXiv 1911.03429); Samek et al. 2017 (MoRF/LeRF)',
           equation='comprehensiveness = p(y|x) − p(y|x \\ top-k);  sufficiency = p(y|x) − p(y|top-k)'),
    Method("Attribution of every generated token, and methods compared side by side", (1, 5),
           ("attribution.generation_attribution", "attribution.compare"),
           paper="any attribution method above, applied per generation step (as inseq does)",
           equation="row t: attribution of the logit of token y_t over the prefix (prompt, y_1 … y_(t−1))"),
    Method("Attention flows across fine-tuning (DeRose et al. 2020)", (3, 4), ("attention.compare_flows",),
           paper='DeRose, Wang, Berger, Attention flows, IEEE VIS 2020 (arXiv 2009.07053)',
           equation=('paths traced back from the output token with attention ≥ τ; shared vs exclusive paths of two '
                     'models')),
    Method("bertviz views: head, model, neuron", (3,), ("attention.patterns",),
           paper=('Vig, A multiscale visualization of attention in the transformer model, ACL 2019 demos (arXiv '
                  '1906.05714)'),
           equation='A^(l,h) = softmax(Q Kᵀ / √d_head)'),
    Method("ecco: generation, logit lens, neuron factors, CKA", (4, 5),
           ("hidden.generate", "hidden.logit_lens", "hidden.neuron_factors", "hidden.cka"),
           paper=('Alammar, Ecco, ACL 2021 demos; nostalgebraist 2020 (logit lens); Kornblith et al., ICML 2019 '
                  '(CKA, arXiv 1905.00414)'),
           equation='lens_ℓ = softmax(W_U norm(h_ℓ));  CKA(X, Y) = ‖YᵀX‖²_F / (‖XᵀX‖_F ‖YᵀY‖_F)'),
    Method("TransformerLens: hook points, activation cache, patching", (1, 2, 3, 4, 5),
           ("Model.run", "Model.patch", "Model.freeze", "hidden.activation_patching",
            "hidden.direct_logit_attribution"),
           paper='Nanda & Bloom, TransformerLens (2022); Meng et al. 2022 and Wang et al. 2023 (activation patching)',
           equation='patching effect = metric(run with clean activation at c) − metric(corrupted run)'),
    Method("exBERT: representations and corpus nearest neighbours", (1, 4), ("hidden.NeighborIndex",),
           paper='Hoover, Strobelt, Gehrmann, exBERT, ACL 2020 demos (arXiv 1910.05276)',
           equation='neighbours(t) = top-k_c cos(h_ℓ(t), h_ℓ(c)) over the indexed corpus'),
    Method("HEMERA: layer-wise attribution of predictions (Mahbub et al. 2025)", (1, 2, 4, 5),
           ("attribution.layer_integrated_gradients",),
           paper='Mahbub et al., HEMERA, arXiv 2510.07477 (2025)',
           equation='LIG_ℓ,i = (h_ℓ,i − h′_ℓ,i) ∫₀¹ ∂F/∂h_ℓ,i dα;  Σ_i LIG_ℓ,i = F(h_ℓ) − F(h′_ℓ) for every layer ℓ'),
)


def _resolves(entry_point: str) -> bool:
    """Whether ``interp_widgets.<entry_point>`` exists and is callable."""
    obj = importlib.import_module("interp_widgets")
    for part in entry_point.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return False
    return callable(obj)


def _status(method: Method) -> str:
    found = [_resolves(e) for e in method.entry_points]
    return "implemented" if all(found) else "partial" if any(found) else "not implemented"


class Catalog(list):
    """Rows ``{work, levels, entry_points, status}``; prints as a table, renders as HTML."""

    def __repr__(self) -> str:
        lines = [f"{'status':<16} {'levels':<10} work -> entry points"]
        for r in self:
            lines.append(f"{r['status']:<16} {','.join(map(str, r['levels'])):<10} {r['work']} -> "
                         + ", ".join(f"iw.{e}" for e in r["entry_points"]))
        done = sum(r["status"] == "implemented" for r in self)
        lines.append(f"{done} of {len(self)} implemented")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<tr><th>work</th><th>levels</th><th>entry points</th><th>status</th></tr>"
        body = "".join(
            f"<tr><td>{html.escape(r['work'])}</td>"
            f"<td>{html.escape(', '.join(LEVELS[v] for v in r['levels']))}</td>"
            f"<td><code>{html.escape(', '.join('iw.' + e for e in r['entry_points']))}</code></td>"
            f"<td>{r['status']}</td></tr>" for r in self)
        return f"<table>{head}{body}</table>"


def catalog(level: int | None = None, status: str | None = None) -> Catalog:
    """Every method of the mission; filter by granularity ``level`` (1-5) or ``status``
    (``"implemented"``, ``"partial"``, ``"not implemented"``)."""
    if level is not None and level not in LEVELS:
        raise ValueError(f"level must be one of {sorted(LEVELS)} ({', '.join(LEVELS.values())})")
    rows = [{"work": m.work, "levels": m.levels, "entry_points": m.entry_points, "status": _status(m)}
            for m in METHODS if level is None or level in m.levels]
    return Catalog(r for r in rows if status is None or r["status"] == status)


def markdown(lang: str = "en") -> str:
    """The README section "levels and methods" (``lang`` "en" or "ja"), generated from the catalogue."""
    if lang not in LEVEL_MEANING:
        raise ValueError(f"lang must be one of {sorted(LEVEL_MEANING)}")
    rows = catalog()
    out = []
    for level, name in LEVELS.items():
        title = name.capitalize() if lang == "en" else LEVEL_NAME_JA[level]
        out += [f"**{level}. {title}** — {LEVEL_MEANING[lang][level]}", ""]
        for r in rows:
            if level in r["levels"]:
                status = "" if r["status"] == "implemented" else (
                    f" ({r['status']})" if lang == "en" else f"（{STATUS_JA[r['status']]}）")
                entries = ", ".join(f"`iw.{e}`" for e in r["entry_points"])
                out.append(f"- {r['work']}: {entries}{status}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"
