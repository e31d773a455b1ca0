#!/usr/bin/env python3
"""sentence-transformers peer of Myelin's sentence-encoder workloads, in ../shared/bench style.

  minilm_embed_b1   all-MiniLM-L6-v2 embeds 200 sentences one call each (batch 1)
  minilm_embed_b32  all-MiniLM-L6-v2 embeds 1,024 sentences in one call with batch_size=32

Metric sentences_per_s (higher): a warm-up pass, then the median of 3 timed passes. Sentence i has
8 + i % 17 words, word j being WORDS[(7 i + 13 j + i j) % 64], exactly as Myelin's bench
(Sources/MyelinBench/Bench+Pretrained.swift). Threads: --threads (default 2) via
torch.set_num_threads. The model: $MYELIN_MODELS/all-minilm-l6-v2 (default ../shared/models).
Run it as Myelin's bench: env -u OPENBLAS_CORETYPE python3 scripts/bench-peers/sentence_transformers_bench.py
"""
import argparse
import json
import os
import statistics
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

IMPL = f"sentence-transformers {sentence_transformers.__version__} (torch {torch.__version__})"
WORDS = ("the a man woman child dog cat plays eats runs quickly slowly under over house garden river "
         "music violin drums bread food horse car city night morning happy sad green red small large old new "
         "teacher student book reads writes sings dances computer network learning deep model data train test "
         "apple orange table chair window door street market sun moon tree bird water light").split()
assert len(WORDS) == 64


def sentence(i):
    return " ".join(WORDS[(7 * i + 13 * j + i * j) % len(WORDS)] for j in range(8 + i % 17))


def line(workload, value, threads):
    return json.dumps({"workload": workload, "metric": "sentences_per_s", "value": float(f"{value:.6g}"), "unit": "sentences/s",
                       "better": "higher", "impl": IMPL, "threads": threads})


def run(model, workload, count, batch):
    texts = [sentence(i) for i in range(count)]

    def one_pass():
        if batch == 1:
            for t in texts:
                model.encode([t], batch_size=1, convert_to_numpy=True)
        else:
            model.encode(texts, batch_size=batch, convert_to_numpy=True)

    one_pass()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        one_pass()
        times.append(time.perf_counter() - t)
    return count / statistics.median(times)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--workloads", default="minilm_embed_b1,minilm_embed_b32")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    folder = os.path.join(os.environ.get("MYELIN_MODELS") or "../shared/models", "all-minilm-l6-v2")
    model = SentenceTransformer(folder, device="cpu")
    model.eval()
    sizes = {"minilm_embed_b1": (200, 1), "minilm_embed_b32": (1024, 32)}
    with torch.inference_mode():
        for w in args.workloads.split(","):
            count, batch = sizes[w]
            print(line(w, run(model, w, count, batch), args.threads), flush=True)


main()
