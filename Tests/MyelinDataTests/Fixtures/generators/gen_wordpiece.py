"""Expected WordPiece ids for Myelin's BERT tokenizer, from Hugging Face's tokenizers.

Tokenises the test set below with the tokenizer sentence-transformers uses for all-MiniLM-L6-v2
(`AutoTokenizer`, the Rust `tokenizers` backend reading tokenizer.json), truncated at 256 tokens as
sentence-transformers' max_seq_length, and writes ../wordpiece.json. It also runs transformers'
pure-Python tokenizer (BertTokenizerLegacy, the former slow BertTokenizer, reading vocab.txt) and
records every text where the two disagree, so the fixture says which one Myelin follows (the fast one).

Run: python3 Tests/MyelinDataTests/Fixtures/generators/gen_wordpiece.py [MODELS_DIR]
where MODELS_DIR (default $MYELIN_MODELS, else ../shared/models beside the repository) holds
all-minilm-l6-v2/. Needs transformers and tokenizers.
"""
import json
import os
import sys

import tokenizers
import transformers
from transformers import AutoTokenizer
from transformers.models.bert.tokenization_bert_legacy import BertTokenizerLegacy

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
MODELS = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MYELIN_MODELS") or os.path.join(REPO, "..", "shared", "models")
MODEL = os.path.join(MODELS, "all-minilm-l6-v2")
MAX_LENGTH = 256

PARAGRAPH = ("The quick brown fox jumps over the lazy dog. Sentence embeddings map text to vectors, "
             "so that semantically similar sentences end up close together in the embedding space; "
             "they are used for search, clustering and deduplication. ")

# (name, text): each name says what the text exercises.
TEXTS = [
    ("empty", ""),
    ("spaces-only", "   \t\n  "),
    ("simple", "Hello, world!"),
    ("sentence", "This is a simple sentence about machine learning."),
    ("uppercase", "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG"),
    ("mixed-case", "iPhone McDonald's eBay YouTube NASA's HTTPServer"),
    ("accents", "Café naïve Ångström résumé façade jalapeño Zürich"),
    ("accents-upper", "CAFÉ NAÏVE ÅNGSTRÖM RÉSUMÉ ÉCOLE"),
    ("decomposed-accents", "Cafe\u0301 nai\u0308ve re\u0301sume\u0301"),
    ("combining-marks", "a\u0300\u0301\u0302 o\u0328\u0304 Z\u0351\u0352\u0353a\u0354l\u0355g\u0356o\u0357"),
    ("lone-combining", "\u0301 \u0301x x \u20dd"),
    ("punctuation-runs", "Wait... what?!?! (really) [yes] {no} <maybe> --- ***"),
    ("ascii-punctuation-all", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"),
    ("unicode-punctuation", "«Bonjour» — dit-il… ¿Qué? ¡Olé! „Anführung“ ‘single’ “double” ‹›"),
    ("more-unicode-punctuation", "§1 ¶2 †‡ • ‰ ※ 「かぎ」 『二重』 【括弧】 、。・"),
    ("apostrophes", "don't won't it's rock'n'roll l'homme"),
    ("hyphenation", "state-of-the-art well-known e-mail co-operate"),
    ("numbers", "3.14159 1,000,000 42nd 2024-06-01 12:30 -7 +3 1e-5 0x1F 50%"),
    ("url-email", "Visit https://www.example.com/path?q=1&x=y#frag or mail me at john.doe+tag@example.co.uk"),
    ("code", "def f(x): return x**2 if x >= 0 else -x  # comment"),
    ("hashtags-mentions", "#MachineLearning @user ##double ## tokens"),
    ("chinese", "我爱自然语言处理。今天天气很好！"),
    ("chinese-mixed", "BERT模型在2018年发布, it works well."),
    ("japanese", "日本語のテキストです。ひらがなとカタカナ、漢字が混在しています。"),
    ("korean", "안녕하세요, 세계! 한국어 문장입니다."),
    ("cjk-compat-and-extensions", "\uf900\ufa0b \u3400\u4dbf \U00020000 \U0002A700 \U0002B740 \U0002F800"),
    ("cjk-extension-e", "\U0002B820\U0002B900 x\U0002B920y"),
    ("fullwidth", "ＡＢＣ１２３ ｈｅｌｌｏ！"),
    ("emoji", "I love pizza 🍕🍕 and 😀😂🤣!"),
    ("emoji-zwj", "family 👨\u200d👩\u200d👧\u200d👦 and rainbow 🏳\ufe0f\u200d🌈 flag"),
    ("emoji-skin-tones", "👍🏻 👍🏽 👍🏿 wave👋🏼"),
    ("emoji-flags-keycaps", "🇫🇷 🇯🇵 1\ufe0f\u20e3 #\ufe0f\u20e3 ❤️ ☺ ✓ ★"),
    ("control-chars", "a\x00b\x01c\x07d\x1be\x7ff\x85g\ufffdh"),
    ("tabs-newlines", "line one\tcolumn\nline two\r\nline three\x0bvt\x0cff"),
    ("odd-whitespace", "no\u00a0break ideographic\u3000space en\u2002em\u2003thin\u2009nar\u202frow"),
    ("line-separators", "one\u2028two\u2029three\u0085four\u1680five\u205fsix"),
    ("zero-width", "zero\u200bwidth join\u200dzwnj\u200cword\u2060joiner \ufeffbom soft\u00adhyphen"),
    ("bidi-controls", "abc\u202edef\u202c \u200eghi\u200f"),
    ("arabic", "مرحبا بالعالم، هذه جملة عربية."),
    ("hebrew", "שלום עולם! זה משפט בעברית."),
    ("cyrillic", "Привет, мир! Съешь же ещё этих мягких французских булок."),
    ("greek", "Καλημέρα κόσμε! ΟΔΟΣ Ελληνικά άλφα ΐ"),
    ("thai", "สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ"),
    ("devanagari", "नमस्ते दुनिया। यह हिन्दी वाक्य है।"),
    ("math-symbols", "∑ x² + √y ≤ ∞ ≠ π × ÷ ± ∫ ∂f/∂x ∀ε ∃δ → ⇒ ∈ ℝ ½ ³⁄₄"),
    ("currency-symbols", "$100 €50 £20 ¥1000 ₹500 ₿0.1 ¢"),
    ("ligatures-compat", "ﬁnance ﬂow Ⅻ ㎏ ℃ ™ ①"),
    ("special-tokens-in-text", "hello [MASK] world [SEP] and [cls] [UNK]x [PAD]"),
    ("turkish-dotted-i", "İstanbul IĞDIR ıi"),
    ("german-sharp-s", "Straße STRASSE ẞ"),
    ("word-100-chars", "x" + "a" * 99 + " end"),
    ("word-101-chars", "x" + "a" * 100 + " end"),
    ("word-100-after-accent-strip", "é" * 100),
    ("word-101-after-accent-strip", "é" * 101),
    ("long-word-in-sentence", "The word " + "antidisestablishmentarianism" * 4 + " is long."),
    ("unknown-word", "the ⟁⟁⟁ symbol and ☃snowman"),
    ("private-use-and-unassigned", "a\ue000b c\u0378d"),
    # The fast tokenizer's character classes (control, punctuation, nonspacing mark) come from Unicode 8.0
    # tables: U+2E42 (8.0) splits as punctuation, U+2E44 (9.0) does not; U+08D4 (9.0) is kept as a mark.
    ("unicode-8-and-later", "a\u2e42b a\u2e44b a\u2e4fb a\u08d4b a\u0890b a\u061cb e\u0301"),
    ("repeated-punctuation", "!!!!!!!!!!??????........,,,,,"),
    ("long-text", PARAGRAPH * 12),
    ("long-text-cut-inside-word", "word " * 250 + "antidisestablishmentarianism " * 5),
    ("exactly-254-tokens", " ".join(["hello"] * 254)),
    ("exactly-255-tokens", " ".join(["hello"] * 255)),
]


def main():
    if not os.path.isdir(MODEL):
        sys.exit(f"gen_wordpiece: no model folder at {MODEL} (pass MODELS_DIR or set MYELIN_MODELS)")
    fast = AutoTokenizer.from_pretrained(MODEL)
    slow = BertTokenizerLegacy.from_pretrained(MODEL)
    cases, differences = [], []
    for name, text in TEXTS:
        ids = fast(text, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        full = fast(text, truncation=False)["input_ids"]
        slow_ids = slow(text, truncation=True, max_length=MAX_LENGTH)["input_ids"]
        cases.append({"name": name, "text": text, "ids": ids, "untruncatedLength": len(full),
                      "tokens": fast.convert_ids_to_tokens(ids)})
        if slow_ids != ids:
            differences.append({"name": name, "fastTokens": fast.convert_ids_to_tokens(ids),
                                "slowTokens": slow.convert_ids_to_tokens(slow_ids)})
    # A padded batch as sentence-transformers builds it (pad to the longest, truncate at 256).
    batch_names = ["simple", "empty", "accents", "long-text", "emoji-zwj"]
    batch_texts = [dict(TEXTS)[n] for n in batch_names]
    enc = fast(batch_texts, padding=True, truncation=True, max_length=MAX_LENGTH)
    batch = {"names": batch_names, "inputIDs": enc["input_ids"], "attentionMask": enc["attention_mask"],
             "tokenTypeIDs": enc["token_type_ids"]}
    out = {"generator": os.path.basename(__file__), "transformers": transformers.__version__,
           "tokenizers": tokenizers.__version__, "fastTokenizer": type(fast).__name__,
           "maxLength": MAX_LENGTH, "cases": cases, "batch": batch, "slowDifferences": differences}
    path = os.path.join(os.path.dirname(HERE), "wordpiece.json")
    with open(path, "w") as f:
        json.dump(out, f, ensure_ascii=True, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {len(cases)} texts to {os.path.relpath(path)}; fast and slow differ on {len(differences)}:")
    for d in differences:
        print(f"  {d['name']}: fast {d['fastTokens'][:40]}\n  {' ' * len(d['name'])}  slow {d['slowTokens'][:40]}")


if __name__ == "__main__":
    main()
