#!/usr/bin/env bash
# The floor under mlp_infer_b1 on this machine: Myelin's batch-1 kernel with nothing around it
# (see scripts/batch1-floor.c for what each line means). Needs a C compiler (clang, as SwiftPM uses, or cc).
#
#   scripts/batch1-floor.sh
#
# Run it on an idle machine, next to `myelin bench --workloads mlp_infer_b1 --threads 2` and
# `peers/torch_bench.py --workloads mlp_infer_b1 --threads 2` in alternating rounds.
set -euo pipefail
cd "$(dirname "$0")/.."
# The kernel is AVX2 and the harness pins threads the Linux way.
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
    echo "batch1-floor: runs on Linux on x86-64 only (this is $(uname -s) on $(uname -m))"
    exit 0
fi
compiler=$(command -v clang || command -v cc || true)
[ -n "$compiler" ] || { echo "batch1-floor: no C compiler (cc or clang) found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
k=Sources/CMyelinKernels
"$compiler" -O2 -std=gnu11 -I "$k/include" scripts/batch1-floor.c "$k/gemv.c" "$k/cpu.c" -o "$tmp/batch1-floor" -lpthread -lm
env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "$tmp/batch1-floor"
