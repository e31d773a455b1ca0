"""Shared writer for Myelin's test fixtures: NumPy computes, JSON stores, Swift tests compare.

Each generator script builds a list of cases with `case(...)` and calls `write(name, cases)`, which
writes ../<name>.json. A tensor is stored as {"dtype", "shape", "data"} with data flat in C order;
NaN and infinities are the strings "nan", "inf", "-inf". An input may carry "view", which both
sides apply after building the base array, so tests exercise non-contiguous inputs:
  "T"      swap the last two axes
  "step"   take every second element of axis 0 (x[::2])
  "rev"    reverse axis 0 (x[::-1])
Run from anywhere: python3 Tests/<Target>/Fixtures/generators/<script>.py
"""
import json
import math
import os

import numpy as np

# Fixtures go to the Fixtures folder above the generator script that runs (…/Fixtures/generators/x.py).
OUT = os.path.dirname(os.path.dirname(os.path.abspath(__import__("sys").argv[0])))

DTYPES = {"float32": np.float32, "float64": np.float64, "int32": np.int32, "int64": np.int64, "bool": np.bool_}


def _scalar(v, dtype):
    if dtype == "bool":
        return bool(v)
    if dtype.startswith("int"):
        return int(v)
    v = float(v)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    return v


def tensor(a):
    """JSON form of a NumPy array (the array's own dtype must be one Myelin has)."""
    a = np.asarray(a)
    name = str(a.dtype)
    if name not in DTYPES:
        raise ValueError(f"unsupported dtype {name}")
    return {"dtype": name, "shape": list(a.shape), "data": [_scalar(v, name) for v in a.reshape(-1).tolist()]}


def apply_view(a, view):
    if view is None:
        return a
    if view == "T":
        return np.swapaxes(a, -1, -2)
    if view == "step":
        return a[::2]
    if view == "rev":
        return a[::-1]
    raise ValueError(view)


def input_tensor(base, view=None):
    """An input: the base array as stored plus the view both sides apply to it."""
    t = tensor(base)
    if view:
        t["view"] = view
    return t


def case(name, op, inputs, expected, params=None, rtol=None, atol=None):
    """inputs: list of (base_array, view) or arrays; expected: array or list of arrays."""
    ins = [input_tensor(*x) if isinstance(x, tuple) else input_tensor(x) for x in inputs]
    exp = [tensor(e) for e in expected] if isinstance(expected, (list, tuple)) else [tensor(expected)]
    c = {"name": name, "op": op, "inputs": ins, "expected": exp, "params": params or {}}
    if rtol is not None:
        c["rtol"] = rtol
    if atol is not None:
        c["atol"] = atol
    return c


def viewed(inputs):
    """The arrays NumPy should compute on: the bases with their views applied."""
    return [apply_view(*x) if isinstance(x, tuple) else np.asarray(x) for x in inputs]


def write(name, cases):
    path = os.path.join(OUT, f"{name}.json")
    with open(path, "w") as f:
        json.dump({"generator": os.path.basename(__import__("sys").argv[0]), "numpy": np.__version__, "cases": cases},
                  f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.relpath(path)}")
