"""AttnLRP and CP-LRP as gradient overrides: relevance = activation ⊙ modified gradient, one
backward pass, with the rules installed only for the duration of the call.

Rules (Achtibat et al. 2024): linear layers ε-rule with ε → 0 (plain gradient x input; biases
absorb their share); LayerNorm/RMSNorm identity rule (the scale 1/σ is held constant);
elementwise activations identity rule (gradient φ(x)/x); products of two activations (gated
MLP, q·kᵀ, pattern·v) uniform rule (half to each factor); softmax: the AttnLRP rule
R_in = x ⊙ (R_out - s ΣR_out), which in gradient form is the softmax's own gradient. CP-LRP
instead holds the attention pattern constant, so relevance reaches tokens only through values.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

from ._forward import Runner
from .results import LayerAttribution
from .targets import Target, resolve_target

EPS = 1e-10
_ACTIVATIONS = ("gelu", "silu", "swish", "tanh", "relu", "sigmoid", "mish", "elu", "softplus")
_DIVIDED = {"attnlrp": {"hook_q": 2.0, "hook_k": 2.0, "hook_v": 2.0, "hook_pattern": 2.0},
            "cp_lrp": {}}


def _stable(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x + eps * torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def divide_gradient(x: torch.Tensor, factor: float) -> torch.Tensor:
    """Same value as ``x``; the gradient flowing back through it is divided by ``factor``."""
    d = x.detach()
    return d + (x - d) / factor


def identity_rule(x: torch.Tensor, y: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """Same value as ``y = φ(x)``; the gradient reaching ``x`` is g·φ(x)/x, so x ⊙ grad = R_y."""
    c = (y / _stable(x, eps)).detach()
    s = x * c
    return y.detach() + (s - s.detach())


def gated_rule(gate: torch.Tensor, up: torch.Tensor, a: torch.Tensor, y: torch.Tensor,
               eps: float = EPS) -> torch.Tensor:
    """Same value as ``y = a·up`` with ``a = φ(gate)``: half the relevance to each factor, the
    identity rule through φ."""
    c = (a / _stable(gate, eps)).detach()
    s1 = gate * c * up.detach()
    s2 = a.detach() * up
    return y.detach() + 0.5 * (s1 - s1.detach()) + 0.5 * (s2 - s2.detach())


def _is_activation(module: nn.Module) -> bool:
    cls = type(module)
    return (cls.__module__ in ("torch.nn.modules.activation", "transformers.activations")
            and any(k in cls.__name__.lower() for k in _ACTIVATIONS))


def norm_rule(module: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Same value as the norm's output ``y``; gradient as if 1/σ were a constant."""
    xf = x.float()
    if isinstance(module, nn.LayerNorm):
        xf = xf - xf.mean(-1, keepdim=True)
        sigma = (xf.pow(2).mean(-1, keepdim=True) + module.eps).sqrt()
    else:
        eps_ = getattr(module, "variance_epsilon", getattr(module, "eps", 1e-6))
        sigma = (xf.pow(2).mean(-1, keepdim=True) + eps_).sqrt()
    s = (xf / sigma.detach()).to(x.dtype)
    weight, bias = getattr(module, "weight", None), getattr(module, "bias", None)
    if weight is not None:
        s = s * weight
    if bias is not None:
        s = s + bias
    return y.detach() + (s - s.detach())


def _is_norm(module: nn.Module) -> bool:
    return isinstance(module, nn.LayerNorm) or type(module).__name__.endswith("RMSNorm")


@contextlib.contextmanager
def _module_rules(model, eps: float):
    """Module hooks, removed on exit: identity rule on every elementwise activation module and
    on heads applying a functional activation (``dense`` -> tanh -> ``out_proj``; ``dense`` ->
    gelu -> ``layer_norm`` -> ``decoder``), and the norm rule on norms outside the hook points
    (e.g. a masked-LM head's LayerNorm)."""
    from ..model.hooks import NormSite

    hooked_norms = {id(s.module) for s in model._registry.sites if isinstance(s, NormSite)}
    handles = []
    try:
        for module in model.hf.modules():
            if _is_norm(module) and id(module) not in hooked_norms:
                handles.append(module.register_forward_hook(
                    lambda m, args, out: norm_rule(m, args[0], out)))
            if _is_activation(module):
                handles.append(module.register_forward_hook(
                    lambda m, args, out: identity_rule(args[0], out, eps)))
            dense = getattr(module, "dense", None)
            out_proj = getattr(module, "out_proj", None)  # classification head: dense, tanh, out_proj
            if out_proj is None and isinstance(getattr(module, "decoder", None), nn.Linear):
                out_proj = getattr(module, "layer_norm", None)  # LM head: dense, gelu, layer_norm
            if isinstance(dense, nn.Linear) and isinstance(out_proj, (nn.Linear, nn.LayerNorm)):
                seen = {}
                handles.append(dense.register_forward_hook(
                    lambda m, args, out, seen=seen: seen.__setitem__("x", out)))
                handles.append(out_proj.register_forward_pre_hook(
                    lambda m, args, seen=seen: (identity_rule(seen["x"], args[0], eps), *args[1:])
                    if "x" in seen and seen["x"].shape == args[0].shape else None))
        yield
    finally:
        for h in handles:
            h.remove()


def _registry_rules(model, variant: str, eps: float) -> dict:
    """Hook-name rules: norms' scale constant, embeddings as leaves, MLP activation rules,
    attention product/pattern rules."""
    cfg = model.cfg
    rules: dict = {"*.hook_scale": lambda v: v.detach()}
    for name in ("hook_embed", "hook_pos_embed", "hook_token_type_embed"):
        if name in model.hook_names:
            rules[name] = lambda v: v.detach().requires_grad_(True)
    for layer in range(cfg.n_layers):
        pre = f"blocks.{layer}"
        seen: dict[str, torch.Tensor] = {}
        rules[f"{pre}.mlp.hook_pre"] = lambda v, seen=seen: seen.__setitem__("pre", v)
        if cfg.gated_mlp:
            act = getattr(model.adapter.block(layer).mlp_out, "act_fn", None)
            if act is None:
                raise NotImplementedError(f"no act_fn found on the gated MLP of layer {layer}")
            rules[f"{pre}.mlp.hook_pre_linear"] = lambda v, seen=seen: seen.__setitem__("up", v)

            def post_rule(v, seen=seen, act=act):
                with torch.no_grad():
                    a = act(seen["pre"])
                return gated_rule(seen["pre"], seen["up"], a, v, eps)
        else:
            def post_rule(v, seen=seen):
                return identity_rule(seen["pre"], v, eps)
        rules[f"{pre}.mlp.hook_post"] = post_rule
        for point, factor in _DIVIDED[variant].items():
            rules[f"{pre}.attn.{point}"] = lambda v, f=factor: divide_gradient(v, f)
        if variant == "cp_lrp":
            rules[f"{pre}.attn.hook_pattern"] = lambda v: v.detach()
    return rules


def residual_names(model) -> list[str]:
    """Rows of the layer map: word embeddings, the stream entering block 0, after each block."""
    return (["hook_embed", "blocks.0.hook_resid_pre"]
            + [f"blocks.{i}.hook_resid_post" for i in range(model.cfg.n_layers)])


def relevance(model, inputs, target=None, *, variant: str = "attnlrp", contrast=None,
              names=None, eps: float = EPS, pair=None) -> dict:
    """LRP relevance at hook points of one input: ``{name: relevance}``, where relevance is
    activation ⊙ modified gradient, summed over the last dimension for [1, pos, d] points
    (-> [pos]) and kept whole otherwise (e.g. patterns [head, q, k]). ``names`` (globs) are
    recorded besides :func:`residual_names`. Keys starting with ``_``: ``_logits`` relevance
    at the output, ``_seed`` its sum, ``_value`` the target at the input, ``_label``,
    ``_tokens``, and what is absorbed on the way: ``_absorbed_bias`` (Σ b ⊙ ∂/∂b over every
    bias parameter, None if some bias is frozen) and ``_absorbed_softmax`` [layer]
    (relevance into the pattern minus relevance out of the attention scores).
    """
    if variant not in _DIVIDED:
        raise ValueError(f"variant must be one of {sorted(_DIVIDED)}")
    runner = Runner(model, inputs, pair=pair)
    spec = _contrastive(target, contrast)
    rows = residual_names(model)
    attn = [f"blocks.{i}.attn.{p}" for i in range(model.cfg.n_layers)
            for p in ("hook_pattern", "hook_attn_scores")]
    extra = [n for n in model.resolve_names(names or []) if n not in rows]
    wanted = rows + [n for n in ("hook_pos_embed", "hook_token_type_embed") if n in model.hook_names]
    wanted += [n for n in attn + extra if n not in wanted]
    rules = _registry_rules(model, variant, eps)
    ruled = {n for pattern in rules for n in model.resolve_names(pattern)}
    divided = {n for n in ruled if n.rsplit(".", 1)[-1] in _DIVIDED[variant]}
    biases = [p for n, p in model.hf.named_parameters() if n.rsplit(".", 1)[-1] == "bias"]
    bias_ok = all(p.requires_grad for p in biases)
    biases = [p for p in biases if p.requires_grad]
    store: dict[str, torch.Tensor] = {}

    def keep(name):
        return lambda v: store.__setitem__(name, v)

    before = {n: keep(n) for n in wanted if n in divided}
    after = {n: keep(n) for n in wanted if n not in divided}
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.enable_grad())
        stack.enter_context(_module_rules(model, eps))
        stack.enter_context(model.patch(before))
        stack.enter_context(model.patch(rules))
        logits = runner.logits(patches=after, n=1)  # the rules change gradients only: these are the model's logits
        bound = resolve_target(model, spec, runner.input_ids, logits.detach())
        value = bound(logits)
        named = [("_logits", logits)] + [(n, store[n]) for n in wanted]
        live = [t for _, t in named if t.requires_grad]
        grads = torch.autograd.grad(value.sum(), live + biases, allow_unused=True)
    by_id = {id(t): g for t, g in zip(live, grads)}
    out: dict = {}
    for name, t in named:
        g = by_id.get(id(t))
        r = torch.zeros_like(t) if g is None else torch.where(g == 0, 0.0, t * g)
        r = r.detach()[0]
        out[name] = r.sum(-1) if (name != "_logits" and r.ndim == 2) else r
    bias_r = sum(float((p.detach().double() * g.double()).sum())
                 for p, g in zip(biases, grads[len(live):]) if g is not None)
    out["_absorbed_bias"] = bias_r if bias_ok else None
    out["_absorbed_softmax"] = torch.tensor(
        [float(out[f"blocks.{i}.attn.hook_pattern"].double().sum()
               - out[f"blocks.{i}.attn.hook_attn_scores"].double().sum()) for i in range(model.cfg.n_layers)])
    for n in attn:
        if n not in extra:
            del out[n]
    out["_seed"] = float(out["_logits"].double().sum())
    out["_value"] = float(value.detach().sum())
    out["_label"] = bound.label
    out["_tokens"] = runner.tokens
    return out


def _contrastive(target, contrast):
    if contrast is None:
        return target
    if isinstance(target, Target):
        if target.kind != "logit":
            raise ValueError("contrast= needs a plain logit target (Target.logit or a token)")
        return Target.logit_diff(target.token, contrast, pos=target.pos)
    if target is None or (isinstance(target, (int, str)) and not isinstance(target, bool)):
        return Target.logit_diff(target, contrast)
    raise ValueError("contrast= needs a token target (id, string or Target.logit)")


def _result(model, rel: dict, method: str) -> LayerAttribution:
    rows = residual_names(model)
    scores = torch.stack([rel[n].float() for n in rows])
    seed = rel["_seed"]
    inputs = [n for n in ("hook_embed", "hook_pos_embed", "hook_token_type_embed") if n in rel]
    input_total = sum(float(rel[n].double().sum()) for n in inputs)
    absorbed = float(rel["_absorbed_softmax"].sum()) + (rel["_absorbed_bias"] or 0.0)
    info = {"seed_total": seed, "input_total": input_total,
            "absorbed_bias": rel["_absorbed_bias"], "absorbed_softmax": rel["_absorbed_softmax"],
            "residual": input_total + absorbed - seed if rel["_absorbed_bias"] is not None else None}
    info.update({n: rel[n].float().cpu() for n in rel if not n.startswith("_") and n not in rows})
    return LayerAttribution(
        method=method, tokens=rel["_tokens"], layers=rows, scores=scores.cpu(), target=rel["_label"],
        target_value=rel["_value"], deltas=(scores.double().sum(-1) - seed).float().cpu(),
        input_scores=scores[0].cpu(), info=info,
    )


def attnlrp(model, inputs, target=None, *, contrast=None, names=None, eps: float = EPS,
            pair=None) -> LayerAttribution:
    """AttnLRP relevance of every input token for ``target`` (default: the top prediction),
    in one forward and one backward pass; the model is unchanged afterwards.

    ``contrast``: a token (or ``"mean"``) whose logit is subtracted from the target's, seeding
    +1 on the target and -1 on the contrast. Returns a layers x tokens map: row ``hook_embed``
    is the word-embedding relevance (``input_scores``), then the stream entering block 0 and
    after every block. ``deltas`` = row sum - seed. ``info``: ``seed_total`` (Σ relevance at
    the logits; the target itself for logit targets), ``input_total`` (word + position +
    token-type embeddings), what biases and each layer's softmax absorbed, and ``residual`` =
    input_total + absorbed - seed (only the ε of the identity rule remains), plus the
    relevance of any extra hook ``names`` requested.
    """
    return _result(model, relevance(model, inputs, target, variant="attnlrp", contrast=contrast,
                                    names=names, eps=eps, pair=pair), "attnlrp")


def cp_lrp(model, inputs, target=None, *, contrast=None, names=None, eps: float = EPS,
           pair=None) -> LayerAttribution:
    """CP-LRP (conservative propagation): as :func:`attnlrp` but the attention pattern is held
    constant, so relevance flows through the value path only and nothing is absorbed at
    the softmax. Gated MLPs keep AttnLRP's uniform rule (half the relevance to each factor);
    LXT's CP-LRP holds the gate constant instead, which shifts a little relevance between tokens
    (input-relevance correlation 0.998 with it on the shipped tiny-llama)."""
    return _result(model, relevance(model, inputs, target, variant="cp_lrp", contrast=contrast,
                                    names=names, eps=eps, pair=pair), "cp_lrp")
