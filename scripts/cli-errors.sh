#!/usr/bin/env bash
# Bad input through the real `myelin` command: each case must print exactly one line on stderr,
# exit 1 (not crash), and leave no output behind. Run by `make test` after the Swift tests.
set -uo pipefail
cd "$(dirname "$0")/.."
MYELIN=${MYELIN:-.build/debug/myelin}
case $MYELIN in /*) ;; *) MYELIN=$PWD/$MYELIN ;; esac  # some cases run from inside the temporary folder
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
failures=0

# Each command runs with at most 4 GB of address space and 60 s, so that an unchecked huge size fails
# fast instead of swapping the machine (exit 137 = killed at the time limit).
limited() { ( ulimit -v 4194304; exec timeout -s KILL 60 "$@" ); }

# expect "description" "message fragment" command...   (fragment: alternatives separated by |)
expect() {
    local what=$1 fragment=$2; shift 2
    limited "$@" > "$T/stdout" 2> "$T/stderr"
    local rc=$? lines found=0 alternative alternatives
    lines=$(wc -l < "$T/stderr")
    IFS='|' read -ra alternatives <<< "$fragment"
    for alternative in "${alternatives[@]}"; do grep -qF -- "$alternative" "$T/stderr" && found=1; done
    if [ $rc -ne 1 ] || [ "$lines" -ne 1 ] || [ $found -eq 0 ]; then
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

# Bad option values: one line, exit 1, nothing written. Negative values as --option=-1, so that they
# reach the command's own checks (`--option -1` is a missing value to the argument parser).
G=(--csv "$T/good.csv" --label label --epochs 1 --validation-split 0 --quiet)
expect "dropout above 1"      "dropout"       "$MYELIN" train "${G[@]}" --dropout 1.5 --out "$T/n1"
expect "negative dropout"     "dropout"       "$MYELIN" train "${G[@]}" --dropout=-0.5 --out "$T/n2"
expect "dropout nan"          "dropout"       "$MYELIN" train "${G[@]}" --dropout nan --out "$T/n3"
expect "negative weight decay (adam)"  "weight" "$MYELIN" train "${G[@]}" --optimizer adam --weight-decay=-5 --out "$T/n4"
expect "negative weight decay (sgd)"   "weight" "$MYELIN" train "${G[@]}" --optimizer sgd --weight-decay=-5 --out "$T/n5"
expect "negative weight decay (adamw)" "weight" "$MYELIN" train "${G[@]}" --optimizer adamw --weight-decay=-5 --out "$T/n6"
expect "weight decay nan"     "weight"        "$MYELIN" train "${G[@]}" --weight-decay nan --out "$T/n7"
expect "negative momentum"    "momentum"      "$MYELIN" train "${G[@]}" --optimizer sgd --momentum=-1 --out "$T/n8"
expect "momentum above 1"     "momentum"      "$MYELIN" train "${G[@]}" --optimizer sgd --momentum 5 --out "$T/n9"
expect "test split too big"   "--test-split"  "$MYELIN" train "${G[@]}" --test-split 0.99 --out "$T/n10"
expect "3e9 hidden units"     "parameter"     "$MYELIN" train "${G[@]}" --hidden 3000000000 --out "$T/n11"
expect "3e9 dense units"      "parameter"     "$MYELIN" train "${G[@]}" --layers dense:3000000000 --out "$T/n12"
expect "2^62 hidden units"    "parameter"     "$MYELIN" train "${G[@]}" --hidden 4611686018427387904 --out "$T/n13"
expect "empty hidden size"    "--hidden"      "$MYELIN" train "${G[@]}" --hidden 16,,8 --out "$T/n14"
expect "unknown option"       "frobnicate"    "$MYELIN" train "${G[@]}" --frobnicate --out "$T/n15"

# 200 text columns of 2,000 distinct values each: one-hot would be 400,000 inputs.
awk 'BEGIN { for (c = 0; c < 200; c++) printf "t%d,", c; print "label";
             for (r = 0; r < 2000; r++) { for (c = 0; c < 200; c++) printf "v%d_%d,", r, c; print (r % 2 ? "a" : "b") } }' > "$T/wide-text.csv"
expect "high-cardinality text columns" "categorical-encoding" "$MYELIN" train --csv "$T/wide-text.csv" --label label --epochs 1 --quiet --out "$T/n16"
# A regression label with one infinite cell, and one with a word.
awk 'BEGIN { print "x,y"; for (r = 0; r < 40; r++) print r / 40 "," (r == 17 ? "inf" : r * 0.5) }' > "$T/label-inf.csv"
awk 'BEGIN { print "x,y"; for (r = 0; r < 40; r++) print r / 40 "," (r == 17 ? "abc" : r * 0.5) }' > "$T/label-abc.csv"
expect "infinite regression label" "label" "$MYELIN" train --csv "$T/label-inf.csv" --label y --task regression --epochs 1 --quiet --out "$T/n17"
expect "text regression label"     "label" "$MYELIN" train --csv "$T/label-abc.csv" --label y --task regression --epochs 1 --quiet --out "$T/n18"
# Bytes that are not text (NUL, control bytes, invalid UTF-8): the message must not echo them raw.
python3 -c 'import sys; sys.stdout.buffer.write(b"x,\x00y\x1b[31m,label\n" + bytes(range(256)) * 4 + b"\xff\xfe\n1,2,\x07\n")' > "$T/garbage.csv"
expect "binary file as CSV"   "garbage.csv"   "$MYELIN" train --csv "$T/garbage.csv" --label label --epochs 1 --quiet --out "$T/n19"
if grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$T/stderr"; then
    echo "FAIL binary file as CSV: control bytes on stderr"; failures=$((failures + 1))
else
    echo "ok   binary file as CSV: no control bytes on stderr"
fi

for r in r1 r2 r3 r4 r5 r6 r7 r8 r9 r10 n1 n2 n3 n4 n5 n6 n7 n8 n9 n10 n11 n12 n13 n14 n15 n16 n17 n18 n19; do
    if [ -e "$T/$r" ]; then echo "FAIL a failed train left $T/$r behind"; failures=$((failures + 1)); fi
done
left=$(ls -A "$T" | grep -E '^\.(r|n)[0-9]+' | tr '\n' ' ')
if [ -n "$left" ]; then echo "FAIL failed trains left temporaries: $left"; failures=$((failures + 1)); fi

# A one-character relative --out, run from inside the folder: must train (exit 0), not crash.
(cd "$T" && limited "$MYELIN" train --csv good.csv --label label --hidden 4 --epochs 1 --validation-split 0 --quiet --out S) > /dev/null 2> "$T/stderr"
rc=$?
if [ $rc -eq 0 ] && [ -d "$T/S" ]; then echo "ok   one-character relative --out S: trained"
else echo "FAIL one-character relative --out S: exit $rc: $(head -c 300 "$T/stderr" | tr '\n' ' ')"; failures=$((failures + 1)); fi

"$MYELIN" train --csv "$T/good.csv" --label label --hidden 4 --epochs 1 --validation-split 0 --quiet --out "$T/run" > /dev/null 2>&1 \
    || { echo "FAIL training the small model"; failures=$((failures + 1)); }
expect "not a run folder"     "is not a run folder"         "$MYELIN" summary "$T"
expect "corrupt gzip"         "corrupt.gz"                  "$MYELIN" predict "$T/run" --input "$T/corrupt.gz"
expect "wrong IDX magic"      "bad magic"                   "$MYELIN" predict "$T/run" --input "$T/zeros.idx"
expect "IDX count mismatch"   "short.idx"                   "$MYELIN" predict "$T/run" --input "$T/short.idx"
expect "wrong feature count"  "wide.csv"                    "$MYELIN" predict "$T/run" --input "$T/wide.csv"
expect "unwritable output"    "cannot write"                "$MYELIN" predict "$T/run" --input "$T/good.csv" --output "$T/good.csv/p.csv"
printf 'x,y\n,0.5\n0.2,\n' > "$T/missing-cells.csv"
expect "warnings, then a failed write" "cannot write"       "$MYELIN" predict "$T/run" --input "$T/missing-cells.csv" --output "$T/good.csv/p.csv"
expect "resume past the end"  "already trained 1 of 1"      "$MYELIN" resume "$T/run"
printf 'x,y,label\n' > "$T/header-only.csv"
expect "evaluate on a header-only CSV" "no data rows|no rows" "$MYELIN" evaluate "$T/run" --csv "$T/header-only.csv" --label label
# A .npy of float32, shape (2, 2), holding a NaN.
python3 -c '
import struct, sys
h = b"{\x27descr\x27: \x27<f4\x27, \x27fortran_order\x27: False, \x27shape\x27: (2, 2), }"
h += b" " * (63 - (10 + len(h)) % 64) + b"\n"
sys.stdout.buffer.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(h)) + h + struct.pack("<4f", 0.5, float("nan"), 0.1, 0.2))' > "$T/nan.npy"
expect "predict on a NaN"     "NaN|not finite"              "$MYELIN" predict "$T/run" --input "$T/nan.npy"
# An existing run without --overwrite: refused, the old run untouched.
before=$(cd "$T/run" && find . -type f | LC_ALL=C sort | xargs sha256sum)
expect "existing run folder"  "--overwrite"                 "$MYELIN" train --csv "$T/good.csv" --label label --hidden 4 --epochs 1 --quiet --out "$T/run"
if [ "$(cd "$T/run" && find . -type f | LC_ALL=C sort | xargs sha256sum)" != "$before" ]; then
    echo "FAIL existing run folder: the old run was changed"; failures=$((failures + 1))
fi

# word2vec: bad text, options and vectors folders; a failed training leaves no folder behind.
: > "$T/empty.txt"
printf 'the cat sat on the mat\n' > "$T/short.txt"
expect "word2vec: empty text"       "the text has no words"        "$MYELIN" word2vec --text "$T/empty.txt" --out "$T/w1"
expect "word2vec: missing text"     "cannot read the text"         "$MYELIN" word2vec --text "$T/nope.txt" --out "$T/w2"
expect "word2vec: min-count"        "no word occurs at least 5"    "$MYELIN" word2vec --text "$T/short.txt" --out "$T/w3"
expect "word2vec: zero dimension"   "dimension (--dim) must be in" "$MYELIN" word2vec --text "$T/short.txt" --out "$T/w4" --dim 0
expect "word2vec: no --out"         "--text needs --out"           "$MYELIN" word2vec --text "$T/short.txt"
expect "word2vec: nothing to do"    "give --text FILE --out DIR"   "$MYELIN" word2vec
expect "word2vec: missing folder"   "no such folder"               "$MYELIN" word2vec "$T/w5" --nearest king
for w in w1 w2 w3 w4 w5; do
    if [ -e "$T/$w" ]; then echo "FAIL a failed word2vec left $T/$w behind"; failures=$((failures + 1)); fi
done
"$MYELIN" word2vec --text "$T/short.txt" --out "$T/wv" --min-count 1 --dim 8 --epochs 1 > /dev/null 2>&1 \
    || { echo "FAIL training small word vectors"; failures=$((failures + 1)); }
expect "word2vec: unknown word"     "unknown word 'king'"          "$MYELIN" word2vec "$T/wv" --nearest king
expect "word2vec: bad analogy"      "needs three words"            "$MYELIN" word2vec "$T/wv" --analogy cat,mat
expect "word2vec: no query"         "give one of --nearest"        "$MYELIN" word2vec "$T/wv"

# Pretrained sentence encoders (embed, search): bad names, options and files, with no download
# (MYELIN_MODELS_MIRROR points at an empty folder, so a missing model is never fetched from the hub).
E=(env XDG_CACHE_HOME="$T/cache" MYELIN_MODELS_MIRROR="$T/no-mirror")
expect "embed: unknown encoder"     "unknown pretrained model 'bert-huge'" "${E[@]}" "$MYELIN" embed --encoder bert-huge "a text"
expect "embed: texts and --input"   "not both"                     "${E[@]}" "$MYELIN" embed "a text" --input "$T/short.txt"
expect "embed: nothing to embed"    "not both"                     "${E[@]}" "$MYELIN" embed
expect "embed: empty input"         "has no lines"                 "${E[@]}" "$MYELIN" embed --input "$T/empty.txt"
expect "embed: missing input"       "nope.txt"                     "${E[@]}" "$MYELIN" embed --input "$T/nope.txt"
expect "embed: output suffix"       "--output must end in .npy or .csv" "${E[@]}" "$MYELIN" embed "a text" --output "$T/e1.txt"
expect "embed: batch size"          "--batch-size must be between 1 and 4096" "${E[@]}" "$MYELIN" embed "a text" --batch-size 0
expect "embed: model not found"     "cannot find 'all-MiniLM-L6-v2'" "${E[@]}" MYELIN_MODELS= "$MYELIN" embed "a text" --models-dir "$T/no-models"
mkdir -p "$T/bad-models/all-minilm-l6-v2"
printf 'short' > "$T/bad-models/all-minilm-l6-v2/model.safetensors"
expect "embed: truncated model"     "has 5 bytes, expected 90868376" "${E[@]}" MYELIN_MODELS= "$MYELIN" embed "a text" --models-dir "$T/bad-models"
expect "search: k"                  "--k must be at least 1"       "${E[@]}" "$MYELIN" search --corpus "$T/short.txt" --k 0 "cats"
expect "search: missing corpus"     "nope.txt"                     "${E[@]}" "$MYELIN" search --corpus "$T/nope.txt" "cats"
if [ -e "$T/e1.txt" ]; then echo "FAIL a refused embed left $T/e1.txt behind"; failures=$((failures + 1)); fi
if [ -n "${MYELIN_MODELS:-}" ] && [ -e "$MYELIN_MODELS/all-minilm-l6-v2/model.safetensors" ]; then
    # A corrupt weights file of the right size: refused by its SHA-256 before use.
    mkdir -p "$T/corrupt-models/all-minilm-l6-v2/1_Pooling"
    for f in config.json vocab.txt tokenizer_config.json special_tokens_map.json sentence_bert_config.json modules.json 1_Pooling/config.json; do
        cp "$MYELIN_MODELS/all-minilm-l6-v2/$f" "$T/corrupt-models/all-minilm-l6-v2/$f"
    done
    python3 -c "import sys; d = bytearray(open(sys.argv[1], 'rb').read()); d[-1] ^= 1; open(sys.argv[2], 'wb').write(d)" \
        "$MYELIN_MODELS/all-minilm-l6-v2/model.safetensors" "$T/corrupt-models/all-minilm-l6-v2/model.safetensors"
    expect "embed: corrupt weights"  "the file is corrupt or another version" "${E[@]}" "$MYELIN" embed "a text" --models-dir "$T/corrupt-models"
    rm -rf "$T/corrupt-models"
    "$MYELIN" embed "a text" "another" --output "$T/e2.npy" > /dev/null 2>&1 && [ -s "$T/e2.npy" ] \
        || { echo "FAIL embedding two texts with the real model"; failures=$((failures + 1)); }
fi
expect "word2vec: existing vectors" "--overwrite"                  "$MYELIN" word2vec --text "$T/short.txt" --out "$T/wv" --min-count 1
mkdir -p "$T/wbad"
printf '2 3\ncat 1 2 3\nmat 1 x 3\n' > "$T/wbad/vectors.txt"
expect "word2vec: non-number"       "vectors.txt:3: 'x'"           "$MYELIN" word2vec "$T/wbad" --nearest cat
printf 'cat 1 2 3\nmat 1 2\n' > "$T/wbad/vectors.txt"
expect "word2vec: short line"       "has 2 numbers but line 1 has 3" "$MYELIN" word2vec "$T/wbad" --nearest cat
printf 'cat 1 2\ndog 1 nan\n' > "$T/wbad/vectors.txt"
expect "word2vec: NaN"              "is nan"                       "$MYELIN" word2vec "$T/wbad" --nearest cat
printf 'cat 1 2\ncat 3 4\n' > "$T/wbad/vectors.txt"
expect "word2vec: duplicate word"   "is also on line 1"            "$MYELIN" word2vec "$T/wbad" --nearest cat
: > "$T/wbad/vectors.txt"
expect "word2vec: empty vectors"    "file has no vectors"          "$MYELIN" word2vec "$T/wbad" --nearest cat
head -c 3000 /dev/urandom > "$T/wbad/vectors.txt"
expect "word2vec: binary vectors"   "vectors.txt"                  "$MYELIN" word2vec "$T/wbad" --nearest cat

# Language models: bad text and options, prompts outside the vocabulary, a run of another kind;
# a failed training leaves no folder behind.
awk 'BEGIN { for (r = 0; r < 60; r++) print "ROMEO: what light through yonder window breaks?" }' > "$T/lines.txt"
L=(--hidden 8 --num-layers 1 --embedding 4 --seq-len 16 --batch-size 16 --epochs 1 --quiet)
expect "lm: empty text"             "is empty"                     "$MYELIN" train --text "$T/empty.txt" "${L[@]}" --out "$T/l1"
expect "lm: missing text"           "nope.txt"                     "$MYELIN" train --text "$T/nope.txt" "${L[@]}" --out "$T/l2"
expect "lm: seq-len beyond the text" "--seq-len 5000 is too long"  "$MYELIN" train --text "$T/lines.txt" "${L[@]}" --seq-len 5000 --out "$T/l3"
expect "lm: two hidden sizes"       "one size for recurrent models" "$MYELIN" train --text "$T/lines.txt" "${L[@]}" --hidden 8,8 --out "$T/l4"
expect "lm: mlp on a text"          "cannot learn a text"          "$MYELIN" train --text "$T/lines.txt" "${L[@]}" --model mlp --out "$T/l5"
expect "lm: clip 0"                 "--clip-grad-norm must be positive" "$MYELIN" train --text "$T/lines.txt" "${L[@]}" --clip-grad-norm 0 --out "$T/l6"
expect "lm: seq-len 0"              "--seq-len must be between"    "$MYELIN" train --text "$T/lines.txt" "${L[@]}" --seq-len 0 --out "$T/l7"
for l in l1 l2 l3 l4 l5 l6 l7; do
    if [ -e "$T/$l" ]; then echo "FAIL a failed language-model train left $T/$l behind"; failures=$((failures + 1)); fi
done
"$MYELIN" train --text "$T/lines.txt" "${L[@]}" --out "$T/lm" > /dev/null 2>&1 \
    || { echo "FAIL training a small language model"; failures=$((failures + 1)); }
expect "generate: prompt outside the vocabulary" "not among the model's" "$MYELIN" generate "$T/lm" --prompt "JULIET:" --length 5
expect "generate: classifier run"   "is a run of another kind"     "$MYELIN" generate "$T/run" --length 5
expect "generate: no run"           "is not a language-model run folder" "$MYELIN" generate "$T/nowhere" --length 5
expect "generate: top-p 2"          "--top-p must be in (0, 1]"    "$MYELIN" generate "$T/lm" --top-p 2
expect "generate: length -1"        "--length must be in"          "$MYELIN" generate "$T/lm" --length=-1
if [ -e "$T/nowhere" ]; then echo "FAIL generate created $T/nowhere"; failures=$((failures + 1)); fi

# Sequence classifiers over a CSV text column.
printf 'id,review,sentiment\n1,"loved it",pos\n2,"awful",neg\n3,"great",pos\n4,"boring",neg\n5,"fine film",pos\n6,"bad",neg\n7,"good",pos\n8,"dull",neg\n9,"nice",pos\n10,"poor",neg\n' > "$T/reviews.csv"
S=(--csv "$T/reviews.csv" --label sentiment --hidden 4 --embedding 4 --epochs 1 --quiet)
expect "text column: missing"       "no text column nope"          "$MYELIN" train "${S[@]}" --text-column nope --out "$T/s1"
expect "text column: mlp"           "cannot classify text sequences" "$MYELIN" train "${S[@]}" --text-column review --model mlp --out "$T/s2"
expect "text column: the label"     "--label and --text-column both name 'review'" "$MYELIN" train --csv "$T/reviews.csv" --label review --text-column review --out "$T/s6"
expect "text column: no csv"        "names a column of a --csv file" "$MYELIN" train --text-column review --data iris --out "$T/s3"
for l in s1 s2 s3; do
    if [ -e "$T/$l" ]; then echo "FAIL a failed sequence-classifier train left $T/$l behind"; failures=$((failures + 1)); fi
done
"$MYELIN" train "${S[@]}" --text-column review --model gru --out "$T/sc" > /dev/null 2>&1 \
    || { echo "FAIL training a small sequence classifier"; failures=$((failures + 1)); }
expect "predict: no messages"       "no messages to classify"      "$MYELIN" predict "$T/sc"
# Messages one a line, CRLF or LF, blank lines skipped: the same three predictions either way.
printf 'loved it\r\n\r\nawful\r\ngreat\r\n' > "$T/crlf.txt"; printf 'loved it\nawful\n\ngreat\n' > "$T/lf.txt"
"$MYELIN" predict "$T/sc" --input "$T/crlf.txt" > "$T/crlf.out" 2>&1; "$MYELIN" predict "$T/sc" --input "$T/lf.txt" > "$T/lf.out" 2>&1
if [ "$(wc -l < "$T/crlf.out")" -ne 4 ] || ! cmp -s "$T/crlf.out" "$T/lf.out"; then
    echo "FAIL predict on CRLF and LF messages:"; sed 's/^/    /' "$T/crlf.out" "$T/lf.out" | head -10; failures=$((failures + 1))
fi
printf 'review,sentiment\n"good",pos\n"bad",neg\n' > "$T/two-reviews.csv"
expect "text column: no test rows"  "holds out none of the 2 messages" "$MYELIN" train --csv "$T/two-reviews.csv" --label sentiment --text-column review --model gru --hidden 4 --embedding 4 --epochs 1 --quiet --out "$T/s4"
printf 'x,y,label\n1,2,a\n2,3,a\n3,4,a\n4,5,a\n5,6,a\n6,7,a\n7,8,a\n8,9,a\n9,1,a\n1,1,a\n2,2,a\n' > "$T/one-class.csv"
expect "one class"                  "[train] the training rows hold 1 class; at least 2 are needed" "$MYELIN" train --csv "$T/one-class.csv" --label label --epochs 1 --out "$T/s5"
for l in s4 s5; do
    if [ -e "$T/$l" ]; then echo "FAIL a refused train left $T/$l behind"; failures=$((failures + 1)); fi
done
expect "evaluate: seq, other data"  "holds a sequence classifier, which is evaluated on its own test part" "$MYELIN" evaluate "$T/sc" --csv "$T/reviews.csv"
expect "summary: seq, --graph"      "holds a sequence classifier: --graph" "$MYELIN" summary "$T/sc" --graph
expect "lm: --label"                 "--label, --augment do not apply to language models" "$MYELIN" train --text "$T/lines.txt" --label foo --augment --out "$T/lm2"
# The language model trained above ($T/lm).
expect "evaluate: lm, other data"   "holds a language model, which is evaluated on its own test part" "$MYELIN" evaluate "$T/lm" --data iris
expect "predict: lm"                "holds a language model; \`myelin generate" "$MYELIN" predict "$T/lm" --input "$T/lines.txt"

# Transfer learning (train --encoder NAME): the options are checked before the encoder is loaded.
E=(--encoder all-MiniLM-L6-v2 --epochs 1 --quiet)
expect "encoder: unknown"           "unknown pretrained model 'bert-huge'" "$MYELIN" train --csv "$T/reviews.csv" --text-column review --label sentiment --encoder bert-huge --out "$T/e1"
expect "encoder: image data"        "--data mnist is not a text classification set" "$MYELIN" train --data mnist "${E[@]}" --out "$T/e2"
expect "encoder: --model cnn"       "--model does not apply to --encoder" "$MYELIN" train --data sms-spam "${E[@]}" --model cnn --out "$T/e3"
expect "encoder: no text column"    "needs --text-column COLUMN"   "$MYELIN" train --csv "$T/reviews.csv" --label sentiment "${E[@]}" --out "$T/e4"
expect "encoder: fine-tune alone"   "--fine-tune is for transfer learning; give --encoder" "$MYELIN" train --data sms-spam --fine-tune 2 --out "$T/e5"
expect "encoder: fine-tune -1"      "--fine-tune must be 0 or more, got -1" "$MYELIN" train --data sms-spam "${E[@]}" --fine-tune=-1 --out "$T/e6"
if [ -e "${MYELIN_MODELS:-/nonexistent}/all-minilm-l6-v2/model.safetensors" ]; then
    C=(--csv "$T/reviews.csv" --text-column review --label sentiment "${E[@]}")
    expect "encoder: fine-tune 7"   "--fine-tune must be between 0 and the encoder's 6 layers, got 7" "$MYELIN" train "${C[@]}" --fine-tune 7 --out "$T/e7"
    "$MYELIN" train "${C[@]}" --out "$T/tc" > /dev/null 2>&1 || { echo "FAIL training a small transfer classifier"; failures=$((failures + 1)); }
    expect "encoder: predict nothing" "no messages to classify"    "$MYELIN" predict "$T/tc"
    sed -i 's/"07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"/"0000000000000000000000000000000000000000000000000000000000000000"/' "$T/tc/transfer-classifier.json"
    expect "encoder: other checksums" "is not the one the run was trained on" "$MYELIN" evaluate "$T/tc"
else
    echo "skip encoder cases that need all-MiniLM-L6-v2 (set MYELIN_MODELS)"
fi
for l in e1 e2 e3 e4 e5 e6 e7; do
    if [ -e "$T/$l" ]; then echo "FAIL a failed transfer train left $T/$l behind"; failures=$((failures + 1)); fi
done

# Classic models (train --model perceptron|knn|naive-bayes|tree|forest) and compare.
printf 'x,y,label\n' > "$T/flat.csv"; for i in $(seq 1 20); do printf '1,2,%s\n' $([ $((i % 2)) -eq 0 ] && echo a || echo b) >> "$T/flat.csv"; done
printf 'x,y,label\n' > "$T/rare.csv"; for i in $(seq 1 40); do printf '%s,%s,%s\n' $i $((i % 7)) $([ $((i % 2)) -eq 0 ] && echo a || echo b) >> "$T/rare.csv"; done
printf '5,5,c\n6,6,c\n' >> "$T/rare.csv"
expect "knn: k over the rows"       "--neighbors 500 is more than the 8 training rows" "$MYELIN" train --csv "$T/good.csv" --label label --model knn --neighbors 500 --out "$T/c1"
expect "knn: k 0"                   "--neighbors must be positive" "$MYELIN" train --csv "$T/good.csv" --label label --model knn --neighbors 0 --out "$T/c2"
expect "tree: constant features"    "features are constant"        "$MYELIN" train --csv "$T/flat.csv" --label label --model tree --out "$T/c3"
expect "knn: empty class"           "class 'c' has no training rows" "$MYELIN" train --csv "$T/rare.csv" --label label --model knn --neighbors 3 --test-split 0.8 --out "$T/c4"
expect "knn: network option"        "--epochs is an option of the networks" "$MYELIN" train --csv "$T/good.csv" --label label --model knn --epochs 5 --out "$T/c5"
expect "tree: knn option"           "--neighbors does not apply to --model tree" "$MYELIN" train --csv "$T/good.csv" --label label --model tree --neighbors 3 --out "$T/c6"
expect "mlp: classic option"        "--max-depth is for the classic models" "$MYELIN" train --csv "$T/good.csv" --label label --max-depth 3 --out "$T/c7"
expect "unknown model"              "unknown --model 'svm'"        "$MYELIN" train --csv "$T/good.csv" --label label --model svm --out "$T/c8"
expect "compare: unknown include"   "unknown model 'svm' in --include" "$MYELIN" compare --csv "$T/good.csv" --label label --include svm --out "$T/c9"
for l in c1 c2 c3 c4 c5 c6 c7 c8 c9; do
    if [ -e "$T/$l" ]; then echo "FAIL a failed classic train left $T/$l behind"; failures=$((failures + 1)); fi
done
"$MYELIN" train --csv "$T/good.csv" --label label --model knn --neighbors 3 --out "$T/knn" > /dev/null 2>&1 \
    || { echo "FAIL training a small kNN"; failures=$((failures + 1)); }
expect "resume: classic run"        "classic models are fitted in one pass and do not resume" "$MYELIN" resume "$T/knn"
expect "predict: classic, wide CSV" "missing columns" "$MYELIN" predict "$T/knn" --input "$T/wide.csv"

# Generated data sets (--data xor|circles|gaussians|spirals|moons with --count, --noise, --data-seed):
# bad values and these options on other data; nothing written.
Y=(--epochs 1 --quiet)
expect "toy: count 0"               "[train] --count must be between 2 and 1000000, got 0" "$MYELIN" train --data spirals --count 0 "${Y[@]}" --out "$T/g1"
expect "toy: count 1"               "[train] --count must be between 2 and 1000000, got 1" "$MYELIN" train --data xor --count 1 "${Y[@]}" --out "$T/g2"
expect "toy: huge count"            "[train] --count must be between 2 and 1000000, got 4611686018427387904" "$MYELIN" train --data moons --count 4611686018427387904 "${Y[@]}" --out "$T/g3"
expect "toy: negative noise"        "[train] --noise must be in [0, 10], got -0.5" "$MYELIN" train --data circles --noise=-0.5 "${Y[@]}" --out "$T/g4"
expect "toy: noise nan"             "[train] --noise must be in [0, 10], got nan" "$MYELIN" train --data gaussians --noise nan "${Y[@]}" --out "$T/g5"
expect "toy: noise inf"             "[train] --noise must be in [0, 10], got inf" "$MYELIN" train --data gaussians --noise inf "${Y[@]}" --out "$T/g6"
expect "toy: negative data seed"    "data-seed"                    "$MYELIN" train --data spirals --data-seed=-1 "${Y[@]}" --out "$T/g7"
expect "toy: --count on iris"       "[train] --count is for the generated data sets" "$MYELIN" train --data iris --count 100 "${Y[@]}" --out "$T/g8"
expect "toy: --noise on a CSV"      "[train] --noise is for the generated data sets" "$MYELIN" train "${G[@]}" --noise 0.1 --out "$T/g9"
expect "toy: --data-seed on a text" "[train] --data-seed is for the generated data sets" "$MYELIN" train --data tinyshakespeare --data-seed 3 "${Y[@]}" --out "$T/g10"
expect "toy: too few points"        "a larger --count gives more"  "$MYELIN" train --data spirals --count 3 "${Y[@]}" --out "$T/g11"
expect "toy: knn, count 1"          "[train] --count must be between 2" "$MYELIN" train --data circles --model knn --count 1 --out "$T/g12"
expect "toy: compare, noise -1"     "[compare] --noise must be in [0, 10]" "$MYELIN" compare --data moons --noise=-1 --out "$T/g13"
expect "toy: cluster, count 0"      "[cluster] --count must be between 2" "$MYELIN" cluster --data spirals --count 0 --out "$T/g14"
expect "toy: cluster, --count on a CSV" "[cluster] --count is for the generated data sets" "$MYELIN" cluster --csv "$T/good.csv" --count 10 --out "$T/g15"
expect "toy: evaluate, count 0"     "[evaluate] --count must be between 2" "$MYELIN" evaluate "$T/run" --data spirals --count 0
for g in g1 g2 g3 g4 g5 g6 g7 g8 g9 g10 g11 g12 g13 g14 g15; do
    if [ -e "$T/$g" ]; then echo "FAIL a failed run on a generated set left $T/$g behind"; failures=$((failures + 1)); fi
done
# A run on a generated set records it: resume regenerates the points before it finds nothing to do.
"$MYELIN" train --data spirals --count 60 --noise 0.3 --data-seed 4 --hidden 4 "${Y[@]}" --out "$T/toy" > /dev/null 2>&1 \
    || { echo "FAIL training on a small generated set"; failures=$((failures + 1)); }
expect "toy: resume past the end"   "already trained 1 of 1"       "$MYELIN" resume "$T/toy"
expect "toy: evaluate on iris"      "--count is for the generated data sets" "$MYELIN" evaluate "$T/toy" --data iris --count 5

python3 -c "print('x,y'); [print(f'{i * 0.37 % 1:.3f},{i * 1.5}') for i in range(40)]" > "$T/quantity.csv"
expect "a quantity as classes"       "40 classes in 40 rows are too many to learn and test; if the label 'y' is a quantity, give --task regression" "$MYELIN" train --csv "$T/quantity.csv" --label y --task classification --out "$T/t0"
expect "negative after a space"      "[train] --epochs must be positive and at most 1000000, got -1" "$MYELIN" train --csv "$T/good.csv" --label label --epochs -1 --out "$T/t3"
expect "an option for a value"       "The value '--lr' is invalid for '--epochs <epochs>'" "$MYELIN" train --csv "$T/good.csv" --label label --epochs --lr 0.1 --out "$T/t4"
expect "task on a catalogue set"     "[train] --task is for --csv files; 'iris' has a task of its own" "$MYELIN" train --data iris --task regression --out "$T/t1"
expect "task on a generated set"     "[train] --task is for --csv files; 'moons' is a classification set" "$MYELIN" train --data moons --task regression --out "$T/t2"
expect "evaluate: train's options"   "[evaluate] --task, --missing shape how train reads a CSV" "$MYELIN" evaluate "$T/run" --csv "$T/good.csv" --task classification --missing error

# Catalogue sets on disk ($MYELIN_DATA, which `make test` sets): refusals that need the data read.
if [ -n "${MYELIN_DATA:-}" ] && [ -e "$MYELIN_DATA/iris/iris.csv" ] && [ -e "$MYELIN_DATA/tinyshakespeare/input.txt" ]; then
    expect "data: cluster a text"        "[cluster] 'tinyshakespeare' is a sequence data set" "$MYELIN" cluster --data tinyshakespeare --k 2 --out "$T/d1"
    expect "data: no test rows (knn)"    "[train] --test-split 0.001 holds out none of the 150 rows" "$MYELIN" train --data iris --model knn --test-split 0.001 --out "$T/d2"
    expect "data: no test rows (network)" "[train] --test-split 0.001 holds out none of the 150 rows" "$MYELIN" train --data iris --test-split 0.001 "${Y[@]}" --out "$T/d3"
    expect "data: no test rows (compare)" "--test-split 0.001 holds out none of the 150 rows" "$MYELIN" compare --data iris --test-split 0.001 --out "$T/d4"
    for d in d1 d2 d3 d4; do
        if [ -e "$T/$d" ]; then echo "FAIL a refused job on a catalogue set left $T/$d behind"; failures=$((failures + 1)); fi
    done
else
    echo "skip the catalogue refusals: no iris and tinyshakespeare under \$MYELIN_DATA"
fi

# The dashboard and the playground: bad folders, ports and options; nothing left behind.
expect "dashboard: no folder"       "[dashboard] $T/no-such-folder is not a folder" "$MYELIN" dashboard "$T/no-such-folder" --port 0
expect "dashboard: a file"          "is not a folder"              "$MYELIN" dashboard "$T/good.csv" --port 0
expect "dashboard: port too big"    "[dashboard] --port must be in 0...65535, got 70000" "$MYELIN" dashboard "$T" --port 70000
expect "playground: negative port"  "--port must be in 0...65535, got -1" "$MYELIN" playground --port=-1
expect "train: --port alone"        "[train] --port and --host are for the dashboard; add --dashboard" "$MYELIN" train --csv "$T/good.csv" --label label --port 6006 --out "$T/d1"
expect "train: --histogram-every 0" "[train] --histogram-every must be at least 1 step, got 0" "$MYELIN" train --csv "$T/good.csv" --label label --histogram-every 0 --out "$T/d2"
expect "train: dashboard port"      "[train] --port must be in 0...65535, got 99999" "$MYELIN" train --csv "$T/good.csv" --label label --dashboard --port 99999 --out "$T/d3"
expect "train: dashboard on knn"    "[train] --dashboard and --histogram-every are for networks" "$MYELIN" train --csv "$T/good.csv" --label label --model knn --dashboard --out "$T/d4"
expect "resume: --host alone"       "[resume] --port and --host are for the dashboard" "$MYELIN" resume "$T/toy" --host 0.0.0.0
for d in d1 d2 d3 d4; do
    if [ -e "$T/$d" ]; then echo "FAIL a refused dashboard run left $T/$d behind"; failures=$((failures + 1)); fi
done

# PyTorch checkpoints (myelin convert): malicious and broken files from PyTorchCheckpointTests' fixtures
# are refused in one line, nothing run, nothing written; a real checkpoint converts.
P=$PWD/Tests/MyelinCoreTests/Fixtures/pytorch
expect "convert: os.system"          "global os.system is not allowed" "$MYELIN" convert "$P/os_system.pt" "$T/p1.safetensors"
expect "convert: builtins.eval"      "global builtins.eval is not allowed" "$MYELIN" convert "$P/builtins_eval.pt" "$T/p2.safetensors"
expect "convert: unknown class"      "global __main__.Evil is not allowed" "$MYELIN" convert "$P/newobj_unknown_class.pt" "$T/p3.safetensors"
expect "convert: oversized storage"  "storage 0 needs 4000 bytes but data/0 has 24" "$MYELIN" convert "$P/storage_oversized.pt" "$T/p4.safetensors"
expect "convert: view past storage"  "reaches element 9 of a storage of 6" "$MYELIN" convert "$P/view_past_storage.pt" "$T/p5.safetensors"
expect "convert: huge shape"         "elements overflow" "$MYELIN" convert "$P/huge_size.pt" "$T/p6.safetensors"
expect "convert: deep nesting"       "nested more than 100 levels" "$MYELIN" convert "$P/deep_nesting.pt" "$T/p7.safetensors"
expect "convert: shared 2^40 times"  "more than 1000000 entries" "$MYELIN" convert "$P/dag_bomb.pt" "$T/p8.safetensors"
expect "convert: truncated archive"  "bad zip" "$MYELIN" convert "$P/truncated.pt" "$T/p9.safetensors"
expect "convert: legacy format"      "re-save it with PyTorch 1.6 or later" "$MYELIN" convert "$P/legacy.pt" "$T/p10.safetensors"
expect "convert: not a checkpoint"   "not a zip archive" "$MYELIN" convert "$T/good.csv" "$T/p11.safetensors"
expect "convert: missing file"       "[pytorch] $T/missing.pt: cannot open" "$MYELIN" convert "$T/missing.pt" "$T/p12.safetensors"
expect "convert: output suffix"      "[convert] the output $T/p13.pt must end in .safetensors" "$MYELIN" convert "$P/dtypes.pt" "$T/p13.pt"
expect "convert: output under a file" "is not a directory|cannot create" "$MYELIN" convert "$P/dtypes.pt" "$T/good.csv/p14.safetensors"
for p in p1 p2 p3 p4 p5 p6 p7 p8 p9 p10 p11 p12 p13; do
    if [ -e "$T/$p.safetensors" ] || [ -e "$T/$p.pt" ]; then echo "FAIL a refused convert left $T/$p behind"; failures=$((failures + 1)); fi
done
if [ -e /tmp/myelin-pwned ]; then echo "FAIL a malicious checkpoint ran a command"; failures=$((failures + 1)); fi
"$MYELIN" convert "$P/dtypes.pt" "$T/dtypes.safetensors" > /dev/null 2>&1 && [ -s "$T/dtypes.safetensors" ] \
    || { echo "FAIL converting a real PyTorch checkpoint"; failures=$((failures + 1)); }
expect "convert: output exists"      "[convert] $T/dtypes.safetensors exists; pass --overwrite" "$MYELIN" convert "$P/dtypes.pt" "$T/dtypes.safetensors"
"$MYELIN" convert "$P/dtypes.pt" "$T/dtypes.safetensors" --overwrite > /dev/null 2>&1 \
    || { echo "FAIL convert --overwrite"; failures=$((failures + 1)); }

# bench: a bad workload name, and --subprocess giving each workload its own process and peak memory.
expect "bench: unknown workload"     "[bench] unknown workload 'gemm_f32_2x3'" "$MYELIN" bench --workloads gemm_f32_2x3
expect "bench: zero threads"         "[bench] --threads must be at least 1" "$MYELIN" bench --workloads add_f32_1m --threads 0
"$MYELIN" bench --workloads small_op_overhead,gemm_f32_8x16x4 --threads 1 --subprocess > "$T/bench.jsonl" 2> /dev/null
if [ "$(grep -c '"metric": "peak_rss_mb"' "$T/bench.jsonl")" -ne 2 ] || ! grep -q '"workload": "gemm_f32_8x16x4", "metric": "gflops"' "$T/bench.jsonl"; then
    echo "FAIL bench --subprocess: expected a result and a peak_rss_mb line per workload, got:"; sed 's/^/    /' "$T/bench.jsonl"
    failures=$((failures + 1))
fi

if [ $failures -gt 0 ]; then echo "$failures CLI error checks failed"; exit 1; fi
echo "all CLI error checks passed"
