#!/usr/bin/env python3
"""PyTorch peer of Myelin's compiled-path workloads (CPU, float32), in ../shared/bench style.

Each workload is timed eager and through torch.compile (inductor, which fuses elementwise chains
into generated C++ loops) in the same run, as Myelin's `bench` times eager and Graph.fused():

  fusion_chain_cheap_1m     ten cheap elementwise ops (add, sub, mul, max with a scalar, neg, abs) over 1M floats
  fusion_chain_exp_tanh_1m  (x*0.5 + b).tanh() -> (y*y - 1).exp() * x over 1M floats
  fusion_gelu_1m            GELU's tanh form composed from tensor ops, and F.gelu(approximate='tanh')
  compiled_mlp_step         2 -> 64 -> 64 -> 2 MLP, batch 32, cross-entropy, backward, Adam 1e-3

Prints one JSON object per line (metrics eager_ms, compiled_ms, speedup; us per step for the MLP).
torch.compile needs a C++ compiler (g++); without one the compiled side is skipped with a message.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

IMPL = f"pytorch {torch.__version__}"


def per_call(fn, samples=15, sample_s=0.02):
    """Median seconds per fn() call: two warm-up calls, then `samples` samples of about sample_s each."""
    fn()
    t = time.perf_counter()
    fn()
    inner = max(1, round(sample_s / (time.perf_counter() - t)))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def cheap_chain(x, b):
    y = x + b
    y = y * 1.5
    y = y - 0.25
    y = torch.clamp_min(y, -1.0)
    y = -y
    y = y.abs()
    y = y + b
    y = y * 0.5
    y = y - b
    return y.abs()


def exp_tanh_chain(x, b):
    y = (x * 0.5 + b).tanh()
    return (y * y - 1).exp() * x


def composed_gelu(x):
    return x * 0.5 * ((x + x * x * x * 0.044715) * math.sqrt(2 / math.pi)).tanh() + x * 0.5


def pair(name, eager, compiled):
    yield name, "eager_ms", eager * 1e3, "ms", "lower"
    yield name, "compiled_ms", compiled * 1e3, "ms", "lower"
    yield name, "speedup", eager / compiled, "x", "higher"


def fusion(name, f, n_inputs):
    torch.manual_seed(0)
    xs = [torch.randn(1 << 20) for _ in range(n_inputs)]
    g = torch.compile(f)
    eager = per_call(lambda: f(*xs))
    compiled = per_call(lambda: g(*xs))
    yield from pair(name, eager, compiled)


def gelu():
    yield from fusion("fusion_gelu_1m", composed_gelu, 1)
    torch.manual_seed(0)
    x = torch.randn(1 << 20)
    hand = per_call(lambda: F.gelu(x, approximate="tanh"))
    yield "fusion_gelu_1m", "library_gelu_ms", hand * 1e3, "ms", "lower"


def mlp_step(steps=200):
    torch.manual_seed(0)

    def model():
        return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))

    x, y = torch.randn(32, 2), torch.randint(0, 2, (32,))
    ma, mb = model(), model()
    oa, ob = torch.optim.Adam(ma.parameters(), lr=1e-3), torch.optim.Adam(mb.parameters(), lr=1e-3)

    def step_a():
        oa.zero_grad()
        F.cross_entropy(ma(x), y).backward()
        oa.step()

    @torch.compile
    def fwd_bwd(x, y):
        loss = F.cross_entropy(mb(x), y)
        loss.backward()
        return loss

    def step_b():
        ob.zero_grad()
        fwd_bwd(x, y)
        ob.step()

    eager = per_call(lambda: [step_a() for _ in range(steps)], samples=9)
    compiled = per_call(lambda: [step_b() for _ in range(steps)], samples=9)
    yield "compiled_mlp_step", "eager_us_per_step", eager / steps * 1e6, "us", "lower"
    yield "compiled_mlp_step", "compiled_us_per_step", compiled / steps * 1e6, "us", "lower"
    yield "compiled_mlp_step", "speedup", eager / compiled, "x", "higher"


WORKLOADS = {
    "fusion_chain_cheap_1m": lambda: fusion("fusion_chain_cheap_1m", cheap_chain, 2),
    "fusion_chain_exp_tanh_1m": lambda: fusion("fusion_chain_exp_tanh_1m", exp_tanh_chain, 2),
    "fusion_gelu_1m": gelu,
    "compiled_mlp_step": mlp_step,
}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--out", help="append the JSON lines to this file too")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    out = open(args.out, "a") if args.out else None
    for name in args.workloads.split(","):
        if name not in WORKLOADS:
            sys.exit(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)}")
        try:
            for workload, metric, value, unit, better in WORKLOADS[name]():
                line = json.dumps({"workload": workload, "metric": metric, "value": round(value, 6), "unit": unit,
                                   "better": better, "impl": IMPL, "threads": args.threads})
                print(line, flush=True)
                if out:
                    out.write(line + "\n")
        except Exception as e:  # torch.compile without a working C++ toolchain
            print(f"{name}: skipped: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
    if out:
        out.close()


if __name__ == "__main__":
    main()
