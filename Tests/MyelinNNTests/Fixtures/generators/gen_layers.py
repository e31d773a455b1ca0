#!/usr/bin/env python3
"""Layer outputs and gradients from PyTorch: writes ../layers.json.

Each case sets the layer's parameters (inputs after the first), runs a forward pass on inputs[0],
back-propagates sum(output * upstream) and records: output, input gradient, parameter gradients,
then any buffers (BatchNorm's running statistics) after the pass.
"""
import numpy as np
import torch

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, write

rng = np.random.default_rng(5)
cases = []


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def run(name, layer, x, params, upstream, buffers=(), train=True, extra=None):
    layer.train(train)
    with torch.no_grad():
        for p, v in zip(params, [v for v in extra or []]):
            p.copy_(torch.from_numpy(v))
    xt = torch.from_numpy(x).requires_grad_(x.dtype == np.float32)
    y = layer(xt)
    (y * torch.from_numpy(upstream)).sum().backward()
    expected = [y.detach().numpy()]
    if xt.requires_grad:
        expected.append(xt.grad.numpy())
    expected += [p.grad.numpy() for p in params]
    expected += [b.numpy().astype(np.float32) for b in buffers]
    cases.append(case(name, name.split("/")[0], [x] + list(extra or []) + [upstream], expected,
                      params={"train": train}, rtol=1e-5, atol=1e-5))


lin = torch.nn.Linear(5, 3)
run("linear/2d", lin, f32(4, 5), [lin.weight, lin.bias], f32(4, 3), extra=[f32(3, 5), f32(3)])
lin = torch.nn.Linear(5, 3)
run("linear/3d", lin, f32(2, 4, 5), [lin.weight, lin.bias], f32(2, 4, 3), extra=[f32(3, 5), f32(3)])
ln = torch.nn.LayerNorm([6])
run("layerNorm/2d", ln, f32(4, 6), [ln.weight, ln.bias], f32(4, 6), extra=[f32(6), f32(6)])
ln = torch.nn.LayerNorm([3, 4])
run("layerNorm2/3d", ln, f32(2, 3, 4), [ln.weight, ln.bias], f32(2, 3, 4), extra=[f32(3, 4), f32(3, 4)])
bn = torch.nn.BatchNorm1d(3)
run("batchNorm/train2d", bn, f32(5, 3) * 2 + 1, [bn.weight, bn.bias], f32(5, 3),
    buffers=[bn.running_mean, bn.running_var], extra=[f32(3), f32(3)])
bn = torch.nn.BatchNorm1d(3)
run("batchNorm/train3d", bn, f32(4, 3, 2), [bn.weight, bn.bias], f32(4, 3, 2),
    buffers=[bn.running_mean, bn.running_var], extra=[f32(3), f32(3)])
bn = torch.nn.BatchNorm1d(3)
with torch.no_grad():
    bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
    bn.running_var.copy_(torch.tensor([1.5, 0.25, 4.0]))
run("batchNormEval/2d", bn, f32(5, 3), [bn.weight, bn.bias], f32(5, 3), train=False, extra=[f32(3), f32(3)])
emb = torch.nn.Embedding(7, 4)
idx = np.array([[1, 6, 1], [0, 3, 2]], dtype=np.int64)
emb.train(True)
with torch.no_grad():
    w = f32(7, 4)
    emb.weight.copy_(torch.from_numpy(w))
up = f32(2, 3, 4)
y = emb(torch.from_numpy(idx))
(y * torch.from_numpy(up)).sum().backward()
cases.append(case("embedding/2d", "embedding", [idx, w, up], [y.detach().numpy(), emb.weight.grad.numpy()]))

write("layers", cases)
