#!/usr/bin/env bash
# Times every OpenBLAS sgemm call a command makes, by shape, and prints the table at its exit
# (see scripts/sgemm-in-situ.c): what a training's matrix products take where they run.
#
#   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE scripts/sgemm-in-situ.sh \
#       .build/release/myelin bench --workloads mlp_train --threads 1
#
# Linux with OpenBLAS's development headers (install-deps.sh installs them); Myelin's own packed
# kernels (CPUs whose OpenBLAS lacks FMA kernels) are not seen. The table counts the timed
# workload's warm-up steps too.
set -euo pipefail
if [ "$(uname -s)" != Linux ]; then
    echo "sgemm-in-situ: runs on Linux only (LD_PRELOAD; this is $(uname -s))" >&2
    exit 1
fi
[ $# -ge 1 ] || { echo "usage: scripts/sgemm-in-situ.sh COMMAND [ARGUMENTS...]" >&2; exit 1; }
here=$(cd "$(dirname "$0")" && pwd)
compiler=$(command -v clang || command -v cc || true)
[ -n "$compiler" ] || { echo "sgemm-in-situ: no C compiler (cc or clang) found" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$compiler" -O2 -shared -fPIC -I/usr/include/x86_64-linux-gnu -I/usr/include/openblas "$here/sgemm-in-situ.c" \
    -o "$tmp/sgemm-in-situ.so" -ldl -lpthread
LD_PRELOAD="$tmp/sgemm-in-situ.so" "$@"
