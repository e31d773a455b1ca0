#!/usr/bin/env python3
"""PyTorch peer of Myelin's `gemm_f32_<m>x<k>x<n>` workloads, in ../shared/bench style.

A [m, k] times B [k, n], float32, random normal, C freshly allocated per call: the products a
layer runs (README, "Matrix products"). Prints one JSON line per workload
(metric gflops = 2mkn / t / 1e9, higher is better).

  python3 scripts/bench-peers/torch_gemm_shapes.py --threads 1 gemm_f32_64x288x196 gemm_f32_3136x64x128
"""
import argparse
import json

import torch

from torch_compiled_bench import per_call  # one timing rule for the peer scripts here


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
        t = per_call(lambda: a @ b)
        print(json.dumps({"workload": name, "metric": "gflops", "value": round(2.0 * m * k * n / t / 1e9, 2), "unit": "GFLOP/s",
                          "better": "higher", "impl": f"pytorch {torch.__version__}", "threads": args.threads}), flush=True)


if __name__ == "__main__":
    main()
