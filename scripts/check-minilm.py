#!/usr/bin/env python3
"""Acceptance: `myelin embed` against sentence-transformers on every text of the committed MiniLM set.

Runs the release binary twice on the 40 texts of Tests/MyelinPretrainedTests/Fixtures/minilm.json
(made by gen_minilm.py from sentence-transformers): one text a batch (`--batch-size 1`) against
the fixture's single-text vectors, and in padded batches (`--batch-size 32`, texts of different
lengths together) against its batch vectors; prints the largest absolute differences and fails
above 1e-5. Needs MYELIN_MODELS (the Makefile sets it) and numpy.
    MYELIN=.build/release/myelin python3 scripts/check-minilm.py
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MYELIN = os.environ.get("MYELIN", os.path.join(ROOT, ".build/release/myelin"))
ref = json.load(open(os.path.join(ROOT, "Tests/MyelinPretrainedTests/Fixtures/minilm.json"), encoding="utf-8"))
texts = ref["texts"]
status = 0
with tempfile.TemporaryDirectory() as tmp:
    # Texts with line breaks go as arguments, the rest (one holds a NUL, which no argument can)
    # as an --input file of one text a line; the vectors are put back in the set's order.
    broken = [i for i, t in enumerate(texts) if "\n" in t or "\r" in t]
    lines = [i for i in range(len(texts)) if i not in broken]
    listing = os.path.join(tmp, "texts.txt")
    with open(listing, "w", encoding="utf-8", newline="") as f:
        f.write("".join(texts[i] + "\n" for i in lines))
    for batch, key in ((1, "single"), (32, "batch")):
        parts, outputs = [], []
        for name, extra in (("lines", ["--input", listing]), ("args", ["--", *[texts[i] for i in broken]])):
            out = os.path.join(tmp, f"{key}-{name}.npy")
            run = subprocess.run([MYELIN, "embed", "--batch-size", str(batch), "--output", out, *extra],
                                 capture_output=True, text=True)
            if run.returncode != 0:
                print(f"FAIL myelin embed --batch-size {batch}: {run.stderr.strip()}")
                sys.exit(1)
            outputs.append(np.load(out))
            parts.append(run.stdout.strip())
        got = np.zeros((len(texts), outputs[0].shape[1]), dtype=np.float64)
        got[lines], got[broken] = outputs[0], outputs[1]
        diff = np.abs(got - np.array(ref[key])).max()
        verdict = "PASS" if diff <= 1e-5 else "FAIL"
        status |= verdict == "FAIL"
        print(f"minilm {key:6s} batch {batch:2d}: {len(texts)} texts, largest |myelin - sentence-transformers| = {diff:.2e} "
              f"(limit 1e-5) {verdict}; {' / '.join(parts)}")
sys.exit(status)
