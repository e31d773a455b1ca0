#!/usr/bin/env python3
"""Training speed with and without a dashboard serving a connected client (issue: >= 0.95x).

Alternates `myelin train --data mnist` (the MNIST MLP) without and with `--dashboard --port 0`
(statistics at their default interval, every 100 steps); with the dashboard, a client reads the
event stream and fetches every new batch and statistics line as the page does, without rendering.
Prints each run's training seconds (results.json) and the ratio of the medians.

    MYELIN=.build/release/myelin python3 scripts/dashboard-speed.py --runs 5 --epochs 2
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.request


def client(base, run_id, stop, counts):
    """Reads server-sent events; after each, fetches the new steps and insight lines."""
    steps_from = insights_from = 0
    try:
        with urllib.request.urlopen(base + "api/events", timeout=30) as stream:
            for raw in stream:
                if stop.is_set():
                    return
                line = raw.decode().strip()
                if not line.startswith("data: "):
                    continue
                counts["events"] += 1
                for kind, start in (("steps", steps_from), ("insights", insights_from)):
                    with urllib.request.urlopen(f"{base}api/{kind}?id={run_id}&from={start}", timeout=30) as r:
                        answer = json.load(r)
                    total = answer["total"]
                    if kind == "steps":
                        steps_from = total
                    else:
                        insights_from = total
                    counts[kind] = total
    except Exception as error:  # the server goes away when training ends
        counts["ended"] = str(error)[:80]


def train(myelin, out, epochs, dashboard, histograms=False):
    args = [myelin, "train", "--data", "mnist", "--epochs", str(epochs), "--seed", "0", "--quiet",
            "--out", out, "--overwrite"]
    if dashboard:
        args += ["--dashboard", "--port", "0"]
    elif histograms:
        args += ["--histogram-every", "50"]
    env = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    stop = threading.Event()
    counts = {"events": 0, "steps": 0, "insights": 0}
    thread = None
    for line in proc.stdout:
        m = re.match(r"dashboard: (http://\S+/)$", line.strip())
        if m and thread is None:
            thread = threading.Thread(target=client, args=(m.group(1), os.path.basename(out), stop, counts), daemon=True)
            thread.start()
    proc.wait()
    stop.set()
    if proc.returncode != 0:
        sys.exit(f"training failed with exit {proc.returncode}")
    with open(os.path.join(out, "results.json")) as f:
        seconds = json.load(f)["training"]["seconds"]
    return seconds, counts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--baseline-histograms", action="store_true",
                        help="record statistics every 50 steps in the runs without a dashboard too (the server's own cost)")
    a = parser.parse_args()
    myelin = os.environ.get("MYELIN", ".build/release/myelin")
    work = tempfile.mkdtemp(prefix="myelin-dash-speed-")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    print(f"CPU: {cpu}; {a.runs} alternating runs of {a.epochs} epochs of the MNIST MLP")
    plain, served = [], []
    try:
        for i in range(a.runs):
            s, _ = train(myelin, os.path.join(work, "plain"), a.epochs, False, a.baseline_histograms)
            plain.append(s)
            d, counts = train(myelin, os.path.join(work, "served"), a.epochs, True)
            served.append(d)
            print(f"run {i + 1}: without {s:.2f} s, with dashboard {d:.2f} s "
                  f"(client saw {counts['events']} events, {counts['steps']} steps, {counts['insights']} statistics lines)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ratio = statistics.median(plain) / statistics.median(served)
    print(f"median without {statistics.median(plain):.2f} s, with {statistics.median(served):.2f} s: "
          f"speed with the dashboard {ratio:.3f}x")


if __name__ == "__main__":
    main()
