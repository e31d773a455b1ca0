"""Fixtures for MyelinCore's elementwise ops, dtype promotion, views, subscripts and creation.

NumPy computes every expected value. Where Myelin's documented semantics differ from NumPy's, the
expected value follows Myelin and a comment says why; the dtype of every expected tensor is exactly
Myelin's result dtype. The Swift side is Tests/MyelinCoreTests/CoreOpsTests.swift (one table row per op).

Myelin's dtype rules used below (DType.promote / Tensor+Elementwise.swift):
  * promotion ranks bool < int32 < int64 < float32 < float64 and the higher rank wins, so
    int64 + float32 -> float32 (PyTorch's rule; NumPy gives float64);
  * arithmetic on bool operands runs in int64 (NumPy keeps bool for + and * and rejects -);
  * `/` and `pow` compute in floating point: integer/bool operands give float32 (NumPy's int ** int
    stays integer, NumPy's int / int gives float64);
  * exp/log/.../sigmoid on integer or bool inputs compute in float32 (NumPy: float64);
  * neg/abs/square/sign/relu/clamp keep integer dtypes and turn bool into int64;
  * floor/ceil/round return integer tensors unchanged; round is half to even;
  * a scalar operand takes the tensor's dtype, except float32 for a fractional scalar next to an
    integer/bool tensor and int64 for an integral scalar next to a bool tensor.

Run: python3 Tests/MyelinCoreTests/Fixtures/generators/gen_core.py
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import os as _os
import sys as _sys

# The shared fixture writer lives in Tests/MyelinTestSupport.
_sys.path.insert(0, _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), "..", "..", "..", "MyelinTestSupport"))
from fixturelib import case, viewed, write  # noqa: E402

f32, f64, i32, i64, b_ = np.float32, np.float64, np.int32, np.int64, np.bool_
RANK = {"bool": 0, "int32": 1, "int64": 2, "float32": 3, "float64": 4}
cases = []


def tol(dtype):
    """Tolerances by result dtype: float64 results are checked to ~1e-12."""
    return {"rtol": 1e-12, "atol": 1e-14} if np.dtype(dtype) == np.float64 else {}


def add(name, op, inputs, expected, params=None, **kw):
    if not kw and not isinstance(expected, (list, tuple)):
        kw = tol(np.asarray(expected).dtype)
    cases.append(case(name, op, inputs, expected, params=params, **kw))


def promote(a, b):
    """Myelin's DType.promote."""
    a, b = str(np.dtype(a)), str(np.dtype(b))
    return np.dtype(a if RANK[a] >= RANK[b] else b)


def arith_dtype(a, b):
    d = promote(a, b)
    return np.dtype(i64) if d == np.bool_ else d


def float_dtype(a, b):
    d = promote(a, b)
    return d if d.kind == "f" else np.dtype(f32)


def A(values, dtype):
    return np.array(values, dtype=dtype)


def arange(shape, dtype=f32, start=0, scale=1.0):
    n = int(np.prod(shape))
    return (np.arange(n) * scale + start).astype(dtype).reshape(shape)


np.seterr(all="ignore")
nan, inf = np.nan, np.inf

# ---------------------------------------------------------------------------------------------
# Unary ops
# ---------------------------------------------------------------------------------------------

SPECIAL = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.75, 1e-7, 20.0, -20.0, inf, -inf, nan]
POSITIVE = [0.0, 1e-6, 0.25, 1.0, 2.0, 10.0, 1e4, inf, -1.0, -inf, nan]


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


FLOAT_UNARY = {
    "exp": (np.exp, [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 10.0, -100.0, 100.0, inf, -inf, nan]),
    "log": (np.log, POSITIVE),
    "log1p": (np.log1p, [0.0, 1e-10, -0.5, 1.0, 100.0, -1.0, -2.0, inf, nan]),
    "sqrt": (np.sqrt, POSITIVE),
    "rsqrt": (lambda x: 1 / np.sqrt(x), POSITIVE),
    "sin": (np.sin, [0.0, -0.0, 0.5, -1.0, 3.0, np.pi / 2, 100.0, -1000.0, inf, -inf, nan]),
    "cos": (np.cos, [0.0, -0.0, 0.5, -1.0, 3.0, np.pi, 100.0, -1000.0, inf, -inf, nan]),
    "tanh": (np.tanh, [0.0, -0.0, 0.5, -1.0, 3.0, 20.0, -20.0, 1e-8, inf, -inf, nan]),
    "sigmoid": (sigmoid, [0.0, 0.5, -1.0, 3.0, 20.0, -20.0, 50.0, -100.0, -800.0, inf, -inf, nan]),
}
ROUNDING = {
    "floor": np.floor,
    "ceil": np.ceil,
    # np.round is half to even, as Myelin's round documents.
    "round": np.round,
}
ROUND_VALUES = [0.0, -0.0, 0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 0.49999997, 2.7, -2.7, 1e20, -7.0, inf, -inf, nan]
INT_VALUES = [-7, -2, -1, 0, 1, 2, 3, 100]

for name, (fn, values) in FLOAT_UNARY.items():
    for dt in (f32, f64):
        x = A(values, dt)
        add(f"{name}_{dt.__name__}_special", name, [x], fn(x).astype(dt))
    # 2-d non-contiguous input: the transpose of a [3, 2] block (values kept in the op's domain).
    base = arange([3, 2], f32, start=0.25, scale=0.5)
    add(f"{name}_float32_transposed", name, [(base, "T")], fn(viewed([(base, "T")])[0]))
    if name in ("exp", "sigmoid"):  # 0-d input
        s = np.array(0.75, dtype=f64)
        add(f"{name}_float64_0d", name, [s], fn(s))
    # Integer and bool inputs compute in float32 (NumPy would compute in float64).
    domain_ok = name not in ("log", "sqrt", "rsqrt", "log1p")
    ints = A(INT_VALUES if domain_ok else [0, 1, 2, 3, 100, 7], i32)
    add(f"{name}_int32_as_float32", name, [ints], fn(ints.astype(f32)))
    if name in ("exp", "sqrt", "tanh"):
        i64s = A([[0, 1, 2], [3, 4, 5]], i64)
        add(f"{name}_int64_as_float32_step", name, [(i64s, "step")], fn(viewed([(i64s, "step")])[0].astype(f32)))
    bools = A([True, False, True], b_)
    add(f"{name}_bool_as_float32", name, [bools], fn(bools.astype(f32)))

for name, fn in ROUNDING.items():
    for dt in (f32, f64):
        x = A(ROUND_VALUES, dt)
        add(f"{name}_{dt.__name__}_special", name, [x], fn(x).astype(dt))
    base = arange([4, 2], f64, start=-2.75, scale=0.5)
    add(f"{name}_float64_reversed", name, [(base, "rev")], fn(viewed([(base, "rev")])[0]))
    # Integer tensors are returned unchanged (dtype kept).
    for dt in (i32, i64):
        x = A(INT_VALUES, dt)
        add(f"{name}_{dt.__name__}_unchanged", name, [x], x.copy())

NUMERIC_VALUES = [0.0, -0.0, 1.5, -1.5, 2.0, -3.25, 1e30, -1e30, inf, -inf, nan]
NUMERIC = {
    "neg": np.negative,
    "abs": np.abs,
    "square": np.square,
    "sign": np.sign,
    "relu": lambda x: np.where(np.isnan(x), x, np.maximum(x, 0).astype(x.dtype)),
}
for name, fn in NUMERIC.items():
    for dt in (f32, f64):
        x = A(NUMERIC_VALUES, dt)
        add(f"{name}_{dt.__name__}_special", name, [x], fn(x).astype(dt))
    for dt in (i32, i64):
        x = A(INT_VALUES, dt)
        add(f"{name}_{dt.__name__}_keeps_dtype", name, [x], fn(x).astype(dt))
    base = arange([2, 2], i32, start=-2)
    add(f"{name}_int32_transposed", name, [(base, "T")], fn(viewed([(base, "T")])[0]))
    # Bool inputs compute in int64 (NumPy rejects negative/sign of bools).
    bools = A([[True, False], [False, True]], b_)
    add(f"{name}_bool_as_int64", name, [bools], fn(bools.astype(i64)))
    if name in ("neg", "relu"):
        s = np.array(-4.5, dtype=f32)
        add(f"{name}_float32_0d", name, [s], fn(s).astype(f32))


def clamp(x, lo=None, hi=None):
    y = x.copy()
    if lo is not None:
        y = np.where(y < x.dtype.type(lo), x.dtype.type(lo), y)
    if hi is not None:
        y = np.where(y > x.dtype.type(hi), x.dtype.type(hi), y)
    return y.astype(x.dtype)


for dt in (f32, f64):
    x = A([-3.0, -1.0, -0.25, 0.0, 0.1, 0.5, 1.0, 2.5, inf, -inf, nan], dt)
    add(f"clamp_{dt.__name__}_both", "clamp", [x], clamp(x, -0.5, 1.0), params={"min": -0.5, "max": 1.0})
    add(f"clamp_{dt.__name__}_min_only", "clamp", [x], clamp(x, lo=0.1), params={"min": 0.1})
    add(f"clamp_{dt.__name__}_max_only", "clamp", [x], clamp(x, hi=0.1), params={"max": 0.1})
for dt in (i32, i64):
    x = A(INT_VALUES, dt)
    add(f"clamp_{dt.__name__}_keeps_dtype", "clamp", [x], clamp(x, -1, 3), params={"min": -1, "max": 3})
base = arange([3, 4], f32, start=-3, scale=0.5)
add("clamp_float32_transposed", "clamp", [(base, "T")], clamp(viewed([(base, "T")])[0], -1, 1),
    params={"min": -1, "max": 1})
# min > max: every element becomes max, as np.clip (and torch.clamp) do.
x = A([-2.0, 0.0, 2.0], f32)
add("clamp_float32_min_above_max", "clamp", [x], np.clip(x, f32(1.0), f32(0.0)), params={"min": 1.0, "max": 0.0})

# ---------------------------------------------------------------------------------------------
# Binary ops
# ---------------------------------------------------------------------------------------------

ARITH = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "maximum": np.maximum, "minimum": np.minimum}
FLOATOPS = {"div": np.divide, "pow": np.power}


def binary_expected(op, a, b):
    """Myelin's result: both operands converted to the op's dtype, then NumPy's op in that dtype."""
    if op in ARITH:
        d = arith_dtype(a.dtype, b.dtype)
        return ARITH[op](a.astype(d), b.astype(d)).astype(d)
    d = float_dtype(a.dtype, b.dtype)
    return FLOATOPS[op](a.astype(d), b.astype(d)).astype(d)


def binary(name, op, inputs, **kw):
    a, b = viewed(inputs)
    add(name, op, inputs, binary_expected(op, a, b), **kw)


ALL_BINARY = list(ARITH) + list(FLOATOPS)
# Every op gets the core broadcasting, view and promotion cases; the kernels' other paths (3-d
# broadcasting, two strided operands, the rest of the dtype pairs) run on one op per kernel family
# (add: integer-capable arithmetic, div: float-only ops, maximum: NaN-propagating select) to keep
# the fixture file small.
FULL = ("add", "div", "maximum")
for op in ALL_BINARY:
    pos = op == "pow"  # pow's bases stay positive here; negative bases have their own cases below
    lo = 0.5 if pos else -2.0
    # Same shapes, both float dtypes.
    for dt in (f32, f64):
        a = arange([2, 3], dt, start=lo, scale=0.75)
        b = arange([2, 3], dt, start=-1.0, scale=0.5)
        binary(f"{op}_{dt.__name__}_same_shape", op, [a, b])
    # Broadcasting.
    binary(f"{op}_broadcast_3x1_1x4", op, [arange([3, 1], f32, start=lo + 0.5), arange([1, 4], f32, start=-1, scale=0.5)])
    binary(f"{op}_broadcast_0d_2x3", op, [np.array(1.5, f32), arange([2, 3], f32, start=-1, scale=0.5)])
    # Non-contiguous operand (view).
    t = arange([3, 2], f32, start=lo + 0.5, scale=0.5)
    binary(f"{op}_transposed_with_row_broadcast", op, [(t, "T"), A([2.0, -0.5, 0.25], f32)])
    # Mixed dtypes.
    ia = A([[1, 2, 3], [4, 5, 6]], i32)
    binary(f"{op}_int32_float32", op, [ia, A([-1.0, 0.5, 2.0], f32)])
    binary(f"{op}_bool_bool", op, [A([True, True, False, False], b_), A([True, False, True, False], b_)])
    if op not in FULL:
        continue
    binary(f"{op}_broadcast_empty_0x3_1x3", op, [np.zeros([0, 3], f32), arange([1, 3], f32, start=1)])
    binary(f"{op}_int32_int64", op, [ia, A([2, -1, 3], i64)])
    binary(f"{op}_broadcast_2x3x4_4", op, [arange([2, 3, 4], f32, start=lo + 0.5, scale=0.25), A([0.5, -1.0, 2.0, 4.0], f32)])
    binary(f"{op}_broadcast_2x3_0d", op, [arange([2, 3], f32, start=lo + 0.5, scale=0.5), np.array(2.0, f32)])
    binary(f"{op}_0d_0d", op, [np.array(2.5, f64), np.array(-1.5 if not pos else 1.5, f64)])
    binary(f"{op}_transposed_with_contiguous", op, [(t, "T"), arange([2, 3], f32, start=-1, scale=0.25)])
    binary(f"{op}_step_with_rev", op, [(arange([4, 3], f64, start=lo + 0.5), "step"), (arange([2, 3], f64, start=-2), "rev")])
    binary(f"{op}_int64_float64", op, [A([1, 2, 3], i64), A([0.5, -1.5, 2.0], f64)])
    # int64 with float32 gives float32 in Myelin (PyTorch's rule); NumPy would give float64.
    binary(f"{op}_int64_float32", op, [A([1, 2, 3], i64), A([0.5, -1.5, 2.0], f32)])
    binary(f"{op}_bool_float32", op, [A([True, False, True], b_), A([1.5, 2.0, 0.5], f32)])
    binary(f"{op}_int32_bool", op, [ia, A([True, False, True], b_)])
    binary(f"{op}_int32_int32", op, [ia, A([[2, 1, 3], [1, 2, 2]], i32)])
    binary(f"{op}_int64_int64_broadcast", op, [A([[1], [2], [3]], i64), A([1, 2], i64)])

# Special values.
x = A([0.0, 1.0, -1.0, inf, -inf, nan, 5.0, nan], f32)
y = A([0.0, 0.0, 0.0, inf, 2.0, 1.0, nan, nan], f32)
for op in ("add", "sub", "mul", "div", "maximum", "minimum"):
    binary(f"{op}_float32_special", op, [x, y])
binary("div_float64_by_zero", "div", [A([1.0, -1.0, 0.0, 2.0], f64), A([0.0, 0.0, 0.0, -0.0], f64)])
binary("div_int64_by_zero_is_float", "div", [A([1, -1, 0, 7], i64), A([0, 0, 0, 2], i64)])
binary("div_int32_int32_is_float32", "div", [A([7, -7, 1, 0], i32), A([2, 2, 3, 5], i32)])
binary("div_int32_float64", "div", [A([7, -7, 1], i32), A([2.0, 4.0, 3.0], f64)])
binary("maximum_int32_float64", "maximum", [A([1, 5, -3], i32), A([2.5, 4.5, -3.5], f64)])
binary("pow_float32_fractional_exponents", "pow", [A([4.0, 2.0, 9.0, 0.0, 1.0, inf, 0.5], f32),
                                                  A([0.5, -1.0, -0.5, 3.0, nan, -1.0, 2.0], f32)])
# Negative bases and 0 ** 0, as NumPy (and C's pow) define them: (-2)^3 = -8, (-2)^2 = 4, 0^0 = 1,
# a negative base with a fractional exponent is NaN. Myelin documents no other rule for these.
# (Myelin's pow calls swift-numerics' Real.pow, which is IEEE powr: NaN for every negative base and
# for 0^0, so these cases, pow_bool_bool's 0^0 and the negative pow_scalar cases currently fail.)
binary("pow_float32_negative_base_integral_exponent", "pow", [A([-2.0, -2.0, -3.0, -0.5], f32), A([3.0, 2.0, -1.0, 2.0], f32)])
binary("pow_float64_negative_base_fractional_exponent", "pow", [A([-8.0, -1.0], f64), A([1.0 / 3, 0.5], f64)])
binary("pow_float32_zero_to_zero", "pow", [A([0.0, 3.0, nan], f32), A([0.0, 0.0, 0.0], f32)])
binary("pow_int32_int32_negative_base", "pow", [A([-2, -3, 2], i32), A([2, 3, -1], i32)])

# ---------------------------------------------------------------------------------------------
# Scalar operands: params value, integral (Swift Int vs Double), side ("right": x op s, "left": s op x)
# ---------------------------------------------------------------------------------------------


def scalar_dtype(tdt, integral):
    d = np.dtype(tdt)
    if not integral and d.kind != "f":
        d = np.dtype(f32)
    if d == np.bool_:
        d = np.dtype(i64)
    return d


SCALAR_FN = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}


def scalar_case(name, op, base, value, left=False, view=None):
    x = viewed([(base, view)])[0] if view else base
    integral = isinstance(value, int)
    s = np.array(value, dtype=scalar_dtype(x.dtype, integral))
    a, b = (s, x) if left else (x, s)
    if op in SCALAR_FN:
        exp = binary_expected(op, a, b)
    else:
        d = arith_dtype(a.dtype, b.dtype)
        exp = COMPARE[op](a.astype(d), b.astype(d))
    inp = [(base, view)] if view else [base]
    add(name, f"{op}_scalar", inp, exp, params={"value": value, "integral": integral, "left": left})


ix = A([[1, -2, 3], [0, 5, -6]], i32)
fx = A([[1.5, -2.0, 0.0], [inf, nan, -0.25]], f32)
scalar_case("add_scalar_int32_plus_int_stays_int32", "add", ix, 2)
scalar_case("add_scalar_int32_plus_fraction_is_float32", "add", ix, 0.5)
scalar_case("add_scalar_bool_plus_int_is_int64", "add", A([True, False], b_), 2)
scalar_case("add_scalar_float64_plus_int_stays_float64", "add", A([0.5, -1.0], f64), 2)
scalar_case("add_scalar_left_int64", "add", A([1, 2, 3], i64), 10, left=True)
scalar_case("sub_scalar_float32", "sub", fx, 0.5)
scalar_case("sub_scalar_left_two_minus_x_int32", "sub", ix, 2, left=True)
scalar_case("sub_scalar_left_two_minus_x_float32_transposed", "sub", arange([2, 3], f32, scale=0.5), 2, left=True, view="T")
scalar_case("mul_scalar_int32_times_fraction_is_float32", "mul", ix, 2.5)
scalar_case("mul_scalar_left_float64", "mul", A([1.0, -2.0, nan], f64), 3, left=True)
scalar_case("div_scalar_int32_by_fraction_is_float32", "div", ix, 2.5)
scalar_case("div_scalar_int64_by_int_is_float32", "div", A([1, 2, 3, -7], i64), 2)
scalar_case("div_scalar_left_two_over_x_float32", "div", A([1.0, -4.0, 0.0, inf], f32), 2.0, left=True)
scalar_case("div_scalar_left_int_over_int64_is_float32", "div", A([1, 2, 0], i64), 3, left=True)

# pow with a scalar exponent: documented as "computed in floating point" like pow(Tensor), so an
# integer tensor gives float32 whatever the exponent's value.
for dt, vals in ((f32, [1.5, -2.0, 0.0, 3.0]), (f64, [1.5, 2.0, 0.0, 3.0]), (i64, [1, 2, 3, 4])):
    x = A(vals, dt)
    for e in (2, 3, 0.5, 1, -1.0):
        if e == 0.5 and dt != f64:
            continue  # sqrt of negatives covered above
        d = float_dtype(x.dtype, f32 if dt != f64 else f64)
        exp = np.power(x.astype(d), d.type(e)).astype(d)
        add(f"pow_scalar_{dt.__name__}_exponent_{str(e).replace('.', '_').replace('-', 'minus')}", "pow_scalar", [x], exp,
            params={"value": e, "integral": isinstance(e, int)})

# ---------------------------------------------------------------------------------------------
# Comparisons and logical ops
# ---------------------------------------------------------------------------------------------

COMPARE = {"lt": np.less, "le": np.less_equal, "gt": np.greater, "ge": np.greater_equal, "eq": np.equal, "ne": np.not_equal}


def compare_case(name, op, inputs):
    a, b = viewed(inputs)
    d = arith_dtype(a.dtype, b.dtype)
    add(name, op, inputs, COMPARE[op](a.astype(d), b.astype(d)))


for op in COMPARE:
    compare_case(f"{op}_float32_special", op, [A([1.0, 2.0, nan, inf, -inf, 0.0, -0.0], f32),
                                                A([2.0, 2.0, nan, inf, 1.0, -0.0, nan], f32)])
    compare_case(f"{op}_broadcast_3x1_1x4_int64", op, [A([[0], [2], [4]], i64), A([[1, 2, 3, 4]], i64)])
    compare_case(f"{op}_int32_float32", op, [A([1, 2, 3], i32), A([1.5, 2.0, 2.5], f32)])
    compare_case(f"{op}_transposed_0d", op, [(arange([3, 2], f64), "T"), np.array(2.0, f64)])
    compare_case(f"{op}_bool_bool", op, [A([True, True, False, False], b_), A([True, False, True, False], b_)])
scalar_case("lt_scalar_int32", "lt", ix, 2)
scalar_case("ge_scalar_int32_fraction", "ge", ix, 2.5)
scalar_case("eq_scalar_float32_nan", "eq", fx, 0)
scalar_case("ne_scalar_float32_nan", "ne", fx, 1.5)
scalar_case("gt_scalar_float64_reversed", "gt", arange([4, 2], f64, start=-3), 0, view="rev")
scalar_case("le_scalar_bool", "le", A([True, False], b_), 0)

LOGICAL = {"and": np.logical_and, "or": np.logical_or, "xor": np.logical_xor}
for op, fn in LOGICAL.items():
    for name, ins in (
        ("bool", [A([True, True, False, False], b_), A([True, False, True, False], b_)]),
        # Non-zero is true; NaN is non-zero.
        ("float32_truthiness", [A([0.0, -0.0, 2.0, nan, 0.0], f32), A([1.0, 0.0, 0.0, 0.0, nan], f32)]),
        ("int64_broadcast", [A([[0], [3]], i64), A([0, 1, -2], i64)]),
        ("mixed_int32_float64", [A([0, 1, 2], i32), A([0.5, 0.0, 1.0], f64)]),
        ("transposed_0d", [(A([[True, False, True], [False, False, True]], b_), "T"), np.array(True)]),
    ):
        a, b = viewed(ins)
        add(f"{op}_{name}", op, ins, fn(a, b))
for name, x in (("bool", A([True, False], b_)), ("float32_nan_is_true", A([0.0, 1.0, nan, -0.0, inf], f32)),
                ("int32", A([[0, 1], [-3, 0]], i32)), ("0d", np.array(0, i64))):
    add(f"not_{name}", "not", [x], np.logical_not(x))
add("not_step_view", "not", [(A([[0, 1], [1, 1], [2, 0]], i32), "step")],
    np.logical_not(viewed([(A([[0, 1], [1, 1], [2, 0]], i32), "step")])[0]))

# Compound assignment: `a op= b` is `a = a op b`, so the dtype may change (int /= int gives float32).
for op in ("add", "sub", "mul", "div"):
    for name, ins in (
        ("float32_broadcast_row", [arange([2, 3], f32, start=1), A([0.5, 2.0, -1.0], f32)]),
        ("int64_int64", [A([[4, 6], [8, -2]], i64), A([[2, 3], [-4, 1]], i64)]),
        ("transposed_lhs", [(arange([3, 2], f64, start=1), "T"), A([1.0, 2.0, 4.0], f64)]),
    ):
        a, b = viewed(ins)
        add(f"i{op}_{name}", f"i{op}", ins, binary_expected(op, a, b))
x = A([1, 2, 3], i32)
add("iadd_scalar_int32_stays_int32", "iadd_scalar", [x], x + i32(5), params={"value": 5, "integral": True})
add("idiv_scalar_int32_becomes_float32", "idiv_scalar", [x], x.astype(f32) / f32(2), params={"value": 2, "integral": True})
add("imul_scalar_int32_fraction_becomes_float32", "imul_scalar", [x], x.astype(f32) * f32(1.5), params={"value": 1.5, "integral": False})
add("isub_scalar_float64", "isub_scalar", [A([1.0, nan], f64)], A([1.0, nan], f64) - 0.25, params={"value": 0.25, "integral": False})

# ---------------------------------------------------------------------------------------------
# Conversion
# ---------------------------------------------------------------------------------------------

conv = [
    ("float32_to_int32_truncates", A([1.7, -1.7, 0.0, 2.5, -0.5, 100.9], f32), "int32"),
    ("float64_to_int64_truncates", A([[1e10, -3.99], [0.999, -0.0]], f64), "int64"),
    ("float64_to_float32", A([0.1, 1e-50, 1e300, -inf, nan], f64), "float32"),
    ("int64_to_bool", A([0, 1, -5, 0], i64), "bool"),
    # NaN is non-zero, so true (as in NumPy).
    ("float32_to_bool", A([0.0, -0.0, 0.5, nan, inf], f32), "bool"),
    ("bool_to_float32", A([True, False], b_), "float32"),
    ("int32_to_int64", A([-(2 ** 31), 2 ** 31 - 1, 0], i32), "int64"),
    ("int64_to_float64", A([2 ** 52 + 1, -3], i64), "float64"),
]
for name, x, dt in conv:
    add(f"to_{name}", "to", [x], x.astype(dt), params={"dtype": dt})
t = arange([2, 3], f64, start=-1.5, scale=0.7)
add("to_transposed_float64_to_int32", "to", [(t, "T")], viewed([(t, "T")])[0].astype(i32), params={"dtype": "int32"})

# ---------------------------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------------------------

x12 = arange([12], i64)
x34 = arange([3, 4], i64)
x234 = arange([2, 3, 4], i32)


def view_case(name, op, inp, fn, params):
    x = viewed([inp])[0]
    add(name, op, [inp], np.array(fn(x)), params=params)  # a copy in C order (0-d stays 0-d)


for shape in ([3, 4], [2, -1], [-1], [2, 2, 3], [12, 1], [1, 12], [-1, 6], [2, 1, 6, 1]):
    view_case(f"reshape_arange12_to_{'x'.join(map(str, shape)).replace('-1', 'm1')}", "reshape", x12,
              lambda a, s=shape: a.reshape(s), {"shape": shape})
# Reshapes of non-contiguous inputs: Myelin copies when no strides fit, NumPy too; values are C order.
for shape in ([12], [2, 6], [4, 3], [2, 2, 3], [2, 1, 2, 3]):
    view_case(f"reshape_transposed_3x4_to_{'x'.join(map(str, shape))}", "reshape", (x34, "T"),
              lambda a, s=shape: a.reshape(s), {"shape": shape})
view_case("reshape_step_view_to_m1", "reshape", (x234, "step"), lambda a: a.reshape(-1), {"shape": [-1]})
view_case("reshape_rev_view_to_4x3", "reshape", (arange([2, 6], f64), "rev"), lambda a: a.reshape(4, 3), {"shape": [4, 3]})
view_case("reshape_0d_to_1x1", "reshape", np.array(5.0, f32), lambda a: a.reshape(1, 1), {"shape": [1, 1]})
view_case("reshape_1x1_to_0d", "reshape", A([[5.0]], f32), lambda a: a.reshape(()), {"shape": []})
view_case("reshape_empty_0x3_to_3x0", "reshape", np.zeros([0, 3], f32), lambda a: a.reshape(3, 0), {"shape": [3, 0]})
view_case("reshape_empty_0x3_to_m1", "reshape", np.zeros([0, 3], f32), lambda a: a.reshape(-1), {"shape": [-1]})
view_case("reshape_empty_0x3_to_m1x3", "reshape", np.zeros([0, 3], i32), lambda a: a.reshape(-1, 3), {"shape": [-1, 3]})

view_case("flatten_transposed", "flatten", (x234, "T"), lambda a: a.reshape(-1), {})
view_case("flatten_0d", "flatten", np.array(3, i64), lambda a: a.reshape(-1), {})

for order in ([2, 0, 1], [0, 1, 2], [1, 0, 2], [-1, 0, -2]):
    view_case(f"permute_{'_'.join(map(str, order)).replace('-', 'm')}", "permute", x234,
              lambda a, o=order: np.transpose(a, o), {"order": order})
view_case("permute_transposed_input", "permute", (x234, "T"), lambda a: np.transpose(a, [1, 2, 0]), {"order": [1, 2, 0]})

view_case("transpose_default_2d", "transpose", x34, lambda a: a.T, {})
view_case("transpose_default_3d_swaps_last_two", "transpose", x234, lambda a: np.swapaxes(a, -1, -2), {})
view_case("transpose_axes_0_2", "transpose", x234, lambda a: np.swapaxes(a, 0, 2), {"a": 0, "b": 2})
view_case("transpose_axes_m3_m2", "transpose", x234, lambda a: np.swapaxes(a, -3, -2), {"a": -3, "b": -2})
view_case("transpose_1d_unchanged", "transpose", x12, lambda a: a, {})
view_case("T_of_transposed_is_original", "T", (x34, "T"), lambda a: a.T, {})
view_case("T_3d", "T", x234, lambda a: np.swapaxes(a, -1, -2), {})

x1 = arange([1, 3, 1, 2], f32)
view_case("squeeze_all", "squeeze", x1, lambda a: a.squeeze(), {})
view_case("squeeze_axis_0", "squeeze", x1, lambda a: a.squeeze(0), {"axis": 0})
view_case("squeeze_axis_m2", "squeeze", x1, lambda a: a.squeeze(-2), {"axis": -2})
# Squeezing an axis whose size is not 1 returns the tensor unchanged (PyTorch's rule; NumPy raises).
view_case("squeeze_axis_not_1_unchanged", "squeeze", x1, lambda a: a, {"axis": 1})
view_case("squeeze_all_ones_to_0d", "squeeze", A([[[7]]], i64), lambda a: a.squeeze(), {})
view_case("squeeze_transposed", "squeeze", (arange([3, 1], f64), "T"), lambda a: a.squeeze(), {})
for axis in (0, 1, 2, -1, -2):
    view_case(f"unsqueeze_{axis}".replace("-", "m"), "unsqueeze", x34, lambda a, ax=axis: np.expand_dims(a, ax), {"axis": axis})
view_case("unsqueeze_transposed", "unsqueeze", (x34, "T"), lambda a: np.expand_dims(a, 1), {"axis": 1})
view_case("unsqueeze_0d", "unsqueeze", np.array(2.5, f32), lambda a: np.expand_dims(a, 0), {"axis": 0})

view_case("expand_row_to_2x3", "expand", A([1, 2, 3], i64), lambda a: np.broadcast_to(a, [2, 3]), {"shape": [2, 3]})
view_case("expand_column_3x1_to_3x4", "expand", A([[1.0], [2.0], [3.0]], f32), lambda a: np.broadcast_to(a, [3, 4]), {"shape": [3, 4]})
view_case("expand_with_m1", "expand", A([[1.0], [2.0], [3.0]], f32), lambda a: np.broadcast_to(a, [2, 3, 4]), {"shape": [2, -1, 4]})
view_case("expand_0d_to_2x2", "expand", np.array(True), lambda a: np.broadcast_to(a, [2, 2]), {"shape": [2, 2]})
view_case("expand_transposed_1x3_from_3x1", "expand", (arange([3, 1], f64), "T"), lambda a: np.broadcast_to(a, [2, 3]), {"shape": [2, 3]})
view_case("expand_to_zero_size", "expand", A([[1.0, 2.0]], f32), lambda a: np.broadcast_to(a, [0, 2]), {"shape": [0, 2]})
view_case("contiguous_of_transposed", "contiguous", (x234, "T"), lambda a: a, {})
view_case("contiguous_of_rev", "contiguous", (x34, "rev"), lambda a: a, {})

# ---------------------------------------------------------------------------------------------
# Subscripts. An index is a list of items:
#   int; "all"; "newaxis"; "ellipsis";
#   {"slice": [start, end, step]}  -> .slice(start, end, step:)  (Python slice, nulls allowed)
#   {"range": [a, b]} -> a..<b   {"closed": [a, b]} -> a...b   {"from": a} -> a...
#   {"upTo": b} -> ..<b   {"through": b} -> ...b   {"stride": [from, to, by]} -> stride(from:to:by:)
# ---------------------------------------------------------------------------------------------


def py_item(it):
    if isinstance(it, int):
        return it
    if it == "all":
        return slice(None)
    if it == "newaxis":
        return np.newaxis
    if it == "ellipsis":
        return Ellipsis
    (kind, v), = it.items()
    if kind == "slice":
        return slice(*v)
    if kind == "range":
        return slice(v[0], v[1])
    if kind == "closed":  # inclusive upper bound; -1 means through the end
        return slice(v[0], None if v[1] == -1 else v[1] + 1)
    if kind == "from":
        return slice(v, None)
    if kind == "upTo":
        return slice(None, v)
    if kind == "through":
        return slice(None, None if v == -1 else v + 1)
    if kind == "stride":
        # Swift's stride yields literal indices from..to (exclusive); with non-negative indices that
        # is the Python slice below (to = -1 with a negative step means "down to index 0").
        f, t, by = v
        assert f >= 0 and t >= -1
        return slice(f, None if t == -1 else t, by)
    raise ValueError(it)


def py_index(items):
    return tuple(py_item(i) for i in items)


def S(start=None, end=None, step=None):
    return {"slice": [start, end, 1 if step is None else step]}


INDEXES = [
    ("int_0", x34, [0]),
    ("int_negative", x34, [-1]),
    ("int_int", x34, [1, 2]),
    ("int_negative_negative", x34, [-2, -4]),
    ("range_rows", x34, [{"range": [1, 3]}]),
    ("range_cols", x34, ["all", {"range": [1, 3]}]),
    ("closed_range", x34, [{"closed": [0, 1]}, {"closed": [-3, -2]}]),
    ("closed_range_to_minus_one", x34, [{"closed": [-2, -1]}]),
    ("partial_from", x34, [{"from": 1}, 2]),
    ("partial_up_to", x34, [{"upTo": 2}]),
    ("partial_through", x34, ["all", {"through": 1}]),
    ("partial_through_minus_one", x34, ["all", {"through": -1}]),
    ("slice_step_2", x12, [S(None, None, 2)]),
    ("slice_step_3_offset", x12, [S(1, None, 3)]),
    ("slice_negative_step", x12, [S(None, None, -1)]),
    ("slice_negative_step_3", x12, [S(None, None, -3)]),
    ("slice_negative_step_bounds", x12, [S(8, 2, -2)]),
    ("slice_negative_step_negative_bounds", x12, [S(-1, -4, -1)]),
    ("slice_negative_step_end_minus_one_empty", x12, [S(None, -1, -1)]),
    ("slice_negative_step_start_past_end", x12, [S(100, None, -5)]),
    ("slice_negative_step_start_before_begin_empty", x12, [S(-100, None, -1)]),
    ("slice_out_of_range_clamped", x12, [S(5, 100)]),
    ("slice_negative_start_clamped", x12, [S(-100, 3)]),
    ("slice_empty_start_after_end", x12, [S(7, 3)]),
    ("slice_2d_both_reversed", x34, [S(None, None, -1), S(None, None, -2)]),
    ("slice_2d_mixed", x34, [S(1, None), S(3, 0, -1)]),
    ("stride_forward", x12, [{"stride": [1, 10, 4]}]),
    ("stride_backward_to_zero", x12, [{"stride": [11, -1, -1]}]),
    ("stride_backward_step_3_stopping_at_1", x12, [{"stride": [10, -1, -3]}]),
    ("stride_backward_step_3_reaching_0", x12, [{"stride": [9, -1, -3]}]),
    ("stride_backward_partial", x12, [{"stride": [8, 2, -2]}]),
    ("newaxis_front", x34, ["newaxis"]),
    ("newaxis_middle", x34, ["all", "newaxis"]),
    ("newaxis_end_via_ellipsis", x34, ["ellipsis", "newaxis"]),
    ("newaxis_with_int", x34, [1, "newaxis", S(None, None, 2)]),
    ("ellipsis_last_axis", x234, ["ellipsis", 1]),
    ("ellipsis_first_and_last", x234, [0, "ellipsis", -1]),
    ("ellipsis_alone", x234, ["ellipsis"]),
    ("ellipsis_middle_empty", x34, [1, "ellipsis", 2]),
    ("mixed_3d", x234, [-1, S(None, None, -1), {"range": [1, 3]}]),
    ("int_on_transposed", (x34, "T"), [1]),
    ("slice_on_transposed", (x34, "T"), [S(None, None, -1), S(1, None, 2)]),
    ("int_on_step_view", (x234, "step"), [0, -1]),
    ("slice_on_rev_view", (x34, "rev"), [S(None, None, 2), 0]),
    ("view_of_view_reversed_twice", (x12, "rev"), [S(None, None, -1)]),
    ("0d_newaxis", np.array(4.5, f32), ["newaxis"]),
    ("0d_ellipsis", np.array(4.5, f32), ["ellipsis"]),
    ("empty_rows_of_0x3", np.zeros([0, 3], f32), ["all", 1]),
    ("empty_range", x34, [{"range": [2, 2]}]),
    ("bool_tensor_index", A([[True, False], [False, True]], b_), [S(None, None, -1), 0]),
]
for name, inp, items in INDEXES:
    view_case(f"index_{name}", "index", inp, lambda a, it=items: a[py_index(it)], {"index": items})

# Assignment through subscripts: inputs [x, value]; expected is x after `x[index] = value` (broadcast).
ASSIGN = [
    ("row_broadcast_0d", arange([3, 4], f32), [1], np.array(-1.0, f32)),
    ("row_vector", arange([3, 4], f32), [-1], A([9.0, 8.0, 7.0, 6.0], f32)),
    ("column_from_1d", arange([3, 4], f32), ["all", 0], A([10.0, 20.0, 30.0], f32)),
    ("column_broadcast_row_3x1", arange([3, 4], f32), ["all", {"range": [1, 3]}], A([[1.0], [2.0], [3.0]], f32)),
    ("stepped_reversed_block", arange([4, 4], i64), [S(None, None, 2), S(None, None, -1)], A([[1, 2, 3, 4], [5, 6, 7, 8]], i64)),
    ("ellipsis_scalar", arange([2, 3, 4], f64), ["ellipsis", 1], np.array(0.5, f64)),
    ("newaxis_in_target", arange([2, 3], f32), ["newaxis", 0], A([7.0, 8.0, 9.0], f32)),
    ("single_element", arange([2, 3], i32), [1, -1], np.array(42, i32)),
    # The value is converted to the target's dtype (float -> int truncates toward zero).
    ("float_into_int_truncates", arange([2, 3], i32), [0], A([1.9, -1.9, 2.5], f32)),
    ("int_into_bool", A([False, False, False], b_), [{"range": [0, 2]}], A([0, 3], i64)),
    ("empty_target", arange([2, 3], f32), [{"range": [1, 1]}], np.array(5.0, f32)),
    ("into_transposed", (arange([3, 4], f32), "T"), [1], A([-1.0, -2.0, -3.0], f32)),
    ("into_rev_view", (arange([4, 2], i64), "rev"), [0], A([100, 200], i64)),
    ("whole_tensor_ellipsis", arange([2, 2], f32), ["ellipsis"], A([1.0, 2.0], f32)),
]
for name, inp, items, value in ASSIGN:
    x = viewed([inp])[0].copy()
    x[py_index(items)] = value
    add(f"index_set_{name}", "index_set", [inp, value], x, params={"index": items})

# fill through a subscript: `x[index].fill(value)` writes back into x.
for name, inp, items, value in (
    ("rows_step", arange([4, 3], f32), [S(None, None, 2)], 7.0),
    ("column_int", arange([3, 3], i32), ["all", -1], -3.0),
    ("transposed_row", (arange([2, 3], f64), "T"), [0], 0.25),
    ("whole", arange([2, 2], i64), ["ellipsis"], 9.0),
):
    x = viewed([inp])[0].copy()
    x[py_index(items)] = value
    add(f"index_fill_{name}", "index_fill", [inp], x, params={"index": items, "value": value})

# ---------------------------------------------------------------------------------------------
# Creation (no inputs). arange's dtype is int64 when start and step are whole numbers, else float32
# (NumPy: float64 for a float step); linspace's default dtype is float32 (NumPy: float64).
# ---------------------------------------------------------------------------------------------

for start, end, step in ((0, 5, 1), (2, 11, 3), (5, 0, -2), (0, 1, 0.25), (1, 2, 0.3), (5, 0, -1.5), (0, 1, 0.1), (3, 3, 1), (3, 0, 1)):
    integral = float(start).is_integer() and float(step).is_integer()
    dt = i64 if integral else f32
    add(f"arange_{start}_{end}_{step}".replace(".", "p").replace("-", "m"), "arange", [],
        np.arange(start, end, step, dtype=np.float64).astype(dt), params={"start": start, "end": end, "step": step})
for start, end, count in ((0, 1, 5), (-1, 1, 3), (2, 3, 1), (0, 1, 0), (1, 0, 4), (0, 10, 7)):
    add(f"linspace_{start}_{end}_{count}".replace("-", "m"), "linspace", [], np.linspace(start, end, count).astype(f32),
        params={"start": start, "end": end, "count": count})
for n, m in ((3, None), (2, 4), (4, 2), (0, None)):
    add(f"eye_{n}_{m}", "eye", [], np.eye(n, m, dtype=f32), params={"n": n} if m is None else {"n": n, "m": m})
for shape, value, dt in (([2, 3], 7, "int32"), ([], 1.5, "float64"), ([2, 0], 1.0, "float32"), ([3], 1.0, "bool"), ([2, 2], -2.7, "int64")):
    # full converts the value like `to`: -2.7 into int64 truncates toward zero.
    add(f"full_{'x'.join(map(str, shape)) or '0d'}_{dt}", "full", [], np.full(shape, np.trunc(value) if "int" in dt else value).astype(dt),
        params={"shape": shape, "value": value, "dtype": dt})

write("core", cases)
