#!/usr/bin/env bash
# Two "hosts" on one machine: network namespaces myelin-a and myelin-b joined by a veth pair
# (10.77.0.1 and 10.77.0.2), each with its own host name, one MPI rank in each, talking TCP
# over the veth link only (--mca btl self,tcp). mpirun starts in myelin-a and reaches myelin-b
# through an rsh agent that is `ip netns exec` instead of ssh. The job trains the MNIST MLP;
# the same training in one process gives the reference accuracy, and the two-host run must
# come within one point of it. Needs root, iproute2 and Open MPI; writes runs/acceptance/mpi-two-hosts/.
# Usage: scripts/mpi-two-hosts.sh   (MYELIN=.build/release/myelin, ARGS="--data mnist ..." to change)
set -euo pipefail
cd "$(dirname "$0")/.."
MYELIN=$(realpath "${MYELIN:-.build/release/myelin}")
OUT=$(realpath -m runs/acceptance/mpi-two-hosts)
export MYELIN_DATA=${MYELIN_DATA:-$(cd .. && pwd)/shared/datasets}
ARGS=${ARGS:---data mnist --hidden 512,256 --dropout 0.2 --epochs 3 --seed 1 --quiet}
# Per rank; the one process takes the same global batch (2 x BATCH).
BATCH=${BATCH:-64}
[ "$(id -u)" -eq 0 ] || { echo "error: mpi-two-hosts.sh needs root (ip netns)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "error: mpirun not found (apt-get install openmpi-bin libopenmpi-dev)" >&2; exit 1; }
[ -x "$MYELIN" ] || { echo "error: $MYELIN not built (make release)" >&2; exit 1; }

export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
AGENT=$(mktemp /tmp/myelin-netns-rsh.XXXXXX)
cleanup() {
    ip netns del myelin-a 2>/dev/null || true
    ip netns del myelin-b 2>/dev/null || true
    rm -f "$AGENT"
}
trap cleanup EXIT
cleanup

ip netns add myelin-a
ip netns add myelin-b
ip link add veth-myelin-a type veth peer name veth-myelin-b
ip link set veth-myelin-a netns myelin-a
ip link set veth-myelin-b netns myelin-b
ip -n myelin-a addr add 10.77.0.1/24 dev veth-myelin-a
ip -n myelin-b addr add 10.77.0.2/24 dev veth-myelin-b
for ns in a b; do
    ip -n myelin-$ns link set lo up
    ip -n myelin-$ns link set veth-myelin-$ns up
done
# (ping may be absent: the job below is the connectivity test)

# The rsh agent: `agent HOST COMMAND...` runs COMMAND in HOST's namespace under its own host name.
cat > "$AGENT" <<'AGENT_EOF'
#!/bin/sh
host=$1; shift
case "$host" in 10.77.0.1) ns=a ;; 10.77.0.2) ns=b ;; *) echo "netns-rsh: unknown host $host" >&2; exit 1 ;; esac
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
exec ip netns exec myelin-$ns unshare --uts sh -c "hostname myelin-host-$ns; $*"
AGENT_EOF
chmod +x "$AGENT"

rm -rf "$OUT"
mkdir -p "$OUT"
echo "one process, 2 threads, batch $((2 * BATCH)): $ARGS"
# shellcheck disable=SC2086
"$MYELIN" train $ARGS --batch-size $((2 * BATCH)) --threads 2 --out "$OUT/one-process" | tee "$OUT/one-process.log"

echo "two hosts (namespaces), one rank each, TCP over veth, batch $BATCH per rank: $ARGS"
# shellcheck disable=SC2086
ip netns exec myelin-a unshare --uts sh -c "hostname myelin-host-a; exec mpirun --allow-run-as-root \
    --host 10.77.0.1:1,10.77.0.2:1 -np 2 --mca plm_rsh_agent $AGENT \
    --mca btl self,tcp --mca btl_tcp_if_include 10.77.0.0/24 --mca oob_tcp_if_include 10.77.0.0/24 \
    -x MYELIN_DATA -x PATH $MYELIN train $ARGS --batch-size $BATCH --threads 1 --out $OUT/two-hosts" | tee "$OUT/two-hosts.log"

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
one = json.load(open(f"{out}/one-process/results.json"))
two = json.load(open(f"{out}/two-hosts/results.json"))
a, b = one["test"]["accuracy"], two["test"]["accuracy"]
ranks = two["training"].get("ranks")
same = two["training"].get("weights_identical_on_ranks")
line = (f"two hosts: test accuracy {b:.4f} on {ranks:.0f} ranks (weights identical: {same == 1}), "
        f"{two['training']['samples_per_second']:.0f} samples/s; one process: {a:.4f}, "
        f"{one['training']['samples_per_second']:.0f} samples/s; difference {100 * (b - a):+.2f} points")
print(line)
open(f"{out}/summary.txt", "w").write(line + "\n")
sys.exit(0 if ranks == 2 and same == 1 and abs(a - b) <= 0.01 else 1)
PY
