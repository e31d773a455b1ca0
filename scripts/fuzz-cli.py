#!/usr/bin/env python3
"""Random bad (and good) input through the real `myelin` command.

Every case is made from (seed, case number) alone, runs the command on tiny data in its own
temporary folder, and checks the CLI contract:
  * the exit status is 0 or 1 (never a signal, never >= 128), within --time-limit seconds and
    --memory-limit-mb of peak RSS (os.wait4's ru_maxrss; a child over either limit is killed);
  * on exit 1: exactly one line on stderr, without control bytes;
  * after a failed `train`: the --out target absent (or unchanged when it existed before) and no
    `.<basename>*` temporaries beside it; `train` into an existing run without --overwrite fails;
  * after a successful `train`: no temporaries beside the folder and `myelin evaluate DIR` exits 0.

Usage: python3 scripts/fuzz-cli.py [--cases N] [--seed S] [--time-limit SEC] [--memory-limit-mb MB]
                                   [--jobs J] [--only K] [--keep] [--verbose]
The binary is $MYELIN (default .build/debug/myelin). Each failure prints one line with a command
that reproduces the case (its files kept); the last line is exactly `fuzz: N passed, M failed`.
"""
import argparse
import collections
import concurrent.futures
import hashlib
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

CONTROL = set(range(0, 9)) | set(range(11, 32)) | {127}


# ---------------------------------------------------------------- running one child under limits

class Outcome:
    def __init__(self, status, seconds, maxrss_kb, stdout, stderr, killed):
        self.status, self.seconds, self.maxrss_kb = status, seconds, maxrss_kb
        self.stdout, self.stderr, self.killed = stdout, stderr, killed

    @property
    def code(self):
        return os.WEXITSTATUS(self.status) if os.WIFEXITED(self.status) else None

    @property
    def signal(self):
        return os.WTERMSIG(self.status) if os.WIFSIGNALED(self.status) else None


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


# At most max(4 GB, 4x the RSS limit) of address space (prlimit execs the command: same pid, same
# rusage), so that a huge allocation fails at once instead of outrunning the RSS polling below.
LIMIT_PREFIX = []
# The command runs with the environment this script was started with (the malloc settings below are the script's own).
CHILD_ENV = {k: v for k, v in os.environ.items() if k not in ("MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_")}


def run_child(argv, cwd, logdir, time_limit, memory_kb, tag="cmd"):
    """Runs argv in cwd; kills it (its whole process group) past the time or memory limit."""
    out_path, err_path = os.path.join(logdir, tag + ".out"), os.path.join(logdir, tag + ".err")
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        start = time.monotonic()
        proc = subprocess.Popen(LIMIT_PREFIX + argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                start_new_session=True, env=CHILD_ENV)
    killed, pause = None, 0.002
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        elapsed = time.monotonic() - start
        if killed is None:
            if elapsed > time_limit:
                killed = f"timed out after {time_limit:g} s"
            elif rss_kb(proc.pid) > memory_kb:
                killed = f"resident memory over {memory_kb // 1024} MB"
            if killed:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        time.sleep(pause)
        pause = min(pause * 1.5, 0.05)
    seconds = time.monotonic() - start
    proc.returncode = status  # reaped by wait4; keeps Popen from waiting again
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything the child left running in its group
    except (ProcessLookupError, PermissionError):
        pass
    # Read exactly what is there (at most 1 MB): a 1 MB buffer shrunk to a few bytes fragmented
    # glibc's heap until a long run had grown to gigabytes.
    with open(out_path, "rb") as f:
        stdout = f.read(min(os.path.getsize(out_path), 1 << 20))
    with open(err_path, "rb") as f:
        stderr = f.read(min(os.path.getsize(err_path), 1 << 20))
    return Outcome(status, seconds, usage.ru_maxrss, stdout, stderr, killed)


def contract_problems(o, time_limit, memory_kb):
    """The generic checks every command must pass."""
    problems = []
    if o.killed:
        problems.append(o.killed)
    elif o.signal is not None:
        problems.append(f"died of signal {o.signal} ({signal.Signals(o.signal).name}): {crash_line(o.stderr)[:200]}")
    elif o.code not in (0, 1):
        problems.append(f"exit status {o.code} (expected 0 or 1)")
    if not o.killed and o.seconds > time_limit:
        problems.append(f"took {o.seconds:.1f} s (limit {time_limit:g})")
    if o.maxrss_kb > memory_kb:
        problems.append(f"peak RSS {o.maxrss_kb // 1024} MB (limit {memory_kb // 1024})")
    if o.code == 1:
        lines = o.stderr.count(b"\n")
        if lines != 1 or not o.stderr.endswith(b"\n") or len(o.stderr.strip()) == 0:
            problems.append(f"exit 1 with {lines} stderr lines (expected 1): {short(o.stderr)}")
        elif any(b in CONTROL for b in o.stderr[:-1]):
            problems.append(f"control bytes on stderr: {short(o.stderr)}")
    return problems


def crash_line(data):
    """The telling part of a crash report: Swift's 'Fatal error' line, else the first frame in
    the project's sources, else the 'Program crashed' line."""
    lines = data.decode("utf-8", "backslashreplace").splitlines()
    for line in lines:
        if "Fatal error" in line:
            return line.strip()
    for line in lines:
        m = re.search(r"(\S+\(.*?\)) \+ \d+ in \S+ at (?:\S*/)?(Sources/\S+)", line)
        if m:
            return f"in {m.group(1)} at {m.group(2)}"
    for line in lines:
        if "crashed:" in line:
            return line.strip()
    return ""


def short(data, limit=160):
    text = data.decode("utf-8", "backslashreplace").strip()
    return repr(text[:limit] + ("..." if len(text) > limit else ""))


# ---------------------------------------------------------------- files and folders

def tree_digest(path):
    """Names and contents of everything under path (or of the file), to tell 'unchanged'."""
    if not os.path.lexists(path):
        return None
    if not os.path.isdir(path):
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            p = os.path.join(root, name)
            h.update(os.path.relpath(p, path).encode() + b"\0")
            try:
                with open(p, "rb") as f:
                    h.update(hashlib.sha256(f.read()).digest())
            except OSError:
                h.update(b"?")
    return h.hexdigest()


def leftovers(out, cwd):
    """Entries beside the run folder whose names start with '.' + its basename."""
    target = os.path.normpath(os.path.join(cwd, out))
    parent, base = os.path.dirname(target), os.path.basename(target)
    if not base or not os.path.isdir(parent):
        return []
    return sorted(n for n in os.listdir(parent) if n.startswith("." + base))


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- data generators

def good_rows(rng, rows, features, task, classes=3, categorical=0):
    names = [f"f{i}" for i in range(features)] + [f"c{i}" for i in range(categorical)]
    table = []
    for _ in range(rows):
        x = [round(rng.gauss(0, 1), 4) for _ in range(features)]
        cats = [rng.choice(["red", "green", "blue"]) for _ in range(categorical)]
        s = sum(x[:2]) if x else rng.random()
        if task == "regression":
            y = f"{s * 2 + 1:.4f}"
        else:
            y = "k" + str(min(classes - 1, int((math.tanh(s) + 1) / 2 * classes)))
        table.append([str(v) for v in x] + cats + [y])
    if task != "regression":  # every class present
        for i, row in enumerate(table[:classes]):
            row[-1] = f"k{i}"
    return names + ["label"], table


def to_csv(header, table, newline="\n", bom=False, delimiter=","):
    text = newline.join(delimiter.join(r) for r in [header] + table) + newline
    return (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8", "surrogateescape")


def good_csv(rng, task=None, rows=None):
    task = task or rng.choice(["classification", "classification", "regression"])
    header, table = good_rows(rng, rows or rng.randint(12, 120), rng.randint(1, 6), task,
                              classes=rng.randint(2, 4), categorical=rng.choice([0, 0, 0, 1]))
    return to_csv(header, table), task


def bad_csv(rng, features=None, task=None):
    """A malformed or odd CSV (bytes) and a short name of what is odd about it; `features` and
    `task` as the base runs have them for evaluate and predict (so the oddity is what is tested)."""
    task = task or rng.choice(["classification", "regression"])
    header, table = good_rows(rng, rng.randint(8, 80), features or rng.randint(1, 5), task)
    r = lambda: rng.randrange(len(table))
    c = lambda: rng.randrange(len(header) - 1)
    kind = rng.choice(["empty", "header-only", "ragged-short", "ragged-long", "missing-cell", "na-token",
                       "text-in-numeric", "high-cardinality", "wide-high-cardinality", "binary", "bom", "crlf",
                       "cr-only", "quoted", "unterminated-quote", "quote-newline", "label-empty",
                       "label-inf", "label-nan", "single-class", "one-row", "two-rows", "constant-feature",
                       "huge-number", "long-field", "nul-bytes", "duplicate-header", "no-features",
                       "semicolons", "blank-lines", "trailing-comma", "spaces", "invalid-utf8", "no-header"])
    if kind == "empty":
        return b"", kind
    if kind == "header-only":
        return to_csv(header, []), kind
    if kind == "ragged-short":
        table[r()].pop()
    elif kind == "ragged-long":
        table[r()].append("1")
    elif kind == "missing-cell":
        for _ in range(rng.randint(1, 5)):
            table[r()][c()] = ""
    elif kind == "na-token":
        for _ in range(rng.randint(1, 5)):
            table[r()][c()] = rng.choice(["NA", "NaN", "nan", "?", "null", "-", "inf", "-inf", "1e999", "N/A"])
    elif kind == "text-in-numeric":
        table[r()][c()] = rng.choice(["abc", "1.2.3", "0x10", "1,5", "--1", "e", "1e", "∞"])
    elif kind == "high-cardinality":
        for i, row in enumerate(table):
            row[c() if False else 0] = f"id{i}_{rng.randrange(10**9)}"
    elif kind == "wide-high-cardinality":
        cols, rows = rng.randint(20, 60), rng.randint(100, 300)
        header = [f"t{j}" for j in range(cols)] + ["label"]
        table = [[f"v{rng.randrange(10**9)}" for _ in range(cols)] + [rng.choice("ab")] for _ in range(rows)]
    elif kind == "binary":
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 3000))), kind
    elif kind == "bom":
        return to_csv(header, table, bom=True), kind
    elif kind == "crlf":
        return to_csv(header, table, newline="\r\n"), kind
    elif kind == "cr-only":
        return to_csv(header, table, newline="\r"), kind
    elif kind == "quoted":
        header = [f'"{h}"' for h in header]
        table = [[f'"{v}"' for v in row] for row in table]
    elif kind == "unterminated-quote":
        table[r()][c()] = '"1.0'
    elif kind == "quote-newline":
        table[r()][-1] = '"a\nb"'
    elif kind == "label-empty":
        table[r()][-1] = ""
    elif kind == "label-inf":
        table[r()][-1] = rng.choice(["inf", "-inf", "1e999"])
    elif kind == "label-nan":
        table[r()][-1] = rng.choice(["nan", "NaN", "abc"])
    elif kind == "single-class":
        for row in table:
            row[-1] = "same"
    elif kind == "one-row":
        table = table[:1]
    elif kind == "two-rows":
        table = table[:2]
    elif kind == "constant-feature":
        for row in table:
            row[0] = "3.0"
    elif kind == "huge-number":
        table[r()][c()] = rng.choice(["1e308", "-1e308", "3.4e38", "1e-320", "179769313486231570000000000000000000000"])
    elif kind == "long-field":
        table[r()][c()] = "9" * rng.randint(1000, 50000)
    elif kind == "nul-bytes":
        table[r()][c()] = "1\x00 2"
    elif kind == "duplicate-header":
        if len(header) > 2:
            header[1] = header[0]
    elif kind == "no-features":
        header, table = ["label"], [[row[-1]] for row in table]
    elif kind == "semicolons":
        return to_csv(header, table, delimiter=";"), kind
    elif kind == "blank-lines":
        table.insert(r(), [""])
    elif kind == "trailing-comma":
        table = [row + [""] for row in table]
    elif kind == "spaces":
        table = [[f" {v} " for v in row] for row in table]
    elif kind == "invalid-utf8":
        table[r()][c()] = "\udcff\udcfe"
    elif kind == "no-header":
        return to_csv(table[0], table[1:]), kind
    return to_csv(header, table), kind


def npy(array_header, payload, magic=b"\x93NUMPY", version=b"\x01\x00"):
    h = array_header.encode("latin1")
    pad = 64 - (10 + len(h) + 1) % 64
    h = h + b" " * pad + b"\n"
    return magic + version + struct.pack("<H", len(h)) + h + payload


def bad_npy(rng, features):
    kind = rng.choice(["nan", "inf", "wrong-features", "f8", "i4", "bool", "object", "fortran", "truncated",
                       "huge-shape", "bad-magic", "bad-header", "empty-rows", "3d", "scalar", "big-endian",
                       "header-len-overflow", "good"])
    rows = rng.randint(1, 6)
    vals = [rng.gauss(0, 1) for _ in range(rows * features)]
    f4 = lambda v: struct.pack(f"<{len(v)}f", *v)
    hdr = lambda descr, shape, fo=False: "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fo else "False", "(" + "".join(f"{s}, " for s in shape).rstrip(" ") + ")")
    if kind == "nan":
        vals[rng.randrange(len(vals))] = float("nan")
        return npy(hdr("<f4", (rows, features)), f4(vals)), kind
    if kind == "inf":
        vals[rng.randrange(len(vals))] = float("inf")
        return npy(hdr("<f4", (rows, features)), f4(vals)), kind
    if kind == "wrong-features":
        n = features + rng.choice([-1, 1, 5]) if features > 1 else features + 1
        return npy(hdr("<f4", (rows, n)), f4([0.5] * rows * n)), kind
    if kind == "f8":
        return npy(hdr("<f8", (rows, features)), struct.pack(f"<{len(vals)}d", *vals)), kind
    if kind == "i4":
        return npy(hdr("<i4", (rows, features)), struct.pack(f"<{len(vals)}i", *[1] * len(vals))), kind
    if kind == "bool":
        return npy(hdr("|b1", (rows, features)), b"\x01" * len(vals)), kind
    if kind == "object":
        return npy(hdr("|O", (rows, features)), b"\x80\x02]q\x00." * 3), kind
    if kind == "fortran":
        return npy(hdr("<f4", (rows, features), True), f4(vals)), kind
    if kind == "truncated":
        data = npy(hdr("<f4", (rows, features)), f4(vals))
        return data[:rng.randrange(len(data))], kind
    if kind == "huge-shape":
        return npy(hdr("<f4", (rng.choice([2**31, 2**40, 4611686018427387904]), features)), f4(vals)), kind
    if kind == "bad-magic":
        return npy(hdr("<f4", (rows, features)), f4(vals), magic=b"\x93NUMPX"), kind
    if kind == "bad-header":
        return npy(rng.choice(["{", "garbage", "{'descr': '<f4'}", "{'shape': (-1, 2), 'descr': '<f4', 'fortran_order': False}"]), f4(vals)), kind
    if kind == "empty-rows":
        return npy(hdr("<f4", (0, features)), b""), kind
    if kind == "3d":
        return npy(hdr("<f4", (rows, features, 1)), f4(vals)), kind
    if kind == "scalar":
        return npy(hdr("<f4", ()), f4([1.0])), kind
    if kind == "big-endian":
        return npy(hdr(">f4", (rows, features)), struct.pack(f">{len(vals)}f", *vals)), kind
    if kind == "header-len-overflow":
        return b"\x93NUMPY\x01\x00\xff\xff{'descr'", kind
    return npy(hdr("<f4", (rows, features)), f4(vals)), kind


def bad_idx(rng):
    kind = rng.choice(["zeros", "bad-magic", "huge-dims", "truncated", "zero-dims", "too-many-dims", "float-type", "gz-garbage"])
    if kind == "zeros":
        return b"\0" * rng.randint(0, 100), kind, ".idx"
    if kind == "bad-magic":
        return b"\x01\x02\x08\x03" + b"\0" * 16, kind, ".idx"
    if kind == "huge-dims":
        return b"\0\0\x08\x03" + struct.pack(">III", 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\0" * 64, kind, ".idx"
    if kind == "truncated":
        return b"\0\0\x08\x03" + struct.pack(">III", 10, 28, 28) + b"\0" * rng.randint(0, 7839), kind, ".idx"
    if kind == "zero-dims":
        return b"\0\0\x08\x00", kind, ".idx"
    if kind == "too-many-dims":
        return b"\0\0\x08\xff" + b"\0\0\0\x01" * 10, kind, ".idx"
    if kind == "float-type":
        return b"\0\0\x0d\x03" + struct.pack(">III", 2, 2, 2) + b"\0" * 32, kind, ".idx"
    return b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(rng.randrange(256) for _ in range(rng.randint(0, 200))), kind, ".idx.gz"


def mutate_json(rng, data):
    """Replaces one random value of a JSON document with an odd one (or breaks the text)."""
    try:
        doc = json.loads(data)
    except ValueError:
        return data[: len(data) // 2], "truncated"
    how = rng.random()
    if how < 0.15:
        return data[: rng.randrange(len(data))], "truncated"
    if how < 0.2:
        return rng.choice([b"", b"null", b"[]", b"{}", b"\xff\xfe", b"{\"format\": 99}"]), "replaced"
    paths = []

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + [i])
        if path:
            paths.append(path)
    walk(doc, [])
    if not paths:
        return b"{", "broken"
    path = rng.choice(paths)
    odd = rng.choice([None, -1, 0, 3000000000, 4611686018427387904, 1e308, -1e308, 1.5, "", "zzz",
                      [], {}, True, [3000000000], [-1, 2], "dense"])
    node = doc
    for k in path[:-1]:
        node = node[k]
    if rng.random() < 0.15 and isinstance(node, dict):
        del node[path[-1]]
        what = "deleted"
    else:
        node[path[-1]] = odd
        what = f"={json.dumps(odd)}"
    return json.dumps(doc).encode(), ".".join(map(str, path)) + what


def mutate_safetensors(rng, data):
    kind = rng.choice(["truncate", "flip", "header-len-huge", "header-len-past-end", "header-garbage",
                       "json-mutation", "empty", "offsets-out-of-range", "dtype", "shape-huge"])
    if kind == "truncate":
        return data[: rng.randrange(max(1, len(data)))], kind
    if kind == "flip":
        b = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        return bytes(b), kind
    if kind == "header-len-huge":
        return struct.pack("<Q", rng.choice([2**63, 2**64 - 1, 2**40])) + data[8:], kind
    if kind == "header-len-past-end":
        return struct.pack("<Q", len(data)) + data[8:], kind
    if kind == "header-garbage":
        # The header's length as the file states it, within the file (a mutated length could be 2^63).
        n = min(struct.unpack("<Q", data[:8])[0], max(0, len(data) - 8)) if len(data) >= 8 else 0
        return data[:8] + bytes(rng.randrange(256) for _ in range(n)) + data[8 + n:], kind
    if kind == "empty":
        return b"", kind
    try:
        n = struct.unpack("<Q", data[:8])[0]
        header = json.loads(data[8:8 + n])
        body = data[8 + n:]
    except Exception:
        return data[:5], "broken"
    names = [k for k in header if k != "__metadata__"]
    if not names:
        return data[:5], "broken"
    name = rng.choice(names)
    entry = header[name]
    if kind == "offsets-out-of-range":
        entry["data_offsets"] = rng.choice([[0, 2**40], [8, 4], [len(body), len(body) + 4], [-4, 4]])
    elif kind == "dtype":
        entry["dtype"] = rng.choice(["F64", "I8", "BOOL", "XX", "", 7])
    elif kind == "shape-huge":
        entry["shape"] = rng.choice([[3000000000, 3000000000], [-1], [2**62, 4], [0], []])
    else:
        text, what = mutate_json(rng, json.dumps(header).encode())
        h = text
        return struct.pack("<Q", len(h)) + h + body, "header " + what
    h = json.dumps(header).encode()
    return struct.pack("<Q", len(h)) + h + body, f"{kind} of {name}"


# ---------------------------------------------------------------- train options

VALID_LAYER_TOKENS = ["relu", "tanh", "sigmoid", "gelu", "elu", "silu", "softplus", "leaky_relu", "leaky_relu:0.1",
                      "bn", "dropout:0.2", "dropout:0"]
BAD_LAYER_TOKENS = ["dense:0", "dense:-1", "dense:3000000000", "dense:4611686018427387904", "dense:", "dense:abc",
                    "dense:1.5", "dense:8:8", "dropout:1.5", "dropout:-0.5", "dropout:nan", "dropout:1",
                    "leaky_relu:nan", "leaky_relu:inf", "conv:3:3", "maxpool:2", "flatten", "gap", "avgpool:2",
                    "swish", "", "dénse:8", "DENSE:8", "dense:1e3", "relu:1", " dense:8"]


def option_values(rng):
    """option -> (valid values, invalid values); values are strings, None means a flag."""
    hidden_ok = [str(rng.randint(1, 64)), f"{rng.randint(1, 64)},{rng.randint(1, 32)}", "16,8", "8"]
    layers_ok = ",".join([f"dense:{rng.randint(1, 64)}"] + rng.sample(VALID_LAYER_TOKENS, rng.randint(0, 2))
                         + ([f"dense:{rng.randint(1, 32)}", "relu"] if rng.random() < 0.4 else []))
    bad_layers = ",".join(rng.sample(["dense:8", "relu"] + BAD_LAYER_TOKENS, rng.randint(1, 3)))
    return {
        "--model": (["mlp", "mlp", "linear"], ["cnn", "rnn", "", "MLP"]),
        "--hidden": (hidden_ok, ["0", "-1", "", "16,,8", ",", "8,", "1.5", "nan", "abc", "3000000000",
                                 "4611686018427387904", "99999999999999999999999", "3000000000,3000000000", "64,0"]),
        "--layers": ([layers_ok], [bad_layers, "", ",", "relu,,relu"]),
        "--activation": (["relu", "tanh", "sigmoid", "gelu", "elu", "leaky_relu", "silu", "softplus"], ["swish", "", "RELU"]),
        "--dropout": (["0", "0.1", "0.5", "0.9"], ["1", "1.5", "-0.5", "nan", "inf", "", "abc"]),
        "--optimizer": (["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta"], ["lbfgs", "", "Adam"]),
        "--lr": (["0.001", "0.01", "0.1", "1e-4"], ["0", "-1", "nan", "inf", "1e308", "", "x"]),
        "--weight-decay": (["0", "1e-4", "0.01"], ["-5", "nan", "inf", "-0.001"]),
        "--momentum": (["0", "0.5", "0.9"], ["-1", "5", "nan", "inf"]),
        "--batch-size": (["1", "4", "16", "128", "1000"], ["0", "-1", "1.5", "3000000000", "4611686018427387904", ""]),
        "--epochs": (["1", "2", "3"], ["0", "-1", "1.5", "nan", ""]),
        "--seed": (["0", "1", "42", "18446744073709551615"], ["-1", "18446744073709551616", "x"]),
        "--patience": (["1", "2"], ["0", "-1", "nan"]),
        "--validation-split": (["0", "0.1", "0.3"], ["-0.1", "1", "1.5", "nan", "0.9999"]),
        "--test-split": (["0.1", "0.2", "0.4"], ["0", "1", "-1", "nan", "0.99", "1.5"]),
        "--threads": (["1", "2"], ["0", "-1", "1000000", "4611686018427387904"]),
        "--task": (["classification", "regression"], ["clustering", ""]),
        "--missing": (["error", "drop", "impute"], ["zero", ""]),
        "--categorical-encoding": (["onehot", "label"], ["hash", ""]),
        "--loss": (["auto", "ce", "bce", "mse"], ["hinge", ""]),
        "--checkpoint-every": (["1", "2"], ["0", "-1", "nan", "4611686018427387904"]),
        "--cosine": ([None], []),
        "--augment": ([None], []),
    }


# options of today's command, used more often so that failures are not all 'unknown option'
COMMON = ["--model", "--hidden", "--layers", "--activation", "--dropout", "--optimizer", "--lr", "--weight-decay",
          "--momentum", "--batch-size", "--epochs", "--seed", "--patience", "--validation-split", "--test-split",
          "--threads", "--task", "--cosine", "--augment"]
NEW = ["--missing", "--categorical-encoding", "--loss", "--checkpoint-every"]


def train_options(rng, mode):
    """Option list; mode 'valid': all valid, 'one-bad': exactly one invalid value, 'chaos': anything."""
    values = option_values(rng)
    chosen = [o for o in COMMON if rng.random() < 0.25] + [o for o in NEW if rng.random() < 0.04]
    if "--layers" in chosen and "--hidden" in chosen:
        chosen.remove(rng.choice(["--layers", "--hidden"]))
    bad = None
    if mode == "one-bad":
        candidates = [o for o in COMMON + NEW if values[o][1]]
        bad = rng.choice(candidates)
        if bad not in chosen:
            chosen.append(bad)
    args = []
    for o in chosen:
        ok, wrong = values[o]
        if o == bad or (mode == "chaos" and wrong and rng.random() < 0.3):
            v = rng.choice(wrong)
        else:
            v = rng.choice(ok)
        # --opt=-1, not --opt -1: the value reaches the command's checks, not the parser's option lookup
        args += [o] if v is None else ([f"{o}={v}"] if v.startswith("-") else [o, v])
    if "--epochs" not in chosen:
        args += ["--epochs", str(rng.randint(1, 3))]
    if rng.random() < 0.85:
        args.append("--quiet")
    return args, bad


# ---------------------------------------------------------------- cases

TOY_SETS = ["xor", "circles", "gaussians", "spirals", "moons"]
TOY_OPTIONS = {  # option -> (valid values, invalid values)
    "--count": (["20", "60", "150", "300"], ["0", "1", "-5", "1000001", "4611686018427387904", "1.5", "x", ""]),
    "--noise": (["0", "0.05", "0.3", "1", "10"], ["-0.1", "nan", "inf", "-inf", "10.5", "1e308", "x", ""]),
    "--data-seed": (["0", "7", "18446744073709551615"], ["-1", "18446744073709551616", "x", ""]),
}


def toy_case(case, rng):
    """A generated data set (--data xor|circles|gaussians|spirals|moons) with --count, --noise and
    --data-seed, good values or one bad one, through train (a network or a classic model), compare or
    cluster; sometimes these options on a CSV or on a set read from files, which refuse them."""
    mode = rng.choices(["valid", "one-bad", "chaos"], weights=[50, 40, 10])[0]
    bad = rng.choice(list(TOY_OPTIONS)) if mode == "one-bad" else None
    args = []
    for o, (ok, wrong) in TOY_OPTIONS.items():
        if o == bad or rng.random() < 0.6:
            v = rng.choice(wrong) if o == bad or (mode == "chaos" and rng.random() < 0.3) else rng.choice(ok)
            args += [f"{o}={v}"] if v.startswith("-") else [o, v]
    name = rng.choice(TOY_SETS * 4 + ["spiral", "XOR", "", "iris"])
    if name == "iris" and not args:
        args = ["--count", "50"]  # refused before iris is looked for (no download)
    data = ["--data", name]
    command = rng.choices(["train", "classic", "compare", "cluster", "csv"], weights=[45, 25, 10, 10, 10])[0]
    if command == "csv":
        csv, _ = good_csv(rng, task="classification")
        case.files["data.csv"] = csv
        data = ["--csv", "data.csv", "--label", "label"]
        if not args:
            args = ["--noise", "0.1"]
    what = f"toy {command} {name if command != 'csv' else 'csv'} {mode}" + (f" bad {bad}" if bad else "")
    if command in ("train", "csv"):
        case.out = rng.choice(["run", "run", "nested/run", ""])
        hidden = ["--hidden", rng.choice(["4", "8,8"])] if rng.random() < 0.5 else []
        case.argv = ["train"] + data + args + hidden + ["--epochs", rng.choice(["1", "2"]), "--quiet", "--out", case.out]
    elif command == "classic":
        model = rng.choice(["perceptron", "knn", "naive-bayes", "tree", "forest"])
        extra = {"knn": ["--neighbors", rng.choice(["1", "5", "500"])], "forest": ["--trees", "5"]}.get(model, [])
        case.out = rng.choice(["run", "nested/run"])
        case.argv = ["train"] + data + args + ["--model", model] + extra + ["--out", case.out]
        what += f" {model}"
    elif command == "compare":
        case.argv = ["compare"] + data + args + ["--epochs", "2", "--trees", "5"]
    else:
        case.argv = ["cluster"] + data + args + ["--k", rng.choice(["2", "3", "0", "500"]),
                                                 "--method", rng.choice(["kmeans", "gmm"]), "--out", "clusters"]
    case.what = what

class Case:
    def __init__(self, number, seed):
        self.number, self.rng = number, random.Random(f"myelin-fuzz:{seed}:{number}")
        self.files = {}            # path relative to work/ -> bytes
        self.base_runs = {}        # path relative to work/ -> base run name to copy there
        self.mutations = []        # (run path, file name, mutated bytes)
        self.argv = []             # after the binary
        self.out = None            # the train's --out, for the train checks
        self.overwrite = False
        self.what = ""


def make_case(number, seed):
    case = Case(number, seed)
    rng = case.rng
    kind = rng.choices(["train", "train-bad-csv", "evaluate-csv", "predict", "broken-run", "parser", "classic", "compare", "toy"],
                       weights=[45, 18, 7, 10, 14, 6, 10, 3, 6])[0]
    if kind == "toy":
        toy_case(case, rng)
        return case
    if kind in ("classic", "compare"):
        # Classic models and `compare` on a small CSV (good or bad), with their own options,
        # sometimes a wrong one or a network option they refuse.
        if rng.random() < 0.75:
            data, task = good_csv(rng)
            what = f"{kind} {task}"
        else:
            data, odd = bad_csv(rng)
            what = f"{kind} csv:{odd}"
        case.files["data.csv"] = data
        if kind == "compare":
            case.argv = ["compare", "--csv", "data.csv", "--label", "label"]
            if rng.random() < 0.3:
                case.argv += ["--include", rng.choice(["forest", "tree", "perceptron", "knn", "svm", ""])]
            if rng.random() < 0.3:
                case.argv += ["--out", rng.choice(["cmp", "data.csv", "cmp/deeper", ""])]
            case.argv += ["--seed", rng.choice(["0", "1", "-1", "x"])] if rng.random() < 0.2 else []
            case.what = what
            return case
        model = rng.choice(["perceptron", "knn", "naive-bayes", "tree", "forest"] * 4 + ["KNN", "svm", "naive_bayes", ""])
        options = {
            "--neighbors": (["1", "3", "5"], ["0", "-1", "1000000", "x", "4611686018427387904"]),
            "--trees": (["1", "5"], ["0", "-3", "x"]),
            "--max-depth": (["1", "3"], ["0", "-1", "x"]),
            "--seed": (["0", "7"], ["-1", "x"]),
            "--test-split": (["0.2", "0.3"], ["0", "1", "nan"]),
            "--epochs": (["2"], ["0", "-1"]),
            "--lr": (["0.5"], ["0", "nan"]),
            "--hidden": (["8"], []),
        }
        own = {"knn": ["--neighbors"], "tree": ["--max-depth"], "forest": ["--trees", "--max-depth"],
               "perceptron": ["--epochs", "--lr"]}.get(model, []) + ["--seed", "--test-split"]
        args = []
        for o, (ok, wrong) in options.items():
            if rng.random() < (0.4 if o in own else 0.03):
                v = rng.choice(wrong) if wrong and rng.random() < 0.3 else rng.choice(ok)
                args += [f"{o}={v}"] if v.startswith("-") else [o, v]
        case.out = rng.choice(["run", "run", "nested/run", "data.csv", ""])
        case.argv = ["train", "--csv", "data.csv", "--label", "label", "--model", model] + args + ["--quiet", "--out", case.out]
        case.what = f"{what} {model}"
    elif kind in ("train", "train-bad-csv"):
        if kind == "train":
            data, task = good_csv(rng)
            mode = rng.choices(["valid", "one-bad", "chaos"], weights=[45, 45, 10])[0]
            what = f"train {mode} {task}"
        else:
            data, odd = bad_csv(rng)
            mode = "valid"
            what = f"train csv:{odd}"
        case.files["data.csv"] = data
        label = "label"
        r = rng.random()
        if kind == "train-bad-csv" or r < 0.9:
            pass
        elif r < 0.93:
            label = rng.choice(["nope", "", "99", "-1", "0"])
        options, bad = train_options(rng, mode)
        if bad:
            what += f" bad {bad}"
        # the --out target
        o = rng.random()
        out = "run"
        if o < 0.45:
            out = "run"
        elif o < 0.55:
            out = rng.choice("rSx_-")  # one-character relative name
        elif o < 0.62:
            out = "nested/deeper/run"
        elif o < 0.75:
            out = "old"
            case.base_runs["old"] = "classification"
            case.overwrite = rng.random() < 0.6
            what += " existing-run" + (" --overwrite" if case.overwrite else "")
        elif o < 0.8:
            out = "data.csv"
            what += " out-is-file"
        elif o < 0.84:
            out = "data.csv/run"
        elif o < 0.88:
            out = "run/"
        elif o < 0.92:
            out = "my run é"
        elif o < 0.95:
            out = ""
        else:
            out = "@ABS@/abs/run"
        if o >= 0.75 and case.overwrite is False and rng.random() < 0.2:
            case.overwrite = True
        case.out = out
        case.argv = ["train", "--csv", "data.csv", "--label", label] + options + ["--out", out]
        if case.overwrite:
            case.argv.append("--overwrite")
        case.what = what
    elif kind == "evaluate-csv":
        base = rng.choice(["classification", "regression"])
        data, odd = bad_csv(rng, features=3, task=base)
        case.files["eval.csv"] = data
        case.base_runs["run"] = base
        case.argv = ["evaluate", "run", "--csv", "eval.csv", "--label", rng.choice(["label", "label", "nope", "0"])]
        case.what = f"evaluate csv:{odd}"
    elif kind == "predict":
        base = rng.choice(["classification", "regression"])
        case.base_runs["run"] = base
        features = 3
        p = rng.random()
        if p < 0.45:
            data, odd = bad_npy(rng, features)
            name = "in.npy"
        elif p < 0.65:
            data, odd, ext = bad_idx(rng)
            name = "in" + ext
        elif p < 0.9:
            data, odd = bad_csv(rng, features=features, task=base)
            name = "in.csv"
        else:
            data, odd, name = b"", "missing-file", rng.choice(["nothere.csv", "nothere.npy", "."])
        if odd != "missing-file":
            case.files[name] = data
        case.argv = ["predict", "run", "--input", name]
        if rng.random() < 0.2:
            case.argv += ["--output", rng.choice(["preds.csv", "in.csv/p.csv", "", "run"])]
        case.what = f"predict {name}:{odd}"
    elif kind == "broken-run":
        base = rng.choice(["classification", "regression"])
        case.base_runs["run"] = base
        names = ["model.json", "model.safetensors", "checkpoint.safetensors", "metrics.csv", "results.json",
                 "history.json", "best.safetensors"]
        muts = []
        for _ in range(rng.choice([1, 1, 1, 2])):
            muts.append(rng.choice(names))
        case.mutations = muts  # applied against the real base run files in materialize
        command = rng.choice(["evaluate", "summary", "predict", "resume", "resume"])
        if command == "predict":
            case.argv = ["predict", "run", "--input", "in.csv"]
            header, table = good_rows(rng, 5, 3, base)
            case.files["in.csv"] = to_csv(header, table)
        elif command == "resume":
            case.argv = ["resume", "run", "--epochs", str(rng.choice([3, 4, 5])), "--quiet"]
        else:
            case.argv = [command, "run"]
        case.what = f"{command} broken-run"
    else:
        case.what = "parser"
        sub = rng.choice(["train", "evaluate", "predict", "summary", "resume", "datasets", "filters", "nosuch", ""])
        tokens = ["--frobnicate", "--epochs", "--epochs=", "--epochs=-1", "--hidden", "-x", "--", "-", "extra",
                  "--out", "--csv", "--label", "--data", "--quiet", "--quiet=1", "--lr", "--threads", "--input",
                  "--overwrite", "--overwrite=yes", "--seed", "1", "nan", "--data-dir", "—epochs", "--Epochs"]
        case.argv = ([sub] if sub else []) + [rng.choice(tokens) for _ in range(rng.randint(1, 4))]
        if sub == "train" and "--out" not in case.argv:
            case.argv += ["--out", "run"]
        case.out = None  # the tokens may name another --out: no folder checks
    return case


def materialize(case, root, bases):
    work = os.path.join(root, "work")
    os.makedirs(work)
    for name, data in case.files.items():
        write(os.path.join(work, name), data)
    for path, base in case.base_runs.items():
        shutil.copytree(bases[base]["dir"], os.path.join(work, path))
        if bases[base]["csv"]:
            shutil.copy(bases[base]["csv"], os.path.join(work, os.path.basename(bases[base]["csv"])))
    notes = []
    for name in case.mutations:
        path = os.path.join(work, "run", name)
        rng = case.rng
        if rng.random() < 0.12 or not os.path.exists(path):
            if os.path.exists(path):
                os.remove(path)
            notes.append(f"{name} deleted")
            continue
        with open(path, "rb") as f:
            data = f.read()
        if name.endswith(".safetensors"):
            data, what = mutate_safetensors(rng, data)
        elif name.endswith(".json"):
            data, what = mutate_json(rng, data)
        else:
            data, what = rng.choice([(b"", "empty"), (b"epoch,loss\nx,y\n", "garbage"), (data * 2, "doubled"),
                                     (bytes(rng.randrange(256) for _ in range(200)), "binary")])
        write(path, data)
        notes.append(f"{name} {what}")
    argv = [a.replace("@ABS@", work) for a in case.argv]
    if case.out is not None:
        case.out = case.out.replace("@ABS@", work)
    return work, argv, notes


def run_case(case, args, bases, myelin):
    root = tempfile.mkdtemp(prefix=f"myelin-fuzz-{case.number}-")
    logdir = os.path.join(root, "log")
    os.makedirs(logdir)
    problems = []
    try:
        work, argv, notes = materialize(case, root, bases)
        if notes:
            case.what += " (" + "; ".join(notes) + ")"
        target_before = None
        if case.out:
            target_before = tree_digest(os.path.join(work, case.out))
        o = run_child([myelin] + argv, work, logdir, args.time_limit, args.memory_kb)
        problems += contract_problems(o, args.time_limit, args.memory_kb)
        if argv and argv[0] == "train" and case.out:
            target = os.path.join(work, case.out)
            left = leftovers(case.out, work)
            if left:
                problems.append(f"temporaries left beside the run folder: {left}")
            if o.code != 0:
                after = tree_digest(target)
                if target_before is None and after is not None:
                    problems.append(f"failed train left {case.out!r} behind")
                elif target_before is not None and after != target_before:
                    problems.append(f"failed train changed the existing {case.out!r}")
            else:
                if target_before is not None and not case.overwrite:
                    problems.append(f"train replaced or reused the existing {case.out!r} without --overwrite")
                if not os.path.isdir(target):
                    problems.append(f"train exited 0 but {case.out!r} is not a folder")
                else:
                    e = run_child([myelin, "evaluate", case.out], work, logdir, args.time_limit, args.memory_kb, "evaluate")
                    ep = contract_problems(e, args.time_limit, args.memory_kb)
                    if e.code != 0:
                        ep.append(f"exit {e.code}: {short(e.stderr)}")
                    problems += [f"evaluate after a successful train: {p}" for p in ep]
        status = o.code if o.code is not None else f"signal {o.signal}"
        detail = f"exit {status}, {o.seconds:.2f} s, {o.maxrss_kb // 1024} MB: {short(o.stderr, 120)}"
        cause = crash_line(o.stderr) if o.signal else o.stderr.decode("utf-8", "backslashreplace").split("\n")[0]
        cause = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in cause)
        return problems, detail, argv, root, cause
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


def train_base(myelin, folder, task, args):
    """A small finished run (and its CSV) that malformed-run and predict cases copy."""
    rng = random.Random(f"myelin-fuzz-base:{task}")
    header, table = good_rows(rng, 60, 3, task, classes=3)
    csv = os.path.join(folder, f"base-{task}.csv")
    write(csv, to_csv(header, table))
    cwd = folder
    run = f"base-{task}"
    o = run_child([myelin, "train", "--csv", os.path.basename(csv), "--label", "label", "--hidden", "8", "--epochs", "2",
                   "--validation-split", "0", "--quiet", "--out", run], cwd, folder, max(60, args.time_limit), args.memory_kb, "base")
    if o.code != 0:
        sys.exit(f"fuzz: cannot train the base {task} run: exit {o.code}: {short(o.stderr)}")
    return {"dir": os.path.join(folder, run), "csv": csv}


def main():
    if "MYELIN_FUZZ_MALLOC" not in os.environ:
        # glibc's per-thread arenas kept the freed buffers of finished cases: without this the
        # process grew by about 3 MB a second over a long run.
        os.environ["MYELIN_FUZZ_MALLOC"] = "set"
        os.environ["MALLOC_ARENA_MAX"] = "1"
        os.environ["MALLOC_MMAP_THRESHOLD_"] = str(128 << 10)
        os.execv(sys.executable, [sys.executable] + sys.argv)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--time-limit", type=float, default=30)
    p.add_argument("--memory-limit-mb", type=int, default=1024)
    p.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    p.add_argument("--only", type=int, action="append", help="run only this case number (repeatable)")
    p.add_argument("--keep", action="store_true", help="keep each case's folder (printed with its result)")
    p.add_argument("--verbose", action="store_true", help="print every case, not only failures")
    p.add_argument("--myelin", default=os.environ.get("MYELIN", ".build/debug/myelin"))
    args = p.parse_args()
    args.memory_kb = args.memory_limit_mb * 1024
    if shutil.which("prlimit"):
        LIMIT_PREFIX[:] = ["prlimit", f"--as={max(4 << 30, 4 * args.memory_limit_mb << 20)}", "--"]
    myelin = os.path.abspath(args.myelin)
    if not os.access(myelin, os.X_OK):
        sys.exit(f"fuzz: no executable at {myelin} (set MYELIN)")
    numbers = args.only or list(range(args.cases))
    basedir = tempfile.mkdtemp(prefix="myelin-fuzz-base-")
    started = time.monotonic()
    passed = failed = 0
    kinds = {}
    try:
        bases = {t: train_base(myelin, basedir, t, args) for t in ("classification", "regression")}
        def one(n):
            # The case's data is made in the worker and only short strings come back: 10,000 cases never
            # sit in memory at once (holding every case and its output grew to 11 GB).
            case = make_case(n, args.seed)
            problems, detail, argv, root, cause = run_case(case, args, bases, myelin)
            return case.number, case.what, problems, detail, argv, root, cause

        # A sliding window of submitted cases, reported in case order (deterministic output), so finished
        # results wait only for the slowest case in the window, not for the whole run.
        window = max(1, args.jobs) * 4
        pending = collections.deque()
        remaining = iter(numbers)
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            while True:
                while len(pending) < window:
                    n = next(remaining, None)
                    if n is None:
                        break
                    pending.append(pool.submit(one, n))
                if not pending:
                    break
                number, what, problems, detail, argv, root, cause = pending.popleft().result()
                cmd = "myelin " + " ".join(shlex.quote(a) for a in argv)
                if problems:
                    failed += 1
                    for problem in problems:  # grouped by what went wrong and the command's first words
                        key = problem.split(":")[0] + " <- " + re.sub(r"0x[0-9a-f]+|\d+(\.\d+)?", "#", cause[:80])
                        kinds[key] = kinds.get(key, 0) + 1
                    print(f"FAIL case {number} [{what}]: {'; '.join(problems)} | {detail} | {cmd} | "
                          f"reproduce: MYELIN={shlex.quote(args.myelin)} python3 scripts/fuzz-cli.py --seed {args.seed} "
                          f"--only {number} --keep --verbose", flush=True)
                else:
                    passed += 1
                    if args.verbose:
                        print(f"ok   case {number} [{what}]: {detail} | {cmd}", flush=True)
                if args.keep:
                    print(f"     case {number} files: {root}/work", flush=True)
    finally:
        shutil.rmtree(basedir, ignore_errors=True)
    for key, count in sorted(kinds.items(), key=lambda kv: -kv[1]):
        print(f"  {count:5d} x {key}")
    print(f"(fuzz took {time.monotonic() - started:.0f} s with {args.jobs} jobs)", file=sys.stderr)
    print(f"fuzz: {passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
