#!/usr/bin/env bash
# Acceptance figures of the data/training/CLI and convolution issues, through the `myelin` command.
# Each run writes runs/acceptance/<name>/ and its results.json; the table goes to runs/acceptance/summary.txt.
# Usage: scripts/acceptance.sh [name ...]   (default: all; names below, and mpi-two-hosts). Needs MYELIN_DATA or --data-dir data.
set -euo pipefail
cd "$(dirname "$0")/.."
MYELIN=${MYELIN:-.build/release/myelin}
OUT=runs/acceptance
mkdir -p "$OUT"
export MYELIN_DATA=${MYELIN_DATA:-$(cd .. && pwd)/shared/datasets}
export MYELIN_MODELS=${MYELIN_MODELS:-$(cd .. && pwd)/shared/models}

# A regression CSV from real data: iris petal width from the other measurements and the species
# (a string column, one-hot encoded by the reader), with a header row.
make_regression_csv() {
    local csv="$OUT/iris-regression.csv"
    {
        echo "sepal_length,sepal_width,petal_length,petal_width,species"
        tail -n +2 "$MYELIN_DATA/iris/iris.csv" | awk -F, 'BEGIN{split("setosa,versicolor,virginica",n,",")} {print $1","$2","$3","$4","n[$5+1]}'
    } > "$csv"
    echo "$csv"
}

# name | metric | minimum | arguments
RUNS=(
  "mnist-mlp|accuracy|0.980|--data mnist --hidden 512,256 --dropout 0.2 --epochs 15 --cosine"
  "fashion-mlp|accuracy|0.885|--data fashion-mnist --hidden 512,256 --dropout 0.2 --epochs 20 --cosine"
  "iris|accuracy|0.95|--data iris --hidden 16 --epochs 150 --batch-size 16 --lr 0.01 --validation-split 0"
  "breast-cancer|accuracy|0.95|--data breast-cancer --hidden 32 --epochs 60 --batch-size 32 --validation-split 0"
  "regression|r2|0.85|--csv REGRESSION_CSV --label petal_width --hidden 16 --epochs 150 --batch-size 16 --lr 0.01 --validation-split 0"
  "mnist-cnn|accuracy|0.990|--data mnist --model cnn --epochs 12 --cosine"
  "fashion-cnn|accuracy|0.910|--data fashion-mnist --layers conv:32:3,bn,relu,maxpool:2,conv:64:3,bn,relu,maxpool:2,flatten,dense:128,relu,dropout:0.3 --epochs 15 --cosine"
  "spam-minilm|accuracy|0.980|--data sms-spam --encoder all-MiniLM-L6-v2"
  "spam-minilm-ft2|accuracy|0.980|--data sms-spam --encoder all-MiniLM-L6-v2 --fine-tune 2"
)

wanted=("$@")
summary="$OUT/summary.txt"
printf "%-14s %-9s %8s %8s %10s %9s  %s\n" run metric value minimum s/epoch verdict command >> "$summary"
status=0
for entry in "${RUNS[@]}"; do
    IFS='|' read -r name metric minimum args <<< "$entry"
    if [ ${#wanted[@]} -gt 0 ] && [[ ! " ${wanted[*]} " == *" $name "* ]]; then continue; fi
    args=${args/REGRESSION_CSV/$(make_regression_csv)}
    echo "== $name: myelin train $args --out $OUT/$name --overwrite --quiet"
    # shellcheck disable=SC2086
    "$MYELIN" train $args --out "$OUT/$name" --overwrite --quiet
    line=$(python3 - "$OUT/$name/results.json" "$metric" "$minimum" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
v, m = r["test"][sys.argv[2]], float(sys.argv[3])
print(f'{v:.4f} {m:.3f} {r["training"]["seconds_per_epoch"]:.3f} {"PASS" if v >= m else "FAIL"}')
EOF
)
    read -r value min spe verdict <<< "$line"
    printf "%-14s %-9s %8s %8s %10s %9s  %s\n" "$name" "$metric" "$value" "$min" "$spe" "$verdict" "myelin train $args" | tee -a "$summary"
    [ "$verdict" = PASS ] || status=1
done
# Pretrained: scikit-learn's logistic regression on the same MiniLM vectors and split as spam-minilm,
# and MiniLM's vectors against sentence-transformers' on the committed text set.
if [ -e "$OUT/spam-minilm/split.json" ]; then
    python3 scripts/sklearn-on-embeddings.py "$OUT/spam-minilm" --myelin "$MYELIN" | tee -a "$summary" || status=1
fi
if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" minilm "* ]]; then
    MYELIN="$MYELIN" python3 scripts/check-minilm.py | tee -a "$summary" || status=1
fi
# The plain command with no flags (issue 12's defaults): run only when no names were given.
if [ ${#wanted[@]} -eq 0 ]; then ./scripts/defaults-acceptance.sh || status=1; fi
# Data-parallel training across two network namespaces over TCP (issue 19): needs root and Open MPI.
if [ ${#wanted[@]} -eq 0 ] || [[ " ${wanted[*]} " == *" mpi-two-hosts "* ]]; then
    if [ "$(id -u)" -eq 0 ] && command -v mpirun >/dev/null; then
        MYELIN="$MYELIN" ./scripts/mpi-two-hosts.sh && cat runs/acceptance/mpi-two-hosts/summary.txt >> "$summary" || status=1
    else
        echo "mpi-two-hosts: skipped (needs root and mpirun)" | tee -a "$summary"
    fi
fi
exit $status
