import Foundation
import MyelinCore
import MyelinData

/// A pretrained model Myelin knows by name: where its files come from (a Hugging Face repository
/// at a pinned revision) and their sizes and checksums.
public struct PretrainedEntry: Sendable {
    /// The name users give (`all-MiniLM-L6-v2`); matched without regard to case.
    public let name: String
    /// The folder in a models folder (`all-minilm-l6-v2`).
    public let folder: String
    /// The Hugging Face repository (`sentence-transformers/all-MiniLM-L6-v2`).
    public let repository: String
    /// The pinned commit of the repository the files come from.
    public let revision: String
    public let description: String
    public let licence: String
    /// The files, each with `role` its name inside the folder (`model.safetensors`, `1_Pooling/config.json`).
    public let files: [StoredFile]

    /// An entry whose files are downloaded from `https://huggingface.co/<repository>/resolve/<revision>/<file>`.
    public init(name: String, folder: String, repository: String, revision: String, description: String,
                licence: String, files: [(name: String, bytes: Int, sha256: String)]) {
        self.name = name
        self.folder = folder
        self.repository = repository
        self.revision = revision
        self.description = description
        self.licence = licence
        self.files = files.map {
            StoredFile(role: $0.name, path: folder + "/" + $0.name, sha256: $0.sha256, bytes: $0.bytes,
                       url: "https://huggingface.co/\(repository)/resolve/\(revision)/\($0.name)")
        }
    }

    /// The file called `name` (`config.json`).
    public func file(_ name: String) -> StoredFile? { files.first { $0.role == name } }
}

/// The pretrained models Myelin can find or download by name, and the loading of them.
///
/// Files are found through the same `FileStore` as the data sets: in `modelsDir`, then
/// `$MYELIN_MODELS`, then the cache (`$XDG_CACHE_HOME/myelin/models` or
/// `~/.cache/myelin/models`), each laid out as `<folder>/<file>`; missing files are downloaded from
/// the Hugging Face hub at the pinned revision and checked against their SHA-256.
/// `$MYELIN_MODELS_MIRROR` (a URL or a folder) replaces the hub: files come from `<mirror>/<folder>/<file>`.
///
/// ```swift
/// let encoder = try Pretrained.load("all-MiniLM-L6-v2")
/// let v = encoder.encode(["A man is eating food."]).vectors     // [1, 384], unit length
/// ```
public struct Pretrained: Sendable {
    public let modelsDir: String?
    public let environment: [String: String]
    public let allowDownload: Bool

    public init(modelsDir: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment,
                allowDownload: Bool = true) {
        self.modelsDir = modelsDir
        self.environment = environment
        self.allowDownload = allowDownload
    }

    /// Every model Myelin knows.
    public static let entries: [PretrainedEntry] = [
        PretrainedEntry(
            name: "all-MiniLM-L6-v2", folder: "all-minilm-l6-v2", repository: "sentence-transformers/all-MiniLM-L6-v2",
            revision: "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
            description: "Sentence embeddings: a 6-layer BERT (hidden 384, 12 heads, 22.7M parameters), uncased WordPiece vocabulary of 30,522, mean pooling and L2 normalisation to 384 dimensions; at most 256 tokens a text",
            licence: "Apache-2.0",
            files: [
                ("config.json", 612, "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41"),
                ("model.safetensors", 90_868_376, "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"),
                ("vocab.txt", 231_508, "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"),
                ("tokenizer_config.json", 350, "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b"),
                ("special_tokens_map.json", 112, "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3"),
                ("sentence_bert_config.json", 53, "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7"),
                ("modules.json", 349, "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf"),
                ("1_Pooling/config.json", 190, "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23"),
            ]),
    ]

    /// The entry called `name` (any case, or its folder name), or nil.
    public static func entry(_ name: String) -> PretrainedEntry? {
        entries.first { $0.name.lowercased() == name.lowercased() || $0.folder == name.lowercased() }
    }

    /// The folders searched, in order (empty settings left out).
    public var searchPaths: [String] {
        var dirs: [String] = []
        if let d = modelsDir, !d.isEmpty { dirs.append(d) }
        if let d = environment["MYELIN_MODELS"], !d.isEmpty { dirs.append(d) }
        dirs.append(cacheDirectory)
        return dirs
    }

    /// Where downloads go: `<user cache>/models`.
    public var cacheDirectory: String { FileStore.userCache(environment) + "/models" }

    var store: FileStore {
        FileStore(op: "model", searchPaths: searchPaths, cacheDirectory: cacheDirectory,
                  mirror: environment["MYELIN_MODELS_MIRROR"], allowDownload: allowDownload)
    }

    /// The entry called `name`, or a one-line error listing the known names.
    public func knownEntry(_ name: String) throws -> PretrainedEntry {
        guard let e = Pretrained.entry(name) else {
            throw DataError(op: "model", reason: "unknown pretrained model '\(name)' (known: \(Pretrained.entries.map(\.name).joined(separator: ", ")))")
        }
        return e
    }

    /// The paths of a model's files by file name, downloading them if needed and allowed.
    public func locate(_ name: String) throws -> [String: String] {
        let entry = try knownEntry(name)
        return try store.locate(entry.name, files: entry.files)
    }

    /// Where a model was found (the folder holding its folder), or nil when no search folder has it.
    public func status(_ name: String) -> String? {
        guard let entry = Pretrained.entry(name) else { return nil }
        return store.folder(holding: entry.files)
    }

    /// Checks the SHA-256 of every file of a located model; throws on the first mismatch.
    public func verify(_ name: String) throws {
        let entry = try knownEntry(name)
        try store.verify(entry.name, files: entry.files)
    }

    /// Finds (or downloads), checks and loads a sentence encoder. The weights file is checked
    /// against its SHA-256 (about 0.2 s for MiniLM), so a corrupt file is refused before use.
    public func load(_ name: String) throws -> SentenceEncoder {
        let entry = try knownEntry(name)
        let paths = try store.locate(entry.name, files: entry.files)
        return try SentenceEncoder(entry: entry, files: paths)
    }

    /// `Pretrained(modelsDir:).load(name)`.
    public static func load(_ name: String, modelsDir: String? = nil) throws -> SentenceEncoder {
        try Pretrained(modelsDir: modelsDir).load(name)
    }
}
