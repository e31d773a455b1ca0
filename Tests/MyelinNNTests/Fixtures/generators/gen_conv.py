#!/usr/bin/env python3
"""Convolution and pooling ops, and BatchNorm2d, from PyTorch: writes ../conv.json.

Each op case: inputs = [x (maybe a non-contiguous view), weight, bias (if any), upstream];
expected = [output, d input, d weight, d bias (if any)] where the gradients are those of
sum(output * upstream). Pool cases have inputs [x, upstream] and expected [output, d input].
BatchNorm2d cases: inputs [x, weight, bias, upstream], expected [output, d x, d weight, d bias,
running_mean, running_var] (training) or without the buffers (eval).
Values are small multiples of 1/16 (short in JSON); pool inputs are distinct, so maxima are unique.
Run: python3 Tests/MyelinNNTests/Fixtures/generators/gen_conv.py
"""
import os as _os
import sys as _sys

import numpy as np
import torch
import torch.nn.functional as F

_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import apply_view, case, write

rng = np.random.default_rng(11)
cases = []
TOL = dict(rtol=1e-4, atol=1e-4)


def small(shape, dtype=np.float32):
    return (rng.integers(-24, 25, size=shape) / 16).astype(dtype)


def distinct(shape, dtype=np.float32):
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / 16 - n / 32).astype(dtype)


def base_for(shape, view):
    """The stored array whose view has `shape`."""
    if view == "T":
        return shape[:-2] + (shape[-1], shape[-2])
    if view == "step":
        return (shape[0] * 2 - 1,) + tuple(shape[1:])
    return shape


def grads(fn, tensors, upstream):
    ts = [torch.from_numpy(np.ascontiguousarray(t)).requires_grad_(True) for t in tensors]
    y = fn(*ts)
    (y * torch.from_numpy(upstream)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


def conv_case(name, op, x_shape, w_shape, bias=True, view=None, dtype=np.float32, **params):
    xb = small(base_for(tuple(x_shape), view), dtype)
    x = apply_view(xb, view)
    w = small(w_shape, dtype)
    b = small((w_shape[1] * params.get("groups", 1) if op == "convTranspose2d" else w_shape[0],), dtype) if bias else None
    tp = dict(params)
    fn = {"conv2d": F.conv2d, "conv1d": F.conv1d, "convTranspose2d": F.conv_transpose2d}[op]
    if op == "convTranspose2d":
        tp = {"stride": params.get("stride", 1), "padding": params.get("padding", 0),
              "output_padding": params.get("outputPadding", 0), "groups": params.get("groups", 1),
              "dilation": params.get("dilation", 1)}
    tensors = [x, w] + ([b] if bias else [])
    probe = fn(*[torch.from_numpy(np.ascontiguousarray(t)) for t in tensors], **tp)
    up = small(tuple(probe.shape), dtype)
    y, gs = grads(lambda *a: fn(*a, **tp), tensors, up)
    inputs = [(xb, view) if view else xb, w] + ([b] if bias else []) + [up]
    cases.append(case(f"{op}/{name}", op, inputs, [y] + gs, params=dict(params, bias=bias), **TOL))


def pool_case(name, op, x_shape, view=None, dtype=np.float32, **params):
    xb = distinct(base_for(tuple(x_shape), view), dtype)
    x = apply_view(xb, view)
    if op == "maxPool2d":
        fn = lambda t: F.max_pool2d(t, params["kernel"], params.get("stride"), params.get("padding", 0))
    elif op == "maxPool1d":
        fn = lambda t: F.max_pool1d(t, params["kernel"], params.get("stride"), params.get("padding", 0))
    elif op == "avgPool2d":
        fn = lambda t: F.avg_pool2d(t, params["kernel"], params.get("stride"), params.get("padding", 0),
                                    count_include_pad=params.get("countIncludePad", True))
    elif op == "avgPool1d":
        fn = lambda t: F.avg_pool1d(t, params["kernel"], params.get("stride"), params.get("padding", 0),
                                    count_include_pad=params.get("countIncludePad", True))
    elif op == "adaptiveAvgPool2d":
        fn = lambda t: F.adaptive_avg_pool2d(t, params["output"])
    elif op == "globalAvgPool2d":
        fn = lambda t: t.mean(dim=(2, 3))
    probe = fn(torch.from_numpy(np.ascontiguousarray(x)))
    up = small(tuple(probe.shape), dtype)
    y, gs = grads(fn, [x], up)
    inputs = [(xb, view) if view else xb, up]
    cases.append(case(f"{op}/{name}", op, inputs, [y] + gs, params=params, **TOL))


# conv2d: sizes, stride, padding (numbers, same, valid), dilation, groups, bias, views, dtypes.
conv_case("basic", "conv2d", [2, 3, 7, 6], (4, 3, 3, 3))
conv_case("pad1", "conv2d", [2, 2, 5, 5], (3, 2, 3, 3), padding=1)
conv_case("stride2_odd", "conv2d", [1, 2, 9, 7], (3, 2, 3, 3), stride=2, padding=1)
conv_case("stride2x1_pad1x0", "conv2d", [2, 2, 6, 5], (2, 2, 3, 2), stride=[2, 1], padding=[1, 0])
conv_case("same", "conv2d", [1, 2, 6, 5], (3, 2, 3, 3), padding="same")
conv_case("same_even_kernel", "conv2d", [1, 2, 5, 6], (2, 2, 4, 2), padding="same")
conv_case("valid", "conv2d", [2, 2, 6, 6], (2, 2, 3, 3), padding="valid")
conv_case("dilation2", "conv2d", [1, 2, 8, 7], (2, 2, 3, 3), dilation=2, padding=2)
conv_case("dilation2x1_stride2", "conv2d", [1, 2, 9, 8], (2, 2, 3, 2), dilation=[2, 1], stride=2, padding=1)
conv_case("groups2", "conv2d", [2, 4, 5, 5], (6, 2, 3, 3), groups=2)
conv_case("depthwise", "conv2d", [2, 3, 6, 6], (3, 1, 3, 3), groups=3, padding=1)
conv_case("depthwise_x2", "conv2d", [1, 3, 5, 5], (6, 1, 3, 3), groups=3, stride=2)
conv_case("nobias", "conv2d", [2, 3, 5, 5], (2, 3, 3, 3), bias=False)
conv_case("pointwise_b1", "conv2d", [1, 4, 5, 5], (3, 4, 1, 1))
conv_case("pointwise_stride2", "conv2d", [2, 3, 5, 5], (2, 3, 1, 1), stride=2)
conv_case("view_T", "conv2d", [2, 2, 6, 5], (3, 2, 3, 3), view="T", padding=1)
conv_case("view_step", "conv2d", [2, 2, 5, 5], (2, 2, 3, 3), view="step", stride=2)
conv_case("float64", "conv2d", [2, 2, 6, 5], (3, 2, 3, 3), dtype=np.float64, padding=1, stride=2)
conv_case("rect_kernel_1x5", "conv2d", [1, 2, 4, 9], (2, 2, 1, 5), padding=[0, 2])
conv_case("kernel_equals_input", "conv2d", [3, 2, 4, 4], (2, 2, 4, 4))
# conv1d
conv_case("basic", "conv1d", [2, 3, 10], (4, 3, 3), padding=1)
conv_case("stride2_dilation2", "conv1d", [2, 2, 13], (3, 2, 3), stride=2, dilation=2)
conv_case("groups_same", "conv1d", [1, 4, 9], (4, 2, 4), groups=2, padding="same")
conv_case("nobias_valid", "conv1d", [3, 2, 8], (2, 2, 5), bias=False, padding="valid")
# convTranspose2d
conv_case("basic", "convTranspose2d", [2, 3, 4, 4], (3, 2, 3, 3))
conv_case("stride2_pad1_outpad1", "convTranspose2d", [1, 2, 4, 3], (2, 3, 3, 3), stride=2, padding=1, outputPadding=1)
conv_case("groups2_stride2", "convTranspose2d", [2, 4, 3, 3], (4, 1, 2, 2), stride=2, groups=2)
conv_case("dilation2_nobias", "convTranspose2d", [1, 2, 3, 4], (2, 2, 3, 3), dilation=2, bias=False)
conv_case("rect_stride2x3", "convTranspose2d", [1, 2, 3, 3], (2, 2, 3, 2), stride=[2, 3], padding=[1, 0],
          outputPadding=[1, 2])
conv_case("float64", "convTranspose2d", [1, 2, 3, 3], (2, 2, 3, 3), dtype=np.float64, stride=2)
# pools
pool_case("k2", "maxPool2d", [2, 3, 6, 6], kernel=2)
pool_case("k2_odd", "maxPool2d", [1, 2, 7, 5], kernel=2)
pool_case("k3_s2_p1", "maxPool2d", [2, 2, 7, 6], kernel=3, stride=2, padding=1)
pool_case("k2x3_s1x2", "maxPool2d", [1, 2, 5, 7], kernel=[2, 3], stride=[1, 2])
pool_case("view_T", "maxPool2d", [2, 2, 6, 4], view="T", kernel=2)
pool_case("float64", "maxPool2d", [1, 2, 5, 5], dtype=np.float64, kernel=3, stride=1, padding=1)
pool_case("k3_s2_p1", "maxPool1d", [2, 3, 9], kernel=3, stride=2, padding=1)
pool_case("k2", "avgPool2d", [2, 2, 6, 5], kernel=2)
pool_case("k3_s2_p1", "avgPool2d", [1, 3, 7, 6], kernel=3, stride=2, padding=1)
pool_case("k3_s2_p1_nopadcount", "avgPool2d", [1, 2, 7, 6], kernel=3, stride=2, padding=1, countIncludePad=False)
pool_case("k3_s1_p1", "avgPool1d", [2, 2, 7], kernel=3, stride=1, padding=1)
pool_case("5x7_to_3x2", "adaptiveAvgPool2d", [2, 2, 5, 7], output=[3, 2])
pool_case("6x6_to_4x4", "adaptiveAvgPool2d", [1, 3, 6, 6], output=[4, 4])
pool_case("to_1", "adaptiveAvgPool2d", [2, 3, 4, 5], output=[1, 1])
pool_case("basic", "globalAvgPool2d", [2, 3, 4, 5])

# BatchNorm2d: one training step (running statistics) and evaluation with set statistics.
for train in (True, False):
    bn = torch.nn.BatchNorm2d(3)
    bn.train(train)
    x, w, b = small((4, 3, 3, 2)) * 2 + 1, small((3,)) + 1, small((3,))
    if not train:
        with torch.no_grad():
            bn.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0]))
            bn.running_var.copy_(torch.tensor([1.5, 0.25, 4.0]))
    with torch.no_grad():
        bn.weight.copy_(torch.from_numpy(w))
        bn.bias.copy_(torch.from_numpy(b))
    xt = torch.from_numpy(x).requires_grad_(True)
    y = bn(xt)
    up = small(tuple(y.shape))
    (y * torch.from_numpy(up)).sum().backward()
    expected = [y.detach().numpy(), xt.grad.numpy(), bn.weight.grad.numpy(), bn.bias.grad.numpy()]
    if train:
        expected += [bn.running_mean.numpy().copy(), bn.running_var.numpy().copy()]
    cases.append(case("batchNorm2d/" + ("train" if train else "eval"), "batchNorm2d", [x, w, b, up], expected,
                      params={"train": train}, rtol=1e-4, atol=1e-4))

# A small CNN saved by PyTorch (after one training-mode pass, so BatchNorm2d's running statistics
# move) to ../torch_cnn.safetensors; its eval output on a fixed input is recorded for the Swift test
# that builds the same architecture and loads the file strictly.
torch.manual_seed(0)
cnn = torch.nn.Sequential(
    torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
    torch.nn.Conv2d(4, 4, 3, padding=1, groups=2), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
    torch.nn.Flatten(), torch.nn.Linear(16, 3))
cnn.train()
cnn(torch.from_numpy(small((8, 1, 8, 8))))
cnn.eval()
from safetensors.torch import save_file
from fixturelib import OUT
save_file(cnn.state_dict(), _os.path.join(OUT, "torch_cnn.safetensors"))
xin = small((2, 1, 8, 8))
with torch.no_grad():
    cases.append(case("cnnModel/torch_eval_output", "cnnModel", [xin], cnn(torch.from_numpy(xin)).numpy(), **TOL))

write("conv", cases)
