#!/usr/bin/env bash
# `myelin train` on a full disk: a small tmpfs stands for the disk. Checks that
#   (a) a model whose files do not fit fails with one line, exit 1, and leaves nothing behind;
#   (b) a run whose disk fills up after its first checkpoint fails with one line, exit 1, and its
#       folder (when there is one) evaluates and resumes once space is freed;
#   (c) --overwrite of a finished run on a full disk fails and leaves the old run intact; so does
#       a new run on a full disk (nothing left behind).
# Needs root and `mount -t tmpfs`; otherwise prints "full-disk: skipped (needs root and tmpfs)".
# The binary is $MYELIN (default .build/debug/myelin). Last line: `full-disk: N passed, M failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
MYELIN=${MYELIN:-.build/debug/myelin}
if [ "$(id -u)" -ne 0 ]; then echo "full-disk: skipped (needs root and tmpfs)"; exit 0; fi
T=$(mktemp -d)
DISK=$T/disk
mkdir "$DISK"
if ! mount -t tmpfs -o size=3m,mode=0755 myelin-full-disk "$DISK" 2>/dev/null; then
    rm -rf "$T"; echo "full-disk: skipped (needs root and tmpfs)"; exit 0
fi
child=
cleanup() {
    if [ -n "$child" ]; then kill -9 "$child" 2>/dev/null; wait "$child" 2>/dev/null; fi
    umount "$DISK" 2>/dev/null || umount -l "$DISK" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
passed=0 failed=0
pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# one_line_exit1 "what" rc: the last command's stderr ($T/err) is one line and rc is 1
one_line_exit1() {
    local what=$1 rc=$2 lines
    lines=$(wc -l < "$T/err")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ]; then pass "$what: exit 1: $(cat "$T/err")"
    else fail "$what: exit $rc, $lines stderr lines (expected exit 1, one line): $(head -c 300 "$T/err" | tr '\n' ' ')"; fi
}
# nothing_left "what" DIR: DIR absent and no .<basename>* beside it
nothing_left() {
    local what=$1 dir=$2 left
    left=$(ls -A "$(dirname "$dir")" | awk -v p=".$(basename "$dir")" 'index($0, p) == 1' | tr '\n' ' ')
    if [ -e "$dir" ] || [ -n "$left" ]; then fail "$what: left behind: $( [ -e "$dir" ] && echo "$dir" ) $left"
    else pass "$what: nothing left behind"; fi
}
no_temporaries() {
    local what=$1 dir=$2 left
    left=$(ls -A "$(dirname "$dir")" | awk -v p=".$(basename "$dir")" 'index($0, p) == 1' | tr '\n' ' ')
    if [ -n "$left" ]; then fail "$what: temporaries beside the folder: $left"; else pass "$what: no temporaries"; fi
}
fill_disk() { dd if=/dev/zero of="$DISK/fill" bs=64k > /dev/null 2>&1; sync; }
free_disk() { rm -f "$DISK/fill"; }
tree_sum() { (cd "$1" && find . -type f | LC_ALL=C sort | xargs -r sha256sum) 2>/dev/null; }
epochs_done() {  # results.json's training.epochs, else the data lines of metrics.csv
    python3 - "$1" <<'EOF'
import json, sys
try:
    print(int(json.load(open(sys.argv[1] + "/results.json"))["training"]["epochs"]))
except Exception:
    try:
        print(max(0, sum(1 for l in open(sys.argv[1] + "/metrics.csv") if l.strip()) - 1))
    except Exception:
        print(0)
EOF
}

python3 - "$T" <<'EOF'
import random, sys
rng = random.Random(5)
def table(path, features, rows):
    with open(path, "w") as f:
        f.write(",".join(f"x{i}" for i in range(features)) + ",label\n")
        for _ in range(rows):
            x = [rng.uniform(-1, 1) for _ in range(features)]
            f.write(",".join(f"{v:.4f}" for v in x) + "," + ("a" if x[0] + x[1] > 0 else "b") + "\n")
table(sys.argv[1] + "/wide.csv", 50, 200)
table(sys.argv[1] + "/small.csv", 8, 1500)
EOF
SMALL=(--csv "$T/small.csv" --label label --hidden 64,64 --batch-size 4 --threads 1 --validation-split 0 --quiet)

# (a) weights of ~290k parameters (1.2 MB, its checkpoint with Adam's moments ~3.5 MB) on a 3 MB disk
"$MYELIN" train --csv "$T/wide.csv" --label label --hidden 512,512 --epochs 2 --validation-split 0 --quiet \
    --out "$DISK/big" > /dev/null 2> "$T/err"
one_line_exit1 "(a) a model too big for the disk" $?
nothing_left "(a) a model too big for the disk" "$DISK/big"
if [ -n "$(ls -A "$DISK")" ]; then fail "(a) files left on the disk: $(ls -A "$DISK" | tr '\n' ' ')"; rm -rf "${DISK:?}"/* "$DISK"/.[!.]* 2>/dev/null; fi

# (b) the disk fills up as soon as the run folder appears (its first checkpoint)
E=60
"$MYELIN" train "${SMALL[@]}" --epochs $E --out "$DISK/grow" > /dev/null 2> "$T/err" &
child=$!
for _ in $(seq 1 6000); do
    [ -e "$DISK/grow" ] && break
    kill -0 "$child" 2>/dev/null || break
    sleep 0.01
done
if [ -e "$DISK/grow" ] && kill -0 "$child" 2>/dev/null; then
    fill_disk
    for _ in $(seq 1 1200); do kill -0 "$child" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$child" 2>/dev/null; then
        kill -9 "$child"; wait "$child" 2>/dev/null; child=
        fail "(b) the run did not end within 120 s of the disk filling up"
    else
        wait "$child"; rc=$?; child=
        one_line_exit1 "(b) the disk filling up during training" $rc
    fi
    free_disk
    if [ -e "$DISK/grow" ]; then
        done_epochs=$(epochs_done "$DISK/grow")
        if "$MYELIN" evaluate "$DISK/grow" > /dev/null 2> "$T/err"; then pass "(b) the folder evaluates after space is freed"
        else fail "(b) evaluate after space is freed: $(head -c 300 "$T/err")"; fi
        if "$MYELIN" resume "$DISK/grow" --epochs $((done_epochs + 1)) --quiet > /dev/null 2> "$T/err"; then
            pass "(b) the folder resumes after space is freed ($done_epochs epochs were done)"
        else fail "(b) resume --epochs $((done_epochs + 1)) after space is freed: $(head -c 300 "$T/err")"; fi
        no_temporaries "(b) after the resume" "$DISK/grow"
    else
        pass "(b) no folder left"
        nothing_left "(b)" "$DISK/grow"
    fi
else
    wait "$child"; rc=$?; child=
    fail "(b) the run ended (exit $rc) before its folder appeared or before the disk could be filled: $(head -c 300 "$T/err")"
fi
rm -rf "${DISK:?}"/* "$DISK"/.[!.]* 2>/dev/null

# (c) --overwrite of a finished run, and a new run, on a full disk
if "$MYELIN" train "${SMALL[@]}" --epochs 2 --out "$DISK/old" > /dev/null 2> "$T/err"; then
    before=$(tree_sum "$DISK/old")
    fill_disk
    "$MYELIN" train "${SMALL[@]}" --epochs 2 --seed 3 --out "$DISK/old" --overwrite > /dev/null 2> "$T/err"
    one_line_exit1 "(c) --overwrite on a full disk" $?
    if [ "$(tree_sum "$DISK/old")" = "$before" ]; then pass "(c) the old run is intact"; else fail "(c) the old run changed"; fi
    no_temporaries "(c) --overwrite on a full disk" "$DISK/old"
    "$MYELIN" train "${SMALL[@]}" --epochs 2 --out "$DISK/new" > /dev/null 2> "$T/err"
    one_line_exit1 "(c) a new run on a full disk" $?
    nothing_left "(c) a new run on a full disk" "$DISK/new"
    free_disk
    if "$MYELIN" evaluate "$DISK/old" > /dev/null 2> "$T/err"; then pass "(c) the old run evaluates"
    else fail "(c) evaluate of the old run: $(head -c 300 "$T/err")"; fi
else
    fail "(c) training the old run on an empty disk: $(head -c 300 "$T/err")"
fi

echo "full-disk: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
