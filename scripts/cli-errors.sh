#!/usr/bin/env bash
# Bad input through the real `myelin` command: each case must print exactly one line on stderr,
# exit 1 (not crash), and leave no output behind. Run by `make test` after the Swift tests.
set -uo pipefail
cd "$(dirname "$0")/.."
MYELIN=${MYELIN:-.build/debug/myelin}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0

# expect "description" "message fragment" command...
expect() {
    local what=$1 fragment=$2; shift 2
    "$@" > "$T/stdout" 2> "$T/stderr"
    local rc=$? lines
    lines=$(wc -l < "$T/stderr")
    if [ $rc -ne 1 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$fragment" "$T/stderr"; then
        echo "FAIL $what: exit $rc, $lines stderr lines:"; sed 's/^/    /' "$T/stderr" | head -5
        failures=$((failures + 1))
    else
        echo "ok   $what: $(cat "$T/stderr")"
    fi
}

printf 'x,y,label\n0,0,a\n0,1,b\n1,0,b\n1,1,a\n0.1,0.1,a\n0.1,0.9,b\n0.9,0.1,b\n0.9,0.9,a\n0.2,0.2,a\n0.2,0.8,b\n' > "$T/good.csv"
printf 'x,y,label\n0,0,a\n0,1\n' > "$T/ragged.csv"
printf 'x,y,label\n0,0,a\n0,abc,b\n1,0,b\n1,1,a\n' > "$T/text-cell.csv"
printf '\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03garbage-not-deflate' > "$T/corrupt.gz"
head -c 1000 /dev/zero > "$T/zeros.idx"
{ printf '\x00\x00\x08\x03\x00\x00\x00\x0a\x00\x00\x00\x1c\x00\x00\x00\x1c'; head -c 3920 /dev/zero; } > "$T/short.idx"
printf 'a,b,c\n1,2,3\n' > "$T/wide.csv"

expect "missing CSV"          "missing.csv"                 "$MYELIN" train --csv "$T/missing.csv" --label label --out "$T/r1"
expect "ragged CSV row"       "row has 2 cells, expected 3" "$MYELIN" train --csv "$T/ragged.csv" --label label --out "$T/r2"
expect "non-numeric cell"     "'abc' is not a number"       "$MYELIN" train --csv "$T/text-cell.csv" --label label --out "$T/r3"
expect "unknown label column" "colour"                      "$MYELIN" train --csv "$T/good.csv" --label colour --out "$T/r4"
expect "unknown data set"     "unknown data set 'nope'"     "$MYELIN" train --data nope --out "$T/r5"
expect "no data"              "no data"                     "$MYELIN" train --out "$T/r6"
expect "bad hidden sizes"     "--hidden"                    "$MYELIN" train --csv "$T/good.csv" --label label --hidden 8,x --out "$T/r7"
expect "zero epochs"          "epochs must be positive"     "$MYELIN" train --csv "$T/good.csv" --label label --epochs 0 --out "$T/r8"
expect "bad layer spec"       "[model] unknown layer"       "$MYELIN" train --csv "$T/good.csv" --label label --layers dense:8,swish --out "$T/r9"
expect "conv on a table"      "needs image data" "$MYELIN" train --csv "$T/good.csv" --label label --model cnn --out "$T/r10"
expect "output under a file"  "is a file"                   "$MYELIN" train --csv "$T/good.csv" --label label --out "$T/good.csv/run"
for r in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10; do
    if [ -e "$T/$r" ]; then echo "FAIL a failed train left $T/$r behind"; failures=$((failures + 1)); fi
done

"$MYELIN" train --csv "$T/good.csv" --label label --hidden 4 --epochs 1 --validation-split 0 --quiet --out "$T/run" > /dev/null 2>&1 \
    || { echo "FAIL training the small model"; failures=$((failures + 1)); }
expect "not a run folder"     "is not a run folder"         "$MYELIN" summary "$T"
expect "corrupt gzip"         "corrupt.gz"                  "$MYELIN" predict "$T/run" --input "$T/corrupt.gz"
expect "wrong IDX magic"      "bad magic"                   "$MYELIN" predict "$T/run" --input "$T/zeros.idx"
expect "IDX count mismatch"   "short.idx"                   "$MYELIN" predict "$T/run" --input "$T/short.idx"
expect "wrong feature count"  "wide.csv"                    "$MYELIN" predict "$T/run" --input "$T/wide.csv"
expect "unwritable output"    "cannot write"                "$MYELIN" predict "$T/run" --input "$T/good.csv" --output "$T/good.csv/p.csv"
expect "resume past the end"  "already trained 1 of 1"      "$MYELIN" resume "$T/run"

if [ $failures -gt 0 ]; then echo "$failures CLI error checks failed"; exit 1; fi
echo "all CLI error checks passed"
