#!/usr/bin/env python3
"""Fixtures for reductions and linear algebra: writes ../reduce.json.

Myelin's dtype rules (PyTorch's): sum/prod of int32 or bool give int64; mean, var, std,
logsumexp and norm of integers compute in float32; max/min keep the dtype; argmax/argmin give int64.
"""
import numpy as np

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, viewed, write

rng = np.random.default_rng(7)
cases = []


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def f64(*shape):
    return rng.standard_normal(shape)


def i32(*shape):
    return rng.integers(-5, 6, shape).astype(np.int32)


def i64(*shape):
    return rng.integers(-5, 6, shape).astype(np.int64)


def axes_param(axes):
    return {"axes": list(axes) if axes is not None else None}


def add_reduction(op, inputs, axes, keep, expected_fn, **tol):
    x = viewed(inputs)[0]
    ax = tuple(axes) if axes is not None else None
    params = axes_param(axes)
    params["keepDims"] = keep
    exp = expected_fn(x, ax, keep)
    view = inputs[0][1] if isinstance(inputs[0], tuple) else None
    name = f"{op}/{x.dtype}/{list(x.shape)}/axes={axes}/keep={keep}" + (f"/view={view}" if view else "")
    cases.append(case(name, op, inputs, exp, params=params, **tol))


def np_sum(x, ax, keep):
    d = np.int64 if x.dtype in (np.int32, np.bool_, np.int64) else x.dtype
    return np.asarray(np.sum(x, axis=ax, keepdims=keep, dtype=d))


def np_prod(x, ax, keep):
    d = np.int64 if x.dtype in (np.int32, np.bool_, np.int64) else x.dtype
    return np.asarray(np.prod(x, axis=ax, keepdims=keep, dtype=d))


def floaty(x):
    return x if x.dtype.kind == "f" else x.astype(np.float32)


def np_mean(x, ax, keep):
    x = floaty(x)
    return np.asarray(np.mean(x.astype(np.float64), axis=ax, keepdims=keep).astype(x.dtype))


def np_max(x, ax, keep):
    return np.asarray(np.max(x, axis=ax, keepdims=keep))


def np_min(x, ax, keep):
    return np.asarray(np.min(x, axis=ax, keepdims=keep))


def np_var(unbiased):
    def f(x, ax, keep):
        x = floaty(x)
        return np.asarray(np.var(x.astype(np.float64), axis=ax, keepdims=keep, ddof=1 if unbiased else 0).astype(x.dtype))
    return f


def np_std(unbiased):
    def f(x, ax, keep):
        x = floaty(x)
        return np.asarray(np.std(x.astype(np.float64), axis=ax, keepdims=keep, ddof=1 if unbiased else 0).astype(x.dtype))
    return f


def np_lse(x, ax, keep):
    x = floaty(x)
    x64 = x.astype(np.float64)
    m = np.max(x64, axis=ax, keepdims=True)
    m = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x64 - m), axis=ax, keepdims=True)) + m
    if not keep:
        r = np.squeeze(r, axis=ax) if ax is not None else r.reshape(())
    return np.asarray(r.astype(x.dtype))


def np_norm(p):
    def f(x, ax, keep):
        x = floaty(x)
        x64 = np.abs(x.astype(np.float64))
        if p == "inf":
            r = np.max(x64, axis=ax, keepdims=keep)
        elif p == 0:
            r = np.sum(x64 != 0, axis=ax, keepdims=keep).astype(np.float64)
        else:
            r = np.sum(x64 ** p, axis=ax, keepdims=keep) ** (1 / p)
        return np.asarray(np.asarray(r).astype(x.dtype))
    return f


# Shapes and axes that exercise inner, outer, middle and multiple-axis reductions.
configs = [((5,), None), ((5,), [0]), ((3, 4), None), ((3, 4), [0]), ((3, 4), [1]), ((3, 4), [-1]),
           ((2, 3, 4), [1]), ((2, 3, 4), [0, 2]), ((2, 3, 4), [-1, 0]), ((2, 3, 4), None)]
for shape, axes in configs:
    for keep in (False, True):
        x = f32(*shape)
        add_reduction("sum", [x], axes, keep, np_sum)
        add_reduction("mean", [x], axes, keep, np_mean)
        add_reduction("max", [x], axes, keep, np_max)
        add_reduction("min", [x], axes, keep, np_min)
        add_reduction("prod", [x], axes, keep, np_prod, rtol=1e-4)
        add_reduction("var", [x], axes, keep, np_var(True), rtol=1e-4)
        add_reduction("varBiased", [x], axes, keep, np_var(False), rtol=1e-4)
        add_reduction("std", [x], axes, keep, np_std(True), rtol=1e-4)
        add_reduction("logsumexp", [x], axes, keep, np_lse)
        add_reduction("norm2", [x], axes, keep, np_norm(2))
        add_reduction("norm1", [x], axes, keep, np_norm(1))
        add_reduction("normInf", [x], axes, keep, np_norm("inf"))
        add_reduction("norm3", [x], axes, keep, np_norm(3), rtol=1e-4)

# Other dtypes, views, 0-d and empty inputs.
for make in (f64, i32, i64):
    x = make(3, 4)
    for op, fn in (("sum", np_sum), ("prod", np_prod), ("max", np_max), ("min", np_min), ("mean", np_mean)):
        add_reduction(op, [x], [1], False, fn)
        add_reduction(op, [x], None, False, fn)
b = rng.random((3, 4)) > 0.5
add_reduction("sum", [b], [0], False, np_sum)
for view in ("T", "step", "rev"):
    x = f32(6, 5)
    for op, fn in (("sum", np_sum), ("max", np_max), ("mean", np_mean), ("var", np_var(True))):
        add_reduction(op, [(x, view)], [0], False, fn, rtol=1e-4)
        add_reduction(op, [(x, view)], [1], True, fn, rtol=1e-4)
        add_reduction(op, [(x, view)], None, False, fn, rtol=1e-4)
s = np.array(2.5, dtype=np.float32)
add_reduction("sum", [s], None, False, np_sum)
add_reduction("max", [s], None, True, np_max)
e = np.zeros((0, 3), dtype=np.float32)
add_reduction("sum", [e], [0], False, np_sum)
add_reduction("sum", [e], None, False, np_sum)
add_reduction("prod", [e], [0], True, np_prod)
# NaN propagates through max/min and sum; infinities through logsumexp.
nanx = np.array([[1, np.nan, 3], [4, 5, 6]], dtype=np.float32)
add_reduction("max", [nanx], [1], False, np_max)
add_reduction("min", [nanx], None, False, np_min)
add_reduction("sum", [nanx], [0], False, np_sum)
infx = np.array([[-np.inf, -np.inf], [np.inf, 1], [1000, 1000]], dtype=np.float32)
add_reduction("logsumexp", [infx], [1], False, np_lse)

# all / any
for x in (rng.random((3, 4)) > 0.3, i32(3, 4), np.zeros((0, 2), dtype=np.bool_)):
    for axes in (None, [0], [1]):
        for op, fn in (("all", np.all), ("any", np.any)):
            exp = np.asarray(fn(x, axis=tuple(axes) if axes else None))
            cases.append(case(f"{op}/{x.dtype}/{list(x.shape)}/axes={axes}", op, [x], exp, params={"axes": axes}))

# argmax / argmin (first occurrence; NaN wins)
ties = np.array([[1, 3, 3], [2, 2, 1], [0, 0, 0]], dtype=np.float32)
for x in (f32(3, 4), ties, i32(4, 5), np.array([[1, np.nan, 5, np.nan]], dtype=np.float32), f32(2, 3, 4)):
    for axis in (None, 0, -1):
        for keep in (False, True):
            for op, fn in (("argmax", np.argmax), ("argmin", np.argmin)):
                exp = np.asarray(fn(x, axis=axis, keepdims=keep)).astype(np.int64)
                cases.append(case(f"{op}/{x.dtype}/{list(x.shape)}/axis={axis}/keep={keep}", op, [x], exp,
                                  params={"axis": axis, "keepDims": keep}))

# cumsum
for x in (f32(3, 4), i32(3, 4), f64(2, 3, 2), (f32(4, 3), "T")):
    for axis in (0, -1):
        arr = viewed([x])[0]
        d = np.int64 if arr.dtype.kind in "ib" else arr.dtype
        exp = np.cumsum(arr, axis=axis, dtype=d)
        cases.append(case(f"cumsum/{arr.dtype}/{list(arr.shape)}/axis={axis}", "cumsum", [x], exp, params={"axis": axis}))

# matmul in all its forms (float64 reference, cast to the operand dtype)
def mm_case(a, b, name, rtol=1e-5, atol=1e-5):
    av, bv = viewed([a, b])
    exp = np.matmul(av.astype(np.float64), bv.astype(np.float64)).astype(np.result_type(av.dtype, bv.dtype))
    cases.append(case(f"matmul/{name}", "matmul", [a, b], exp, rtol=rtol, atol=atol))


mm_case(f32(3), f32(3), "1d.1d")
mm_case(f32(2, 3), f32(3), "2d.1d")
mm_case(f32(3), f32(3, 4), "1d.2d")
mm_case(f32(2, 3), f32(3, 4), "2d.2d")
mm_case((f32(3, 2), "T"), f32(3, 4), "Ta.b")
mm_case(f32(2, 3), (f32(4, 3), "T"), "a.Tb")
mm_case((f32(3, 2), "T"), (f32(4, 3), "T"), "Ta.Tb")
mm_case((f32(4, 3), "step"), f32(3, 5), "stepa.b")
mm_case(f32(5, 2, 3), f32(3, 4), "3d.2d")
mm_case(f32(2, 3), f32(5, 3, 4), "2d.3d")
mm_case(f32(5, 2, 3), f32(5, 3, 4), "3d.3d")
mm_case(f32(2, 1, 2, 3), f32(4, 3, 2), "broadcast-batch")
mm_case((f32(5, 3, 2), "T"), f32(5, 3, 4), "batched-Ta")
mm_case(f32(4, 2, 3), f32(3), "3d.1d")
mm_case(f32(3), f32(4, 3, 2), "1d.3d")
mm_case(f64(3, 4), f64(4, 2), "f64")
mm_case(i32(3, 4), i32(4, 2), "int32")
mm_case(i64(2, 3, 4), i64(4, 2), "int64-batched")
mm_case(f32(2, 3), f64(3, 2), "promote-f32-f64")
mm_case(np.zeros((0, 3), np.float32), f32(3, 4), "empty-m")
mm_case(np.zeros((2, 0), np.float32), np.zeros((0, 4), np.float32), "empty-k")
mm_case(f32(16, 12), f32(12, 20), "16x12x20", rtol=1e-4, atol=1e-4)

x, y = f32(4), f32(5)
cases.append(case("outer/f32", "outer", [x, y], np.outer(x, y)))
u, v = f32(6), f32(6)
cases.append(case("dot/f32", "dot", [u, v], np.asarray(np.dot(u.astype(np.float64), v.astype(np.float64)).astype(np.float32))))

write("reduce", cases)
