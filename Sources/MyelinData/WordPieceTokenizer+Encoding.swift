import MyelinCore

/// One text's model input: `[CLS] pieces… [SEP]`, cut to a maximum length.
///
/// ```swift
/// let e = tok.encode(longText, maxLength: 256)
/// e.ids.count          // 256: [CLS], the first 254 pieces, [SEP]
/// e.truncatedCount     // how many pieces were dropped (0 when it fitted)
/// ```
public struct WordPieceEncoding: Equatable, Sendable {
    /// Token ids, `[CLS]` first and `[SEP]` last.
    public let ids: [Int]
    /// Word pieces dropped from the end to fit the maximum length.
    public let truncatedCount: Int

    /// Whether pieces were dropped.
    public var isTruncated: Bool { truncatedCount > 0 }
    /// All ones: every position is a real token.
    public var attentionMask: [Int] { [Int](repeating: 1, count: ids.count) }
    /// All zeros: one segment (BERT's sentence A).
    public var tokenTypeIDs: [Int] { [Int](repeating: 0, count: ids.count) }
}

/// Several texts' model inputs padded with `[PAD]` to the longest, as flat row-major arrays
/// (`count` rows of `length`) ready for int64 tensors.
///
/// ```swift
/// let b = tok.encode(batch: ["Hello!", "A longer sentence."], maxLength: 256)
/// b.count, b.length                  // 2, 6
/// b.row(0)                           // [101, 7592, 999, 102, 0, 0]
/// let mask = b.attentionMaskTensor   // int64 [2, 6]: 1 for tokens, 0 for padding
/// ```
public struct WordPieceBatch: Equatable, Sendable {
    /// Number of texts (rows).
    public let count: Int
    /// Tokens per row: the longest encoding's length.
    public let length: Int
    /// Token ids, `count × length`, row-major, `[PAD]` after each text's `[SEP]`.
    public let inputIDs: [Int]
    /// 1 for tokens and 0 for padding, `count × length`.
    public let attentionMask: [Int]
    /// Each text's unpadded length (with `[CLS]` and `[SEP]`).
    public let lengths: [Int]
    /// Word pieces dropped from each text to fit the maximum length.
    public let truncatedCounts: [Int]

    /// All zeros, `count × length` (one segment).
    public var tokenTypeIDs: [Int] { [Int](repeating: 0, count: count * length) }
    /// Row `i`'s ids, padding included.
    public func row(_ i: Int) -> [Int] { Array(inputIDs[i * length..<(i + 1) * length]) }

    /// `inputIDs` as an int64 tensor `[count, length]`.
    public var inputIDsTensor: Tensor { Tensor(shape: [count, length], scalars: inputIDs.map(Int64.init)) }
    /// `attentionMask` as an int64 tensor `[count, length]`.
    public var attentionMaskTensor: Tensor { Tensor(shape: [count, length], scalars: attentionMask.map(Int64.init)) }
    /// `tokenTypeIDs` as an int64 tensor `[count, length]`.
    public var tokenTypeIDsTensor: Tensor { Tensor(shape: [count, length], scalars: [Int64](repeating: 0, count: count * length)) }
}

extension WordPieceTokenizer {
    /// `[CLS] pieces… [SEP]` for `text`, keeping only the first `maxLength - 2` pieces when
    /// `maxLength` (which counts the two special tokens, at least 2) is given; sentence-transformers
    /// uses 256 for all-MiniLM-L6-v2.
    ///
    /// ```swift
    /// tok.encode("Hello, world!").ids   // [101, 7592, 1010, 2088, 999, 102]
    /// ```
    public func encode(_ text: String, maxLength: Int? = nil) -> WordPieceEncoding {
        if let maxLength { require(maxLength >= 2, "[wordpiece] maxLength must be at least 2 ([CLS] and [SEP]), got \(maxLength)") }
        let pieces = pieceIDs(text)
        let kept = maxLength.map { Swift.min(pieces.count, $0 - 2) } ?? pieces.count
        var ids = [Int]()
        ids.reserveCapacity(kept + 2)
        ids.append(classifierID)
        for p in pieces[..<kept] { ids.append(Int(p)) }
        ids.append(separatorID)
        return WordPieceEncoding(ids: ids, truncatedCount: pieces.count - kept)
    }

    /// Every text encoded (see `encode(_:maxLength:)`) and padded with `[PAD]` to the longest.
    ///
    /// ```swift
    /// let b = tok.encode(batch: sentences, maxLength: 256)
    /// let (ids, mask) = (b.inputIDsTensor, b.attentionMaskTensor)
    /// ```
    public func encode(batch texts: [String], maxLength: Int? = nil) -> WordPieceBatch {
        let encodings = texts.map { encode($0, maxLength: maxLength) }
        let length = encodings.map(\.ids.count).max() ?? 0
        var ids = [Int](repeating: paddingID, count: texts.count * length)
        var mask = [Int](repeating: 0, count: texts.count * length)
        for (r, e) in encodings.enumerated() {
            for (k, id) in e.ids.enumerated() {
                ids[r * length + k] = id
                mask[r * length + k] = 1
            }
        }
        return WordPieceBatch(count: texts.count, length: length, inputIDs: ids, attentionMask: mask,
                              lengths: encodings.map(\.ids.count), truncatedCounts: encodings.map(\.truncatedCount))
    }
}
