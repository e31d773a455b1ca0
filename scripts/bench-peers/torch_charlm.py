#!/usr/bin/env python3
"""PyTorch peer of `myelin train --data tinyshakespeare` (the character-level LSTM language model).

The same set-up as Myelin's default language model: characters sorted by code point as the
vocabulary, Embedding(V, 64) -> 2-layer LSTM 256 (batch first) -> Linear(256, V), the last 10% of
the text held out as test and the 5% before it as validation (part sizes rounded half up, as
Myelin), windows of seq-len + 1 = 101 characters starting every 100 characters, training windows
shuffled each epoch (torch's own permutation, so not Myelin's order), batch 64 (the last batch
partial), Adam 2e-3, gradient norm clipped to 5, every window from a zero state. The test and
validation losses are the mean cross-entropy per character over their windows (nats/char).

Prints one JSON object per line: per epoch the training loss, validation and test loss in nats
per character, bits per character, and training tokens (characters) per second.

  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 scripts/bench-peers/torch_charlm.py --epochs 1
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

IMPL = f"pytorch {torch.__version__}"


class CharLM(nn.Module):
    def __init__(self, vocab, embedding=64, hidden=256, layers=2):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding)
        self.rnn = nn.LSTM(embedding, hidden, layers, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        y, _ = self.rnn(self.embedding(x))
        return self.head(y)


def windows(tokens, seq_len):
    """Windows of seq_len + 1 tokens starting every seq_len tokens: [count, seq_len + 1]."""
    count = (len(tokens) - seq_len - 1) // seq_len + 1
    return torch.stack([tokens[i * seq_len:i * seq_len + seq_len + 1] for i in range(count)])


def mean_loss(model, data, batch, vocab):
    model.eval()
    total, chars = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(data), batch):
            w = data[s:s + batch]
            logits = model(w[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, vocab), w[:, 1:].reshape(-1), reduction="sum").item()
            chars += w[:, 1:].numel()
    model.train()
    return total / chars


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_data = os.path.join(os.environ.get("MYELIN_DATA", "../shared/datasets"), "tinyshakespeare", "input.txt")
    p.add_argument("--data", default=default_data, help="the text file (default: $MYELIN_DATA/tinyshakespeare/input.txt)")
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--seq-len", type=int, default=100)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="append the JSON lines to this file too")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    with open(args.data, encoding="utf-8") as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    tokens = torch.tensor([index[c] for c in text], dtype=torch.long)
    n, vocab, L = len(tokens), len(chars), args.seq_len
    test_count = math.floor(n * 0.1 + 0.5)
    val_count = math.floor(n * 0.05 + 0.5)
    train_end = n - test_count - val_count
    train = windows(tokens[:train_end], L)
    val = windows(tokens[train_end:n - test_count], L)
    test = windows(tokens[n - test_count:], L)

    model = CharLM(vocab)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    out = open(args.out, "a") if args.out else None
    for epoch in range(args.epochs):
        order = torch.randperm(len(train))
        start = time.perf_counter()
        total, chars_seen = 0.0, 0
        for s in range(0, len(train), args.batch_size):
            w = train[order[s:s + args.batch_size]]
            logits = model(w[:, :-1])
            loss = F.cross_entropy(logits.reshape(-1, vocab), w[:, 1:].reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item() * w.shape[0]
            chars_seen += w[:, 1:].numel()
        seconds = time.perf_counter() - start
        val_loss = mean_loss(model, val, args.batch_size, vocab)
        test_loss = mean_loss(model, test, args.batch_size, vocab)
        line = json.dumps({"workload": "charlm_lstm_tinyshakespeare", "epoch": epoch + 1,
                           "train_loss": round(total / len(train), 6), "val_loss": round(val_loss, 6),
                           "test_loss": round(test_loss, 6), "test_bits_per_char": round(test_loss / math.log(2), 6),
                           "tokens_per_second": round(chars_seen / seconds, 1), "seconds": round(seconds, 2),
                           "impl": IMPL, "threads": args.threads})
        print(line, flush=True)
        if out:
            out.write(line + "\n")
    if out:
        out.close()


if __name__ == "__main__":
    main()
