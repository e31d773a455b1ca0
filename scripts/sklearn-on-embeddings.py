#!/usr/bin/env python3
"""scikit-learn's LogisticRegression on the sentence vectors of a Myelin transfer-classifier run.

    python3 scripts/sklearn-on-embeddings.py RUN [--myelin .build/release/myelin] [--models-dir DIR] [--data-dir DIR]

RUN is a folder written by `myelin train --data sms-spam --encoder all-MiniLM-L6-v2` (or --csv with
--text-column). The script reads the run's messages the way Myelin does (the catalogue file under
--data-dir / $MYELIN_DATA, or the CSV's text column), embeds them with `myelin embed` (the same
encoder, the same vectors), takes the run's own train/test split from split.json, fits
LogisticRegression (default settings, max_iter 1000) on the training part and prints its test
accuracy beside Myelin's (results.json). A second line fits on training + validation.
"""
import argparse, csv, json, os, subprocess, sys, tempfile

import numpy as np
from sklearn.linear_model import LogisticRegression


def sms_messages(data_dir):
    path = os.path.join(data_dir, "sms-spam", "SMSSpamCollection")
    texts, labels = [], []
    with open(path, "rb") as f:
        for line in f.read().split(b"\n"):
            if line.endswith(b"\r"):
                line = line[:-1]
            if not line:
                continue
            label, text = line.split(b"\t", 1)
            labels.append(label.decode("utf-8", "replace"))
            texts.append(text.decode("utf-8", "replace"))
    return texts, labels


def csv_messages(path, text_column, label_column):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    def column(name):
        return header.index(name) if name in header else int(name)
    t, l = column(text_column), column(label_column)
    return [r[t] for r in rows[1:]], [r[l] for r in rows[1:]]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("run")
    ap.add_argument("--myelin", default=".build/release/myelin")
    ap.add_argument("--models-dir")
    ap.add_argument("--data-dir", default=os.environ.get("MYELIN_DATA", os.path.expanduser("~/.cache/myelin")))
    args = ap.parse_args()

    description = json.load(open(os.path.join(args.run, "transfer-classifier.json")))
    split = json.load(open(os.path.join(args.run, "split.json")))
    results = json.load(open(os.path.join(args.run, "results.json")))
    if description["fineTune"] != 0:
        sys.exit(f"{args.run} fine-tuned {description['fineTune']} layers; the comparison is on a frozen encoder's vectors")
    source = description["source"]
    if "catalogue" in source:
        texts, labels = sms_messages(args.data_dir)
    else:
        c = source["csv"]
        texts, labels = csv_messages(c["path"], c["textColumn"], c["label"])
    classes = description["classNames"]
    y = np.array([classes.index(l) for l in labels])
    n = len(texts)
    assert sorted(split["train"] + split["validation"] + split["test"]) == list(range(n)), "split.json does not cover the messages"
    bad = [i for i, t in enumerate(texts) if "\n" in t or "\r" in t]
    if bad:
        sys.exit(f"messages {bad[:5]} hold line breaks; `myelin embed --input` reads one text a line")

    with tempfile.TemporaryDirectory() as tmp:
        lines, vectors = os.path.join(tmp, "texts.txt"), os.path.join(tmp, "vectors.npy")
        with open(lines, "w", encoding="utf-8") as f:
            f.write("".join(t + "\n" for t in texts))
        command = [args.myelin, "embed", "--input", lines, "--output", vectors, "--encoder", description["encoder"]["name"]]
        if args.models_dir:
            command += ["--models-dir", args.models_dir]
        print("$ " + " ".join(command[:2]) + " ...", file=sys.stderr)
        subprocess.run(command, check=True, stdout=sys.stderr)
        x = np.load(vectors)
    assert x.shape[0] == n, f"{x.shape[0]} vectors for {n} messages"

    train, validation, test = (np.array(split[k], dtype=int) for k in ("train", "validation", "test"))
    print(f"{n} messages: {len(train)} training, {len(validation)} validation, {len(test)} test (the run's split.json)")
    print(f"myelin (Linear head, {description['settings']['epochs']} epochs): test accuracy {results['test']['accuracy']:.4f}")
    for name, rows in (("training part", train), ("training + validation", np.concatenate([train, validation]))):
        clf = LogisticRegression(max_iter=1000).fit(x[rows], y[rows])
        print(f"sklearn LogisticRegression (defaults, max_iter 1000) on the {name}: test accuracy {clf.score(x[test], y[test]):.4f}")


if __name__ == "__main__":
    main()
