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
    for batch, key in ((1, "single"), (32, "batch")):
        out = os.path.join(tmp, f"{key}.npy")
        # Texts go as arguments (some hold line breaks); "--" so a text that starts with '-' stays a text.
        run = subprocess.run([MYELIN, "embed", "--batch-size", str(batch), "--output", out, "--", *texts],
                             capture_output=True, text=True)
        if run.returncode != 0:
            print(f"FAIL myelin embed --batch-size {batch}: {run.stderr.strip()}")
            sys.exit(1)
        got = np.load(out)
        diff = np.abs(got.astype(np.float64) - np.array(ref[key])).max()
        verdict = "PASS" if diff <= 1e-5 else "FAIL"
        status |= verdict == "FAIL"
        print(f"minilm {key:6s} batch {batch:2d}: {len(texts)} texts, largest |myelin - sentence-transformers| = {diff:.2e} "
              f"(limit 1e-5) {verdict}; {run.stdout.strip()}")
sys.exit(status)
