#!/usr/bin/env python3
"""Reference values and gradients from PyTorch for activations and losses: writes ../functional.json.

Each case calls one function (`op`, a key of the Swift tables in ActivationTests.swift and
LossTests.swift) on named inputs; params["names"] names the inputs in order, the last being
"upstream", a random cotangent of the output's shape. expected[0] is the output; expected[1:]
are the gradients of sum(output * upstream) with respect to the inputs listed in params["grads"]
(indices), which are float inputs PyTorch differentiates (targets included where it does).
Other params are the function's options (reduction, weights' presence is given by the names).

Float32 values are written in their shortest round-trip form to keep the file small.
Run: python3 Tests/MyelinNNTests/Fixtures/generators/gen_functional.py
"""
import math

import numpy as np
import torch
import torch.nn.functional as F

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

g = torch.Generator().manual_seed(7)
cases = []


def randn(*shape, scale=1.0, dtype=torch.float32):
    return torch.randn(tuple(shape), generator=g, dtype=torch.float64).to(dtype) * scale


def rand(*shape, lo=0.0, hi=1.0, dtype=torch.float32):
    return (torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (hi - lo) + lo).to(dtype)


def labels(n, classes, shape=None):
    return torch.randint(0, classes, shape or (n,), generator=g)


def add(name, op, named, fn, grads=None, params=None, rtol=None, atol=None):
    """named: list of (name, tensor); grads: names of the inputs to differentiate."""
    names = [n for n, _ in named]
    grads = grads if grads is not None else [n for n, t in named if t.is_floating_point()]
    leaves = [t.clone().requires_grad_(n in grads) for n, t in named]
    out = fn(*leaves)
    upstream = randn(*out.shape, dtype=out.dtype)
    expected = [out.detach().numpy()]
    idx = [names.index(n) for n in grads]
    if idx:
        got = torch.autograd.grad((out * upstream).sum(), [leaves[i] for i in idx])
        expected += [x.numpy() for x in got]
    p = dict(params or {})
    p["names"] = names + ["upstream"]
    p["grads"] = idx
    inputs = [t.numpy() for _, t in named] + [upstream.numpy()]
    cases.append(case(name, op, inputs, expected, params=p, rtol=rtol, atol=atol))


# MARK: Activations

# Every kink (0, ±1, ±3, 6, the softplus threshold 20) and far tails, where the gradient
# conventions and the stability of each formula show.
KINKS = torch.tensor([-100.0, -25, -6, -3, -1, -0.5, -1e-3, 0, 1e-3, 0.5, 1, 3, 6, 19.5, 20, 21, 25, 100])

ACTIVATIONS = [
    # (op, params, torch function)
    ("leakyRelu", {}, lambda x: F.leaky_relu(x)),
    ("leakyRelu", {"slope": 0.2}, lambda x: F.leaky_relu(x, 0.2)),
    ("elu", {}, lambda x: F.elu(x)),
    ("elu", {"alpha": 0.5}, lambda x: F.elu(x, 0.5)),
    ("selu", {}, F.selu),
    ("gelu", {}, lambda x: F.gelu(x)),
    ("gelu", {"approximate": "tanh"}, lambda x: F.gelu(x, approximate="tanh")),
    ("silu", {}, F.silu),
    ("softplus", {}, lambda x: F.softplus(x)),
    ("softplus", {"beta": 2.0, "threshold": 10.0}, lambda x: F.softplus(x, beta=2.0, threshold=10.0)),
    ("mish", {}, F.mish),
    ("logSigmoid", {}, F.logsigmoid),
    ("softsign", {}, F.softsign),
    ("hardTanh", {}, lambda x: F.hardtanh(x)),
    ("hardTanh", {"min": -3.0, "max": 0.5}, lambda x: F.hardtanh(x, -3.0, 0.5)),
    ("relu6", {}, F.relu6),
    ("hardSigmoid", {}, F.hardsigmoid),
    ("hardSwish", {}, F.hardswish),
    ("erf", {}, torch.erf),
]


def act_name(op, params):
    return op + "".join(f"_{k}{v}" for k, v in params.items())


for op, params, fn in ACTIVATIONS:
    add(f"{act_name(op, params)}_kinks", op, [("x", KINKS)], fn, params=params)
    add(f"{act_name(op, params)}_3x4", op, [("x", randn(3, 4, scale=2.5))], fn, params=params)
for op in ["elu", "gelu", "softplus", "mish", "hardSwish"]:
    fn = dict((o, f) for o, p, f in ACTIVATIONS if not p)[op]
    add(f"{op}_float64", op, [("x", randn(2, 3, scale=3, dtype=torch.float64))], fn)

big = torch.tensor([[100.0, -100.0, 0.0, 50.0], [1.0, 2.0, 3.0, 4.0], [-1e4, 1e4, 1e4, -1e4]])
with_inf = torch.tensor([[0.5, -math.inf, 1.5], [2.0, 1.0, -3.0]])
for op, fn in [("softmax", F.softmax), ("logSoftmax", F.log_softmax)]:
    add(f"{op}_axis1_3x4", op, [("x", randn(3, 4, scale=2))], lambda x, fn=fn: fn(x, dim=1), params={"axis": 1})
    add(f"{op}_axis0_2x3x4", op, [("x", randn(2, 3, 4))], lambda x, fn=fn: fn(x, dim=0), params={"axis": 0})
    add(f"{op}_axis-1_2x3x4", op, [("x", randn(2, 3, 4))], lambda x, fn=fn: fn(x, dim=-1), params={"axis": -1})
    add(f"{op}_extreme", op, [("x", big)], lambda x, fn=fn: fn(x, dim=1), params={"axis": 1})
    add(f"{op}_minus_inf", op, [("x", with_inf)], lambda x, fn=fn: fn(x, dim=1), params={"axis": 1})
    add(f"{op}_float64", op, [("x", randn(3, 5, scale=3, dtype=torch.float64))],
        lambda x, fn=fn: fn(x, dim=1), params={"axis": 1})

# MARK: Regression losses

REDUCTIONS = ["mean", "sum", "none"]


def regression_pair(*shape, dtype=torch.float32):
    x, t = randn(*shape, scale=1.5, dtype=dtype), randn(*shape, scale=1.5, dtype=dtype)
    t.view(-1)[:2] = x.view(-1)[:2]          # zero differences: the kink of |d|
    return x, t


for red in REDUCTIONS:
    x, t = regression_pair(3, 4)
    add(f"mse_{red}", "mseLoss", [("input", x), ("target", t)], lambda a, b, red=red: F.mse_loss(a, b, reduction=red),
        params={"reduction": red})
    add(f"l1_{red}", "l1Loss", [("input", x), ("target", t)], lambda a, b, red=red: F.l1_loss(a, b, reduction=red),
        params={"reduction": red})
    add(f"huber_{red}", "huberLoss", [("input", x), ("target", t)],
        lambda a, b, red=red: F.huber_loss(a, b, reduction=red), params={"reduction": red})
    add(f"smoothL1_{red}", "smoothL1Loss", [("input", x), ("target", t)],
        lambda a, b, red=red: F.smooth_l1_loss(a, b, reduction=red), params={"reduction": red})
x, t = regression_pair(2, 3, 2)
for delta in [0.5, 2.0]:
    add(f"huber_delta{delta}", "huberLoss", [("input", x), ("target", t)],
        lambda a, b, d=delta: F.huber_loss(a, b, delta=d), params={"reduction": "mean", "delta": delta})
for beta in [0.0, 0.5, 3.0]:
    add(f"smoothL1_beta{beta}", "smoothL1Loss", [("input", x), ("target", t)],
        lambda a, b, be=beta: F.smooth_l1_loss(a, b, beta=be), params={"reduction": "mean", "beta": beta})
x, t = regression_pair(5, dtype=torch.float64)
add("mse_float64", "mseLoss", [("input", x), ("target", t)], F.mse_loss, params={"reduction": "mean"})
add("l1_float64", "l1Loss", [("input", x), ("target", t)], F.l1_loss, params={"reduction": "mean"})

# MARK: Binary cross-entropy

p = rand(3, 4, lo=0.02, hi=0.98)
t_hard = (rand(3, 4) > 0.5).float()
t_soft = rand(3, 4)
for red in REDUCTIONS:
    add(f"bce_{red}", "binaryCrossEntropy", [("probabilities", p), ("target", t_soft)],
        lambda a, b, red=red: F.binary_cross_entropy(a, b, reduction=red), params={"reduction": red})
add("bce_hard_weight", "binaryCrossEntropy", [("probabilities", p), ("target", t_hard), ("weight", rand(3, 4, hi=2))],
    lambda a, b, w: F.binary_cross_entropy(a, b, weight=w), params={"reduction": "mean"}, grads=["probabilities", "target"])
add("bce_weight_broadcast", "binaryCrossEntropy", [("probabilities", p), ("target", t_soft), ("weight", rand(4, hi=2))],
    lambda a, b, w: F.binary_cross_entropy(a, b, weight=w, reduction="sum"), params={"reduction": "sum"},
    grads=["probabilities", "target"])
# Near and at 0 and 1: the log clamp at -100 and the 1e-12 floor of the gradient's denominator.
edge_p = torch.tensor([0.0, 1e-30, 1e-7, 1e-4, 0.5, 1 - 1e-4, 1 - 1e-7, 1.0, 0.0, 1.0])
edge_t = torch.tensor([1.0, 1.0, 0.3, 1.0, 0.2, 0.0, 0.9, 0.0, 0.0, 1.0])
add("bce_edges", "binaryCrossEntropy", [("probabilities", edge_p), ("target", edge_t)],
    lambda a, b: F.binary_cross_entropy(a, b, reduction="none"), params={"reduction": "none"})
add("bce_float64", "binaryCrossEntropy",
    [("probabilities", rand(6, lo=0.05, hi=0.95, dtype=torch.float64)), ("target", rand(6, dtype=torch.float64))],
    F.binary_cross_entropy, params={"reduction": "mean"})

z = randn(3, 4, scale=3)
for red in REDUCTIONS:
    add(f"bceLogits_{red}", "bceWithLogits", [("logits", z), ("target", t_soft)],
        lambda a, b, red=red: F.binary_cross_entropy_with_logits(a, b, reduction=red), params={"reduction": red})
extreme_z = torch.tensor([[-1000.0, -100, -30, -5, 0], [5, 30, 100, 1000, -0.5]])
extreme_t = torch.tensor([[1.0, 1, 0, 0.5, 1], [0, 1, 0, 0.25, 0]])
add("bceLogits_extreme", "bceWithLogits", [("logits", extreme_z), ("target", extreme_t)],
    lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction="none"), params={"reduction": "none"})
add("bceLogits_extreme_posWeight", "bceWithLogits",
    [("logits", extreme_z), ("target", extreme_t), ("posWeight", torch.tensor([0.5, 1, 2, 3, 4.0]))],
    lambda a, b, pw: F.binary_cross_entropy_with_logits(a, b, pos_weight=pw, reduction="sum"),
    params={"reduction": "sum"}, grads=["logits", "target"])
add("bceLogits_posWeight_weight", "bceWithLogits",
    [("logits", z), ("target", t_hard), ("weight", rand(3, 1, hi=2)), ("posWeight", rand(4, lo=0.5, hi=3))],
    lambda a, b, w, pw: F.binary_cross_entropy_with_logits(a, b, weight=w, pos_weight=pw),
    params={"reduction": "mean"}, grads=["logits", "target"])

# MARK: Cross-entropy and NLL with class labels


def ce_params(red="mean", smoothing=0.0, ignore=None):
    p = {"reduction": red, "labelSmoothing": smoothing}
    if ignore is not None:
        p["ignoreIndex"] = ignore
    return p


logits = randn(5, 4, scale=2)
y = torch.tensor([1, 0, 3, 3, 2])
w = rand(4, lo=0.2, hi=2)
for red in REDUCTIONS:
    add(f"ce_{red}", "crossEntropy", [("logits", logits), ("labels", y)],
        lambda a, b, red=red: F.cross_entropy(a, b, reduction=red), params=ce_params(red))
    add(f"ce_weight_{red}", "crossEntropy", [("logits", logits), ("labels", y), ("weight", w)],
        lambda a, b, c, red=red: F.cross_entropy(a, b, weight=c, reduction=red), params=ce_params(red), grads=["logits"])
    add(f"ce_smooth_weight_ignore_{red}", "crossEntropy",
        [("logits", logits), ("labels", torch.tensor([1, -100, 3, 3, -100])), ("weight", w)],
        lambda a, b, c, red=red: F.cross_entropy(a, b, weight=c, label_smoothing=0.15, ignore_index=-100, reduction=red),
        params=ce_params(red, 0.15, -100), grads=["logits"])
add("ce_smooth", "crossEntropy", [("logits", logits), ("labels", y)],
    lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), params=ce_params(smoothing=0.1))
add("ce_smooth_ignore_sum", "crossEntropy", [("logits", logits), ("labels", y)],
    lambda a, b: F.cross_entropy(a, b, label_smoothing=0.3, ignore_index=3, reduction="sum"),
    params=ce_params("sum", 0.3, 3))
add("ce_ignore_class", "crossEntropy", [("logits", logits), ("labels", y)],
    lambda a, b: F.cross_entropy(a, b, ignore_index=3), params=ce_params(ignore=3))
add("ce_extreme", "crossEntropy",
    [("logits", torch.tensor([[100.0, -100, 0], [-100, 100, 100], [1000, 0, -1000]])), ("labels", torch.tensor([1, 2, 0]))],
    lambda a, b: F.cross_entropy(a, b, reduction="none"), params=ce_params("none"))
seg_logits = randn(2, 3, 4, scale=2)
seg_y = labels(0, 3, (2, 4))
for red in REDUCTIONS:
    add(f"ce_spatial_{red}", "crossEntropy", [("logits", seg_logits), ("labels", seg_y), ("weight", w[:3])],
        lambda a, b, c, red=red: F.cross_entropy(a, b, weight=c, label_smoothing=0.1, reduction=red),
        params=ce_params(red, 0.1), grads=["logits"])
seg_y_ignore = seg_y.clone()
seg_y_ignore[0, 1] = -1
add("ce_spatial_4d_ignore", "crossEntropy", [("logits", randn(2, 3, 2, 2)), ("labels", seg_y_ignore.reshape(2, 2, 2))],
    lambda a, b: F.cross_entropy(a, b, ignore_index=-1), params=ce_params(ignore=-1))
add("ce_unbatched", "crossEntropy", [("logits", randn(4)), ("labels", torch.tensor(2))],
    lambda a, b: F.cross_entropy(a, b, label_smoothing=0.2), params=ce_params(smoothing=0.2))
add("ce_unbatched_none", "crossEntropy", [("logits", randn(4)), ("labels", torch.tensor(1)), ("weight", w)],
    lambda a, b, c: F.cross_entropy(a, b, weight=c, reduction="none"), params=ce_params("none"), grads=["logits"])
add("ce_float64", "crossEntropy", [("logits", randn(3, 5, dtype=torch.float64)), ("labels", torch.tensor([4, 0, 2]))],
    lambda a, b: F.cross_entropy(a, b, label_smoothing=0.05), params=ce_params(smoothing=0.05))

logp = F.log_softmax(randn(5, 4), dim=1)
for red in REDUCTIONS:
    add(f"nll_weight_ignore_{red}", "nllLoss", [("logProbabilities", logp), ("labels", torch.tensor([1, 0, 2, 3, 2])),
                                                 ("weight", w)],
        lambda a, b, c, red=red: F.nll_loss(a, b, weight=c, ignore_index=2, reduction=red),
        params=ce_params(red, ignore=2), grads=["logProbabilities"])
add("nll_plain", "nllLoss", [("logProbabilities", logp), ("labels", y)], F.nll_loss, params=ce_params())
add("nll_spatial", "nllLoss", [("logProbabilities", F.log_softmax(randn(2, 3, 4), dim=1)), ("labels", seg_y)],
    lambda a, b: F.nll_loss(a, b, reduction="sum"), params=ce_params("sum"))

# MARK: Cross-entropy with class probabilities

q = F.softmax(randn(4, 5, scale=2), dim=1)
logits45 = randn(4, 5, scale=2)
for red in REDUCTIONS:
    add(f"ceProbs_{red}", "crossEntropyProbabilities", [("logits", logits45), ("probabilities", q)],
        lambda a, b, red=red: F.cross_entropy(a, b, reduction=red), params=ce_params(red))
add("ceProbs_smooth_weight", "crossEntropyProbabilities",
    [("logits", logits45), ("probabilities", q), ("weight", rand(5, lo=0.2, hi=2))],
    lambda a, b, c: F.cross_entropy(a, b, weight=c, label_smoothing=0.2), params=ce_params(smoothing=0.2),
    grads=["logits", "probabilities"])
add("ceProbs_spatial", "crossEntropyProbabilities",
    [("logits", randn(2, 3, 4)), ("probabilities", F.softmax(randn(2, 3, 4), dim=1))],
    lambda a, b: F.cross_entropy(a, b, label_smoothing=0.1), params=ce_params(smoothing=0.1))
add("ceProbs_unbatched", "crossEntropyProbabilities", [("logits", randn(5)), ("probabilities", q[0])],
    lambda a, b: F.cross_entropy(a, b), params=ce_params())

# MARK: KL divergence

kl_in = F.log_softmax(randn(3, 4), dim=1)
kl_t = F.softmax(randn(3, 4, scale=2), dim=1)
kl_t_zeros = kl_t.clone()
kl_t_zeros[0, 1] = 0
kl_t_zeros[2, 3] = 0
for red in ["mean", "batchmean", "sum", "none"]:
    add(f"kl_{red}", "klDivergence", [("input", kl_in), ("target", kl_t)],
        lambda a, b, red=red: F.kl_div(a, b, reduction=red), params={"reduction": red, "logTarget": False})
    add(f"kl_logTarget_{red}", "klDivergence", [("input", kl_in), ("target", kl_t.log())],
        lambda a, b, red=red: F.kl_div(a, b, reduction=red, log_target=True), params={"reduction": red, "logTarget": True})
# Zero targets: 0 log 0 = 0. PyTorch's target gradient is NaN there (0/0 in xlogy's derivative), so
# only the input's gradient is compared.
add("kl_zero_targets", "klDivergence", [("input", kl_in), ("target", kl_t_zeros)],
    lambda a, b: F.kl_div(a, b, reduction="batchmean"), params={"reduction": "batchmean", "logTarget": False},
    grads=["input"])


def shorten(t):
    """Float32 data in the shortest decimal form that reads back as the same float32."""
    if t["dtype"] == "float32":
        t["data"] = [v if isinstance(v, str) else float(repr(np.float32(v)).removeprefix("np.float32(").rstrip(")"))
                     for v in t["data"]]


for c in cases:
    for t in c["inputs"] + c["expected"]:
        shorten(t)
write("functional", cases)
