import Foundation
import MyelinCore
import MyelinData

/// `myelin word2vec`: train skip-gram vectors on a text file into a folder, and query a folder.
///
/// The folder holds `vectors.txt` (word2vec's text format, with its header) and `word2vec.json`
/// (the settings and figures of the run). Both are written atomically after training has
/// finished, so a failed run leaves no partial file, and a folder it created is removed again.
///
/// ```swift
/// let report = try WordVectorJobs.train(text: "input.txt", out: "vectors/shakespeare",
///                                       settings: SkipGram(dimension: 100, epochs: 5))
/// let neighbours = try WordVectorJobs.nearest(folder: "vectors/shakespeare", word: "king", k: 10)
/// ```
public enum WordVectorJobs {
    public static let vectorsFile = "vectors.txt"
    public static let metadataFile = "word2vec.json"

    /// What `word2vec.json` records.
    public struct Metadata: Codable, Sendable, Equatable {
        public var format = "myelin.word2vec"
        public var version = 1
        public var text: String
        public var settings: SkipGram
        public var words: Int
        public var corpusTokens: Int
        public var tokensProcessed: Int
        public var seconds: Double
        public var tokensPerSecond: Double
        public var threadsUsed: Int
    }

    /// Trains on the text file `text` and writes `out/vectors.txt` and `out/word2vec.json`.
    /// Refuses an existing `out/vectors.txt` unless `overwrite`. Throws `RunError`/`DataError`.
    public static func train(text: String, out: String, settings: SkipGram, overwrite: Bool = false) throws -> Metadata {
        try settings.validate()
        let fm = FileManager.default
        var isFolder: ObjCBool = false
        let outExists = fm.fileExists(atPath: out, isDirectory: &isFolder)
        if outExists && !isFolder.boolValue { throw RunError(op: "word2vec", "\(out) is a file, not a folder") }
        let vectorsPath = (out as NSString).appendingPathComponent(vectorsFile)
        if fm.fileExists(atPath: vectorsPath) && !overwrite {
            throw RunError(op: "word2vec", "\(vectorsPath) exists; pass --overwrite to replace it")
        }
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(text) } catch { throw RunError(op: "word2vec", "cannot read the text: \(error)") }
        let result: SkipGram.Result
        do { result = try settings.train(text: String(decoding: bytes, as: UTF8.self)) } catch let error as DataError {
            throw DataError(op: error.op, file: text, reason: error.reason)
        }
        let metadata = Metadata(text: text, settings: settings, words: result.vectors.count, corpusTokens: result.corpusTokens,
                                tokensProcessed: result.tokensProcessed, seconds: result.seconds,
                                tokensPerSecond: result.tokensPerSecond, threadsUsed: min(settings.threads, Threading.count))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = Array(try encoder.encode(metadata)) + [0x0A]
        do {
            if !outExists { try fm.createDirectory(atPath: out, withIntermediateDirectories: true) }
        } catch {
            throw RunError(op: "word2vec", "cannot create \(out): \(error.localizedDescription)")
        }
        do {
            try result.vectors.write(to: vectorsPath)
            try AtomicFile.write(json, to: (out as NSString).appendingPathComponent(metadataFile))
        } catch {
            if !outExists { try? fm.removeItem(atPath: out) }
            throw error
        }
        return metadata
    }

    /// The vectors of a folder written by `train` (or any folder holding a `vectors.txt`).
    public static func load(folder: String) throws -> WordVectors {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isFolder) else {
            throw RunError(op: "word2vec", "\(folder): no such folder")
        }
        guard isFolder.boolValue else { throw RunError(op: "word2vec", "\(folder) is a file; give the folder that holds \(vectorsFile)") }
        let path = (folder as NSString).appendingPathComponent(vectorsFile)
        guard FileManager.default.fileExists(atPath: path) else {
            throw RunError(op: "word2vec", "\(folder) holds no \(vectorsFile); train one with --text FILE --out \(folder)")
        }
        return try WordVectors.read(path: path)
    }

    /// The `k` nearest words of `word` in the folder's vectors.
    public static func nearest(folder: String, word: String, k: Int) throws -> [Neighbour] {
        try checkK(k)
        let vectors = try load(folder: folder)
        return try vectors.nearest(spelling(word, in: vectors), k: k)
    }

    /// The answers to `a - b + c` for `words` given as "a,b,c" (king,man,woman → queen).
    public static func analogy(folder: String, words: String, k: Int) throws -> [Neighbour] {
        try checkK(k)
        let parts = words.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.count == 3, !parts.contains(where: \.isEmpty) else {
            throw RunError(op: "word2vec", "--analogy needs three words a,b,c (a - b + c), got '\(words)'")
        }
        let vectors = try load(folder: folder)
        let (a, b, c) = (spelling(parts[0], in: vectors), spelling(parts[1], in: vectors), spelling(parts[2], in: vectors))
        return try vectors.analogy(a, b, c, k: k)
    }

    /// One line per neighbour: the word and its cosine similarity.
    public static func lines(_ neighbours: [Neighbour]) -> String {
        neighbours.map { "\($0.word)\t" + String(format: "%.4f", Double($0.similarity)) + "\n" }.joined()
    }

    /// The word as given if the vectors have it, else lower-cased (trained vocabularies are).
    private static func spelling(_ word: String, in vectors: WordVectors) -> String {
        vectors.contains(word) ? word : word.lowercased()
    }

    private static func checkK(_ k: Int) throws {
        if k < 1 || k > 100_000 { throw RunError(op: "word2vec", "--k must be in 1...100000, got \(k)") }
    }
}
