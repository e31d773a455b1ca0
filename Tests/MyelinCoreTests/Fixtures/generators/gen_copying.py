"""Fixtures for the copying ops (CopyingOpsTests.swift): cat, stack, split, chunk, unbind, gather,
indexSelect, indexAdd, scatter, scatterAdd, where, maskedFill, maskedSelect, oneHot, flip, pad, repeat, tile,
repeatInterleave, sort, argsort, topk.

Expectations follow PyTorch's semantics, computed with NumPy (np.take_along_axis for gather, explicit
loops where PyTorch allows an index smaller than the tensor, np.add.at for scatter_add, stable sorts).
Where NumPy's dtype promotion differs from PyTorch's (cat, where), results are cast to PyTorch's dtype.
When torch is importable, the subtle cases (sort order with NaN, topk, pad modes, gather/scatter) are
cross-checked against it; it is not needed to write the file.

Run: python3 Tests/MyelinCoreTests/Fixtures/generators/gen_copying.py
"""
import numpy as np

import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import DTYPES, case, viewed, write

try:  # optional cross-check
    import torch
except Exception:  # pragma: no cover
    torch = None

rng = np.random.default_rng(20240611)
ALL = ["float32", "float64", "int32", "int64", "bool"]
NUMERIC = ["float32", "float64", "int32", "int64"]
cases = []


def arr(shape, dtype, lo=-9, hi=10):
    """Small exact values: integers (halves for floats) so every dtype compares exactly."""
    if dtype == "bool":
        return rng.random(shape) < 0.5
    a = rng.integers(lo, hi, size=shape)
    if dtype.startswith("float"):
        a = a + 0.5 * rng.integers(0, 2, size=shape)
    return a.astype(DTYPES[dtype])


def idx(shape, high, dtype="int64", negative=False):
    lo = -high if negative else 0
    return rng.integers(lo, high, size=shape).astype(DTYPES[dtype])


RANK = {"bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}


def promote(a, b):
    """DType.promote: PyTorch's rule (float beats int beats bool, wider wins; int64 + float32 = float32)."""
    return a if RANK[a] >= RANK[b] else b


def add(name, op, inputs, expected, **params):
    cases.append(case(name, op, inputs, expected, params=params))


def axis_n(a, axis):
    return axis % a.ndim


# ---------------------------------------------------------------- cat / stack / split / chunk / unbind

for dt in ALL:
    a, b = arr((2, 3), dt), arr((1, 3), dt)
    add(f"cat_axis0_{dt}", "cat", [a, b], np.concatenate([a, b], 0), axis=0)
    c = arr((2, 4), dt)
    add(f"cat_axis-1_{dt}", "cat", [a, c], np.concatenate([a, c], -1), axis=-1)
    s = [arr((2, 3), dt) for _ in range(3)]
    add(f"stack_axis0_{dt}", "stack", s, np.stack(s, 0), axis=0)
    add(f"stack_axis-1_{dt}", "stack", s, np.stack(s, -1), axis=-1)

base = arr((3, 2), "float32")
other = arr((2, 5), "float32")
ins = [(base, "T"), other]
add("cat_transposed_input", "cat", ins, np.concatenate(viewed(ins), 1), axis=1)
ins = [(arr((4, 3), "int64"), "step"), (arr((3, 3), "int64"), "rev")]
add("cat_step_rev_inputs", "cat", ins, np.concatenate(viewed(ins), 0), axis=0)
x3 = [arr((2, 3, 4), "float64"), arr((2, 1, 4), "float64"), arr((2, 0, 4), "float64")]
add("cat_rank3_middle_with_empty", "cat", x3, np.concatenate(x3, 1), axis=1)
single = arr((2, 2), "int32")
add("cat_single", "cat", [single], single.copy(), axis=0)
mix = [arr((2, 2), "int32"), arr((1, 2), "float32"), arr((1, 2), "bool")]
add("cat_promotes_int32_float32_bool", "cat", mix, np.concatenate(mix, 0).astype(np.float32), axis=0)
mix = [arr((1, 2), "int64"), arr((1, 2), "float32")]
add("cat_promotes_int64_float32_to_float32", "cat", mix, np.concatenate(mix, 0).astype(np.float32), axis=0)
legacy = [np.zeros((0,), np.float32), arr((2, 3), "float32")]
add("cat_skips_1d_empty", "cat", legacy, legacy[1].copy(), axis=0)
e = [np.zeros((0, 3), np.float32), np.zeros((0, 3), np.float32)]
add("cat_all_empty", "cat", e, np.zeros((0, 3), np.float32), axis=0)
sc = [np.array(1.5, np.float32), np.array(2.5, np.float32)]
add("stack_0d", "stack", sc, np.stack(sc), axis=0)
ins = [(arr((3, 2), "int32"), "T"), arr((2, 3), "int32")]
add("stack_transposed_input_axis1", "stack", ins, np.stack(viewed(ins), 1), axis=1)

for dt in ["float32", "int64", "bool"]:
    x = arr((7, 3), dt)
    add(f"split_sizes_{dt}", "split_sizes", [x], np.split(x, [2, 2], 0), sizes=[2, 0, 5], axis=0)
x = arr((3, 7), "float64")
add("split_size_axis-1", "split_size", [x], np.split(x, [3, 6], 1), size=3, axis=-1)
add("split_size_exact", "split_size", [x], np.split(x, [1, 2], 0), size=1, axis=0)
add("split_size_larger_than_axis", "split_size", [x], [x.copy()], size=10, axis=1)
xb = arr((5, 4), "int32")
add("split_size_transposed", "split_size", [(xb, "T")], np.split(xb.T, [2], 0), size=2, axis=0)
add("chunk_even", "chunk", [x], np.split(x, [1, 2], 0), n=3, axis=0)
add("chunk_uneven", "chunk", [x], np.split(x, [3, 6], 1), n=3, axis=1)
x5 = arr((5,), "float32")
add("chunk_fewer_than_asked", "chunk", [x5], np.split(x5, [2, 4]), n=4, axis=0)  # torch: sizes 2, 2, 1
add("chunk_empty_axis", "chunk", [np.zeros((0, 2), np.float32)], [np.zeros((0, 2), np.float32)] * 2, n=2, axis=0)
xr = arr((4, 3), "int64")
add("chunk_rev", "chunk", [(xr, "rev")], np.split(xr[::-1], [2], 0), n=2, axis=0)
add("unbind_axis1", "unbind", [xr], [xr[:, i] for i in range(3)], axis=1)

# ---------------------------------------------------------------- gather / indexSelect


def torch_gather(x, axis, index):
    """torch.gather: out[p] = x[p with axis replaced by index[p]]; index may be smaller than x."""
    out = np.empty(index.shape, x.dtype)
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[axis] = index[p]
        out[p] = x[tuple(q)]
    return out


for dt in ALL:
    x = arr((3, 4), dt)
    i = idx((3, 4), 4)
    add(f"gather_axis1_{dt}", "gather", [x, i], np.take_along_axis(x, i, 1), axis=1)
    i0 = idx((2, 4), 3, "int32")
    add(f"gather_axis0_int32index_{dt}", "gather", [x, i0], torch_gather(x, 0, i0), axis=0)
x = arr((3, 4, 5), "float32")
i = idx((2, 3, 2), 4, negative=True)
add("gather_rank3_axis-2_smaller_negative_index", "gather", [x, i], torch_gather(x, 1, i), axis=-2)
xt = arr((5, 3), "float64")
it = idx((5, 2), 5)  # viewed as (2, 5): indexes axis 1 of xt.T, which has size 5
add("gather_transposed_input_and_index", "gather", [(xt, "T"), (it, "T")],
    torch_gather(xt.T, 1, it.T), axis=1)
xs = arr((6, 4), "int32")
i_s = idx((6, 4), 4)
add("gather_step_input_and_index", "gather", [(xs, "step"), (i_s, "step")], torch_gather(xs[::2], 1, i_s[::2]), axis=1)
add("gather_empty_index", "gather", [arr((2, 3), "float32"), np.zeros((2, 0), np.int64)], np.zeros((2, 0), np.float32), axis=1)
add("gather_0d", "gather", [np.array(4.5, np.float32), np.array(0, np.int64)], np.array(4.5, np.float32), axis=0)

for dt in ALL:
    x = arr((5, 3), dt)
    ii = np.array([4, 0, -1, 2, 2], np.int64)
    add(f"indexSelect_rows_{dt}", "indexSelect", [x, ii], np.take(x, ii, 0), axis=0)
    ij = np.array([2, -3], np.int32)
    add(f"indexSelect_cols_int32_{dt}", "indexSelect", [x, ij], np.take(x, ij, 1), axis=-1)
x = arr((2, 4, 3), "float64")
ii = np.array([3, 1, 1, 0, 2, 3], np.int64)
add("indexSelect_rank3_axis1", "indexSelect", [x, ii], np.take(x, ii, 1), axis=1)
add("indexSelect_rank3_axis1_rev_index", "indexSelect", [x, (ii, "rev")], np.take(x, ii[::-1], 1), axis=1)
add("indexSelect_rank3_axis1_step_index", "indexSelect", [x, (ii, "step")], np.take(x, ii[::2], 1), axis=1)
xt = arr((3, 5), "float32")
add("indexSelect_transposed_rows", "indexSelect", [(xt, "T"), ii[:4]], np.take(xt.T, ii[:4], 0), axis=0)
xs = arr((8, 3), "int64")
add("indexSelect_step_cols", "indexSelect", [(xs, "step"), np.array([2, 0], np.int64)], np.take(xs[::2], [2, 0], 1), axis=1)
add("indexSelect_empty_indices", "indexSelect", [arr((3, 2), "float32"), np.zeros((0,), np.int64)], np.zeros((0, 2), np.float32), axis=0)
x1 = arr((6,), "int32")
add("indexSelect_1d", "indexSelect", [x1, np.array([5, 5, 0], np.int64)], x1[[5, 5, 0]], axis=0)

# ---------------------------------------------------------------- scatter / scatterAdd


def torch_scatter(x, axis, index, src, add_values=False):
    out = x.copy()
    for p in np.ndindex(*index.shape):
        q = list(p)
        q[axis] = index[p]
        q = tuple(q)
        if add_values:
            out[q] = (out[q] | src[p]) if out.dtype == np.bool_ else out[q] + src[p]
        else:
            out[q] = src[p]
    return out


def perm_index(shape, axis, size, dtype="int64"):
    """Indices without repeats along `axis` (so scatter has one writer per target)."""
    out = np.empty(shape, DTYPES[dtype])
    moved = np.moveaxis(out, axis, -1)
    for p in np.ndindex(*moved.shape[:-1]):
        moved[p] = rng.permutation(size)[: moved.shape[-1]]
    return out


for dt in ALL:
    x = arr((3, 5), dt)
    i = perm_index((3, 4), 1, 5)
    src = arr((3, 4), dt)
    add(f"scatter_axis1_{dt}", "scatter", [x, i, src], torch_scatter(x, 1, i, src), axis=1)
    i0 = perm_index((2, 5), 0, 3, "int32")
    s0 = arr((2, 5), dt)
    add(f"scatter_axis0_int32index_{dt}", "scatter", [x, i0, s0], torch_scatter(x, 0, i0, s0), axis=0)
    ia = idx((3, 6), 5)  # repeats: accumulate
    sa = arr((3, 6), dt)
    expect = x.copy()
    if dt == "bool":
        expect = torch_scatter(x, 1, ia, sa, True)
    else:
        np.add.at(expect, (np.arange(3)[:, None], ia), sa)
    add(f"scatterAdd_axis1_repeats_{dt}", "scatterAdd", [x, ia, sa], expect, axis=1)
x = arr((4, 3, 2), "float32")
i = idx((2, 3, 2), 4, negative=True)
src = arr((3, 3, 2), "float32")
ip = np.where(i < 0, i + 4, i)
add("scatterAdd_rank3_axis0_negative_smaller_index", "scatterAdd", [x, i, src], torch_scatter(x, 0, ip, src, True), axis=0)
ip2 = perm_index((2, 3, 2), 0, 4)
add("scatter_rank3_axis-3_smaller_index", "scatter", [x, ip2, src], torch_scatter(x, 0, ip2, src), axis=-3)
xt = arr((4, 3), "float64")
it = perm_index((2, 3), 0, 4).T.copy()  # shape (3, 2): along axis 1 of x.T (size 4)
st = arr((2, 3), "float64")
add("scatter_transposed_self_index_source", "scatter", [(xt, "T"), (it.T.copy(), "T"), (st, "T")],
    torch_scatter(xt.T, 1, it, st.T), axis=1)
xr = arr((3, 4), "int64")
ir = idx((3, 4), 4)
sr = arr((3, 4), "int64")
add("scatterAdd_rev_inputs", "scatterAdd", [(xr, "rev"), (ir, "rev"), (sr, "rev")],
    torch_scatter(xr[::-1], 1, ir[::-1], sr[::-1], True), axis=1)
iv = perm_index((2, 2), 1, 4)
xv = arr((2, 4), "float32")
expect = torch_scatter(xv, 1, iv, np.full((2, 2), -7.25, np.float32))
add("scatterValue_float32", "scatterValue", [xv, iv], expect, axis=1, value=-7.25)
xi = arr((2, 4), "int32")
add("scatterValue_int32_truncates", "scatterValue", [xi, iv], torch_scatter(xi, 1, iv, np.full((2, 2), 3, np.int32)),
    axis=-1, value=3.75)
add("scatter_empty_index", "scatter", [xv, np.zeros((2, 0), np.int64), np.zeros((2, 0), np.float32)], xv.copy(), axis=1)

# ---------------------------------------------------------------- where / maskedFill / maskedSelect

for dt in ALL:
    c = rng.random((2, 3)) < 0.5
    a, b = arr((2, 3), dt), arr((2, 3), dt)
    add(f"where_same_shape_{dt}", "where", [c, a, b], np.where(c, a, b))
shapes = [((2, 1, 3), (4, 1), (3,)), ((3,), (2, 3), ()), ((), (2, 2), (1, 2)), ((2, 3), (2, 3), (2, 1))]
PAIRS = [("float32", "int64"), ("int32", "float64"), ("bool", "int32"), ("int64", "float32")]
for k, (cs, as_, bs) in enumerate(shapes):
    for da, db in [PAIRS[k], PAIRS[(k + 1) % 4]]:
        c = rng.random(cs) < 0.5
        a, b = arr(as_, da), arr(bs, db)
        d = promote(da, db)
        add(f"where_broadcast{k}_{da}_{db}", "where", [c, a, b], np.where(c, a, b).astype(DTYPES[d]))
cb = rng.random((3, 4)) < 0.5
ab = arr((4, 3), "float32")
bb = arr((8, 3), "float32")
ins = [(cb, "T"), (ab, "rev"), (bb, "step")]
add("where_noncontiguous_all", "where", ins, np.where(*viewed(ins)))
ci = rng.integers(0, 3, (2, 3)).astype(np.int32)
ai, bi = arr((2, 3), "float64"), arr((2, 3), "float64")
add("where_int_condition_nonzero_true", "where", [ci, ai, bi], np.where(ci != 0, ai, bi))
add("where_empty", "where", [np.zeros((0, 3), bool), arr((1, 3), "float32"), arr((3,), "float32")], np.zeros((0, 3), np.float32))

for dt in ALL:
    x = arr((3, 4), dt)
    m = rng.random((3, 4)) < 0.5
    v = {"bool": 1.0, "int32": -3.0, "int64": 7.0}.get(dt, -1.5)
    add(f"maskedFill_{dt}", "maskedFill", [x, m], np.where(m, np.array(v).astype(x.dtype), x), value=v)
x = arr((2, 3, 4), "float32")
for k, ms in enumerate([(4,), (3, 1), (2, 1, 4), ()]):
    m = rng.random(ms) < 0.5
    add(f"maskedFill_broadcast{k}", "maskedFill", [x, m], np.where(m, np.float32(9.5), x), value=9.5)
xt = arr((4, 3), "int64")
mt = rng.random((4, 3)) < 0.5
add("maskedFill_transposed", "maskedFill", [(xt, "T"), (mt, "T")], np.where(mt.T, -2, xt.T).astype(np.int64), value=-2.0)
xi = arr((3,), "int32")
add("maskedFill_int32_truncates", "maskedFill", [xi, np.array([True, False, True])],
    np.where([True, False, True], np.int32(2), xi).astype(np.int32), value=2.9)

for dt in ALL:
    x = arr((3, 4), dt)
    m = rng.random((3, 4)) < 0.5
    add(f"maskedSelect_{dt}", "maskedSelect", [x, m], x[m])
x = arr((2, 3), "float64")
m = rng.random((4, 1, 3)) < 0.5
add("maskedSelect_broadcast_both", "maskedSelect", [x, m], np.broadcast_to(x, (4, 2, 3))[np.broadcast_to(m, (4, 2, 3))])
xs = arr((6, 3), "int32")
ms = rng.random((3, 3)) < 0.5
add("maskedSelect_noncontiguous", "maskedSelect", [(xs, "step"), (ms, "T")], xs[::2][ms.T])
add("maskedSelect_none", "maskedSelect", [arr((2, 2), "float32"), np.zeros((2, 2), bool)], np.zeros((0,), np.float32))

# ---------------------------------------------------------------- oneHot

for idt in ["int32", "int64"]:
    for odt in ALL:
        x = idx((2, 3), 4, idt)
        add(f"oneHot_{idt}_to_{odt}", "oneHot", [x], np.eye(4, dtype=DTYPES[odt])[x], classes=4, dtype=odt)
xt = idx((3, 2), 5)
add("oneHot_transposed", "oneHot", [(xt, "T")], np.eye(5, dtype=np.float32)[xt.T], classes=5, dtype="float32")
add("oneHot_0d", "oneHot", [np.array(2, np.int64)], np.eye(3, dtype=np.float32)[2], classes=3, dtype="float32")
add("oneHot_empty", "oneHot", [np.zeros((0,), np.int64)], np.zeros((0, 3), np.float32), classes=3, dtype="float32")

# ---------------------------------------------------------------- flip

for dt in ALL:
    x = arr((2, 2, 3), dt)
    add(f"flip_last_{dt}", "flip", [x], np.flip(x, -1), axes=[-1])
    add(f"flip_0_2_{dt}", "flip", [x], np.flip(x, (0, 2)), axes=[0, 2])
x = arr((4, 3), "float32")
add("flip_transposed", "flip", [(x, "T")], np.flip(x.T, 0), axes=[0])
add("flip_rev_undoes", "flip", [(x, "rev")], x.copy(), axes=[0])
add("flip_step_all", "flip", [(x, "step")], np.flip(x[::2]), axes=[0, 1])
add("flip_no_axes", "flip", [x], x.copy(), axes=[])
add("flip_0d", "flip", [np.array(3, np.int32)], np.array(3, np.int32), axes=[])
add("flip_empty", "flip", [np.zeros((0, 3), np.float64)], np.zeros((0, 3), np.float64), axes=[0, 1])

# ---------------------------------------------------------------- pad

NP_MODE = {"constant": "constant", "reflect": "reflect", "replicate": "edge", "circular": "wrap"}


def np_pad(x, pairs, mode, value=0.0):
    if mode == "constant":
        return np.pad(x, pairs, mode="constant", constant_values=np.array(value).astype(x.dtype))
    return np.pad(x, pairs, mode=NP_MODE[mode])


for mode in ["constant", "reflect", "replicate", "circular"]:
    # Every dtype for constant (the value is converted); one per element width for the copying modes.
    for dt in (ALL if mode == "constant" else ["float32", "int64", "bool"]):
        x = arr((3, 4), dt)
        pairs = [(1, 2), (3, 0)] if mode != "reflect" else [(2, 1), (3, 2)]
        if mode == "circular":
            pairs = [(3, 1), (2, 4)]
        value = {"bool": 1.0, "int32": 5.0, "int64": -4.0}.get(dt, 2.5)
        add(f"pad_{mode}_{dt}", "pad", [x], np_pad(x, pairs, mode, value),
            widths=[w for p in pairs for w in p], mode=mode, value=value)
    x = arr((2, 3, 3), "float32")
    pairs = [(0, 0), (1, 2), (2, 2)]
    add(f"pad_{mode}_rank3", "pad", [x], np_pad(x, pairs, mode, -1.0), widths=[w for p in pairs for w in p],
        mode=mode, value=-1.0)
    xt = arr((4, 3), "float64")
    pairs = [(2, 1), (1, 3)]
    add(f"pad_{mode}_transposed", "pad", [(xt, "T")], np_pad(xt.T, pairs, mode, 0.5),
        widths=[w for p in pairs for w in p], mode=mode, value=0.5)
    # torch.nn.functional.pad order: last axis first.
    x = arr((2, 3, 4), "float32")
    flat = [1, 2, 2, 0]
    pairs = [(0, 0), (2, 0), (1, 2)]
    add(f"padLast_{mode}", "padLast", [x], np_pad(x, pairs, mode, 0.0), widths=flat, mode=mode, value=0.0)
add("pad_constant_empty_axis", "pad", [np.zeros((0, 2), np.float32)], np.full((2, 3), 7, np.float32),
    widths=[1, 1, 0, 1], mode="constant", value=7.0)
xz = arr((3, 2), "int32")
add("pad_zero_widths_rev", "pad", [(xz, "rev")], xz[::-1].copy(), widths=[0, 0, 0, 0], mode="reflect", value=0.0)
add("pad_0d", "pad", [np.array(1.5, np.float32)], np.array(1.5, np.float32), widths=[], mode="constant", value=0.0)

# ---------------------------------------------------------------- repeat / tile / repeatInterleave

for dt in ALL:
    x = arr((2, 3), dt)
    add(f"repeat_{dt}", "repeat", [x], np.tile(x, (2, 3)), repeats=[2, 3])
    add(f"repeat_more_axes_{dt}", "repeat", [x], np.tile(x, (2, 1, 2)), repeats=[2, 1, 2])
    add(f"tile_fewer_reps_{dt}", "tile", [x], np.tile(x, (3,)), reps=[3])
    add(f"repeatInterleave_axis1_{dt}", "repeatInterleave", [x], np.repeat(x, 2, 1), n=2, axis=1)
xt = arr((3, 2), "float32")
add("repeat_transposed", "repeat", [(xt, "T")], np.tile(xt.T, (1, 2)), repeats=[1, 2])
add("repeat_zero", "repeat", [xt], np.tile(xt, (0, 2)), repeats=[0, 2])
add("repeat_0d", "repeat", [np.array(4, np.int64)], np.tile(np.array(4, np.int64), (3,)), repeats=[3])
add("tile_more_reps", "tile", [(xt, "step")], np.tile(xt[::2], (2, 1, 3)), reps=[2, 1, 3])
add("repeatInterleave_flatten", "repeatInterleave", [(xt, "T")], np.repeat(xt.T, 3), n=3)
add("repeatInterleave_axis0_rev", "repeatInterleave", [(xt, "rev")], np.repeat(xt[::-1], 2, 0), n=2, axis=-2)
add("repeatInterleave_zero", "repeatInterleave", [xt], np.repeat(xt, 0, 1), n=0, axis=1)

# ---------------------------------------------------------------- sort / argsort / topk


def stable_order(line, descending):
    """PyTorch's stable order: NaN is the largest value; ties keep their original order."""
    vals = line.astype(np.float64) if line.dtype != np.bool_ else line.astype(np.int64)
    nan = np.isnan(vals) if vals.dtype.kind == "f" else np.zeros(len(vals), bool)
    if descending:
        key = lambda i: (0 if nan[i] else 1, 0 if nan[i] else -vals[i])
    else:
        key = lambda i: (1 if nan[i] else 0, 0 if nan[i] else vals[i])
    return sorted(range(len(line)), key=key)


def sort_ref(x, axis, descending, k=None):
    moved = np.moveaxis(x, axis, -1)
    n = moved.shape[-1]
    k = n if k is None else k
    idx_out = np.empty(moved.shape[:-1] + (k,), np.int64)
    for p in np.ndindex(*moved.shape[:-1]):
        idx_out[p] = stable_order(moved[p], descending)[:k]
    vals = np.take_along_axis(moved, idx_out, -1)
    return np.moveaxis(vals, -1, axis), np.moveaxis(idx_out, -1, axis)


def with_ties_and_nan(shape, dt):
    x = arr(shape, dt, -3, 4)  # small range: many ties
    if dt.startswith("float"):
        flat = x.reshape(-1)
        flat[rng.choice(flat.size, size=max(1, flat.size // 6), replace=False)] = np.nan
        flat[0] = -0.0
        flat[-1] = np.inf
        flat[1] = -np.inf
    return x


for dt in ALL:
    x = with_ties_and_nan((3, 7), dt)
    for desc in [False, True]:
        d = "desc" if desc else "asc"
        v, i = sort_ref(x, 1, desc)
        add(f"sort_{d}_{dt}", "sort", [x], [v, i], axis=-1, descending=desc)
        v, i = sort_ref(x, 0, desc)
        add(f"argsort_axis0_{d}_{dt}", "argsort", [x], i, axis=0, descending=desc)
    for largest in [True, False]:
        l = "largest" if largest else "smallest"
        v, i = sort_ref(x, 1, largest, 3)
        add(f"topk3_{l}_{dt}", "topk", [x], [v, i], k=3, axis=-1, largest=largest)
x = with_ties_and_nan((4, 3, 5), "float32")
v, i = sort_ref(x, 1, False)
add("sort_rank3_axis1", "sort", [x], [v, i], axis=1, descending=False)
xt = with_ties_and_nan((6, 4), "float64")
v, i = sort_ref(xt.T, 1, True)
add("sort_transposed_desc", "sort", [(xt, "T")], [v, i], axis=1, descending=True)
v, i = sort_ref(xt[::2], 0, False)
add("sort_step_axis0", "sort", [(xt, "step")], [v, i], axis=0, descending=False)
v, i = sort_ref(xt[::-1], -1, True, 2)
add("topk_rev_largest", "topk", [(xt, "rev")], [v, i], k=2, axis=-1, largest=True)
big = with_ties_and_nan((2, 64), "float32")  # k * 8 < n: the bounded-heap path
for largest in [True, False]:
    v, i = sort_ref(big, 1, largest, 5)
    add(f"topk_heap_{'largest' if largest else 'smallest'}", "topk", [big], [v, i], k=5, axis=1, largest=largest)
bigi = arr((3, 50), "int64", -4, 4)
v, i = sort_ref(bigi, 1, True, 4)
add("topk_heap_ties_int64", "topk", [bigi], [v, i], k=4, axis=-1, largest=True)
v, i = sort_ref(bigi.T, 0, False, 3)
add("topk_heap_axis0_transposed", "topk", [(bigi, "T")], [v, i], k=3, axis=0, largest=False)
xk = arr((2, 5), "float32")
v, i = sort_ref(xk, 1, True, 0)
add("topk_k0", "topk", [xk], [v, i], k=0, axis=1, largest=True)
v, i = sort_ref(xk, 1, True, 5)
add("topk_k_equals_n", "topk", [xk], [v, i], k=5, axis=1, largest=True)
e = np.zeros((0, 4), np.float32)
add("sort_empty_lines", "sort", [e], [e, np.zeros((0, 4), np.int64)], axis=1, descending=False)
e = np.zeros((3, 0), np.int32)
add("sort_empty_axis", "sort", [e], [e, np.zeros((3, 0), np.int64)], axis=1, descending=True)
add("sort_0d", "sort", [np.array(2.5, np.float32)], [np.array(2.5, np.float32), np.array(0, np.int64)], axis=0,
    descending=False)

# ---------------------------------------------------------------- indexAdd (drawn last: the cases above keep their values)


def index_add(x, axis, indices, src):
    """torch.index_add: slice j of src added at position indices[j] along axis, in order."""
    out = x.copy()
    n = x.shape[axis]
    for j, v in enumerate(indices.reshape(-1)):
        at = [slice(None)] * x.ndim
        at[axis] = int(v) % n
        sl = [slice(None)] * x.ndim
        sl[axis] = j
        at, sl = tuple(at), tuple(sl)
        out[at] = (out[at] | src[sl]) if out.dtype == np.bool_ else out[at] + src[sl]
    return out


for dt in ALL:
    x = arr((5, 3), dt)
    ii = np.array([4, 0, -1, 2, 2, 4], np.int64)
    src = arr((6, 3), dt)
    add(f"indexAdd_rows_repeats_{dt}", "indexAdd", [x, ii, src], index_add(x, 0, ii, src), axis=0)
x = arr((3, 5), "float32")
ij = np.array([1, -1, 1], np.int32)
src = arr((3, 3), "float32")
add("indexAdd_cols_int32", "indexAdd", [x, ij, src], index_add(x, 1, ij, src), axis=-1)
x = arr((2, 4, 3), "float64")
ii = np.array([3, 1, 1, 0, 2, 3], np.int64)
src = arr((2, 6, 3), "float64")
add("indexAdd_rank3_axis1", "indexAdd", [x, ii, src], index_add(x, 1, ii, src), axis=1)
add("indexAdd_rank3_axis1_rev_index", "indexAdd", [x, (ii, "rev"), src], index_add(x, 1, ii[::-1], src), axis=1)
st = arr((2, 3, 6), "float64")  # viewed as (2, 6, 3)
add("indexAdd_rank3_transposed_self_and_source", "indexAdd", [(np.swapaxes(x, -1, -2).copy(), "T"), ii, (st, "T")],
    index_add(x, 1, ii, np.swapaxes(st, -1, -2)), axis=1)
xe = arr((3, 2), "int64")
add("indexAdd_empty_indices", "indexAdd", [xe, np.zeros((0,), np.int64), np.zeros((0, 2), np.int64)], xe, axis=0)

# ---------------------------------------------------------------- optional cross-check with PyTorch

if torch is not None:
    def t(j):
        a = np.array([float(v) if isinstance(v, str) else v for v in j["data"]]).astype(DTYPES[j["dtype"]])
        return a.reshape(j["shape"])

    def inputs_of(c):
        from fixturelib import apply_view
        return [apply_view(t(i), i.get("view")) for i in c["inputs"]]

    checked = 0
    for c in cases:
        ins = [torch.from_numpy(np.array(a, copy=True)) for a in inputs_of(c)]
        p = c["params"]
        exp = [t(e) for e in c["expected"]]
        got = None
        if c["op"] == "sort" and ins[0].dtype != torch.bool:
            r = torch.sort(ins[0], dim=p["axis"], descending=p["descending"], stable=True)
            got = [r.values.numpy(), r.indices.numpy()]
        elif c["op"] == "topk" and ins[0].dtype.is_floating_point and ins[0].shape[p["axis"]] > 0:
            r = torch.topk(ins[0], p["k"], dim=p["axis"], largest=p["largest"])
            got = [r.values.numpy()]  # torch's tie order is unspecified: compare values only
            exp = exp[:1]
        elif c["op"] == "gather" and ins[0].dim() > 0:
            got = [torch.gather(ins[0], p["axis"], torch.where(ins[1] < 0, ins[1] + ins[0].shape[p["axis"]], ins[1]).long()).numpy()]
        elif c["op"] == "scatterAdd" and ins[0].dtype != torch.bool:
            ix = torch.where(ins[1] < 0, ins[1] + ins[0].shape[p["axis"]], ins[1]).long()
            got = [ins[0].scatter_add(p["axis"], ix, ins[2]).numpy()]
        elif c["op"] == "indexAdd" and ins[0].dtype != torch.bool:
            ix = torch.where(ins[1] < 0, ins[1] + ins[0].shape[p["axis"]], ins[1]).long()
            got = [ins[0].index_add(p["axis"], ix, ins[2]).numpy()]
        elif c["op"] == "padLast" and ins[0].dtype.is_floating_point:
            kw = {"value": p["value"]} if p["mode"] == "constant" else {}
            x = ins[0] if p["mode"] == "constant" else ins[0][None]  # non-constant modes want a batch
            r = torch.nn.functional.pad(x, p["widths"], mode=p["mode"], **kw)
            got = [(r if p["mode"] == "constant" else r[0]).numpy()]
        elif c["op"] == "cat":
            got = [torch.cat(ins, p["axis"]).numpy()]
        elif c["op"] == "where":
            got = [torch.where(ins[0] != 0, ins[1], ins[2]).numpy()]
        if got is None:
            continue
        for g, e in zip(got, exp):
            assert g.dtype == e.dtype and g.shape == e.shape and np.array_equal(g, e, equal_nan=True), \
                f"{c['name']}: torch {g.dtype}{g.shape} {g.reshape(-1)[:8]} vs fixture {e.dtype}{e.shape} {e.reshape(-1)[:8]}"
        checked += 1
    print(f"cross-checked {checked} cases against torch {torch.__version__}")

write("copying", cases)
