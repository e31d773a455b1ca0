#!/usr/bin/env python3
"""kill -9 `myelin train` at random moments and check that a run folder is never half-made.

Usage: python3 scripts/kill-loop.py [--trials T] [--seed S] [--epochs E] [--keep]
The binary is $MYELIN (default .build/debug/myelin).

Set-up: a generated 1,500-row CSV and a small MLP trained with --threads 1 for E epochs (the
reference run, trained twice to check that training is reproducible), the reference resumed to
E+1 epochs, and a different finished run (the 'old' run of the --overwrite trials).

Each trial starts the same training, kills it (SIGKILL) at a moment drawn uniformly over 0 to 1.1x
the reference's duration (so before the first epoch, between epochs and during the final writes),
then checks:
  * plain trials: the folder is absent, and then a new train finishes with tensors identical to the
    reference; or `evaluate` exits 0, `resume --epochs E` (E+1 when all epochs were done) exits 0
    and the model's tensors are identical to the reference's, with each epoch once in metrics.csv;
  * --overwrite trials (every third): the folder was a finished old run; afterwards it is the old
    run (model.safetensors byte-identical) or the complete new run (tensors identical to the
    reference); it evaluates and resumes;
  * after any train or resume that ends by itself, no `.<basename>*` temporaries beside the folder.
Prints one line per trial and last `kill-loop: N passed, M failed`; exits 1 when M > 0.
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time


def read_safetensors(path):
    """(header without __metadata__, {name: data bytes}) of a safetensors file."""
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{len(blob)} bytes")
    n = struct.unpack("<Q", blob[:8])[0]
    if n > len(blob) - 8:
        raise ValueError(f"header length {n} past the end")
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data = blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        start, end = entry["data_offsets"]
        if not 0 <= start <= end <= len(data):
            raise ValueError(f"{name}: offsets {start}..{end} past {len(data)} data bytes")
        tensors[name] = data[start:end]
    return header, tensors


def same_tensors(a, b):
    """None when the two files hold the same tensors (entries and data), else why not."""
    try:
        ha, ta = read_safetensors(a)
        hb, tb = read_safetensors(b)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return f"unreadable model.safetensors ({error})"
    if ha != hb:
        return "tensor entries differ: " + ", ".join(sorted(k for k in set(ha) | set(hb) if ha.get(k) != hb.get(k)))[:200]
    differ = sorted(k for k in ta if ta[k] != tb[k])
    return f"tensor data differ: {', '.join(differ)}" if differ else None


def file_hash(path):
    try:
        with open(path, "rb") as f:
            return hashlib.sha256(f.read()).hexdigest()
    except OSError:
        return None


def leftovers(folder):
    parent, base = os.path.split(os.path.normpath(folder))
    return sorted(n for n in os.listdir(parent) if n.startswith("." + base)) if os.path.isdir(parent) else []


def epochs_done(folder):
    """`epochs` of results.json's "training", else the data lines of metrics.csv."""
    try:
        with open(os.path.join(folder, "results.json")) as f:
            return int(json.load(f)["training"]["epochs"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        with open(os.path.join(folder, "metrics.csv")) as f:
            return max(0, sum(1 for line in f if line.strip()) - 1)
    except OSError:
        return 0


def metrics_problem(folder, epochs):
    """None when metrics.csv lists `epochs` epochs, each exactly once."""
    try:
        with open(os.path.join(folder, "metrics.csv")) as f:
            rows = [line.strip().split(",") for line in f if line.strip()]
    except OSError as error:
        return f"no metrics.csv ({error.strerror})"
    if not rows or rows[0][0] != "epoch":
        return "metrics.csv has no 'epoch' column first"
    seen = [r[0] for r in rows[1:]]
    if len(seen) != epochs or len(set(seen)) != epochs:
        return f"metrics.csv lists epochs {','.join(seen)} (expected {epochs}, each once)"
    return None


class Runner:
    def __init__(self, myelin, timeout):
        self.myelin, self.timeout = myelin, timeout

    def start(self, args, log):
        with open(log, "wb") as err:
            return subprocess.Popen([self.myelin] + args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=err, start_new_session=True)

    def run(self, args, log):
        """(exit status or 'signal N'/'timeout', stderr's first line)."""
        p = self.start(args, log)
        try:
            p.wait(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            return "timeout", ""
        with open(log, "rb") as f:
            first = f.read(4000).decode("utf-8", "replace").strip().split("\n")[0]
        return (p.returncode if p.returncode >= 0 else f"signal {-p.returncode}"), first


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--keep", action="store_true", help="keep the working folder")
    ap.add_argument("--myelin", default=os.environ.get("MYELIN", ".build/debug/myelin"))
    args = ap.parse_args()
    myelin = os.path.abspath(args.myelin)
    if not os.access(myelin, os.X_OK):
        sys.exit(f"kill-loop: no executable at {myelin} (set MYELIN)")
    root = tempfile.mkdtemp(prefix="myelin-kill-loop-")
    try:
        sys.exit(loop(args, myelin, root))
    finally:
        if args.keep:
            print(f"(files kept in {root})", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def loop(args, myelin, root):
    E = args.epochs
    rng = random.Random(f"myelin-kill-loop-data")
    csv = os.path.join(root, "data.csv")
    with open(csv, "w") as f:
        f.write(",".join(f"x{i}" for i in range(8)) + ",label\n")
        for _ in range(1500):
            x = [rng.uniform(-1, 1) for _ in range(8)]
            label = "a" if x[0] + x[1] > 0 else ("b" if x[2] > 0 else "c")
            f.write(",".join(f"{v:.4f}" for v in x) + f",{label}\n")
    common = ["train", "--csv", csv, "--label", "label", "--hidden", "64,64", "--batch-size", "4", "--threads", "1",
              "--validation-split", "0", "--quiet"]
    new = common + ["--epochs", str(E), "--seed", "7"]
    log = os.path.join(root, "log")
    failures, passed = 0, 0

    # ---- reference runs
    runner = Runner(myelin, timeout=600)
    ref = os.path.join(root, "ref")
    t0 = time.monotonic()
    status, msg = runner.run(new + ["--out", ref], log)
    duration = time.monotonic() - t0
    if status != 0:
        print(f"kill-loop: the reference run failed: exit {status}: {msg}")
        print(f"kill-loop: 0 passed, {args.trials} failed")
        return 1
    runner.timeout = max(60.0, 20 * duration)
    again = os.path.join(root, "ref-again")
    status, msg = runner.run(new + ["--out", again], log)
    why = same_tensors(os.path.join(ref, "model.safetensors"), os.path.join(again, "model.safetensors")) if status == 0 else f"exit {status}: {msg}"
    if why:
        print(f"FAIL setup: two uninterrupted runs with the same seed differ ({why}); the comparisons below cannot hold")
        failures += 1
    ref1 = os.path.join(root, "ref-plus-one")
    shutil.copytree(ref, ref1)
    status, msg = runner.run(["resume", ref1, "--epochs", str(E + 1), "--quiet"], log)
    if status != 0:
        print(f"FAIL setup: resuming the finished reference to {E + 1} epochs: exit {status}: {msg}")
        failures += 1
        ref1 = None
    old = os.path.join(root, "old")
    old_epochs = 3
    status, msg = runner.run(common + ["--epochs", str(old_epochs), "--seed", "99", "--out", old], log)
    if status != 0:
        print(f"kill-loop: the old run failed: exit {status}: {msg}")
        print(f"kill-loop: 0 passed, {args.trials + failures} failed")
        return 1
    print(f"(reference: {E} epochs in {duration:.2f} s; kills uniform over 0..{1.1 * duration:.2f} s)", file=sys.stderr)

    for trial in range(args.trials):
        t_rng = random.Random(f"myelin-kill-loop:{args.seed}:{trial}")
        overwrite = trial % 3 == 2
        at = t_rng.uniform(0, 1.1 * duration)
        folder = os.path.join(root, f"trial{trial}", "run")
        os.makedirs(os.path.dirname(folder))
        if overwrite:
            shutil.copytree(old, folder)
        problems, notes = [], []

        def check(status, msg, what):
            if status != 0:
                problems.append(f"{what}: exit {status}: {msg}")
                return False
            return True

        def check_clean(what):
            left = leftovers(folder)
            if left:
                problems.append(f"temporaries beside the folder after {what}: {left}")

        def compare(reference, what):
            if reference is None:
                return
            why = same_tensors(os.path.join(folder, "model.safetensors"), os.path.join(reference, "model.safetensors"))
            if why:
                problems.append(f"{what}: {why}")

        argv = new + ["--out", folder] + (["--overwrite"] if overwrite else [])
        p = runner.start(argv, log)
        deadline = time.monotonic() + at
        while time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.002)
        ended_itself = p.poll() is not None
        if not ended_itself:
            os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        with open(log, "rb") as f:
            first = f.read(4000).decode("utf-8", "replace").strip().split("\n")[0]
        if ended_itself:
            notes.append(f"ended by itself before the kill at {at:.2f} s")
            if p.returncode != 0:
                problems.append(f"train exited {p.returncode} by itself: {first}")
            else:
                check_clean("a train that ended by itself")
                compare(ref, "a train that ended by itself vs the reference")
        else:
            notes.append(f"killed at {at:.2f} s")

        if not problems and overwrite:
            if not os.path.isdir(folder):
                problems.append("the old run's folder is gone")
            elif file_hash(os.path.join(folder, "model.safetensors")) == file_hash(os.path.join(old, "model.safetensors")) \
                    and not ended_itself:
                notes.append("old run intact")
                if check(*runner.run(["evaluate", folder], log), "evaluate of the old run"):
                    check(*runner.run(["resume", folder, "--epochs", str(old_epochs + 1), "--quiet"], log),
                          "resume of the old run")
                    check_clean("resume")
            else:
                why = same_tensors(os.path.join(folder, "model.safetensors"), os.path.join(ref, "model.safetensors"))
                if why or not os.path.exists(os.path.join(folder, "results.json")):
                    problems.append("the folder is neither the old run nor the complete new run"
                                    + (f" ({why})" if why else " (no results.json)"))
                else:
                    notes.append("new run complete")
                    if check(*runner.run(["evaluate", folder], log), "evaluate of the new run"):
                        if check(*runner.run(["resume", folder, "--epochs", str(E + 1), "--quiet"], log), "resume"):
                            compare(ref1, f"resumed to {E + 1} epochs vs the reference resumed")
                        check_clean("resume")
        elif not problems:
            if not os.path.exists(folder):
                notes.append("no folder; trained again")
                if check(*runner.run(new + ["--out", folder], log), "a new train after the kill"):
                    compare(ref, "the new train vs the reference")
                    check_clean("a new train after the kill")
            else:
                done = epochs_done(folder)
                notes.append(f"{done} epochs done")
                if check(*runner.run(["evaluate", folder], log), f"evaluate after the kill ({done} epochs done)"):
                    target, reference = (E, ref) if done < E else (E + 1, ref1)
                    if check(*runner.run(["resume", folder, "--epochs", str(target), "--quiet"], log),
                             f"resume to {target} epochs ({done} done)"):
                        compare(reference, f"resumed to {target} epochs ({done} done) vs the uninterrupted run")
                        why = metrics_problem(folder, target)
                        if why:
                            problems.append(why)
                        check_clean("resume")
        label = "overwrite " if overwrite else ""
        if problems:
            failures += 1
            print(f"FAIL trial {trial} ({label}{', '.join(notes)}): {'; '.join(problems)}", flush=True)
        else:
            passed += 1
            print(f"ok   trial {trial} ({label}{', '.join(notes)})", flush=True)
    print(f"kill-loop: {passed} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    main()
