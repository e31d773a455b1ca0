import Foundation

/// BERT's "basic" tokenisation as Hugging Face's fast tokenizer (`tokenizers`' `BertNormalizer` then
/// `BertPreTokenizer`) does it, on arrays of Unicode scalars: Swift's `Character` operations would
/// cost grapheme breaking per step, and HF works on code points anyway.
extension WordPieceTokenizer {
    /// `text` cleaned, CJK-spaced, accent-stripped and lowercased as the options ask, in HF's order:
    /// clean text, space CJK ideographs, NFD and drop nonspacing marks, then lowercase.
    func normalize(_ text: ArraySlice<Unicode.Scalar>) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count + 8)
        var ascii = true
        let clean = options.cleanText, chinese = options.tokenizeChineseChars
        for c in text {
            let v = c.value
            if v < 0x80 {
                if clean {
                    if v == 0x09 || v == 0x0A || v == 0x0D { out.append(" "); continue }
                    if v < 0x20 || v == 0x7F { continue }  // NUL and the other C0 controls are removed
                }
                out.append(c)
                continue
            }
            ascii = false
            if clean {
                if v == 0xFFFD || Self.isControl(c) { continue }
                if Self.isWhitespace(c) { out.append(" "); continue }
            }
            if chinese && Self.isChineseChar(v) {
                out.append(" "); out.append(c); out.append(" ")
                continue
            }
            out.append(c)
        }
        if ascii {
            if options.lowercase {
                for i in out.indices where out[i].value &- 0x41 < 26 { out[i] = Unicode.Scalar(out[i].value + 0x20)! }
            }
            return out
        }
        if options.stripsAccents {
            out = Self.decomposed(out).filter { !Self.isNonspacingMark($0) }
        }
        if options.lowercase {
            var lowered: [Unicode.Scalar] = []
            lowered.reserveCapacity(out.count)
            for c in out {
                if c.value < 0x80 {
                    lowered.append(c.value &- 0x41 < 26 ? Unicode.Scalar(c.value + 0x20)! : c)
                } else if c.properties.changesWhenLowercased {
                    // Full per-scalar mapping, as Rust's char::to_lowercase: İ → i + U+0307, Σ → σ always.
                    lowered.append(contentsOf: c.properties.lowercaseMapping.unicodeScalars)
                } else {
                    lowered.append(c)
                }
            }
            out = lowered
        }
        return out
    }

    /// The NFD of `s`: each scalar's canonical decomposition (context-free, so Foundation computes it
    /// once per distinct scalar), then each run of combining marks stably sorted by combining class.
    /// Foundation's NFD of a whole text grows faster than linearly with its length (1 MB: ~1 s).
    static func decomposed(_ s: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(s.count + s.count / 4)
        var cache: [UInt32: [Unicode.Scalar]] = [:]
        var runStart = 0  // start of the current run of non-starters (combining class > 0)
        func ccc(_ c: Unicode.Scalar) -> UInt8 { c.value < 0x300 ? 0 : c.properties.canonicalCombiningClass.rawValue }
        func closeRun() {
            // Canonical ordering: a stable insertion sort by combining class (runs are short).
            guard out.count - runStart > 1 else { return }
            for i in (runStart + 1)..<out.count {
                let c = out[i], k = ccc(c)
                var j = i
                while j > runStart && ccc(out[j - 1]) > k { out[j] = out[j - 1]; j -= 1 }
                out[j] = c
            }
        }
        for c in s {
            let parts: [Unicode.Scalar]
            if c.value < 0xC0 {
                parts = [c]  // nothing below U+00C0 decomposes canonically
            } else if let known = cache[c.value] {
                parts = known
            } else {
                parts = Array(String(c).decomposedStringWithCanonicalMapping.unicodeScalars)
                cache[c.value] = parts
            }
            for p in parts {
                if ccc(p) == 0 {
                    closeRun()
                    out.append(p)
                    runStart = out.count
                } else {
                    out.append(p)
                }
            }
        }
        closeRun()
        return out
    }

    /// Calls `word` with each word of normalized text: runs split at whitespace, and every
    /// punctuation character a word of its own.
    func forEachWord(in s: [Unicode.Scalar], _ word: (Range<Int>) -> Void) {
        var start = 0
        for i in s.indices {
            let c = s[i]
            if Self.isWhitespace(c) {
                if start < i { word(start..<i) }
                start = i + 1
            } else if Self.isPunctuation(c) {
                if start < i { word(start..<i) }
                word(i..<i + 1)
                start = i + 1
            }
        }
        if start < s.count { word(start..<s.count) }
    }

    // MARK: Character classes, as `tokenizers` defines them

    /// Whitespace: tab, newline, carriage return and the Unicode White_Space property (Rust's
    /// `char::is_whitespace`), so U+00A0, U+3000, U+2028 and U+0085 count; U+200B does not.
    @inline(__always)
    static func isWhitespace(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 { return v == 0x20 || (0x09...0x0D).contains(v) }
        return c.properties.isWhitespace
    }

    /// Control, format, private-use and surrogate characters (category C* but not unassigned),
    /// except tab, newline and carriage return; cleaning removes them.
    static func isControl(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v == 0x09 || v == 0x0A || v == 0x0D { return false }
        switch legacyCategory(c) {
        case .control?, .format?, .privateUse?, .surrogate?: return true
        default: return false
        }
    }

    /// ASCII punctuation (33–47, 58–64, 91–96, 123–126, so `$ + < = > ^ ` | ~` too) or category P*.
    @inline(__always)
    static func isPunctuation(_ c: Unicode.Scalar) -> Bool {
        let v = c.value
        if v < 0x80 {
            return (33...47).contains(v) || (58...64).contains(v) || (91...96).contains(v) || (123...126).contains(v)
        }
        switch legacyCategory(c) {
        case .connectorPunctuation?, .dashPunctuation?, .openPunctuation?, .closePunctuation?,
             .initialPunctuation?, .finalPunctuation?, .otherPunctuation?: return true
        default: return false
        }
    }

    /// Category Mn, which accent stripping drops after NFD.
    static func isNonspacingMark(_ c: Unicode.Scalar) -> Bool {
        c.value >= 0x300 && legacyCategory(c) == .nonspacingMark
    }

    /// The general category as `tokenizers` sees it: its `unicode_categories` tables are Unicode 8.0,
    /// so a character assigned later belongs to no category (U+2E44, a 9.0 punctuation mark, does not
    /// split a word in HF); nil then.
    @inline(__always)
    static func legacyCategory(_ c: Unicode.Scalar) -> Unicode.GeneralCategory? {
        guard let age = c.properties.age, age.major < 8 || (age.major == 8 && age.minor == 0) else { return nil }
        return c.properties.generalCategory
    }

    /// The CJK ideograph blocks HF surrounds with spaces. The fast tokenizer's ranges: its Extension E
    /// range starts at U+2B920, where the legacy Python tokenizer's starts at U+2B820.
    @inline(__always)
    static func isChineseChar(_ v: UInt32) -> Bool {
        (0x4E00...0x9FFF).contains(v) || (0x3400...0x4DBF).contains(v) || (0x20000...0x2A6DF).contains(v)
            || (0x2A700...0x2B73F).contains(v) || (0x2B740...0x2B81F).contains(v) || (0x2B920...0x2CEAF).contains(v)
            || (0xF900...0xFAFF).contains(v) || (0x2F800...0x2FA1F).contains(v)
    }
}
