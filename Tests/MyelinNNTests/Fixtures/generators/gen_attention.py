#!/usr/bin/env python3
"""Attention from PyTorch (F.scaled_dot_product_attention, nn.MultiheadAttention,
nn.TransformerEncoderLayer, nn.TransformerEncoder): writes ../attention.json.

Everything is float64; modules are in eval mode (dropout off) with every parameter drawn at random
(so LayerNorm affine parameters and biases are not the trivial ones). Each case records the output(s)
and the gradients of the loss sum(out * R) (+ sum(weights * Rw) when MHA returns weights).

Case layouts (AttentionTests reads them in this order):
  sdpa:    params isCausal, mask ("none", "bool", "float"), scale (absent: 1/sqrt(D))
           inputs q, k, v, [mask], R          expected out, q.grad, k.grad, v.grad
  mha:     params embedDim, numHeads, batchFirst, bias, selfAttention, needWeights, isCausal,
           keyPadding ("none", "bool", "float"), attnMask ("none", "bool", "float"), names
           inputs query, key, value, parameters in `names` order, [keyPaddingMask], [attnMask], R, [Rw]
           expected out, [weights], input grads (x.grad for self-attention, else query, key, value),
           parameter grads in `names` order
  encoderLayer / encoder: params dModel, nhead, dimFeedforward, activation, normFirst, batchFirst,
           layerNormEps, numLayers, finalNorm, keyPadding, srcMask ("none", "bool", "float"), names
           inputs x, parameters in `names` order, [keyPaddingMask], [srcMask], R
           expected out, x.grad, parameter grads in `names` order
"""
import os as _os
import sys as _sys

import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

torch.manual_seed(17)
rng = np.random.default_rng(17)
cases = []


def f64(*shape):
    return rng.standard_normal(shape)


def t(a, grad=False):
    x = torch.from_numpy(np.ascontiguousarray(a))
    return x.requires_grad_(True) if grad else x


def padding(batch, length, lengths):
    """[batch, length] bool, true at padded keys (every row keeps at least one key)."""
    return np.array([[j >= n for j in range(length)] for n in lengths])


# MARK: scaled_dot_product_attention

def sdpa_case(name, qs, ks, vs, mask=None, causal=False, scale=None, k_view=None):
    q, v = f64(*qs), f64(*vs)
    if k_view == "T":
        kbase = f64(*(ks[:-2] + (ks[-1], ks[-2])))
        k = np.swapaxes(kbase, -1, -2)
    else:
        kbase = k = f64(*ks)
    qt, kt, vt = t(q, True), t(k, True), t(v, True)
    kind = "none"
    mt = None
    if mask is not None:
        kind = "bool" if mask.dtype == np.bool_ else "float"
        mt = t(mask)
    with sdpa_kernel(SDPBackend.MATH):
        out = F.scaled_dot_product_attention(qt, kt, vt, attn_mask=mt, is_causal=causal, scale=scale)
    R = f64(*out.shape)
    (out * t(R)).sum().backward()
    inputs = [q, (kbase, k_view) if k_view else k, v] + ([mask] if mask is not None else []) + [R]
    params = {"isCausal": causal, "mask": kind}
    if scale is not None:
        params["scale"] = scale
    cases.append(case(name, "sdpa", inputs, [out.detach().numpy(), qt.grad.numpy(), kt.grad.numpy(), vt.grad.numpy()],
                      params=params, rtol=1e-10, atol=1e-10))


sdpa_case("sdpa no mask, Tq != Tk, Dv != D", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7))
sdpa_case("sdpa bool mask [Tq, Tk]", (2, 2, 4, 3), (2, 2, 6, 3), (2, 2, 6, 3),
          mask=np.array([[j % 3 != i % 3 or j == 0 for j in range(6)] for i in range(4)]))
sdpa_case("sdpa bool mask with a fully masked row (zeros, as PyTorch)", (1, 2, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4),
          mask=np.array([[True, False, True, True, False], [False] * 5, [False, False, False, False, True]]))
sdpa_case("sdpa float mask [B, 1, Tq, Tk]", (2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), mask=f64(2, 1, 4, 6))
sdpa_case("sdpa causal square", (2, 2, 5, 4), (2, 2, 5, 4), (2, 2, 5, 3), causal=True)
sdpa_case("sdpa causal Tq < Tk (top-left)", (1, 2, 3, 4), (1, 2, 6, 4), (1, 2, 6, 4), causal=True)
sdpa_case("sdpa causal Tq > Tk (top-left)", (1, 2, 6, 4), (1, 2, 3, 4), (1, 2, 3, 4), causal=True)
sdpa_case("sdpa key padding [B, 1, 1, T]", (3, 2, 5, 4), (3, 2, 5, 4), (3, 2, 5, 4),
          mask=~padding(3, 5, [5, 2, 4]).reshape(3, 1, 1, 5))
sdpa_case("sdpa scale 0.3 and a transposed key", (2, 4, 5), (2, 6, 5), (2, 6, 3), scale=0.3, k_view="T")
sdpa_case("sdpa broadcast key/value batch", (2, 3, 4, 5), (1, 3, 6, 5), (1, 1, 6, 5))
sdpa_case("sdpa 3-d float mask [H, Tq, Tk]", (2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), mask=f64(3, 5, 5))


# MARK: nn.MultiheadAttention

def randomize(m):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(f64(*p.shape) * 0.5))


def mha_case(name, E=8, H=2, batch_first=False, bias=True, self_attn=False, need_weights=False, average=True,
             causal=False, key_padding="none", attn_mask="none", B=3, Tq=4, Tk=5):
    m = torch.nn.MultiheadAttention(E, H, bias=bias, batch_first=batch_first).double()
    randomize(m)
    m.eval()
    names = list(m.state_dict().keys())
    if self_attn:
        Tk = Tq
    shape = (lambda T: (B, T, E)) if batch_first else (lambda T: (T, B, E))
    q = f64(*shape(Tq))
    k = q if self_attn else f64(*shape(Tk))
    v = q if self_attn else f64(*shape(Tk))
    qt = t(q, True)
    kt, vt = (qt, qt) if self_attn else (t(k, True), t(v, True))
    extra, kpm, am = [], None, None
    if key_padding != "none":
        pad = padding(B, Tk, [Tk, Tk - 2, Tk - 1])
        kpm_np = pad if key_padding == "bool" else np.where(pad, -1e9, 0.0) + 0.1 * f64(B, Tk)
        kpm = t(kpm_np)
        extra.append(kpm_np)
    if causal:
        am_np = np.triu(np.ones((Tq, Tk), dtype=bool), 1)
        am = t(am_np)
    elif attn_mask == "bool":
        am_np = np.array([[(i + j) % 4 == 1 for j in range(Tk)] for i in range(Tq)])
        am = t(am_np)
        extra.append(am_np)
    elif attn_mask == "float":
        am_np = f64(B * H, Tq, Tk)
        am = t(am_np)
        extra.append(am_np)
    out, w = m(qt, kt, vt, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights,
               average_attn_weights=average, is_causal=causal)
    R = f64(*out.shape)
    loss = (out * t(R)).sum()
    weights = [R]
    if need_weights:
        Rw = f64(*w.shape)
        loss = loss + (w * t(Rw)).sum()
        weights.append(Rw)
    loss.backward()
    params = dict(m.named_parameters())
    inputs = [q, k, v] + [params[n].detach().numpy().copy() for n in names] + extra + weights
    expected = [out.detach().numpy()] + ([w.detach().numpy()] if need_weights else [])
    expected += [qt.grad.numpy()] if self_attn else [qt.grad.numpy(), kt.grad.numpy(), vt.grad.numpy()]
    expected += [params[n].grad.numpy() for n in names]
    cases.append(case(name, "mha", inputs, expected, rtol=1e-10, atol=1e-10,
                      params={"embedDim": E, "numHeads": H, "batchFirst": batch_first, "bias": bias,
                              "selfAttention": self_attn, "needWeights": need_weights, "average": average,
                              "isCausal": causal, "keyPadding": key_padding, "attnMask": attn_mask, "names": names}))


mha_case("mha cross attention, sequence first")
mha_case("mha batch first, bool key padding, weights", batch_first=True, key_padding="bool", need_weights=True)
mha_case("mha bool attn mask and key padding, per-head weights", key_padding="bool", attn_mask="bool",
         need_weights=True, average=False)
mha_case("mha float [B*H, Tq, Tk] attn mask, float key padding", batch_first=True, key_padding="float", attn_mask="float")
mha_case("mha self-attention, causal, no bias", batch_first=True, self_attn=True, causal=True, bias=False)
mha_case("mha self-attention, key padding, 4 heads", E=8, H=4, self_attn=True, key_padding="bool")


# MARK: nn.TransformerEncoderLayer / nn.TransformerEncoder

ACTIVATIONS = {"relu": "relu", "gelu": "gelu", "geluTanh": lambda x: F.gelu(x, approximate="tanh")}


def encoder_case(name, activation="relu", norm_first=False, batch_first=True, layers=0, final_norm=False,
                 key_padding=False, src_mask="none", d=8, nhead=2, ff=12, B=3, T=5, eps=1e-5):
    layer = torch.nn.TransformerEncoderLayer(d, nhead, dim_feedforward=ff, dropout=0.1, activation=ACTIVATIONS[activation],
                                             layer_norm_eps=eps, batch_first=batch_first, norm_first=norm_first)
    if layers:
        m = torch.nn.TransformerEncoder(layer, layers, norm=torch.nn.LayerNorm(d, eps=eps) if final_norm else None,
                                        enable_nested_tensor=False)
    else:
        m = layer
    m = m.double()
    randomize(m)
    m.eval()
    names = list(m.state_dict().keys())
    x = f64(B, T, d) if batch_first else f64(T, B, d)
    xt = t(x, True)
    extra, kpm, sm = [], None, None
    if key_padding:
        kpm_np = padding(B, T, [T, T - 2, T - 1])
        kpm = t(kpm_np)
        extra.append(kpm_np)
    if src_mask == "bool":
        sm_np = np.triu(np.ones((T, T), dtype=bool), 1)
        sm = t(sm_np)
        extra.append(sm_np)
    elif src_mask == "float":
        sm_np = f64(T, T)
        sm = t(sm_np)
        extra.append(sm_np)
    if layers:
        out = m(xt, mask=sm, src_key_padding_mask=kpm)
    else:
        out = m(xt, src_mask=sm, src_key_padding_mask=kpm)
    R = f64(*out.shape)
    (out * t(R)).sum().backward()
    params = dict(m.named_parameters())
    inputs = [x] + [params[n].detach().numpy().copy() for n in names] + extra + [R]
    expected = [out.detach().numpy(), xt.grad.numpy()] + [params[n].grad.numpy() for n in names]
    cases.append(case(name, "encoder" if layers else "encoderLayer", inputs, expected, rtol=1e-10, atol=1e-10,
                      params={"dModel": d, "nhead": nhead, "dimFeedforward": ff, "activation": activation,
                              "normFirst": norm_first, "batchFirst": batch_first, "layerNormEps": eps,
                              "numLayers": layers, "finalNorm": final_norm, "keyPadding": key_padding,
                              "srcMask": src_mask, "names": names}))


encoder_case("encoder layer post-norm relu")
encoder_case("encoder layer pre-norm gelu, key padding", activation="gelu", norm_first=True, key_padding=True)
encoder_case("encoder layer post-norm gelu-tanh, sequence first, float mask", activation="geluTanh", batch_first=False,
             src_mask="float", eps=1e-6)
encoder_case("encoder layer pre-norm relu, causal bool mask", norm_first=True, src_mask="bool")
encoder_case("encoder 2 layers, final norm, key padding", activation="gelu", layers=2, final_norm=True, key_padding=True)
encoder_case("encoder 2 pre-norm layers, sequence first", activation="geluTanh", norm_first=True, layers=2,
             batch_first=False)

write("attention", cases)
