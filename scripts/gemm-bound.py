#!/usr/bin/env python3
"""The fraction of the machine's GEMM-bound limit that each training workload of `myelin bench` reaches.

Two figures per workload, from one `myelin` binary in alternating rounds:
  of its products  measured samples/s over the samples/s its matrix products alone would allow, each
                   product timed at its own shape (`bench --workloads gemm_f32_<m>x<k>x<n>`): the
                   time left for everything else (mlp_train only: a convolution's products depend on
                   the algorithm);
  of GEMM peak     the workload's multiply-adds (direct convolution counted, as frameworks report
                   FLOPs) per second over gemm_f32_1024's GFLOP/s: how busy the FMA units are kept.
Each fraction is taken within a round (the trainings against that round's products, run one after
the other) and the median of the rounds printed, with each round's figure: a machine whose speed
drifts from minute to minute then moves a round, not the result.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/gemm-bound.py --myelin .build/release/myelin
"""
import argparse
import json
import statistics
import subprocess


def mlp_products(batch):
    """(m, k, n) of one mlp_train step: forward, weight gradients, input gradients (not of the input)."""
    layers = [(784, 512), (512, 256), (256, 10)]
    shapes = [(batch, i, o) for i, o in layers]                 # X W^T
    shapes += [(o, batch, i) for i, o in layers]                # dW = dY^T X
    shapes += [(batch, o, i) for i, o in layers[1:]]            # dX = dY W
    return shapes


# Floating-point operations per sample (2 per multiply-add), training = forward + both gradients.
def mlp_flops():
    return sum(2 * m * k * n for m, k, n in mlp_products(1))


def cnn_flops():
    conv1 = 2 * 32 * 9 * 28 * 28          # 1 -> 32, 3x3, 28x28 outputs
    conv2 = 2 * 64 * 32 * 9 * 14 * 14     # 32 -> 64, 3x3, 14x14 outputs
    fc = 2 * (3136 * 128 + 128 * 10)
    return 2 * conv1 + 3 * conv2 + 3 * fc  # conv1 needs no input gradient


def lstm_flops_per_token():
    recurrent = 2 * 256 * 1024            # h W_hh^T
    projection = 2 * 64 * 1024            # x W_ih^T
    output = 2 * 256 * 65                 # Linear(256 -> 65)
    return 3 * (recurrent + projection + output)


def run(binary, workloads, threads):
    out = subprocess.run([binary, "bench", "--workloads", ",".join(workloads), "--threads", str(threads)],
                         check=True, capture_output=True, text=True).stdout
    return {(j["workload"], j["metric"]): j["value"] for j in map(json.loads, out.splitlines())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--myelin", required=True)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    shapes = sorted(set(mlp_products(128)))
    gemms = [f"gemm_f32_{m}x{k}x{n}" for m, k, n in shapes] + ["gemm_f32_1024"]
    per_round = {"peak": [], "mlp_products": [], "mlp_peak": [], "cnn_peak": [], "lstm_peak": []}
    speeds = {}
    for _ in range(args.rounds):
        rate = {w: v for (w, _), v in run(args.myelin, gemms, args.threads).items()}
        speed = {w: v for (w, metric), v in run(args.myelin, ["mlp_train", "cnn_train", "lstm_train"], args.threads).items()
                 if metric in ("samples_per_s", "tokens_per_s")}
        peak = rate["gemm_f32_1024"]
        step = sum(2 * m * k * n / (rate[f"gemm_f32_{m}x{k}x{n}"] * 1e9) for m, k, n in mlp_products(128))
        per_round["peak"].append(peak)
        per_round["mlp_products"].append(speed["mlp_train"] / (128 / step))
        per_round["mlp_peak"].append(speed["mlp_train"] * mlp_flops() / 1e9 / peak)
        per_round["cnn_peak"].append(speed["cnn_train"] * cnn_flops() / 1e9 / peak)
        per_round["lstm_peak"].append(speed["lstm_train"] * lstm_flops_per_token() / 1e9 / peak)
        for w, v in speed.items():
            speeds.setdefault(w, []).append(v)
    med = {k: statistics.median(v) for k, v in per_round.items()}
    speed = {w: statistics.median(v) for w, v in speeds.items()}
    rounds = lambda k: " / ".join(f"{f:.0%}" for f in per_round[k])
    print(f"gemm_f32_1024: {med['peak']:.1f} GFLOP/s on {args.threads} threads (median of {args.rounds} rounds; "
          f"fractions are medians of each round's own)")
    print(f"mlp_train   {speed['mlp_train']:9.0f} samples/s: {med['mlp_products']:.0%} of its products "
          f"({rounds('mlp_products')}), {med['mlp_peak']:.0%} of GEMM peak")
    print(f"cnn_train   {speed['cnn_train']:9.0f} samples/s: {med['cnn_peak']:.0%} of GEMM peak "
          f"({rounds('cnn_peak')}; direct-convolution FLOPs, Winograd does fewer)")
    print(f"lstm_train  {speed['lstm_train']:9.0f} tokens/s: {med['lstm_peak']:.0%} of GEMM peak ({rounds('lstm_peak')})")


if __name__ == "__main__":
    main()
