import Foundation
import MyelinCore
import MyelinData
import MyelinPretrained

/// What `myelin embed` and `myelin search` do: sentence vectors of texts from a pretrained
/// encoder, written to `.npy` or `.csv`, and the lines of a text file nearest to a query.
public enum EmbedJob {
    /// The encoder called `name`, found through `Pretrained` (`modelsDir`, `$MYELIN_MODELS`, the cache, the hub).
    public static func encoder(_ name: String, modelsDir: String?) throws -> SentenceEncoder {
        try Pretrained(modelsDir: modelsDir).load(name)
    }

    /// The lines of a UTF-8 text file, one text a line (a final line break ends the last line;
    /// `\r\n` is read as a line break). Blank lines are texts too unless `skippingBlank`.
    public static func lines(of path: String, skippingBlank: Bool = false) throws -> [String] {
        var bytes = try AtomicFile.read(path)[...]
        if bytes.isEmpty { return [] }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        // Split bytes, not Characters: Swift reads "\r\n" as one Character, which is not "\n".
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            String(decoding: line.last == UInt8(ascii: "\r") ? line.dropLast() : line, as: UTF8.self)
        }
        return skippingBlank ? lines.filter { !$0.allSatisfy(\.isWhitespace) } : lines
    }

    /// `npy` or `csv` from an output path, or an error naming it.
    public static func outputKind(_ path: String) throws -> String {
        let ext = (path as NSString).pathExtension.lowercased()
        guard ext == "npy" || ext == "csv" else {
            throw RunError(op: "embed", "--output must end in .npy or .csv, got '\(path)'")
        }
        return ext
    }

    /// A text cut to `width` characters on one line, for listings.
    public static func preview(_ text: String, width: Int = 60) -> String {
        let flat = text.map { $0.isNewline || $0 == "\t" ? " " : String($0) }.joined()
        return flat.count <= width ? flat : String(flat.prefix(width - 1)) + "…"
    }

    /// Writes vectors `[texts, dim]` to `path`: `.npy` (float32, as `np.load` reads) or `.csv`
    /// (one row per text, no header); atomically.
    public static func write(_ vectors: Tensor, to path: String) throws {
        switch try outputKind(path) {
        case "npy":
            try vectors.writeNPY(to: path)
        case "csv":
            let dim = vectors.shape[1]
            let values = vectors.to(.float32).floats
            var out = ""
            out.reserveCapacity(values.count * 12)
            for r in 0..<vectors.shape[0] {
                out += values[r * dim..<(r + 1) * dim].map { "\($0)" }.joined(separator: ",")
                out += "\n"
            }
            try AtomicFile.write(Array(out.utf8), to: path)
        default:
            break
        }
    }

    /// A line of the corpus and its cosine similarity to the query.
    public struct Match: Equatable, Sendable {
        public let line: Int
        public let text: String
        public let score: Double
    }

    /// The `k` lines of a corpus (the lines of a text file) nearest to `query` by cosine
    /// similarity, best first (ties: the earlier line); blank lines are skipped, line numbers count
    /// from 1 as in an editor.
    ///
    /// ```swift
    /// let best = try EmbedJob.search("a person plays music", lines: try EmbedJob.lines(of: "corpus.txt"), k: 3, encoder: encoder)
    /// ```
    public static func search(_ query: String, lines all: [String], k: Int, encoder: SentenceEncoder) throws -> [Match] {
        guard k >= 1 else { throw RunError(op: "search", "--k must be at least 1, got \(k)") }
        let kept = all.indices.filter { !all[$0].allSatisfy(\.isWhitespace) }
        guard !kept.isEmpty else { throw RunError(op: "search", "the corpus has no text lines") }
        let corpus = encoder.encode(kept.map { all[$0] }).vectors
        let q = encoder.encode([query]).vectors
        let scores = corpus.matmul(q.transposed()).reshape([-1]).to(.float64).doubles
        let normalized = encoder.normalizes
        let norms = normalized ? [] : (corpus * corpus).sum(axes: [1]).sqrt().to(.float64).doubles
        let qNorm = normalized ? 1 : (q * q).sum().sqrt().item()
        let cosine = scores.indices.map { i in normalized ? scores[i] : scores[i] / max(norms[i] * qNorm, 1e-12) }
        let best = cosine.indices.sorted { cosine[$0] != cosine[$1] ? cosine[$0] > cosine[$1] : $0 < $1 }.prefix(k)
        return best.map { Match(line: kept[$0] + 1, text: all[kept[$0]], score: cosine[$0]) }
    }
}
