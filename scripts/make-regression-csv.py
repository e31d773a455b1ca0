#!/usr/bin/env python3
"""Writes a deterministic regression CSV: Friedman #1 with ten smooth features.

    python3 scripts/make-regression-csv.py OUT.csv [--rows 3000] [--seed 0]

Columns x0..x9, y (with a header), values to 6 significant digits. Each x is U(0, 1);
    y = 10 sin(pi x0 x1) + 20 (x2 - 0.5)^2 + 10 x3 + 5 x4 + N(0, 0.5)
so x5..x9 are irrelevant. The noise (sd 0.5) against the target's spread (sd about 5)
caps the achievable R^2 near 0.99. Standard library only; the same seed gives the same file.
"""
import argparse
import math
import random


def main():
    parser = argparse.ArgumentParser(description="Write a Friedman #1 regression CSV (x0..x9, y).")
    parser.add_argument("out", help="the CSV file to write")
    parser.add_argument("--rows", type=int, default=3000, help="number of rows (default 3000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args()
    if args.rows < 1:
        parser.error("--rows must be positive")

    rng = random.Random(args.seed)
    with open(args.out, "w", newline="\n") as f:
        f.write(",".join([f"x{i}" for i in range(10)] + ["y"]) + "\n")
        for _ in range(args.rows):
            x = [rng.random() for _ in range(10)]
            y = (10 * math.sin(math.pi * x[0] * x[1]) + 20 * (x[2] - 0.5) ** 2
                 + 10 * x[3] + 5 * x[4] + rng.gauss(0.0, 0.5))
            f.write(",".join(f"{v:.6g}" for v in x + [y]) + "\n")


if __name__ == "__main__":
    main()
