#!/usr/bin/env python3
"""PyTorch and NumPy peers of Myelin's `gemm_f32_<m>x<k>x<n>` workloads, in ../shared/bench style.

A [m, k] times B [k, n], float32, random normal, C freshly allocated per call: the products a
layer runs (README, "Matrix products"). Prints one JSON line per workload and implementation
(metric gflops = 2mkn / t / 1e9, higher is better).

  python3 scripts/bench-peers/torch_gemm_shapes.py --threads 1 gemm_f32_64x288x196 gemm_f32_3136x64x128
"""
import argparse
import json
import statistics
import time

import numpy as np
import torch


def per_call(fn, samples=15, sample_s=0.02):
    """Median seconds per fn() call: two warm-up calls, then `samples` samples of about sample_s each."""
    fn()
    t = time.perf_counter()
    fn()
    inner = max(1, round(sample_s / max(time.perf_counter() - t, 1e-9)))
    times = []
    for _ in range(samples):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def shape(name):
    dims = name[len("gemm_f32_"):].split("x")
    if not name.startswith("gemm_f32_") or len(dims) != 3:
        raise SystemExit(f"[bench] expected gemm_f32_<m>x<k>x<n>, got '{name}'")
    return tuple(int(d) for d in dims)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("workloads", nargs="+")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    for name in args.workloads:
        m, k, n = shape(name)
        torch.manual_seed(0)
        a, b = torch.randn(m, k), torch.randn(k, n)
        an, bn = a.numpy(), b.numpy()
        flops = 2.0 * m * k * n
        for impl, fn in ((f"pytorch {torch.__version__}", lambda: a @ b), (f"numpy {np.__version__}", lambda: an @ bn)):
            t = per_call(fn)
            print(json.dumps({"workload": name, "metric": "gflops", "value": round(flops / t / 1e9, 2), "unit": "GFLOP/s",
                              "better": "higher", "impl": impl, "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
