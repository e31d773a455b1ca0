#!/usr/bin/env python3
"""scikit-learn peer of Myelin's classic-learning workloads (float64), in ../shared/bench style.

  knn_mnist     KNeighborsClassifier(n_neighbors=3, algorithm="brute"): fit on the 60,000 MNIST training
                images, predict the 10,000 test images (pixels / 255); metrics seconds, accuracy
  kmeans_mnist  KMeans(n_clusters=10, init="k-means++", n_init=1, max_iter=100, tol=1e-4, random_state=0)
                on the 60,000 training images; metrics seconds, seconds_per_iter, inertia, adjusted_rand_index

Threads: --threads (default 2) through threadpoolctl (OpenMP and BLAS). Data: $MYELIN_DATA or
../shared/datasets (mnist/*.gz). Prints one JSON object per line, as the other peers.
"""
import argparse
import gzip
import json
import os
import sys
import time

import numpy as np
import sklearn
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

IMPL = f"scikit-learn {sklearn.__version__}"


def idx(path, images):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if images:
        n = int.from_bytes(data[4:8], "big")
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, 784).astype(np.float64) / 255
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def mnist():
    root = os.environ.get("MYELIN_DATA") or "../shared/datasets"
    m = os.path.join(root, "mnist")
    return (idx(os.path.join(m, "train-images-idx3-ubyte.gz"), True), idx(os.path.join(m, "train-labels-idx1-ubyte.gz"), False),
            idx(os.path.join(m, "t10k-images-idx3-ubyte.gz"), True), idx(os.path.join(m, "t10k-labels-idx1-ubyte.gz"), False))


def line(workload, metric, value, unit, better, threads):
    return json.dumps({"workload": workload, "metric": metric, "value": float(f"{value:.6g}"), "unit": unit,
                       "better": better, "impl": IMPL, "threads": threads})


def knn_mnist(threads):
    x, y, xt, yt = mnist()
    t = time.perf_counter()
    m = KNeighborsClassifier(n_neighbors=3, algorithm="brute").fit(x, y)
    pred = m.predict(xt)
    s = time.perf_counter() - t
    return [("seconds", s, "s", "lower"), ("accuracy", float((pred == yt).mean()), "fraction", "higher")]


def kmeans_mnist(threads):
    x, y, _, _ = mnist()
    t = time.perf_counter()
    km = KMeans(n_clusters=10, init="k-means++", n_init=1, max_iter=100, tol=1e-4, random_state=0).fit(x)
    s = time.perf_counter() - t
    return [("seconds", s, "s", "lower"), ("seconds_per_iter", s / km.n_iter_, "s", "lower"),
            ("inertia", km.inertia_, "", "lower"), ("adjusted_rand_index", adjusted_rand_score(y, km.labels_), "", "higher")]


WORKLOADS = {"knn_mnist": knn_mnist, "kmeans_mnist": kmeans_mnist}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    ap.add_argument("--out")
    a = ap.parse_args()
    out = open(a.out, "a") if a.out else None
    with threadpool_limits(limits=a.threads):
        for w in a.workloads.split(","):
            if w not in WORKLOADS:
                sys.exit(f"unknown workload {w}; known: {', '.join(WORKLOADS)}")
            for metric, value, unit, better in WORKLOADS[w](a.threads):
                s = line(w, metric, value, unit, better, a.threads)
                print(s, flush=True)
                if out:
                    out.write(s + "\n")


if __name__ == "__main__":
    main()
