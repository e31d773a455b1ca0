#!/usr/bin/env python3
"""Reference gradients from PyTorch for composite expressions: writes ../autograd.json.

Each case: float32 inputs, the expression's scalar value, then the gradient of every input
(expected[0] is the value, expected[1:] the gradients). The Swift side (AutogradTests.swift) has
one table row per expression name, written with Myelin's ops.
"""
import numpy as np
import torch

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

torch.manual_seed(0)
g = torch.Generator().manual_seed(1)
cases = []


def randn(*shape, positive=False):
    t = torch.randn(*shape, generator=g, dtype=torch.float32)
    return t.abs() + 0.5 if positive else t


def add(name, inputs, fn):
    leaves = [x.clone().requires_grad_(True) for x in inputs]
    value = fn(*leaves)
    value.backward()
    expected = [value.detach().numpy()] + [x.grad.numpy() for x in leaves]
    cases.append(case(name, name, [x.numpy() for x in inputs], expected, rtol=1e-5, atol=1e-6))


LABELS = torch.tensor([1, 0, 4, 2])
T6 = torch.tensor([1.0, 0, 1, 1, 0, 0])

add("mlp_tanh", [randn(4, 3), randn(3, 5), randn(5), randn(5, 2)],
    lambda x, w1, b1, w2: ((x @ w1 + b1).tanh() @ w2).square().mean())
add("softmax_cross_entropy", [randn(4, 5)],
    lambda z: -(z - z.logsumexp(1, keepdim=True)).gather(1, LABELS[:, None]).mean())
add("layer_norm", [randn(3, 6), randn(6), randn(6)],
    lambda x, gamma, beta: (((x - x.mean(1, keepdim=True)) / (x.var(1, unbiased=False, keepdim=True) + 1e-5).sqrt()
                             * gamma + beta) ** 2 * torch.arange(6.0)).sum())
add("attention", [randn(2, 3, 4), randn(2, 3, 4), randn(2, 3, 4)],
    lambda q, k, v: ((q @ k.transpose(-1, -2) / 2).softmax(-1) @ v).sin().sum())
add("bce_with_logits", [randn(6) * 3],
    lambda z: (z.clamp(min=0) - z * T6 + (-(z.abs())).exp().log1p()).mean())
add("max_pool_like", [randn(2, 6)],
    lambda x: (x.reshape(2, 3, 2).amax(2) * torch.tensor([1.0, -2.0, 3.0])).sum())
add("reflect_pad", [randn(2, 5)],
    lambda x: (torch.nn.functional.pad(x[None], (2, 1), mode="reflect")[0] ** 2 * torch.arange(16.0).reshape(2, 8)).sum())
add("norm_penalty", [randn(3, 4)],
    lambda w: (w.norm() - 1) ** 2 + w.abs().sum() * 0.1)
add("cumsum_prod", [randn(3, 4, positive=True), randn(3, 4)],
    lambda x, y: (x.cumsum(1) * y).prod(1).sum())
add("where_clamp", [randn(3, 4), randn(3, 4)],
    lambda x, y: torch.where(x > 0, x * y, y.clamp(-0.5, 0.5)).sum() + torch.maximum(x, y).mean())
add("huber", [randn(8), randn(8)],
    lambda p, t: torch.where((p - t).abs() < 1, 0.5 * (p - t) ** 2, (p - t).abs() - 0.5).mean())
add("topk_sort", [randn(3, 5)],
    lambda x: x.topk(2, dim=1).values.sum() + (x.sort(dim=0).values * torch.arange(15.0).reshape(3, 5)).sum())
add("matmul_broadcast", [randn(2, 1, 3, 4), randn(5, 4, 2)],
    lambda a, b: (a @ b).exp().mean())
add("var_std", [randn(4, 3)],
    lambda x: x.var(0).sum() + x.std(1).sum())
add("index_slices", [randn(4, 6)],
    lambda x: (x[1:, ::2] * x[:-1, 1::2]).sum() + x[-1].pow(3).sum())
add("cat_stack_split", [randn(2, 3), randn(2, 3)],
    lambda a, b: (torch.cat([a, b], 1).split([2, 4], 1)[1] * torch.stack([a, b]).sum(0)[:, :1]).sum())
add("index_select_scatter", [randn(4, 3), randn(2, 3)],
    lambda x, s: (x.index_select(0, torch.tensor([3, 1, 3])).sum(0) * s.sum(0)).sum()
    + x.scatter_add(0, torch.tensor([[0, 1, 2], [3, 3, 0]]), s).square().sum())
add("pow_div_log", [randn(5, positive=True), randn(5, positive=True)],
    lambda a, b: (a.pow(b) / (a + b) + (a * b).log()).sum())

write("autograd", cases)
