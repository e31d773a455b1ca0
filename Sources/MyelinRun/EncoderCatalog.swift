import Foundation
import MyelinCore
import MyelinData
import MyelinPretrained

/// What a run records of the pretrained encoder it was trained on: the registry entry's name,
/// repository, pinned revision and the SHA-256 of every file, and the encoder's sizes.
public struct EncoderRecord: Codable, Equatable, Sendable {
    public var name: String
    public var repository: String
    public var revision: String
    /// SHA-256 (hex) of each file, by its name in the model folder.
    public var files: [String: String]
    public var layers: Int
    public var dimension: Int
    /// Tokens a text keeps; longer texts are cut.
    public var maxSequenceLength: Int

    public init(entry: PretrainedEntry, encoder: SentenceEncoder) {
        name = entry.name
        repository = entry.repository
        revision = entry.revision
        files = Dictionary(uniqueKeysWithValues: entry.files.map { ($0.role, $0.sha256) })
        layers = encoder.model.encoder.layer.count
        dimension = encoder.dimension
        maxSequenceLength = encoder.maxSequenceLength
    }
}

/// Where a transfer classifier's encoder comes from: the `Pretrained` registry (`--models-dir`,
/// `$MYELIN_MODELS`, the cache, the hub), or any other list of entries and folder (tests).
///
/// ```swift
/// let (encoder, entry) = try EncoderCatalog.registry(modelsDir: nil).load("all-MiniLM-L6-v2", op: "train")
/// ```
public struct EncoderCatalog: Sendable {
    /// The entry called a name, or a one-line error listing the known names.
    public var entry: @Sendable (String) throws -> PretrainedEntry
    /// The paths of an entry's files by file name.
    public var locate: @Sendable (PretrainedEntry) throws -> [String: String]

    public init(entry: @escaping @Sendable (String) throws -> PretrainedEntry,
                locate: @escaping @Sendable (PretrainedEntry) throws -> [String: String]) {
        self.entry = entry
        self.locate = locate
    }

    /// The registry's encoders, looked for in `modelsDir` first.
    public static func registry(modelsDir: String?) -> EncoderCatalog {
        let pretrained = Pretrained(modelsDir: modelsDir)
        return EncoderCatalog(entry: { try pretrained.knownEntry($0) }, locate: { try pretrained.locate($0.name) })
    }

    /// The encoder called `name` and its entry (the weights checked against the entry's SHA-256).
    public func load(_ name: String) throws -> (encoder: SentenceEncoder, entry: PretrainedEntry) {
        let e = try entry(name)
        return (try SentenceEncoder.load(entry: e, files: try locate(e)), e)
    }

    /// The encoder a run recorded, refused unless every recorded file is found with the recorded
    /// SHA-256 (so a run is never used with another version of its encoder).
    public func load(recorded: EncoderRecord, op: String) throws -> SentenceEncoder {
        let e = try entry(recorded.name)
        let paths = try locate(e)
        for file in recorded.files.keys.sorted() {
            guard let path = paths[file] else {
                throw RunError(op: op, "the encoder \(recorded.name) has no \(file), which the run recorded")
            }
            let digest: String
            do { digest = SHA256.hex(of: try AtomicFile.read(path)) } catch {
                throw RunError(op: op, "cannot read \(path): \(error)")
            }
            guard digest == recorded.files[file] else {
                throw RunError(op: op, "the encoder \(recorded.name) found is not the one the run was trained on: \(path) has SHA-256 "
                               + "\(digest), the run recorded \(recorded.files[file]!) (revision \(recorded.revision))")
            }
        }
        let encoder = try SentenceEncoder.load(entry: e, files: paths)
        guard encoder.model.encoder.layer.count == recorded.layers, encoder.dimension == recorded.dimension else {
            throw RunError(op: op, "the encoder \(recorded.name) has \(encoder.model.encoder.layer.count) layers of "
                           + "\(encoder.dimension); the run recorded \(recorded.layers) of \(recorded.dimension)")
        }
        return encoder
    }
}
